"""What the project's own files would leak into the image, or keep out of it: its own
``.dockerignore`` (a file the build or the code needs kept out; a secret or a large file let
in), and credentials written into the dependency files the image installs from."""

from __future__ import annotations

from typing import Any

from dockerize_ml import dockerignore
from dockerize_ml.detect import secrets
from dockerize_ml.detect.context import LARGE_FILE_BYTES, ContextFacts
from dockerize_ml.detect.deps.model import Candidate
from dockerize_ml.names import MARKER
from dockerize_ml.profile import Dependency, EntryPoint, Evidence
from dockerize_ml.scan import Scan


def existing_dockerignore(
    project: Scan,
    pyproject: dict[str, Any] | None,
    chosen: Candidate | None,
    inferred: tuple[Dependency, ...],
    context: ContextFacts,
    entry: EntryPoint | None,
) -> list[str]:
    """Warnings for files the build or the code needs that the project's own .dockerignore
    keeps out of the build context."""
    text = project.read_text(".dockerignore") if ".dockerignore" in project.files else None
    if not text or text.startswith(f"# {MARKER}"):
        return []
    needed: dict[str, str] = {}
    for rel in chosen.files if chosen is not None and not inferred else ():
        needed[rel] = "the dependency install reads it"
    for rel in context.runtime_files:
        needed[rel] = "the code reads it at run time"
    readme = (pyproject or {}).get("project", {}).get("readme")
    if isinstance(readme, str):
        needed[readme] = "pyproject.toml names it, so building the package needs it"
    if entry is not None and entry.kind == "script" and len(entry.command) > 1:
        needed[entry.command[1]] = "it is the entry point"
    rules = dockerignore.parse(text)
    return [
        f".dockerignore keeps {rel} out of the build context, but {why}; add `!{rel}` to it"
        for rel, why in needed.items()
        if dockerignore.excluded(rules, rel)
    ] + _let_in(project, rules)


def _let_in(project: Scan, rules: list[tuple[str, bool]]) -> list[str]:
    """Warnings for secrets and large files the project's own .dockerignore sends to the
    build, each with the line that keeps it out."""
    lines: dict[str, list[str]] = {}
    out = dockerignore.matcher(rules)
    entries = [*project.files.values(), *(e for e in project.skipped.values() if not e.is_dir)]
    for entry in sorted(entries, key=lambda e: e.path):
        if out.excluded(entry.path):
            continue
        rule = secrets.secret_by_name(entry.path)
        if rule is not None:
            lines.setdefault(rule.dockerignore, []).append(f"{entry.path} (a secret: {rule.why})")
        elif entry.size >= LARGE_FILE_BYTES:
            mib = entry.size // (1024 * 1024)
            lines.setdefault(entry.path, []).append(f"{entry.path} ({mib} MiB)")
    return [
        f".dockerignore lets {', '.join(what[:3])} into the build context (and the image); "
        f"add the line `{line}` to it"
        for line, what in lines.items()
    ]


def dependency_credentials(project: Scan, chosen: Candidate | None) -> tuple[Evidence, ...]:
    """Credentials written into the dependency files the image installs from (an index URL
    with a password, a token): copied into the image, they would be in a layer."""
    found: list[Evidence] = []
    for rel in dict.fromkeys(chosen.files if chosen else ()):
        text = project.read_text(rel)
        if text:
            found += [Evidence(f.path, f.line, f.rule) for f in secrets.secrets_in_text(rel, text)]
    return tuple(found)

"""What the code needs inside the image, and what holds a secret: files the code names are
put back (or mounted, when untracked or heavy weights), large files nothing names stay out,
and secrets by name (``.env``, whose variable names compose passes) or by content."""

from __future__ import annotations

import dataclasses
import fnmatch
import posixpath
import re

from dockerize_ml import dockerignore, knowledge
from dockerize_ml.detect import secrets
from dockerize_ml.detect.code import HERE, MAX_NOTEBOOK_BYTES, CodeIndex
from dockerize_ml.detect.context.git import tracked_back
from dockerize_ml.detect.context.rules import (
    LARGE_FILE_BYTES,
    MAX_DOTENV_BYTES,
    MAX_RUNTIME_FILE_BYTES,
    ContextFacts,
    Rules,
    parsed_rules,
)
from dockerize_ml.profile import Evidence
from dockerize_ml.scan import Scan


def named_paths(value: str, path: str) -> list[str]:
    """The project paths a literal written in the file ``path`` may name: relative to the
    root or to the file's folder, or to the file's own place when built from ``__file__``
    (``<here>/...``); none for an absolute path or a value without a dot."""
    candidate = value.strip().removeprefix("./")
    if not candidate or candidate.startswith("/") or "." not in candidate:
        return []
    folder = posixpath.dirname(path)
    bases: tuple[str, ...] = (folder,) if folder else ("",)
    if candidate.startswith(HERE + "/"):
        candidate = candidate.removeprefix(HERE + "/")
    elif candidate.startswith(HERE):
        return []
    else:
        bases = ("", folder) if folder else ("",)
    joined = (posixpath.normpath(posixpath.join(base, candidate)) for base in bases)
    return [p for p in joined if not p.startswith("../")]


def referenced_files(scan: Scan, index: CodeIndex) -> dict[str, Evidence]:
    """Project files the code names (string literals and literal path joins), relative to
    the root or to the naming file's folder."""
    found: dict[str, Evidence] = {}
    # A literal whose last part is the name of no file of the project names none of them
    # (joining and normalising change the folders before it, not it), unless a folder the
    # scan did not walk is named on the way: most literals stop here.
    names = {rel.rpartition("/")[2] for rel in (*scan.files, *scan.skipped)}
    unwalked = {rel.rpartition("/")[2] for rel, entry in scan.skipped.items() if entry.is_dir}
    for lit in index.literals():
        parts = lit.value.strip().rstrip("/").split("/")
        if parts[-1] not in names and parts[-1] not in (".", "..") and unwalked.isdisjoint(parts):
            continue
        for path in named_paths(lit.value, lit.path):
            if path not in found and scan.is_file(path):
                detail = f"names {lit.value!r}" + (f" (cell {lit.cell})" if lit.cell else "")
                found[path] = Evidence(lit.path, lit.line, detail)
    return found


def secret_rules(scan: Scan, facts: ContextFacts, rules: Rules) -> None:
    section = "Secrets: never baked into an image (docker/run.sh passes .env at run time)"
    rules.add(section, *(rule.dockerignore for rule in secrets.name_rules()))
    rules.add(section, *(f"!**/{name}" for name in secrets.exceptions()))
    # A module named like a secret (load_secrets.py, a secrets/ package) is code the project
    # imports: it goes back in; what it holds is checked by its content like all code.
    by_name = dockerignore.matcher(
        dockerignore.parse("\n".join(r.dockerignore for r in secrets.name_rules()))
    )
    code = sorted(r for r in scan.files if secrets.is_code(r) and by_name.excluded(r))
    rules.add_paths("Code named like a secret: the code needs it", *code, put_back=True)
    for entry in scan.top_level():
        # dotenv files, which `docker run --env-file` reads (not direnv's .envrc, a script)
        name = entry.path
        dotenv = name == ".env" or name.startswith(".env.")
        if not entry.is_dir and dotenv and secrets.secret_by_name(name) is not None:
            facts.env_files.append(name)
            if name == ".env":
                _dotenv_facts(scan, facts)
    facts.env_example = next((n for n in ENV_EXAMPLES if n in scan.files), "")


#: The committed examples of a .env, in the order one is chosen: placeholders, not secrets.
ENV_EXAMPLES = (".env.example", ".env.sample", ".env.template", ".env.dist")
#: A dotenv line that sets a variable: its name (the value is never kept).
_DOTENV_NAME = re.compile(r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", re.MULTILINE)


def _dotenv_facts(scan: Scan, facts: ContextFacts) -> None:
    """Whether ``.env`` is missing from a fresh clone (gitignored or untracked), and the
    names it sets: compose passes those through instead of requiring the file."""
    skipped = scan.skipped.get(".env")
    untracked = scan.tracked is not None and ".env" not in scan.tracked
    facts.env_local = untracked or (skipped is not None and skipped.reason == "gitignored")
    try:
        text = (scan.root / ".env").read_bytes()[:MAX_DOTENV_BYTES].decode("utf-8", "replace")
    except OSError:
        return
    facts.env_keys = list(dict.fromkeys(_DOTENV_NAME.findall(text)))


def content_secrets(scan: Scan, facts: ContextFacts, rules: Rules) -> None:
    """Read the small text files that would enter the context; what holds a credential
    stays out (a module or notebook cannot, and is reported instead)."""
    parsed = dockerignore.matcher(parsed_rules(rules))
    section = "Secrets found by their content (a key, a token, a password in a URL)"
    for rel, entry in sorted(scan.files.items()):
        notebook = rel.endswith(".ipynb")  # read as the code index reads it, images left out
        limit = MAX_NOTEBOOK_BYTES if notebook else secrets.MAX_CONTENT_BYTES
        if entry.size > limit or parsed.excluded(rel):
            continue
        text = scan.read_text(rel, limit=MAX_NOTEBOOK_BYTES) if notebook else scan.read_text(rel)
        if text and notebook:
            text = secrets.notebook_text(text)
        found = secrets.secrets_in_text(rel, text) if text else []
        if notebook:  # lines of the cells' text, not of the file: name the file
            found = [dataclasses.replace(f, line=0) for f in found]
        if not found:
            continue
        facts.secrets.extend(found)
        kinds = ", ".join(dict.fromkeys(f.rule for f in found))
        if secrets.is_code(rel):
            facts.warnings.append(
                f"{found[0]}: {rel} holds what looks like a credential ({kinds}) and goes into "
                "the image with the code; move it into .env (passed at run time) and rotate it"
            )
            continue
        rules.add_paths(section, rel)
        needed = ""
        if rel in facts.referenced:  # the code opens it: mounted read-only, never baked
            needed = " (the code reads it: docker/run.sh and compose.yaml mount it read-only)"
            if rel not in facts.mounted_files:
                facts.mounted_files.append(rel)
        facts.warnings.append(
            f"{found[0]}: {rel} holds what looks like a credential ({kinds}); "
            f"kept out of the image{needed}"
        )


def runtime_rules(
    scan: Scan, index: CodeIndex, ctx: dict[str, list[str]], facts: ContextFacts, rules: Rules
) -> None:
    """Put back what the code reads; mount what it reads but must not bake; name large files
    that nothing reads."""
    parsed = dockerignore.matcher(parsed_rules(rules))
    weight_globs = ctx["weight_patterns"]
    mount_above: int = knowledge.load("layout")["mounts"]["weights_above"]
    tracked = scan.tracked

    def excluded(path: str) -> bool:
        return parsed.excluded(path)

    def is_weight(path: str) -> bool:
        name = posixpath.basename(path)
        return any(fnmatch.fnmatchcase(name, g) for g in weight_globs)

    referenced = referenced_files(scan, index)
    facts.referenced = set(referenced)
    mounted_dirs = [*facts.data_dirs, *facts.output_dirs]
    for path, evidence in sorted(referenced.items()):
        size = scan.size_of(path)
        # In a git checkout, what git does not track is the working copy's (a download, a
        # run's output): the code may read it, the image does not hold it.
        untracked = tracked is not None and path not in tracked
        heavy = is_weight(path) and size > mount_above and path not in (tracked or ())
        if secrets.secret_by_name(path) is not None:
            facts.warnings.append(
                f"{evidence}: the code reads {path}, a secret; it stays out of the image "
                "(docker/run.sh passes .env files at run time; mount others)"
            )
        elif not excluded(path) and not untracked:
            continue
        elif size > MAX_RUNTIME_FILE_BYTES or heavy or untracked:
            if any(path.startswith(d + "/") for d in mounted_dirs):
                continue  # its folder is mounted already
            why = f"{size // (1024 * 1024)} MiB of weights" if heavy else "not tracked by git"
            if not excluded(path):
                rules.add_paths(
                    "Files the code reads that git does not track: mounted instead", path
                )
            facts.mounted_files.append(path)
            facts.warnings.append(
                f"{evidence}: {path} is {why}; not baked into the image, docker/run.sh and "
                "compose mount it read-only at its path"
            )
        else:
            facts.runtime_files.append(path)
            facts.runtime_evidence.append(evidence)
            rules.add_paths(
                "Files the code reads at run time: kept in on purpose", path, put_back=True
            )

    excluded_now = dockerignore.matcher(parsed_rules(rules))
    for rel, entry in sorted(scan.files.items()):
        if entry.size < LARGE_FILE_BYTES or rel in facts.runtime_files:
            continue
        if tracked is not None and rel in tracked:
            continue
        if not excluded_now.excluded(rel):
            rules.add_paths("Large files nothing in the code names", rel)
    tracked_back(scan, rules)

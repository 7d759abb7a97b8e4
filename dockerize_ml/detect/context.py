"""The build context: what must stay out of the image, and what the code needs inside it.

Datasets, outputs, experiment logs, weights and secrets stay out of the context (the run
script mounts data and outputs instead). A file the code names in a string literal is a
*runtime file*: it stays in, even inside a data folder or when it looks like weights.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import posixpath
from dataclasses import dataclass, field

from dockerize_ml import dockerignore, knowledge
from dockerize_ml.detect import secrets
from dockerize_ml.detect.code import HERE, MAX_NOTEBOOK_BYTES, CodeIndex
from dockerize_ml.profile import ContextRule, Evidence
from dockerize_ml.scan import Scan

#: A file larger than this that nothing references is excluded by name.
LARGE_FILE_BYTES = 20 * 1024 * 1024
#: A referenced file larger than this is not baked into the image; mount it instead.
MAX_RUNTIME_FILE_BYTES = 100 * 1024 * 1024


@dataclass
class ContextFacts:
    """What the build-context detector found."""

    data_dirs: list[str] = field(default_factory=list)
    output_dirs: list[str] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)
    runtime_files: list[str] = field(default_factory=list)
    runtime_evidence: list[Evidence] = field(default_factory=list)
    rules: list[ContextRule] = field(default_factory=list)
    #: Files that hold a credential by their content (they stay out, or are reported).
    secrets: list[secrets.Finding] = field(default_factory=list)
    #: Project files the code names (runtime files are those among them the rules exclude).
    referenced: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


def _holds_code(scan: Scan, folder: str) -> bool:
    return any(e.path.endswith(".py") for e in scan.files_under(folder))


def _referenced_files(scan: Scan, index: CodeIndex) -> dict[str, Evidence]:
    """Project files the code names (string literals and literal path joins), relative to
    the root or to the naming file's folder."""
    found: dict[str, Evidence] = {}
    for lit in index.literals():
        candidate = lit.value.strip().removeprefix("./")
        if not candidate or candidate.startswith("/") or "." not in candidate:
            continue
        folder = posixpath.dirname(lit.path)
        bases: tuple[str, ...] = (folder,) if folder else ("",)
        if candidate.startswith(HERE + "/"):  # built from the file's own place (__file__)
            candidate = candidate.removeprefix(HERE + "/")
        elif candidate.startswith(HERE):
            continue
        else:
            bases = ("", folder) if folder else ("",)
        for base in bases:
            path = posixpath.normpath(posixpath.join(base, candidate))
            if path.startswith("../") or path in found:
                continue
            if scan.is_file(path):
                detail = f"names {lit.value!r}" + (f" (cell {lit.cell})" if lit.cell else "")
                found[path] = Evidence(lit.path, lit.line, detail)
    return found


class _Rules:
    """The .dockerignore being assembled: patterns in order, each once, with its section."""

    def __init__(self) -> None:
        self.items: list[ContextRule] = []

    def add(self, section: str, *patterns: str) -> None:
        for pattern in patterns:
            if all(r.pattern != pattern for r in self.items):
                self.items.append(ContextRule(pattern, section))

    def excluded_dirs(self) -> list[str]:
        return [r.pattern for r in self.items if not r.pattern.startswith(("*", "!"))]


def _tooling_rules(scan: Scan, rules: _Rules) -> None:
    section = "Version control, editors and OS clutter"
    rules.add(section, ".git", ".hg", ".svn", ".idea", ".vscode", "**/.DS_Store")
    if scan.exists(".dvc"):  # DVC's cache holds every version of the data
        rules.add(section, ".dvc")
    section = "Python caches, builds and virtualenvs (the image has its own)"
    rules.add(section, "**/__pycache__", "**/*.py[cod]", ".pytest_cache", ".mypy_cache")
    rules.add(section, ".ruff_cache", ".tox", ".nox", "build", "dist", "**/*.egg-info")
    rules.add(section, "**/.venv", "**/venv")
    for path, entry in sorted(scan.skipped.items()):
        if entry.reason == "virtualenv":  # found by its pyvenv.cfg, whatever its name
            rules.add(section, path)
    rules.add("Notebook checkpoints", "**/.ipynb_checkpoints")


def _folder_rules(
    scan: Scan, ctx: dict[str, list[str]], facts: ContextFacts, rules: _Rules
) -> None:
    """Experiment logs, datasets and outputs: out of the context unless they hold code."""
    present = {e.path for e in scan.top_level() if e.is_dir}
    section = "Experiment logs and tracking runs"
    for name in ctx["experiment_dirs"]:
        if not (name in present and _holds_code(scan, name)):
            rules.add(section, name)
    section = "Datasets: mounted read-only by docker/run.sh instead"
    for name in ctx["data_dirs"]:
        if name in present and not _holds_code(scan, name):
            facts.data_dirs.append(name)
            rules.add(section, name)
    section = "Run outputs: mounted writable by docker/run.sh instead"
    for name in ctx["output_dirs"]:
        if name in present and not _holds_code(scan, name):
            facts.output_dirs.append(name)
            rules.add(section, name)
    rules.add("Model weights and large data files", *(f"**/{p}" for p in ctx["weight_patterns"]))


def _secret_rules(scan: Scan, facts: ContextFacts, rules: _Rules) -> None:
    section = "Secrets: never baked into an image (docker/run.sh passes .env at run time)"
    rules.add(section, *(rule.dockerignore for rule in secrets.name_rules()))
    rules.add(section, *(f"!**/{name}" for name in secrets.exceptions()))
    for entry in scan.top_level():
        # dotenv files, which `docker run --env-file` reads (not direnv's .envrc, a script)
        name = entry.path
        dotenv = name == ".env" or name.startswith(".env.")
        if not entry.is_dir and dotenv and secrets.secret_by_name(name) is not None:
            facts.env_files.append(name)


def _content_secrets(scan: Scan, facts: ContextFacts, rules: _Rules) -> None:
    """Read the small text files that would enter the context; what holds a credential
    stays out (a module or notebook cannot, and is reported instead)."""
    parsed = dockerignore.parse("\n".join(r.pattern for r in rules.items))
    section = "Secrets found by their content (a key, a token, a password in a URL)"
    for rel, entry in sorted(scan.files.items()):
        notebook = rel.endswith(".ipynb")  # read as the code index reads it, images left out
        limit = MAX_NOTEBOOK_BYTES if notebook else secrets.MAX_CONTENT_BYTES
        if entry.size > limit or dockerignore.excluded(parsed, rel):
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
        rules.add(section, rel)
        needed = " (the code reads it: mount it at run time)" if rel in facts.referenced else ""
        facts.warnings.append(
            f"{found[0]}: {rel} holds what looks like a credential ({kinds}); "
            f"kept out of the image{needed}"
        )


def _runtime_rules(
    scan: Scan, index: CodeIndex, ctx: dict[str, list[str]], facts: ContextFacts, rules: _Rules
) -> None:
    """Put back what the code reads; name large files that nothing reads."""
    excluded_dirs = rules.excluded_dirs()
    weight_globs = ctx["weight_patterns"]

    def excluded(path: str) -> bool:
        name = posixpath.basename(path)
        return any(path == d or path.startswith(d + "/") for d in excluded_dirs) or any(
            fnmatch.fnmatchcase(name, g) for g in weight_globs
        )

    referenced = _referenced_files(scan, index)
    facts.referenced = set(referenced)
    for path, evidence in sorted(referenced.items()):
        size = scan.size_of(path)
        if secrets.secret_by_name(path) is not None:
            facts.warnings.append(
                f"{evidence}: the code reads {path}, a secret; it stays out of the image "
                "(docker/run.sh passes .env files at run time; mount others)"
            )
        elif not excluded(path):
            continue
        elif size > MAX_RUNTIME_FILE_BYTES:
            facts.warnings.append(
                f"{evidence}: {path} is {size // (1024 * 1024)} MiB; too large to bake "
                "into the image, mount it at run time"
            )
        else:
            facts.runtime_files.append(path)
            facts.runtime_evidence.append(evidence)
            rules.add("Files the code reads at run time: kept in on purpose", f"!{path}")

    for rel, entry in sorted(scan.files.items()):
        if entry.size >= LARGE_FILE_BYTES and not excluded(rel) and rel not in facts.runtime_files:
            rules.add("Large files nothing in the code names", rel)


def detect_context(scan: Scan, index: CodeIndex) -> ContextFacts:
    """Decide the .dockerignore rules and the folders to mount."""
    ctx: dict[str, list[str]] = knowledge.load("layout")["context"]
    facts = ContextFacts()
    rules = _Rules()
    _tooling_rules(scan, rules)
    _folder_rules(scan, ctx, facts, rules)
    _secret_rules(scan, facts, rules)
    rules.add(
        "Generated by dockerize-ml, not needed inside the image",
        "docker/build.sh",
        "docker/run.sh",
        "docker/smoke.sh",
        "compose.yaml",
        "k8s",
        ".github",
        ".gitlab-ci.yml",
        ".dockerize-ml",
        "dockerize-ml.toml",
        "**/*.dockerize-ml-new",
        "**/*.orig",
    )
    _runtime_rules(scan, index, ctx, facts, rules)
    # Last, so that a file the code reads is kept out too when it holds a credential.
    _content_secrets(scan, facts, rules)
    facts.rules = rules.items
    return facts

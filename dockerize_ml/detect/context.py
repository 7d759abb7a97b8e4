"""The build context: what must stay out of the image, and what the code needs inside it.

Datasets, outputs, experiment logs, weights and secrets stay out of the context (the run
script mounts data and outputs instead). A file the code names in a string literal is a
*runtime file*: it stays in, even inside a data folder or when it looks like weights.

In a git checkout, git says what the repository is: what its .gitignore files ignore stays
out (translated to Docker's anchored patterns), a folder that holds no tracked file and no
code stays out, and a file git tracks is put back where a guess from a name or a .gitignore
rule would drop it. A file the code names that git does not track, or weights above a few MB,
are not baked either: the run script and compose mount them read-only at their path.
Folders the code writes into (an ``--output_dir`` default, ``torch.save`` into a path, a
folder it makes) are outputs: out of the context, mounted writable.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from dockerize_ml import dockerignore, knowledge
from dockerize_ml.detect import secrets
from dockerize_ml.detect.code import HERE, MAX_NOTEBOOK_BYTES, CodeIndex
from dockerize_ml.detect.loose import loose_outputs
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.names import MARKER, NOT_IN_IMAGE
from dockerize_ml.profile import ContextRule, Evidence
from dockerize_ml.scan import Scan

#: A file larger than this that nothing references is excluded by name.
LARGE_FILE_BYTES = 20 * 1024 * 1024
#: A referenced file larger than this is not baked into the image; mount it instead.
MAX_RUNTIME_FILE_BYTES = 100 * 1024 * 1024
#: How much of ``.env`` is read for its variable names.
MAX_DOTENV_BYTES = 256 * 1024


@dataclass
class ContextFacts:
    """What the build-context detector found."""

    data_dirs: list[str] = field(default_factory=list)
    output_dirs: list[str] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)
    #: The variable names ``.env`` sets, and whether a fresh clone lacks it.
    env_keys: list[str] = field(default_factory=list)
    env_local: bool = False
    runtime_files: list[str] = field(default_factory=list)
    runtime_evidence: list[Evidence] = field(default_factory=list)
    #: Files the code names that stay out of the image (weights above a few MB, files git
    #: ignores): the run script and compose mount them read-only at their path.
    mounted_files: list[str] = field(default_factory=list)
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
            elif pattern.startswith("!"):
                # A put-back must come after every exclusion that would drop it: move it last.
                self.items = [r for r in self.items if r.pattern != pattern]
                self.items.append(ContextRule(pattern, section))

    def add_paths(self, section: str, *paths: str, put_back: bool = False) -> None:
        """Paths of the project (not patterns): escaped, so each matches itself alone."""
        prefix = "!" if put_back else ""
        self.add(section, *(prefix + dockerignore.escape(p) for p in paths))

    def excluded_dirs(self) -> list[str]:
        return [r.pattern for r in self.items if not r.pattern.startswith(("*", "!"))]


def _tooling_rules(scan: Scan, rules: _Rules) -> None:
    section = "Version control, editors and OS clutter"
    rules.add(section, ".git", ".hg", ".svn", ".idea", ".vscode", "**/.DS_Store")
    if scan.exists(".dvc"):
        # DVC's cache holds every version of the data, tmp its locks and indexes, and
        # config.local the user's remote credentials; .dvc/config (the remotes) stays in:
        # `dvc pull` and `dvc repro` in the image read it.
        rules.add(section, ".dvc/cache", ".dvc/tmp", ".dvc/config.local")
    section = "Python caches, builds and virtualenvs (the image has its own)"
    rules.add(section, "**/__pycache__", "**/*.py[cod]", ".pytest_cache", ".mypy_cache")
    rules.add(section, ".ruff_cache", ".tox", ".nox", "build", "dist", "**/*.egg-info")
    rules.add(section, "**/.venv", "**/venv")
    for path, entry in sorted(scan.skipped.items()):
        if entry.reason == "virtualenv":  # found by its pyvenv.cfg, whatever its name
            rules.add_paths(section, path)
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
    section = "Front-end dependencies, builds and caches, at any depth"
    rules.add(section, *(f"**/{name}" for name in ctx["anywhere_dirs"]))
    section = "Datasets inside the project's folders (nothing in the code names them)"
    named = set(ctx["data_dirs"])
    for path, entry in sorted(scan.skipped.items()):
        if "/" in path and entry.is_dir and entry.reason.startswith(("data:", "large:")):
            rules.add_paths(section, path)
    for path in sorted(scan.dirs):
        if "/" in path and posixpath.basename(path) in named and not _holds_code(scan, path):
            rules.add_paths(section, path)


def _untracked_folders(scan: Scan, rules: _Rules) -> None:
    """In a git checkout, a folder that holds no tracked file and no code is what a run, a
    download or an experiment left in the working copy: it stays out."""
    tracked = scan.tracked
    if tracked is None:
        return

    def parents(paths: Iterable[str]) -> set[str]:
        return {"/".join(p.split("/")[:i]) for p in paths for i in range(1, p.count("/") + 1)}

    holding = parents(tracked)
    with_code = parents(rel for rel in scan.files if rel.endswith((".py", ".ipynb")))
    parsed = _parsed(rules)
    files_in: dict[str, list[str]] = {}
    for rel in scan.files:
        for folder in parents([rel]):
            files_in.setdefault(folder, []).append(rel)
    section = "Folders git does not track and that hold no code (runs, downloads, datasets)"
    folders = sorted({*scan.dirs, *(p for p, e in scan.skipped.items() if e.is_dir)} - {""})
    added: list[str] = []
    for path in folders:
        if path in holding or path in with_code or any(path.startswith(f"{a}/") for a in added):
            continue
        if dockerignore.excluded(parsed, path):
            continue
        inside = files_in.get(path, [])
        if inside and all(dockerignore.excluded(parsed, rel) for rel in inside):
            continue  # out already, file by file (dockerize-ml's own docker/ scripts)
        added.append(path)
    rules.add(section, *added)


def _parsed(rules: _Rules) -> list[tuple[str, bool]]:
    return dockerignore.parse("\n".join(r.pattern for r in rules.items))


def _written_folders(scan: Scan, index: CodeIndex, facts: ContextFacts, rules: _Rules) -> None:
    """Folders the code writes into (an ``--output_dir`` default, ``torch.save`` into a path,
    a folder it makes): out of the context, mounted writable so results survive."""
    writes = knowledge.load("layout")["writes"]
    options = set(writes["output_options"])
    writers = set(writes["writers"])
    makers = set(writes["makers"])
    found: dict[str, Evidence] = {}

    def folder_of(value: object, is_folder: bool) -> str:
        if not isinstance(value, str):
            return ""
        path = value.strip().removeprefix("./")
        if not path or path.startswith(("/", "~", "..")) or any(c in path for c in "${}%*<>:"):
            return ""
        top = posixpath.normpath(path).split("/")[0]
        if top in (".", "..") or (not is_folder and "/" not in path):
            return ""  # a file in the working folder itself: nothing to mount
        return top

    for call in index.calls():
        if _dev_file(call.path):
            continue
        name = call.func.rsplit(".", 1)[-1]
        folder = ""
        if name in ("add_argument", "argument", "option") or name.startswith("DEFINE_"):
            flags = [a for a in call.args if isinstance(a, str)]
            option = flags[0].lstrip("-").replace("-", "_") if flags else ""
            if option in options:
                default = call.kwarg("default")
                if default is None and name.startswith("DEFINE_") and len(call.args) > 1:
                    default = call.args[1]
                folder = folder_of(default, True)
        elif call.func in makers:
            folder = folder_of(call.args[0] if call.args else None, True)
        elif name in writers:
            for arg in call.args:
                folder = folder or folder_of(arg, False)
        if folder and folder not in found:
            found[folder] = Evidence(call.path, call.line, f"{call.func}(...) writes into it")
    section = "Run outputs: mounted writable by docker/run.sh instead"
    for folder, _evidence in sorted(found.items()):
        if folder in facts.data_dirs or folder in facts.output_dirs:
            continue
        if scan.exists(folder) and _holds_code(scan, folder):
            continue
        if scan.tracked is not None and any(t.startswith(folder + "/") for t in scan.tracked):
            continue  # the repository ships files there: not only an output
        facts.output_dirs.append(folder)
        rules.add_paths(section, folder)


def _dev_file(path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, g) for g in knowledge.load("layout")["code"]["dev_files"])


def gitignore_patterns(folder: str, prefix: str, lines: tuple[str, ...]) -> list[str]:
    """A .gitignore's lines as .dockerignore patterns, for the same files.

    A .gitignore pattern without a slash matches at any depth below its folder (``*.log`` is
    ``**/*.log``), one with a slash is anchored to the folder; .dockerignore patterns are all
    anchored to the context root. A ``.gitignore`` above the project (``prefix``) keeps only
    the patterns that can match inside it. A pattern that matches everything (a whitelist
    ``.gitignore``: ``*`` then ``!*.py``) is left out: Docker's ``!`` cannot follow it.
    """
    out: list[str] = []
    base = f"{folder}/" if folder else ""
    for raw in lines:
        line = raw.rstrip()
        if not line or line.startswith("#") or "\\" in line:
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        pattern = pattern.rstrip("/")  # Docker has no folder-only patterns: a file of that name too
        anchored = "/" in pattern
        pattern = pattern.lstrip("/")
        if not pattern or pattern.strip("*/") == "":
            continue
        if anchored and pattern.startswith("**/"):
            anchored, pattern = False, pattern[3:]
        if prefix:
            if not anchored:
                translated = f"**/{pattern}"
            else:
                rest = _below(pattern, prefix)
                if rest is None:
                    continue
                translated = rest
        else:
            translated = f"{base}{pattern}" if anchored else f"{base}**/{pattern}"
        out.append(("!" if negated else "") + translated)
    return out


def _below(pattern: str, prefix: str) -> str | None:
    """An anchored pattern of a .gitignore above the project, relative to the project folder
    (``prefix``, with its trailing slash), or None when it cannot match inside it."""
    parts, wanted = pattern.split("/"), prefix.rstrip("/").split("/")
    if len(parts) <= len(wanted) or any("**" in p for p in parts[: len(wanted)]):
        return None
    if all(fnmatch.fnmatchcase(w, p) for w, p in zip(wanted, parts, strict=False)):
        return "/".join(parts[len(wanted) :])
    return None


def _gitignore_rules(scan: Scan, rules: _Rules, at: int) -> None:
    """What git ignores is clutter of a working copy (outputs, caches, downloads): it stays
    out of the context too. Files git tracks all the same are put back later.

    The rules go in at position ``at`` (before the project's own weights and secrets rules,
    which so win over a ``!`` line of a .gitignore); a .gitignore inside a folder that is out
    of the context already (dockerize-ml's own state) adds nothing.
    """
    section = "Ignored by the repository's .gitignore (the clutter of a working copy)"
    parsed = _parsed(rules)
    added = _Rules()
    for folder, prefix, lines in scan.gitignores:
        if folder and dockerignore.excluded(parsed, folder):
            continue
        for pattern in gitignore_patterns(folder, prefix, lines):
            try:
                dockerignore.parse(pattern)
            except InvalidProjectFileError:
                continue  # git reads it, Docker would refuse it: left out
            if all(r.pattern != pattern for r in rules.items):
                added.add(section, pattern)
    rules.items[at:at] = added.items


def _secret_rules(scan: Scan, facts: ContextFacts, rules: _Rules) -> None:
    section = "Secrets: never baked into an image (docker/run.sh passes .env at run time)"
    rules.add(section, *(rule.dockerignore for rule in secrets.name_rules()))
    rules.add(section, *(f"!**/{name}" for name in secrets.exceptions()))
    # A module named like a secret (load_secrets.py, a secrets/ package) is code the project
    # imports: it goes back in; what it holds is checked by its content like all code.
    by_name = dockerignore.parse("\n".join(r.dockerignore for r in secrets.name_rules()))
    code = sorted(r for r in scan.files if secrets.is_code(r) and dockerignore.excluded(by_name, r))
    rules.add_paths("Code named like a secret: the code needs it", *code, put_back=True)
    for entry in scan.top_level():
        # dotenv files, which `docker run --env-file` reads (not direnv's .envrc, a script)
        name = entry.path
        dotenv = name == ".env" or name.startswith(".env.")
        if not entry.is_dir and dotenv and secrets.secret_by_name(name) is not None:
            facts.env_files.append(name)
            if name == ".env":
                _dotenv_facts(scan, facts)


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


def _content_secrets(scan: Scan, facts: ContextFacts, rules: _Rules) -> None:
    """Read the small text files that would enter the context; what holds a credential
    stays out (a module or notebook cannot, and is reported instead)."""
    parsed = _parsed(rules)
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


def _runtime_rules(
    scan: Scan, index: CodeIndex, ctx: dict[str, list[str]], facts: ContextFacts, rules: _Rules
) -> None:
    """Put back what the code reads; mount what it reads but must not bake; name large files
    that nothing reads."""
    parsed = _parsed(rules)
    weight_globs = ctx["weight_patterns"]
    mount_above: int = knowledge.load("layout")["mounts"]["weights_above"]
    tracked = scan.tracked

    def excluded(path: str) -> bool:
        return dockerignore.excluded(parsed, path)

    def is_weight(path: str) -> bool:
        name = posixpath.basename(path)
        return any(fnmatch.fnmatchcase(name, g) for g in weight_globs)

    referenced = _referenced_files(scan, index)
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

    excluded_now = _parsed(rules)
    for rel, entry in sorted(scan.files.items()):
        if entry.size < LARGE_FILE_BYTES or rel in facts.runtime_files:
            continue
        if tracked is not None and rel in tracked:
            continue
        if not dockerignore.excluded(excluded_now, rel):
            rules.add_paths("Large files nothing in the code names", rel)
    _tracked_back(scan, rules)


#: Sections whose rules guess from names; a file git tracks is put back from them.
_GUESSED = (
    "Ignored by the repository's .gitignore",
    "Datasets",
    "Run outputs",
    "Experiment logs",
    "Model weights",
    "Folders git does not track",
)
#: Past this many tracked files to put back, they are put back by folder.
MAX_PUT_BACK = 40


def _tracked_back(scan: Scan, rules: _Rules) -> None:
    """A file the repository tracks is its own (a corpus it ships, a small model an API
    serves), even where a .gitignore rule or a name says data: it is put back."""
    if scan.tracked is None:
        return
    guessed = [r for r in rules.items if r.section.startswith(_GUESSED)]
    parsed = _parsed(rules)
    own = [(r.pattern.lstrip("!"), r.pattern.startswith("!")) for r in guessed]
    others = dockerignore.parse(
        "\n".join(r.pattern for r in rules.items if not r.section.startswith(_GUESSED))
    )
    back: list[str] = []
    for rel in sorted(scan.tracked):
        if not dockerignore.excluded(parsed, rel) or secrets.secret_by_name(rel) is not None:
            continue
        if scan.size_of(rel) >= LARGE_FILE_BYTES:
            continue
        # Put back only what a guess keeps out, never what the tooling or secret rules do.
        if dockerignore.excluded(own, rel) and not dockerignore.excluded(others, rel):
            back.append(rel)
    if len(back) > MAX_PUT_BACK:
        back = _by_folder(scan, back)
    rules.add_paths("Files git tracks: the repository's own, kept in", *back, put_back=True)


def _by_folder(scan: Scan, back: list[str]) -> list[str]:
    """``back`` shortened: a folder whose every file is tracked (as the walk saw it, with no
    folder inside it left unwalked) is put back whole; the files of any other one by name, so
    that no untracked file comes back with them."""
    tracked = scan.tracked or frozenset()
    whole: dict[str, bool] = {}
    for rel in back:
        folder = posixpath.dirname(rel)
        if folder in whole or not folder:
            continue
        prefix = folder + "/"
        inside = [r for r in scan.files if r.startswith(prefix)]
        unwalked = any(p.startswith(prefix) for p in scan.skipped)
        whole[folder] = folder in scan.dirs and not unwalked and all(r in tracked for r in inside)
    kept = [f for f, ok in whole.items() if ok]
    out = [f for f in kept if not any(f.startswith(k + "/") for k in kept)]
    out += [r for r in back if not any(r.startswith(k + "/") for k in kept)]
    return sorted(out)


def detect_context(
    scan: Scan, index: CodeIndex, vcs_checkouts: set[str] | None = None
) -> ContextFacts:
    """Decide the .dockerignore rules and the folders to mount. ``vcs_checkouts`` are the
    folders pip clones editable VCS requirements into (``src/NAME``): the image installs
    its own clone from the requirement, so the working copy's stays out."""
    ctx: dict[str, list[str]] = knowledge.load("layout")["context"]
    facts = ContextFacts()
    rules = _Rules()
    _tooling_rules(scan, rules)
    checkouts = sorted(p for p in vcs_checkouts or () if scan.is_dir(p))
    rules.add_paths(
        "pip's clones of editable VCS requirements (the image clones its own)", *checkouts
    )
    after_tooling = len(rules.items)
    _folder_rules(scan, ctx, facts, rules)
    _written_folders(scan, index, facts, rules)
    _secret_rules(scan, facts, rules)
    rules.add(f"{MARKER}, not needed inside the image", *NOT_IN_IMAGE)
    _gitignore_rules(scan, rules, after_tooling)
    _untracked_folders(scan, rules)
    _runtime_rules(scan, index, ctx, facts, rules)
    rules.add_paths(
        "Results a run left in the working copy, untracked and named nowhere (to send one "
        "to the build, end this file with `!PATH`)",
        *loose_outputs(scan, index, _parsed(rules)),
    )
    # Last, so that a file the code reads is kept out too when it holds a credential.
    _content_secrets(scan, facts, rules)
    facts.rules = rules.items
    return facts

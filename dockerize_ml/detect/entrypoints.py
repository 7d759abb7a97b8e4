"""How the container starts: console scripts, ``__main__`` modules and conventional scripts."""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

from dockerize_ml import knowledge
from dockerize_ml.detect.deps.setuptools import console_scripts
from dockerize_ml.detect.files import line_of
from dockerize_ml.names import GENERATED, MARKER
from dockerize_ml.profile import EntryPoint, Evidence
from dockerize_ml.scan import Scan

_MAIN_GUARD = re.compile(r"""^if\s+__name__\s*==\s*(['"])__main__\1\s*:""", re.MULTILINE)


def main_guard_line(text: str) -> int:
    """The line of an ``if __name__ == "__main__":`` guard at module level, or 0."""
    match = _MAIN_GUARD.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 0


#: A console script's name as installers accept it (the entry points specification).
_SCRIPT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def packaged_entrypoints(scan: Scan, pyproject: dict[str, Any] | None) -> list[EntryPoint]:
    """Console scripts (pyproject, Poetry, setup.py/cfg) and ``__main__`` packages."""
    found: list[EntryPoint] = []

    doc = pyproject or {}
    tables = (
        ("[project.scripts]", doc.get("project", {}).get("scripts", {})),
        ("[tool.poetry.scripts]", doc.get("tool", {}).get("poetry", {}).get("scripts", {})),
    )
    text = scan.read_text("pyproject.toml") or ""
    for table, scripts in tables:
        if not isinstance(scripts, dict):
            continue
        for name, target in scripts.items():
            if isinstance(target, dict):  # Poetry's {reference = ..., type = "file"}
                continue
            if not _SCRIPT_NAME.fullmatch(str(name)):
                continue  # no installer makes a script of it (a control character, a space)
            line = line_of(text, f"{name} =") or line_of(text, f'"{name}"')
            found.append(
                EntryPoint(
                    "console-script",
                    (str(name),),
                    (Evidence("pyproject.toml", line, f"{table} {name} = {target}"),),
                )
            )
    for name, _target, evidence in console_scripts(scan):
        found.append(EntryPoint("console-script", (name,), (evidence,)))

    # A package run with `python -m`: a top-level (or src/) package with a __main__.py.
    for rel in sorted(scan.files):
        parts = rel.split("/")
        if parts[-1] != "__main__.py":
            continue
        package = parts[:-1]
        if package[:1] == ["src"]:
            package = package[1:]
        if len(package) == 1:
            found.append(
                EntryPoint(
                    "module",
                    ("python", "-m", package[0]),
                    (Evidence(rel, 0, f"python -m {package[0]}"),),
                )
            )

    return found


#: Modules whose use at the top of a script means it takes command-line arguments.
_ARGUMENT_PARSERS = re.compile(
    r"^\s*(?:import|from)\s+(argparse|click|typer|tyro|hydra|absl|fire|jsonargparse|simple_parsing)\b"
    r"|\bsys\.argv\b|\btf\.(?:app\.)?flags\b",
    re.MULTILINE,
)
#: Scripts that are tooling of the repository, never what its image runs.
_NOT_ENTRY = ("setup.py", "conftest.py", "noxfile.py", "tasks.py", "fabfile.py", "__init__.py")
#: Name prefixes of scripts that are the repository's main job, best first.
_MAIN_PREFIXES = ("train", "main", "run", "serve", "app", "predict", "infer", "eval", "learn")


def _top_level_code(text: str) -> int:
    """The line of the first module-level statement that does something (a call, a loop, an
    assignment from a call), or 0: a script of top-level code, with no ``__main__`` guard."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return 0
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        if isinstance(node, (ast.Expr, ast.For, ast.While, ast.With)):
            return node.lineno
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
            return node.lineno
    return 0


def _script(scan: Scan, rel: str, conventional: bool) -> EntryPoint | None:
    text = scan.read_text(rel) or ""
    guard = main_guard_line(text)
    parses = _ARGUMENT_PARSERS.search(text)
    if guard and (conventional or parses):
        why = 'has an `if __name__ == "__main__":` guard'
        return EntryPoint("script", ("python", rel), (Evidence(rel, guard, why),))
    top = _top_level_code(text) if conventional or parses else 0
    if top:
        why = "a script of top-level code" + (" that parses its arguments" if parses else "")
        return EntryPoint("script", ("python", rel), (Evidence(rel, top, why),))
    return None


def script_entrypoints(scan: Scan) -> list[EntryPoint]:
    """Scripts the image can run, best first: the conventional names (main.py, train.py, ...)
    with a ``__main__`` guard or of top-level code; then other scripts at the root or in
    ``scripts/`` that parse their arguments (argparse, click, typer, tyro, hydra, absl, fire),
    guarded or not, those named like a main job (train_*, main_*, run_*) first. Guarded
    scripts rank before scripts of top-level code."""
    conventional = knowledge.load("layout")["entrypoints"]["scripts"]
    found = [e for name in conventional if name in scan.files and (e := _script(scan, name, True))]
    # A guarded script says it is meant to be run; top-level code only may be.
    found.sort(key=lambda e: not e.evidence[0].detail.startswith("has an"))
    others = [
        rel
        for rel in scan.files
        if rel.endswith(".py")
        and (rel.count("/") == 0 or (rel.count("/") == 1 and rel.startswith("scripts/")))
        and rel not in conventional
        and rel.rsplit("/", 1)[-1] not in _NOT_ENTRY
        and not rel.rsplit("/", 1)[-1].startswith("test_")
    ]

    def rank(rel: str) -> tuple[int, str]:
        name = rel.rsplit("/", 1)[-1]
        first = next((i for i, p in enumerate(_MAIN_PREFIXES) if name.startswith(p)), 99)
        return (first, rel)

    found += [e for rel in sorted(others, key=rank) if (e := _script(scan, rel, False))]
    # Scripts deeper down, in folders that are not packages (projects/adder/adder.py), with
    # a `__main__` guard: meant to be run, and a better start than a notebook server.
    packages = {rel.rpartition("/")[0] for rel in scan.files if rel.endswith("/__init__.py")}
    deeper = [
        rel
        for rel in scan.files
        if rel.endswith(".py")
        and 1 <= rel.count("/") <= 2
        and not rel.startswith(("scripts/", "."))
        and "/." not in rel
        and rel.rpartition("/")[0] not in packages
        and not _tooling(rel)
        and not rel.rsplit("/", 1)[-1].startswith("test_")
    ]
    for rel in sorted(deeper, key=lambda r: (r.count("/"), *rank(r))):
        text = scan.read_text(rel) or ""
        guard = 0 if text.startswith(GENERATED) else main_guard_line(text)  # docker/platform/
        if guard and _ARGUMENT_PARSERS.search(text):  # a tool script takes no arguments
            why = 'has an `if __name__ == "__main__":` guard and parses its arguments'
            found.append(EntryPoint("script", ("python", rel), (Evidence(rel, guard, why),)))
    return found


# ---------------------------------------------------------------- documented commands

_READMES = ("README.md", "README.rst", "README.txt", "README", "readme.md", "Readme.md")
_MAKEFILES = ("Makefile", "makefile", "GNUmakefile", "justfile", "Justfile")
#: Programs a README runs that serve an app the code defines.
_SERVER_PROGRAMS = ("uvicorn", "gunicorn", "streamlit", "bentoml", "serve", "flask", "litserve")
#: Wrappers that run the command after them in the project's environment.
_RUNNERS = (("poetry", "run"), ("uv", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run"))
_SHELL_STOPS = {"&&", "||", ";", "|", "&", ">", ">>", "2>&1", "<"}
#: Words that stand for a value the reader fills in: not an argument the image can pass.
_PLACEHOLDER = re.compile(r"[$<>`{}]|path/to|/path/|\.\.\.|^your[_-]|^my[_-]")


def _code_lines(text: str) -> list[tuple[int, str]]:
    """Command lines of a README: lines of its fenced code blocks and ``$ `` prompt lines,
    with backslash continuations joined, each with its first line number."""
    found: list[tuple[int, str]] = []
    fence = ""
    pending: tuple[int, str] | None = None
    for at, raw in enumerate(text.splitlines(), start=1):
        line, number = raw.strip(), at
        if line.startswith(("```", "~~~")):
            fence = "" if fence and line.startswith(fence) else (fence or line[:3])
            pending = None
            continue
        prompt = line.startswith("$ ")
        if not fence and not prompt and pending is None:
            continue
        line = line.removeprefix("$ ").strip()
        if pending is not None:
            start, head = pending
            line, number = f"{head} {line}", start
        if line.endswith("\\"):
            pending = (number, line[:-1].strip())
            continue
        pending = None
        if line:
            found.append((number, line))
    return found


def _words(line: str) -> list[str]:
    """A command line as words, up to the first shell operator, without the leading
    variable assignments and environment runners (``poetry run``)."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return []
    cut = next((i for i, w in enumerate(words) if w in _SHELL_STOPS or w.startswith(">")), None)
    words = words[:cut]
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[0]):
        words = words[1:]
    for runner in _RUNNERS:
        if tuple(words[:2]) == runner:
            words = words[2:]
    return words


def _arguments(words: list[str]) -> list[str]:
    """The arguments an image can pass as written: those before the first placeholder
    (``$VAR``, ``<file>``, ``path/to/...``), without an option whose value was one."""
    kept: list[str] = []
    for word in words:
        if _PLACEHOLDER.search(word):
            if kept and kept[-1].startswith("-") and "=" not in kept[-1]:
                kept.pop()
            break
        kept.append(word)
    return kept


def _module_file(scan: Scan, module: str) -> str:
    """The file ``python -m module`` runs, if it is the project's own."""
    path = module.replace(".", "/")
    for candidate in (
        f"{path}.py",
        f"src/{path}.py",
        f"{path}/__main__.py",
        f"src/{path}/__main__.py",
    ):
        if candidate in scan.files:
            return candidate
    return ""


def _tooling(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    dev = knowledge.load("layout")["code"]["dev_files"]
    return name in _NOT_ENTRY or any(fnmatch.fnmatchcase(rel, p) for p in dev)


@dataclass(frozen=True)
class Documented:
    """A command the project's README or Makefile runs, and the file of the project it runs
    (the script, the module, or the module of the app a server command names)."""

    entry: EntryPoint
    file: str

    @property
    def main_job(self) -> bool:
        """Is it named like the repository's main job (train, serve, main, ...)?"""
        stem = self.file.rsplit("/", 1)[-1].removesuffix(".py")
        if stem == "__main__":
            stem = self.file.rsplit("/", 2)[-2]
        return self.entry.kind == "documented-server" or stem.startswith(_MAIN_PREFIXES)


def _resolve(scan: Scan, words: list[str], evidence: Evidence) -> Documented | None:
    """A documented command as an entry point, when it runs the project's own code."""
    if not words:
        return None
    program = words[0].rsplit("/", 1)[-1]
    if re.fullmatch(r"python(3(\.\d+)?)?", program) and len(words) > 1:
        if words[1] == "-m" and len(words) > 2:
            if words[2] in _SERVER_PROGRAMS:
                return _resolve(scan, words[2:], evidence)
            rel = _module_file(scan, words[2])
            if not rel or _tooling(rel):
                return None
            argv = ("python", "-m", words[2], *_arguments(words[3:]))
            return Documented(EntryPoint("module", argv, (evidence,)), rel)
        script = words[1].removeprefix("./")
        if script in scan.files and script.endswith(".py") and not _tooling(script):
            argv = ("python", script, *_arguments(words[2:]))
            return Documented(EntryPoint("script", argv, (evidence,)), script)
        return None
    if program in _SERVER_PROGRAMS:
        target = next((w for w in words[1:] if re.fullmatch(r"[\w.]+:[\w.()]+", w)), "")
        module = target.partition(":")[0] or next(
            (w for w in words[1:] if w.endswith(".py") and w in scan.files), ""
        )
        rel = module if module.endswith(".py") else _module_file(scan, module) if module else ""
        if rel:
            argv = (program, *_arguments(words[1:]))
            return Documented(EntryPoint("documented-server", argv, (evidence,)), rel)
    return None


def _expand(line: str, variables: dict[str, str]) -> str:
    """``$(PYTHON) x.py`` with the Makefile's ``PYTHON = python3``."""
    return re.sub(
        r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]",
        lambda m: variables.get(m.group(1), m.group(0)),
        line,
    )


def _make_targets(scan: Scan) -> dict[str, list[tuple[str, int, str]]]:
    """Recipe lines of each Makefile/justfile target (variables of the file expanded)."""
    targets: dict[str, list[tuple[str, int, str]]] = {}
    for rel in _MAKEFILES:
        text = scan.read_text(rel) if rel in scan.files else None
        if not text:
            continue
        variables = dict(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*[:?]?=\s*(.*?)\s*$", text, re.M))
        current = ""
        for number, line in enumerate(text.splitlines(), start=1):
            head = re.match(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", line)
            if head:
                current = head.group(1)
                targets.setdefault(current, [])
            elif current and line[:1] in ("\t", " ") and line.strip():
                recipe = _expand(line.strip().lstrip("@-"), variables)
                targets[current].append((rel, number, recipe))
            elif line and not line.startswith("#"):
                current = ""
    return targets


def _dockerfile_commands(scan: Scan) -> list[tuple[str, int, str]]:
    """The command of the repository's own Dockerfile (``CMD``/``ENTRYPOINT``, exec or shell
    form), or of the one `init` kept as ``Dockerfile.orig`` beside its own."""
    for rel in ("Dockerfile", "Dockerfile.orig"):
        text = scan.read_text(rel) if rel in scan.files else None
        if not text or MARKER in text[:200]:  # ours, not theirs
            continue
        found: list[tuple[str, int, str]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            word, _, rest = line.strip().partition(" ")
            if word.upper() not in ("CMD", "ENTRYPOINT"):
                continue
            rest = rest.strip()
            try:
                argv = json.loads(rest) if rest.startswith("[") else None
            except json.JSONDecodeError:
                argv = None
            if isinstance(argv, list):
                rest = shlex.join(str(a) for a in argv)
            found.append((rel, number, rest.removeprefix("exec ").strip()))
        return found[-1:]
    return []


def documented_commands(scan: Scan) -> list[Documented]:
    """Commands the README's code blocks run (``python train.py config/x.py``, ``python -m
    pkg.train``, ``uvicorn pkg.main:app``, ``make train``), in the README's order, then the
    Makefile/justfile targets named like a main job; only those that run the project's own
    code. Placeholder arguments are dropped (the image cannot pass them)."""
    found: list[Documented] = []
    targets = _make_targets(scan)

    def from_target(name: str, why: str) -> Documented | None:
        for rel, number, recipe in targets.get(name, []):
            doc = _resolve(scan, _words(recipe), Evidence(rel, number, why))
            if doc is not None:
                return doc
        return None

    for rel, number, line in _dockerfile_commands(scan):
        doc = _resolve(
            scan, _words(line), Evidence(rel, number, "the repository's own image runs it")
        )
        if doc is not None:
            found.append(doc)
    readme = next((r for r in _READMES if r in scan.files), "")
    for number, line in _code_lines(scan.read_text(readme) or "") if readme else ():
        words = _words(line)
        shown = line if len(line) <= 60 else line[:57].rstrip() + "..."
        evidence = Evidence(readme, number, f"the README runs `{shown}`")
        if words[:1] in (["make"], ["just"]) and len(words) > 1:
            doc = from_target(words[1], f"`{words[0]} {words[1]}`, which the README runs")
        else:
            doc = _resolve(scan, words, evidence)
        if doc is not None:
            found.append(doc)
    for name in targets:
        if name.startswith(_MAIN_PREFIXES):
            doc = from_target(name, f"target {name}")
            if doc is not None:
                found.append(doc)
    unique: dict[tuple[str, ...], Documented] = {}
    for doc in found:
        unique.setdefault(doc.entry.command, doc)
    return list(unique.values())

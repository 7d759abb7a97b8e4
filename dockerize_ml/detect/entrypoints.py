"""How the container starts: console scripts, ``__main__`` modules and conventional scripts."""

from __future__ import annotations

import ast
import re
from typing import Any

from dockerize_ml import knowledge
from dockerize_ml.detect.deps.setuptools import console_scripts
from dockerize_ml.detect.files import line_of
from dockerize_ml.profile import EntryPoint, Evidence
from dockerize_ml.scan import Scan

_MAIN_GUARD = re.compile(r"""^if\s+__name__\s*==\s*(['"])__main__\1\s*:""", re.MULTILINE)


def main_guard_line(text: str) -> int:
    """The line of an ``if __name__ == "__main__":`` guard at module level, or 0."""
    match = _MAIN_GUARD.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 0


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
_MAIN_PREFIXES = ("train", "main", "run", "serve", "app", "predict", "infer", "eval")


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
    return found

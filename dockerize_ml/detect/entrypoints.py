"""How the container starts: console scripts, ``__main__`` modules and conventional scripts."""

from __future__ import annotations

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


def script_entrypoints(scan: Scan) -> list[EntryPoint]:
    """Conventional scripts (main.py, train.py, ...) with a ``__main__`` guard, best first."""
    found: list[EntryPoint] = []
    for name in knowledge.load("layout")["entrypoints"]["scripts"]:
        if name not in scan.files:
            continue
        text = scan.read_text(name) or ""
        guard = main_guard_line(text)
        if guard:
            found.append(
                EntryPoint(
                    "script",
                    ("python", name),
                    (Evidence(name, guard, 'has an `if __name__ == "__main__":` guard'),),
                )
            )
    return found

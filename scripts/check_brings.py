"""Check the ``brings`` rows of dockerize_ml/knowledge/imports.toml against PyPI.

A row ``name = [a, b]`` claims that installing ``name`` installs ``a`` and ``b``. Each claim
must be a run-time requirement (``Requires-Dist``, extras left out) of the current release
on Linux for every Python the images use (scripts/pypi_meta.py), directly, or through a
chain of such requirements (``notebook`` -> ``jupyterlab`` -> ``ipykernel``): the tool
follows the rows' closure, so a transitive claim is right when PyPI's closure has it.

Run: ``python scripts/check_brings.py`` (``--only NAME`` for some rows). Prints one line per
wrong claim and exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tomllib

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pypi_meta import requires

TABLE = Path(__file__).resolve().parent.parent / "dockerize_ml" / "knowledge" / "imports.toml"
#: How far a transitive claim is looked for (the rows' own chains are at most 3 long).
DEPTH = 3


def rows() -> dict[str, list[str]]:
    data: dict[str, list[str]] = tomllib.loads(TABLE.read_text())["brings"]
    return data


def _path(start: str, claim: str) -> list[str] | None:
    """The shortest chain of requirements from ``start`` to ``claim``, or None."""
    frontier = {start: [start]}
    seen = {start}
    for _ in range(DEPTH):
        following: dict[str, list[str]] = {}
        with ThreadPoolExecutor(8) as pool:
            answers = dict(zip(frontier, pool.map(requires, frontier), strict=True))
        for name, needs in answers.items():
            if claim in needs:
                return [*frontier[name], claim]
            for need in needs - seen:
                seen.add(need)
                following[need] = [*frontier[name], need]
        frontier = following
    return None


def check(name: str, claims: list[str]) -> list[str]:
    """One line per wrong claim of a row; transitive ones are right."""
    direct = requires(name)
    problems = []
    for claim in claims:
        if claim in direct:
            continue
        if _path(name, claim) is None:
            problems.append(
                f"{name}: does not bring {claim} (requires: {', '.join(sorted(direct)) or '-'})"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="check these rows only")
    args = parser.parse_args(argv)
    table = rows()
    names = args.only or list(table)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: check(n, table[n]), names))
    problems = [line for lines in results for line in lines]
    for line in problems:
        print(line)
    print(f"{len(names)} rows, {sum(len(table[n]) for n in names)} claims, {len(problems)} wrong")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

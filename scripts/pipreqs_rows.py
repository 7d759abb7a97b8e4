"""pipreqs' public import -> distribution mapping, against dockerize_ml/knowledge/imports.toml.

The ``[pipreqs]`` table of imports.toml pins the pipreqs release (version and the wheel's
sha256) whose ``pipreqs/mapping`` file the ``[imports]`` table covers: every line of it is
an ``[imports]`` row whose candidates include the distribution (pipreqs keeps the last line
of an import, so that one is the first candidate), or a ``[pipreqs.differences]`` row that
says why not. The wheel comes from PyPI through pip.

Run: ``python scripts/pipreqs_rows.py`` lists what is not covered (exit 1 when something
is); ``--rows`` prints the missing rows as TOML lines for the ``[imports]`` table.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import tomllib
from packaging.utils import canonicalize_name

TABLE = Path(__file__).resolve().parent.parent / "dockerize_ml" / "knowledge" / "imports.toml"
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def table() -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = tomllib.loads(TABLE.read_text())
    return data


def mapping(version: str, sha256: str) -> list[tuple[str, str]]:
    """The (import, distribution) lines of the pinned pipreqs wheel, in file order."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"),
                *("--quiet", "--dest", folder, f"pipreqs=={version}"),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        wheel = next(Path(folder).glob("pipreqs-*.whl"))
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != sha256:
            raise SystemExit(f"{wheel.name}: sha256 {digest}, the table pins {sha256}")
        text = zipfile.ZipFile(wheel).read("pipreqs/mapping").decode()
    rows = []
    for line in text.splitlines():
        if line.strip():
            module, dist = line.strip().split(":", 1)
            rows.append((module, dist))
    return rows


def candidates(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Each import's distributions, pipreqs' own choice (its last line) first."""
    found: dict[str, list[str]] = {}
    for module, dist in rows:
        found.setdefault(module, []).append(dist)
    return {m: [d[-1], *d[:-1]] for m, d in found.items()}


def uncovered(rows: list[tuple[str, str]], data: dict[str, dict[str, object]]) -> list[str]:
    """The mapping lines that neither an [imports] row nor a difference covers."""
    ours = data["imports"]
    differences = data["pipreqs"]["differences"]
    assert isinstance(differences, dict)
    missing = []
    for module, dist in rows:
        if module in differences:
            continue
        row = ours.get(module)
        names = [row] if isinstance(row, str) else row if isinstance(row, list) else []
        if canonicalize_name(dist) not in {canonicalize_name(n) for n in names}:
            missing.append(f"{module}:{dist} (ours: {row or '-'})")
    return missing


def toml_rows(rows: list[tuple[str, str]], data: dict[str, dict[str, object]]) -> list[str]:
    differences = data["pipreqs"]["differences"]
    assert isinstance(differences, dict)
    lines = []
    for module, dists in candidates(rows).items():
        if module in data["imports"] or module in differences:
            continue
        key = module if _BARE.fullmatch(module) else f'"{module}"'
        quoted = [f'"{d}"' for d in dists]
        value = quoted[0] if len(quoted) == 1 else f"[{', '.join(quoted)}]"
        lines.append(f"{key} = {value}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", action="store_true", help="print the missing rows as TOML")
    args = parser.parse_args(argv)
    data = table()
    pin = data["pipreqs"]
    rows = mapping(str(pin["version"]), str(pin["sha256"]))
    if args.rows:
        print("\n".join(toml_rows(rows, data)))
        return 0
    missing = uncovered(rows, data)
    print("\n".join(missing))
    print(f"pipreqs {pin['version']}: {len(rows)} lines, {len(missing)} not covered")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

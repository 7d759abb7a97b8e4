"""Check the rows of dockerize_ml/knowledge/apis.toml against the real wheels on PyPI.

- ``[[inside]]``: the wheels of ``first`` and ``last`` of ``dist`` use ``uses`` in ``file``
  (the module it comes from is imported there, and the name is used), and the next release
  after ``last`` does not.
- ``[[removed]]`` whose ``use`` is a module or a name a module defines at its top level
  (``torch._six``, ``torch._six.container_abcs``): the wheel of ``last`` has it, the first
  release of ``removed`` does not. Attributes made elsewhere (NumPy's aliases, made in
  ``numpy/__init__.py`` by a loop) are not checked here: they are listed as not checked.

Wheels are not downloaded whole: the zip's directory and the one member are read with HTTP
range requests (a torch wheel is 800 MB; its ``torch/_six.py`` a few KB).

Run: ``python scripts/check_apis.py``. Prints one line per wrong row and exits 1 when
there is one.
"""

from __future__ import annotations

import ast
import io
import json
import sys
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import tomllib
from packaging.utils import parse_wheel_filename
from packaging.version import Version

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pypi_meta import INDEX

TABLE = Path(__file__).resolve().parent.parent / "dockerize_ml" / "knowledge" / "apis.toml"


class RangeFile(io.RawIOBase):
    """A file on a web server that answers range requests, read as a seekable file."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pos = 0
        head = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(head, timeout=60) as answer:
            self.size = int(answer.headers["Content-Length"])

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = base + offset
        return self.pos

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self.pos
        if size == 0 or self.pos >= self.size:
            return b""
        end = min(self.pos + size, self.size) - 1
        ask = urllib.request.Request(self.url, headers={"Range": f"bytes={self.pos}-{end}"})
        with urllib.request.urlopen(ask, timeout=120) as answer:
            data: bytes = answer.read()
        self.pos += len(data)
        return data


def releases(dist: str) -> dict[str, list[dict[str, Any]]]:
    with urllib.request.urlopen(f"{INDEX}/{dist}/json", timeout=60) as answer:
        data: dict[str, list[dict[str, Any]]] = json.load(answer)["releases"]
    return data


def wheel(dist: str, version: str, files: list[dict[str, Any]]) -> zipfile.ZipFile:
    """The Linux x86_64 (or pure-Python) wheel of a release, opened by range requests."""
    wheels = [f for f in files if f["filename"].endswith(".whl")]

    def linux(f: dict[str, Any]) -> bool:
        tags = parse_wheel_filename(f["filename"])[3]
        return any(t.platform == "any" or "x86_64" in t.platform for t in tags)

    chosen = next((f for f in wheels if linux(f)), None)
    if chosen is None:
        raise LookupError(f"{dist} {version}: no Linux wheel")
    address = urllib.parse.urljoin(f"{INDEX}/{dist}/json", chosen["url"])
    return zipfile.ZipFile(RangeFile(address))


def _module_file(names: list[str], dotted: str) -> tuple[str | None, str]:
    """The member that defines ``dotted`` (a module, or a name at a module's top level),
    and the name to look for in it ("" for a module)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = "/".join(parts[:cut])
        for member in (f"{base}.py", f"{base}/__init__.py"):
            if member in names:
                return member, ".".join(parts[cut:])
    return None, ""


def _top_level_names(text: str) -> set[str]:
    """Names a module binds at its top level (in ``if``/``try`` blocks too), by name: a
    definition, an assignment, an import; not a star import nor a module ``__getattr__``."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    names: set[str] = set()
    body = list(tree.body)
    while body:
        node = body.pop()
        if isinstance(node, (ast.If, ast.Try)):
            body += [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
            body += [s for h in getattr(node, "handlers", []) for s in h.body]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    return names


def has(zf: zipfile.ZipFile, dotted: str) -> bool:
    """Whether the wheel has ``dotted``: the module, or a name its module binds."""
    member, name = _module_file(zf.namelist(), dotted)
    if member is None:
        return False
    if not name:
        return True
    text = zf.read(member).decode("utf-8", "replace")
    return name.split(".")[0] in _top_level_names(text)


def uses(zf: zipfile.ZipFile, member: str, dotted: str) -> bool:
    """Whether ``member`` imports ``dotted`` by its name: ``from MODULE import NAME`` (under
    any alias), or ``import MODULE`` and an attribute ``NAME`` of it. Not a same-named other
    thing: Flask 2.0's ``from werkzeug.wrappers import Response as BaseResponse`` does not
    use ``werkzeug.wrappers.BaseResponse``."""
    if member not in zf.namelist():
        return False
    try:
        tree = ast.parse(zf.read(member).decode("utf-8", "replace"))
    except SyntaxError:
        return False
    module, _, name = dotted.rpartition(".")
    imported = False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == module and not node.level:
            if any(alias.name == name for alias in node.names):
                return True
        elif isinstance(node, ast.Import):
            imported |= any(alias.name == module for alias in node.names)
    return imported and any(
        isinstance(node, ast.Attribute) and node.attr == name for node in ast.walk(tree)
    )


def check_inside(row: dict[str, str]) -> list[str]:
    dist, first, last = row["dist"], row["first"], row["last"]
    files = releases(dist)
    later = sorted((v for v in files if Version(v) > Version(last) and files[v]), key=Version)
    problems = []
    for version in (first, last):
        if not uses(wheel(dist, version, files[version]), row["file"], row["uses"]):
            problems.append(f"{dist} {version}: {row['file']} does not use {row['uses']}")
    if later and uses(wheel(dist, later[0], files[later[0]]), row["file"], row["uses"]):
        problems.append(f"{dist} {later[0]} (after last = {last}) still uses {row['uses']}")
    return problems


def _minor(version: str) -> tuple[int, ...]:
    return Version(version).release[:2]


def check_removed(row: dict[str, str]) -> list[str] | None:
    """The problems of a [[removed]] row, or None when it cannot be checked this way."""
    dist, use = row["dist"], row["use"]
    files = releases(dist)
    removed = sorted(
        (
            v
            for v in files
            if files[v] and Version(v).release[:2] == Version(row["removed"]).release[:2]
        ),
        key=Version,
    )
    if row["last"] not in files or not removed:
        return [f"{dist}: {row['last']} or a {row['removed']} release is not on PyPI"]
    before = wheel(dist, row["last"], files[row["last"]])
    member, _name = _module_file(before.namelist(), use)
    if member is None or not has(before, use):
        return None  # not a module nor defined at one's top level by name: not checked here
    after = wheel(dist, removed[0], files[removed[0]])
    if has(after, use):
        return [f"{dist} {removed[0]} still has {use} (row says removed in {row['removed']})"]
    return []


def main() -> int:
    table = tomllib.loads(TABLE.read_text())
    problems: list[str] = []
    unchecked: list[str] = []
    for row in table["inside"]:
        problems += check_inside(row)
    for row in table["removed"]:
        found = check_removed(row)
        if found is None:
            unchecked.append(row["use"])
        else:
            problems += found
    for line in problems:
        print(line)
    print(
        f"{len(table['inside'])} inside rows, {len(table['removed'])} removed rows "
        f"({len(unchecked)} not checkable by file: {', '.join(unchecked)}); "
        f"{len(problems)} wrong"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

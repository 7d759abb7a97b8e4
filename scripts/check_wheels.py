"""Check the rows of dockerize_ml/knowledge/system.toml against the real wheels on PyPI.

For each distribution with a row (and the ``--also`` ones that must have none), the current
release's best wheel for CPython 3.12 on Debian bookworm x86_64 is downloaded (cached) and:

- an **sdist-only** distribution (no Linux wheel) compiles at install: its row must have a
  ``build`` stage;
- a **compiled** wheel: every shared library its ELF files need (``NEEDED``) that the wheel
  does not vendor and the slim base image does not have is mapped to its Debian package
  (knowledge/debian.toml, from Debian's own index) and must be in the row's ``run`` stage;
  every library package of the row must be linked, or named in a binary (``dlopen``);
- a **pure** wheel loads libraries with ctypes/cffi or runs programs: only checked for
  vendoring (a library the row names but the wheel ships, soundfile's libsndfile).

Packages that provide programs (ffmpeg, poppler-utils) cannot be checked from a wheel and
are reported as such. Run: ``python scripts/check_wheels.py [--only NAME]``; exits 1 on a
wrong row.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import tomllib
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import parse_wheel_filename

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pypi_meta

KNOWLEDGE = Path(__file__).resolve().parent.parent / "dockerize_ml" / "knowledge"
#: Distributions that must have no row: their wheels vendor what they load.
NO_ROW = (
    "scikit-learn",
    "pyarrow",
    "psycopg2-binary",
    "opencv-python-headless",
    "opencv-contrib-python-headless",
    "xgboost",
    "catboost",
    "soundfile",
    "librosa",
    "av",
    "decord",
)
#: What python:3.12-slim (Debian bookworm) has installed that wheels link: glibc, the GCC
#: run-time, and the libraries CPython itself is built against (the image's dpkg -l).
BASE = frozenset(
    {
        "libc6",
        "libgcc-s1",
        "libstdc++6",
        "zlib1g",
        "libssl3",
        "libffi8",
        "libbz2-1.0",
        "liblzma5",
        "libsqlite3-0",
        "libexpat1",
        "libuuid1",
        "libzstd1",
        "libtinfo6",
        "libncursesw6",
        "libreadline8",
        "libcrypt1",
        "libgdbm6",
        "libdb5.3",
        "libnsl2",
        "libtirpc3",
    }
)
#: glibc's, libgcc's, zlib's and expat's sonames, under /lib (debian.toml keeps /usr/lib's):
#: in the base image (libc6, libgcc-s1, zlib1g, libexpat1).
BASE_LIBRARIES = frozenset(
    {
        "ld-linux-x86-64.so.2",
        "libc.so.6",
        "libdl.so.2",
        "libm.so.6",
        "libmvec.so.1",
        "libpthread.so.0",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "libnsl.so.1",
        "libanl.so.1",
        "libgcc_s.so.1",
        "libz.so.1",
        "libexpat.so.1",
    }
)
_MANYLINUX = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)]
_LEGACY = ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
TAGS = [
    *cpython_tags((3, 12), platforms=[*_MANYLINUX, *_LEGACY]),
    *compatible_tags((3, 12), platforms=[*_MANYLINUX, *_LEGACY]),
]
_SO = re.compile(r"\.so(\.\d+)*$")


@dataclass
class Result:
    name: str
    kind: str = ""  # sdist, pure, compiled
    wheel: str = ""
    problems: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    linked: dict[str, str] = field(default_factory=dict)  # package -> library


def tables() -> tuple[dict[str, dict[str, list[str]]], dict[str, str]]:
    system = tomllib.loads((KNOWLEDGE / "system.toml").read_text())["distributions"]
    libraries = tomllib.loads((KNOWLEDGE / "debian.toml").read_text())["libraries"]
    return system, libraries


def best_wheel(name: str) -> dict[str, str] | None:
    """The current release's wheel pip would pick on bookworm with CPython 3.12."""
    rank = {tag: i for i, tag in enumerate(TAGS)}
    best: tuple[int, dict[str, str]] | None = None
    for url in pypi_meta.project(name)["urls"]:
        if url["packagetype"] != "bdist_wheel":
            continue
        tags: frozenset[Tag] = parse_wheel_filename(url["filename"])[3]
        score = min((rank[t] for t in tags if t in rank), default=None)
        if score is not None and (best is None or score < best[0]):
            best = (score, url)
    return None if best is None else best[1]


def download(name: str, url: dict[str, str]) -> Path:
    # the JSON API's file addresses may be relative to the API's own address
    address = urllib.parse.urljoin(f"{pypi_meta.INDEX}/{name}/json", url["url"])
    path = pypi_meta.CACHE / "wheels" / url["filename"]
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        with urllib.request.urlopen(address, timeout=600) as answer, part.open("wb") as out:
            shutil.copyfileobj(answer, out)
        part.rename(path)
    return path


def elf_facts(wheel: Path, work: Path) -> tuple[set[str], set[str], bytes]:
    """(NEEDED of every ELF file, file names the wheel ships, the ELF files' bytes)."""
    readelf = shutil.which("readelf")
    if readelf is None:
        raise RuntimeError("readelf (binutils) is not installed")
    needed: set[str] = set()
    blobs = []
    with zipfile.ZipFile(wheel) as archive:
        shipped = {Path(n).name for n in archive.namelist()}
        for name in archive.namelist():
            if not _SO.search(name):
                continue
            data = archive.read(name)
            if not data.startswith(b"\x7fELF"):
                continue
            blobs.append(data)
            path = work / "elf"
            path.write_bytes(data)
            out = subprocess.run(
                [readelf, "-d", str(path)], capture_output=True, text=True, check=True
            ).stdout
            needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
    return needed, shipped, b"\n".join(blobs)


def _sonames(package: str, libraries: dict[str, str]) -> list[str]:
    return [lib for lib, owner in libraries.items() if owner == package]


def check(name: str, row: dict[str, list[str]], work: Path) -> Result:
    _, libraries = tables()
    result = Result(name)
    url = best_wheel(name)
    if url is None:
        # pure-Python sdists (sox, pyvips in ABI mode) need no build row: only a build says
        result.kind = "sdist"
        result.unchecked += [f"{p}: sdist only, known after a build" for p in row.get("run", [])]
        return result
    result.wheel = url["filename"]
    needed, shipped, blob = elf_facts(download(name, url), work)
    result.kind = "compiled" if blob else "pure"
    vendored = {lib for lib in needed if lib in shipped}
    for lib in sorted(needed - vendored - BASE_LIBRARIES):
        package = libraries.get(lib)
        if package is None:
            result.unchecked.append(f"{lib}: linked, but no bookworm package ships it")
        elif package not in BASE:
            result.linked[package] = lib
            if package not in row.get("run", []):
                result.problems.append(f"{name}: needs {lib} ({package}), not in its row")
    for package in row.get("run", []):
        _check_row_package(result, package, _sonames(package, libraries), shipped, blob)
    return result


def _check_row_package(
    result: Result, package: str, sonames: list[str], shipped: set[str], blob: bytes
) -> None:
    if not sonames:
        result.unchecked.append(f"{package}: provides programs, not a library a wheel links")
        return
    stems = {s.split(".so")[0] for s in sonames}
    copies = sorted(f for f in shipped if any(f.startswith(stem) for stem in stems))
    if copies and package not in result.linked:
        result.problems.append(f"{result.name}: vendors {copies[0]}; {package} is not needed")
    elif package in result.linked:
        return
    elif result.kind == "pure":
        result.unchecked.append(f"{package}: loaded with ctypes/cffi by name, not linked")
    elif not any(stem.encode() + b".so" in blob for stem in stems):
        result.problems.append(f"{result.name}: no compiled file links or names {package}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="check these distributions only")
    args = parser.parse_args(argv)
    system, _ = tables()
    names = args.only or [*system, *NO_ROW]
    work = pypi_meta.CACHE / "work"
    work.mkdir(parents=True, exist_ok=True)
    wrong = 0
    for name in names:
        result = check(name, system.get(name, {}), work)
        wrong += len(result.problems)
        links = ", ".join(f"{p} ({lib})" for p, lib in result.linked.items()) or "-"
        print(f"{name}: {result.kind} {result.wheel} links {links}")
        for line in result.problems:
            print(f"  WRONG {line}")
        for line in result.unchecked:
            print(f"  not checked: {line}")
    print(f"{len(names)} distributions, {wrong} wrong")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

"""Rebuild dockerize_ml/knowledge/debian.toml from Debian's own archive index.

The table maps the file names a failed build or import names (``libodbc.so.2``, ``lber.h``,
``pg_config``) to the Debian package of the base image's release that ships them. Its source
is the archive's ``dists/<release>/main/Contents-amd64.gz`` (file path -> package for every
file of every package), fetched from the mirror apt uses (the ``URIs:`` line of
``/etc/apt/sources.list.d/debian.sources``), and trimmed to what Python packages need:

- shared libraries by soname: ``usr/lib/x86_64-linux-gnu/lib*.so.N`` (what the loader asks for);
- headers of development packages: every ``usr/include/*.h`` (multiarch ones too: ``ffi.h``),
  at most a dozen a package, and each include folder (``openssl/``; ``libxml2/libxml/``
  under a folder with no header of its own) for the headers inside it, which an error names
  as ``openssl/ssl.h``;
- build-time tools a ``setup.py`` runs: ``usr/bin/*-config`` (``pg_config``, ``mysql_config``);
- for each ``-dev`` package named above, the library package its ``libX.so`` link points into
  (``libldap-dev`` -> ``libldap-2.5-0``): what the final image needs once the builder compiled.

Run: ``python scripts/debian_contents.py`` (``--contents FILE`` to read a downloaded copy).
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
import urllib.request
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

RELEASE = "bookworm"
ARCH = "amd64"
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
OUT = Path(__file__).resolve().parent.parent / "dockerize_ml" / "knowledge" / "debian.toml"
#: Top-level headers kept per package.
HEADERS_PER_PACKAGE = 12
_LIBRARY = re.compile(r"usr/lib/x86_64-linux-gnu/(lib[^/]*\.so\.\d+)")
_LINK = re.compile(r"usr/lib/x86_64-linux-gnu/(lib[^/]*\.so)")
_HEADER = re.compile(r"usr/include/([^ ]+\.h)")
_TOOL = re.compile(r"usr/bin/([^/]+[-_]config)")
#: Variants a user does not mean when a library is missing.
_VARIANT = re.compile(r"-(?:compat|shim|gles|extra|dbg|old|mpich|openmpi)|dbg")


def mirror() -> str:
    """The Debian archive URI apt uses on this machine (deb.debian.org by default)."""
    if SOURCES.is_file():
        for line in SOURCES.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1].rstrip("/")
    return "http://deb.debian.org/debian"


def choose(packages: str) -> str:
    """One package from Contents' ``section/name,section/name`` column: the plain library
    before its variants (libavcodec59 before libavcodec-extra59), then the shortest name."""
    names = [p.rsplit("/", 1)[-1] for p in packages.split(",")]
    return sorted(names, key=lambda n: (bool(_VARIANT.search(n)), len(n), n))[0]


def _library(packages: str) -> bool:
    """A package of Debian's ``libs`` section: what a wheel links against (not the private
    libraries of applications such as ParaView)."""
    return any(p.split("/")[0] in ("libs", "oldlibs") for p in packages.split(","))


def _development(packages: str) -> bool:
    return any(p.split("/")[0].endswith("devel") for p in packages.split(","))


def _headers(
    top: dict[str, str], nested: Counter[str], folders: dict[str, Counter[str]]
) -> dict[str, str]:
    """Top-level headers, at most a dozen a package (a C library's first few name it; a
    package with a hundred, k3b or libc6-dev, is no Python package's missing dependency), and
    the include folders: a second level only under a first that holds no header itself
    (``libxml2/libxml/``, not the hundreds of ``boost/*/`` folders)."""
    headers: dict[str, str] = {}
    per_package: Counter[str] = Counter()
    for rel, package in sorted(top.items()):
        per_package[package] += 1
        if per_package[package] <= HEADERS_PER_PACKAGE:
            headers[rel] = package
    for folder, counts in folders.items():
        parent = folder.rstrip("/").rpartition("/")[0]
        if not parent or parent not in nested:
            headers.setdefault(folder, counts.most_common(1)[0][0])
    return headers


def _runtime(links: dict[str, str], libraries: dict[str, str], named: set[str]) -> dict[str, str]:
    """-dev package -> the library package its ``libX.so`` link points into: libodbc.so ->
    libodbc.so.2 (the newest soname), libldap.so -> libldap-2.5.so.0."""
    runtime: dict[str, str] = {}
    for dev, link in links.items():
        stem = link.removesuffix(".so")
        versions = sorted(k for k in libraries if k.startswith(link + ".")) or sorted(
            k for k in libraries if re.fullmatch(re.escape(stem) + r"-[\d.]+\.so\.\d+", k)
        )
        if dev in named and versions:
            runtime[dev] = libraries[versions[-1]]
    return runtime


def trim(lines: list[str]) -> dict[str, dict[str, str]]:
    """The four tables from Contents lines (``path<spaces>packages``)."""
    libraries: dict[str, str] = {}
    tools: dict[str, str] = {}
    top: dict[str, str] = {}
    nested: Counter[str] = Counter()  # headers right in each first-level folder
    folders: dict[str, Counter[str]] = defaultdict(Counter)
    links: dict[str, str] = {}  # -dev package -> its first libX.so (the link to libX.so.N)
    for line in lines:
        path, _, packages = line.rstrip().rpartition(" ")
        path = path.strip()
        if not path or not packages:
            continue
        if (found := _LIBRARY.fullmatch(path)) and _library(packages):
            libraries.setdefault(found.group(1), choose(packages))
        elif (found := _LINK.fullmatch(path)) and _development(packages):
            links.setdefault(choose(packages), found.group(1))
        elif (found := _TOOL.fullmatch(path)) and _development(packages):
            tools.setdefault(found.group(1), choose(packages))
        elif (found := _HEADER.fullmatch(path)) and _development(packages):
            rel = found.group(1).removeprefix("x86_64-linux-gnu/")  # multiarch: ffi.h
            package = choose(packages)
            parts = rel.split("/")
            if len(parts) == 1:
                top.setdefault(rel, package)
                continue
            if len(parts) == 2:
                nested[parts[0]] += 1
            for depth in range(1, min(len(parts), 3)):
                # the package with most headers right in the folder names it
                weight = 1000 if depth == len(parts) - 1 else 1
                folders["/".join(parts[:depth]) + "/"][package] += weight
    headers = _headers(top, nested, folders)
    return {
        "libraries": dict(sorted(libraries.items())),
        "runtime": dict(
            sorted(_runtime(links, libraries, {*headers.values(), *tools.values()}).items())
        ),
        "headers": dict(sorted(headers.items())),
        "tools": dict(sorted(tools.items())),
    }


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(tables: dict[str, dict[str, str]], source: str, out: Path) -> None:
    """The TOML file, with where it came from."""
    lines = [
        "# Debian file name -> package, for the base image's release. GENERATED by",
        "# scripts/debian_contents.py from the archive's own index; do not edit by hand.",
        "",
        "[meta]",
        f"release = {_quote(RELEASE)}",
        f"architecture = {_quote(ARCH)}",
        f"source = {_quote(source)}",
        f"generated = {_quote(date.today().isoformat())}",
    ]
    for name, rows in tables.items():
        lines += ["", f"[{name}]"]
        lines += [f"{_quote(key)} = {_quote(value)}" for key, value in rows.items()]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    """Fetch (or read) Contents, trim it and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contents", type=Path, help="a downloaded Contents-amd64.gz")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    source = f"{mirror()}/dists/{RELEASE}/main/Contents-{ARCH}.gz"
    if args.contents:
        raw = args.contents.read_bytes()
    else:
        with urllib.request.urlopen(source, timeout=120) as response:
            raw = response.read()
    text = gzip.GzipFile(fileobj=io.BytesIO(raw)).read().decode("utf-8", errors="replace")
    tables = trim(text.splitlines())
    write(tables, source, args.out)
    sizes = ", ".join(f"{len(rows)} {name}" for name, rows in tables.items())
    print(f"wrote {args.out}: {sizes}")


if __name__ == "__main__":
    main()

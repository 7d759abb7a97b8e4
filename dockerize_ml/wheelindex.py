"""Which Pythons the exact pins have wheels for, read from the package index.

The one module that asks the network during ``detect`` and ``init``, called before detection
so that the detectors stay pure: its answers enter the profile as facts with evidence
(:class:`~dockerize_ml.profile.WheelFact`), and the Python version is chosen from them.

PyPI's JSON API (``https://pypi.org/pypi/NAME/json``) lists every release's files; a Python
``X.Y`` is supported by a release when it has a CPython wheel for Linux x86_64 (``cpXY``, or
an ``abi3`` wheel for an older ``cpXY``), or a pure wheel that its ``requires_python`` admits.
Answers are cached per name under the user's cache folder (``$XDG_CACHE_HOME/dockerize-ml``,
else ``~/.cache/dockerize-ml``); a cached name is asked again only when a pin names a release
the cache has not seen. ``DOCKERIZE_ML_OFFLINE=1`` turns the index off (tests, air-gapped
machines); then, and for any name the index does not answer, the ``wheels`` table of
``knowledge/python.toml`` is used.

The same files say which Pythons have wheels on the other machines of
``knowledge/platforms.toml`` (``aarch64`` for ``linux/arm64``): ``--platform`` builds a
platform in CI only where the pins have wheels for it. The table knows x86_64 only, so offline
the other machines are not known.

Regenerate that table's rows from the index: ``python -m dockerize_ml.wheelindex numpy torch``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from dockerize_ml import knowledge
from dockerize_ml.detect.python_version import candidates, table_pythons
from dockerize_ml.names import cache_home
from dockerize_ml.profile import Dependency, Evidence, WheelFact, pinned

__all__ = [
    "CACHE_VERSION",
    "OFFLINE_ENV",
    "cache_dir",
    "lookup",
    "offline",
    "release_pythons",
    "uploaded",
]

#: Set to 1 (or true/yes) to never ask the package index.
OFFLINE_ENV = "DOCKERIZE_ML_OFFLINE"
#: The index to ask (a mirror with PyPI's JSON API), without the trailing slash.
INDEX_ENV = "DOCKERIZE_ML_PYPI_JSON"
_DEFAULT_INDEX = "https://pypi.org/pypi"
#: Seconds for one answer: `init` must not hang on a slow network.
TIMEOUT = 4.0
#: Bumped when the cached shape changes (2: the other machines' Pythons; 3: upload dates).
CACHE_VERSION = 3
#: Stop asking after this many failures in one run (the network is down: do not wait on each).
_MAX_FAILURES = 2


def offline() -> bool:
    """Whether the user turned the index off."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def cache_dir() -> Path:
    """Where answers are kept between runs."""
    return cache_home() / "pypi"


def _linux(platform: str, machine: str) -> bool:
    return platform == "any" or (
        platform.endswith(machine) and ("linux" in platform) and "musllinux" not in platform
    )


def other_machines() -> tuple[str, ...]:
    """The wheel machines of the non-default platforms (``aarch64``)."""
    rows = knowledge.load("platforms")["platforms"].values()
    return tuple(str(row["machine"]) for row in rows if not row["default"])


def release_pythons(files: Iterable[dict[str, Any]], machine: str = "x86_64") -> list[str] | None:
    """The ``X.Y`` that one release's files install on (Linux on ``machine``), or None when
    it has no wheel for it at all (an sdist only: whether it builds is not known here)."""
    versions = candidates()
    exact: set[str] = set()
    floors: list[tuple[int, int]] = []
    pure = False
    requires = ""
    wheel = False
    for item in files:
        name = str(item.get("filename", ""))
        requires = requires or str(item.get("requires_python") or "")
        if not name.endswith(".whl"):
            continue
        try:
            _, _, _, tags = parse_wheel_filename(name)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        for tag in tags:
            if not _linux(tag.platform, machine):
                continue
            wheel = True
            match = re.fullmatch(r"cp(\d)(\d+)", tag.interpreter)
            if match and tag.abi == "abi3":
                floors.append((int(match.group(1)), int(match.group(2))))
            elif match:
                exact.add(f"{match.group(1)}.{match.group(2)}")
            elif tag.interpreter.startswith("py") and tag.abi == "none":
                pure = True
    if not wheel:
        return None
    try:
        spec = SpecifierSet(requires) if requires else SpecifierSet()
    except InvalidSpecifier:
        spec = SpecifierSet()

    def fits(v: str) -> bool:
        return spec.contains(f"{v}.0", prereleases=True) or spec.contains(f"{v}.99", True)

    key = [tuple(int(p) for p in v.split(".")) for v in versions]
    return [
        v
        for v, k in zip(versions, key, strict=True)
        if fits(v) and (pure or v in exact or any(k >= f for f in floors))
    ]


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    """What the cache keeps of a name's JSON: each release's supported Pythons (x86_64), and
    per other machine."""
    releases: dict[str, Any] = {}
    dates: dict[str, str] = {}
    machines: dict[str, dict[str, Any]] = {m: {} for m in other_machines()}
    for version, files in (document.get("releases") or {}).items():
        if isinstance(files, list) and files:
            releases[version] = release_pythons(files)
            times = [str(f.get("upload_time_iso_8601") or "") for f in files if isinstance(f, dict)]
            if any(times):
                dates[version] = min(t for t in times if t)
            for machine, answers in machines.items():
                answers[version] = release_pythons(files, machine)
    return {
        "cache_version": CACHE_VERSION,
        "releases": releases,
        "uploaded": dates,
        "machines": machines,
    }


class _Index:
    """Answers from the cache, else from the index; counts failures to stop early."""

    def __init__(self, root: Path | None = None, index: str | None = None) -> None:
        self.root = root or cache_dir()
        self.index = (index or os.environ.get(INDEX_ENV) or _DEFAULT_INDEX).rstrip("/")
        self.failures = 0
        self.notes: list[str] = []

    def _cached(self, name: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.root / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        ok = isinstance(data, dict) and data.get("cache_version") == CACHE_VERSION
        return data if ok else None

    def _fetch(self, name: str) -> dict[str, Any] | None:
        if self.failures >= _MAX_FAILURES:
            return None
        url = f"{self.index}/{name}/json"
        try:
            request = urllib.request.Request(url, headers={"Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                document = json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:  # not on the index: a private package, nothing to learn
                return {"cache_version": CACHE_VERSION, "releases": {}}
            self.failures += 1
            self.notes.append(f"{url}: HTTP {error.code}")
            return None
        except (OSError, ValueError) as error:
            self.failures += 1
            self.notes.append(f"{url}: {error}")
            return None
        summary = _summary(document if isinstance(document, dict) else {})
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.root / f".{name}.json.tmp"
            tmp.write_text(json.dumps(summary), encoding="utf-8")
            tmp.replace(self.root / f"{name}.json")
        except OSError:
            pass  # a read-only home: answer without caching
        return summary

    def releases(self, name: str, version: str) -> dict[str, Any] | None:
        """The cached summary of ``name`` (``releases``, ``machines``), fetched when the
        cache has not seen ``version``."""
        data = self._cached(name)
        if data is None or version not in data["releases"]:
            data = self._fetch(name) or data
        return data


def lookup(
    dependencies: Iterable[Dependency], *, use_index: bool | None = None, root: Path | None = None
) -> tuple[list[WheelFact], list[str]]:
    """A fact for each exact pin whose supported Pythons are known, and notes (index
    failures). The index is asked unless ``use_index`` is False or the user turned it off."""
    ask = (not offline()) if use_index is None else use_index
    index = _Index(root) if ask else None
    facts: list[WheelFact] = []
    seen: set[str] = set()
    for dep in dependencies:
        version = pinned(dep)
        name = canonicalize_name(dep.name)
        if version is None or name in seen or dep.url:
            continue
        seen.add(name)
        where = Evidence(dep.source, dep.line)
        pythons: list[str] | None = None
        machines: tuple[tuple[str, tuple[str, ...]], ...] = ()
        source = ""
        if index is not None:
            releases = index.releases(name, version)
            if releases is not None and version in releases["releases"]:
                pythons, source = releases["releases"][version], "pypi"
                machines = tuple(
                    (machine, tuple(answers.get(version) or ()))
                    for machine, answers in releases.get("machines", {}).items()
                )
        if source == "":
            pythons = table_pythons(name, version)
            source = "knowledge" if pythons is not None else ""
        if source and pythons is not None:
            facts.append(WheelFact(name, version, tuple(pythons), source, where, machines))
    notes = index.notes[:1] if index is not None else []
    if notes:
        notes = [f"the package index did not answer ({notes[0]}); used knowledge/python.toml"]
    return facts, notes


def uploaded(name: str, version: str, *, root: Path | None = None) -> str | None:
    """When the release ``name==version`` was first uploaded (ISO 8601, UTC), from the
    index (cached); None offline or when the index does not know it."""
    if offline():
        return None
    data = _Index(root).releases(canonicalize_name(name), version)
    if data is None:
        return None
    return (data.get("uploaded") or {}).get(version)


def _rows(name: str) -> list[list[str]]:  # pragma: no cover - a maintainer's tool
    """``[first, last, oldest, newest]`` rows for the final releases of ``name``."""
    index = _Index()
    data = index._fetch(canonicalize_name(name))
    if data is None:
        raise SystemExit(f"{name}: {index.notes}")
    rows: list[list[str]] = []
    releases = sorted(
        (Version(v), p) for v, p in data["releases"].items() if p and not Version(v).is_prerelease
    )
    for version, pythons in releases:
        span = [pythons[0], pythons[-1]]
        if rows and rows[-1][2:] == span:
            rows[-1][1] = str(version)
        else:
            rows.append([str(version), str(version), *span])
    return rows


if __name__ == "__main__":  # pragma: no cover
    for arg in sys.argv[1:]:
        print(f"{canonicalize_name(arg)} = {json.dumps(_rows(arg))}")

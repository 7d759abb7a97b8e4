"""PyPI's JSON API, read for the knowledge checks (scripts/check_*.py), with a disk cache.

``requires(name)`` is what the current release of a distribution requires on Linux x86_64
for every CPython the generated images use (``PYTHONS``), extras left out: a requirement
counts when, for each of those Pythons the release supports, one of its lines applies.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

#: The Pythons a current image is built for (knowledge/python.toml: 3.10 to preferred_max,
#: plus 3.13 that projects pin).
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
CACHE = Path(
    os.environ.get("DOCKERIZE_ML_PYPI_CACHE", Path.home() / ".cache" / "dockerize-ml-pypi")
)
INDEX = "https://pypi.org/pypi"


class NotOnPyPI(LookupError):
    """The JSON API answered 404."""


def project(name: str) -> dict[str, Any]:
    """The JSON API's answer for a project (info and the current release's files)."""
    key = canonicalize_name(name)
    cached = CACHE / f"{key}.json"
    if cached.is_file():
        data: dict[str, Any] = json.loads(cached.read_text())
        return data
    try:
        with urllib.request.urlopen(f"{INDEX}/{key}/json", timeout=60) as answer:
            raw = json.load(answer)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise NotOnPyPI(name) from error
        raise
    data = {"info": raw["info"], "urls": raw["urls"]}  # the releases list is not kept
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(data))
    return data


def _environment(python: str) -> dict[str, str]:
    env = dict(default_environment())
    env.update(
        python_version=python,
        python_full_version=f"{python}.0",
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="x86_64",
        os_name="posix",
        implementation_name="cpython",
        platform_python_implementation="CPython",
        extra="",
    )
    return env


def requires(name: str, extra: str = "") -> set[str]:
    """PEP 503 names the current release requires (with ``extra`` when given)."""
    info = project(name)["info"]
    lines = []
    for text in info.get("requires_dist") or []:
        try:
            lines.append(Requirement(text))
        except InvalidRequirement:
            continue
    supported = SpecifierSet(info.get("requires_python") or "")
    pythons = [p for p in PYTHONS if supported.contains(f"{p}.0", prereleases=True)]
    found: set[str] | None = None
    for python in pythons or [PYTHONS[-1]]:
        env = _environment(python)
        here = set()
        for req in lines:
            if (
                req.marker is None
                or req.marker.evaluate({**env, "extra": ""})
                or (extra and req.marker.evaluate({**env, "extra": extra}))
            ):
                here.add(canonicalize_name(req.name))
        found = here if found is None else found & here
    return found or set()

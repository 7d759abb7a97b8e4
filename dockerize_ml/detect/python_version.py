"""Which Python the image runs: from the project's own files, strongest first."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from dockerize_ml import knowledge
from dockerize_ml.detect.deps.model import PythonHint
from dockerize_ml.detect.files import space_config
from dockerize_ml.profile import Dependency, Evidence
from dockerize_ml.scan import Scan

_X_Y = re.compile(r"^\s*(?:python-?|cpython-?)?(\d+)\.(\d+)(?:\.\d+)?\S*\s*$", re.IGNORECASE)


@dataclass
class PythonChoice:
    """The chosen ``X.Y``, the file it came from (or ``default``) and everything that spoke."""

    version: str
    source: str
    evidence: list[Evidence] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _known_versions() -> list[str]:
    return list(knowledge.load("python")["versions"])


def _key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def _admits(spec: SpecifierSet, version: str) -> bool:
    """Whether some release of ``X.Y`` satisfies ``spec`` (``>3.11`` admits 3.11.1)."""
    return any(spec.contains(f"{version}.{patch}", prereleases=False) for patch in (0, 99))


def pick_from_specifier(spec: SpecifierSet) -> str | None:
    """The version to use inside a range: the newest up to ``preferred_max``, else the oldest."""
    table = knowledge.load("python")
    preferred_max = _key(table["preferred_max"])
    allowed = [v for v in _known_versions() if _admits(spec, v)]
    if not allowed:
        return None
    capped = [v for v in allowed if _key(v) <= preferred_max]
    return max(capped, key=_key) if capped else min(allowed, key=_key)


def _exact(scan: Scan, rel: str) -> tuple[str, int] | None:
    """An ``X.Y`` read from a one-version file (``.python-version``, ``runtime.txt``)."""
    text = scan.read_text(rel)
    if text is None:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _X_Y.match(line)
        if match:
            return f"{match.group(1)}.{match.group(2)}", number
        return None
    return None


#: Where a Python version may be stated, strongest first (FIELD-NOTES.md).
_ORDER = (
    ".python-version",
    "runtime.txt",
    "binder/runtime.txt",
    ".binder/runtime.txt",
    "README.md",  # a Hugging Face Space's python_version
    "pyproject.toml",
    "Pipfile",
    "environment.yml",
    "environment.yaml",
    "conda.yaml",
    "conda.yml",
    "setup.py",
    "setup.cfg",
)


def _rank(evidence: Evidence) -> int:
    return _ORDER.index(evidence.path) if evidence.path in _ORDER else len(_ORDER)


def _pin(
    pins: list[PythonHint], ranges: list[PythonHint], warnings: list[str]
) -> PythonHint | None:
    """The strongest exact pin that no stronger file's range excludes."""
    for pin in pins:
        against = [
            r
            for r in ranges
            if _rank(r.evidence) < _rank(pin.evidence)
            and r.spec is not None
            and not _admits(r.spec, pin.version)
        ]
        if not against:
            return pin
        warnings.append(
            f"Python versions disagree: {pin.evidence} is outside {against[0].evidence}; "
            f"{against[0].evidence.path} wins"
        )
    return None


def _from_ranges(ranges: list[PythonHint], warnings: list[str]) -> PythonHint | None:
    """The newest supported version inside every range (else inside the strongest one)."""
    combined = SpecifierSet()
    for r in ranges:
        combined &= r.spec or SpecifierSet()
    strongest = ranges[0]
    picked = pick_from_specifier(combined)
    if picked is None and strongest.spec is not None:
        picked = pick_from_specifier(strongest.spec)
        if len(ranges) > 1:
            warnings.append(
                f"Python ranges disagree: {ranges[0].evidence} and {ranges[1].evidence} "
                f"admit no common version; using {ranges[0].evidence.path}"
            )
    if picked is None:
        warnings.append(f"{strongest.evidence}: admits no Python version with an official image")
        return None
    where = strongest.evidence
    detail = f"chose Python {picked}, the newest supported inside {combined or strongest.spec}"
    if "has wheels up to" in where.detail:  # an old pin: say which
        detail = f"{where.detail}: chose Python {picked}"
    return PythonHint(picked, strongest.spec, Evidence(where.path, where.line, detail))


def wheel_limits(dependencies: list[Dependency]) -> list[PythonHint]:
    """Python ranges that exact pins of old releases imply (``numpy==1.21.6``: wheels up to
    Python 3.10), from the ``wheels`` table: the weakest hints, so an explicit pin wins and
    is only warned about."""
    table = knowledge.load("python")["wheels"]
    hints: list[PythonHint] = []
    for dep in dependencies:
        rows = table.get(dep.name)
        pinned = next(
            (s.version for s in SpecifierSet(dep.specifier) if s.operator in ("==", "===")),
            None,
        )
        if rows is None or pinned is None or "*" in pinned:
            continue
        try:
            version = Version(pinned)
        except InvalidVersion:
            continue
        for before, python in rows:
            if version < Version(before):
                major, minor = python.split(".")
                spec = SpecifierSet(f"<{major}.{int(minor) + 1}")
                detail = f"{dep.name}=={pinned} has wheels up to Python {python}"
                hints.append(PythonHint("", spec, Evidence(dep.source, dep.line, detail)))
                break
    return hints


def detect_python(scan: Scan, hints: list[PythonHint]) -> PythonChoice:
    """Choose the Python version from every file that states one.

    An exact pin (``.python-version``, ``runtime.txt``, Pipfile, conda ``python=``) wins
    unless a stronger file's range excludes it; without a surviving pin, the newest
    supported version inside every range is chosen. Disagreements are warnings that name
    both files. ``hints`` are what the dependency files state.
    """
    warnings: list[str] = []
    all_hints = list(hints)
    for rel, detail in (
        (".python-version", "pyenv/uv pin"),
        ("runtime.txt", "runtime pin"),
        ("binder/runtime.txt", "Binder runtime pin"),
        (".binder/runtime.txt", "Binder runtime pin"),
    ):
        pinned = _exact(scan, rel)
        if pinned is not None:
            version, line = pinned
            all_hints.append(PythonHint(version, None, Evidence(rel, line, f"{detail} {version}")))
        elif rel in scan.files:
            warnings.append(f"{rel}: no Python version of the form X.Y found; ignored")
    space = space_config(scan).get("python_version")
    if space is not None:
        match = _X_Y.match(space[0])
        if match:
            version = f"{match.group(1)}.{match.group(2)}"
            detail = f"Hugging Face Space python_version {version}"
            all_hints.append(PythonHint(version, None, Evidence("README.md", space[1], detail)))
    unique: dict[tuple[str, int], PythonHint] = {}
    for hint in sorted(all_hints, key=lambda h: _rank(h.evidence)):
        unique.setdefault((hint.evidence.path, hint.evidence.line), hint)
    ordered = list(unique.values())
    pins = [h for h in ordered if h.spec is None]
    ranges = [h for h in ordered if h.spec is not None]

    chosen = _pin(pins, ranges, warnings) or (_from_ranges(ranges, warnings) if ranges else None)
    if chosen is None:
        return PythonChoice(knowledge.load("python")["default"], "default", [], warnings)
    version = chosen.version
    for other in ordered:
        if (other.evidence.path, other.evidence.line) == (
            chosen.evidence.path,
            chosen.evidence.line,
        ):
            continue
        outside = other.spec is not None and not _admits(other.spec, version)
        differs = other.spec is None and other.version != version
        if (outside or differs) and not any(other.evidence.path in w for w in warnings):
            warnings.append(
                f"Python versions disagree: {version} from {chosen.evidence.path}, "
                f"but {other.evidence}; using {version}"
            )
    if version not in _known_versions():
        warnings.append(
            f"Python {version} from {chosen.evidence.path} has no official python:{version}-slim "
            "image; pass --python or --base-image"
        )
    evidence = [
        chosen.evidence,
        *(
            h.evidence
            for h in ordered
            if h.evidence.path != chosen.evidence.path or h.evidence.line != chosen.evidence.line
        ),
    ]
    return PythonChoice(version, chosen.evidence.path, evidence, warnings)

"""Which Python the image runs: from the project's own files, strongest first."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from dockerize_ml import knowledge
from dockerize_ml.detect.deps.model import PythonHint
from dockerize_ml.detect.files import space_config
from dockerize_ml.profile import Dependency, Evidence, WheelFact, pinned
from dockerize_ml.scan import Scan

_X_Y = re.compile(r"^\s*(?:python-?|cpython-?)?(\d+)\.(\d+)(?:\.\d+)?\S*\s*$", re.IGNORECASE)


@dataclass
class PythonChoice:
    """The chosen ``X.Y``, the file it came from (or ``default``) and everything that spoke."""

    version: str
    source: str
    evidence: list[Evidence] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: What the exact pins have wheels for, as given.
    wheels: list[WheelFact] = field(default_factory=list)


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
    ".github/workflows",  # the CI matrix: the versions the project is tested on
)

#: A GitHub Actions ``python-version:`` key, its value on the same line or as a list below.
_CI_KEY = re.compile(r"^(\s*)-?\s*python-version\s*:\s*(.*)$")
_CI_VERSION = re.compile(r"(?<![\d.])(3)\.(\d+)(?:\.\d+)?(?![\d.]|\.x)")


def ci_matrix(scan: Scan) -> list[PythonHint]:
    """The Python versions the CI tests (``actions/setup-python``'s ``python-version``, a
    matrix list) across the workflows, as one range: the project is known to work there."""
    found: list[str] = []
    where: Evidence | None = None
    for rel in sorted(scan.files):
        if not (rel.startswith(".github/workflows/") and rel.endswith((".yml", ".yaml"))):
            continue
        lines = (scan.read_text(rel) or "").splitlines()
        for number, line in enumerate(lines, start=1):
            match = _CI_KEY.match(line.split("#", 1)[0])
            if match is None or "${{" in match.group(2):
                continue
            values = match.group(2)
            if not values.strip():  # a YAML list on the following lines
                for below in lines[number:]:
                    if not below.strip().startswith("-"):
                        break
                    values += " " + below
            versions = [f"{a}.{b}" for a, b in _CI_VERSION.findall(values.split("#", 1)[0])]
            if versions:
                found += versions
                where = where or Evidence(rel, number)
    if not found or where is None:
        return []
    unique = sorted(set(found), key=_key)
    major, minor = _key(unique[-1])
    spec = SpecifierSet(f">={unique[0]},<{major}.{minor + 1}")
    detail = f"CI tests Python {', '.join(unique)}"
    return [PythonHint("", spec, Evidence(where.path, where.line, detail))]


def _rank(evidence: Evidence) -> int:
    path = evidence.path
    if path.startswith(".github/workflows/"):
        path = ".github/workflows"
    return _ORDER.index(path) if path in _ORDER else len(_ORDER)


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
    return PythonHint(picked, strongest.spec, Evidence(where.path, where.line, detail))


def candidates() -> list[str]:
    """Every ``X.Y`` a choice can land on: the end-of-life versions, then the official ones."""
    table = knowledge.load("python")
    return sorted({*table["end_of_life"], *table["versions"]}, key=_key)


def table_pythons(name: str, version: str) -> list[str] | None:
    """What the ``wheels`` rows of knowledge/python.toml (``[first, last, oldest, newest]``)
    say about one release, or None when no row covers it."""
    try:
        release = Version(version)
    except InvalidVersion:
        return None
    for first, last, oldest, newest in knowledge.load("python")["wheels"].get(name, []):
        if Version(first) <= release <= Version(last):
            return [v for v in candidates() if _key(oldest) <= _key(v) <= _key(newest)]
    return None


def wheel_facts(dependencies: list[Dependency]) -> list[WheelFact]:
    """Offline facts for the exact pins, from the knowledge table alone."""
    facts: list[WheelFact] = []
    for dep in dependencies:
        version = pinned(dep)
        pythons = table_pythons(dep.name, version) if version and not dep.url else None
        if version and pythons is not None and all(f.name != dep.name for f in facts):
            where = Evidence(dep.source, dep.line)
            facts.append(WheelFact(dep.name, version, tuple(pythons), "knowledge", where))
    return facts


def _span(versions: tuple[str, ...]) -> str:
    if not versions:
        return "no Python"
    return versions[0] if len(versions) == 1 else f"{versions[0]}-{versions[-1]}"


def _describe(fact: WheelFact) -> str:
    if fact.source == "code":  # an API the code uses, gone from later releases
        return f"{fact.evidence.detail}: runs on Python {_span(fact.pythons)}"
    where = "PyPI" if fact.source == "pypi" else "knowledge/python.toml"
    return f"{fact.name}=={fact.version} has wheels for Python {_span(fact.pythons)} ({where})"


def _within_wheels(
    choice: PythonChoice, files: list[PythonHint], facts: list[WheelFact]
) -> PythonChoice:
    """Move the choice inside what every exact pin has wheels for.

    The pins are the hard constraint (a Python without a wheel for an exact pin cannot
    install it); the files choose inside it. A file that says otherwise is warned about.
    """
    if not facts:
        return choice
    table = knowledge.load("python")
    allowed = [v for v in candidates() if all(v in f.pythons for f in facts)]
    evidence = [  # the pins that narrow the choice (a pure wheel for every Python does not)
        *choice.evidence,
        *(
            Evidence(f.evidence.path, f.evidence.line, _describe(f))
            for f in facts
            if any(v not in f.pythons for v in candidates())
        ),
    ]
    warnings = list(choice.warnings)
    if not allowed:
        narrow = sorted(facts, key=lambda f: len(f.pythons))[:2]
        warnings.append(
            "the exact pins have wheels for no common Python: "
            + " and ".join(f"{f.evidence.path}:{f.evidence.line} ({_describe(f)})" for f in narrow)
            + f"; using {choice.version}, where pip compiles some of them from source"
        )
        return PythonChoice(choice.version, choice.source, evidence, warnings)
    if choice.version in allowed:
        return PythonChoice(choice.version, choice.source, evidence, warnings)
    # The files' ranges still choose inside what the wheels allow, when they can.
    inside = [
        v for v in allowed if all(h.spec is None or _admits(h.spec, v) for h in files)
    ] or allowed
    preferred_max = _key(table["preferred_max"])
    capped = [v for v in inside if _key(v) <= preferred_max]
    picked = max(capped, key=_key) if capped else min(inside, key=_key)
    narrowest = min(facts, key=lambda f: (len(f.pythons), f.name))
    limit = Evidence(
        narrowest.evidence.path,
        narrowest.evidence.line,
        f"{_describe(narrowest)}: chose Python {picked}",
    )
    # What the files alone concluded about the version that is now replaced no longer holds.
    warnings = [
        w for w in warnings if f"using {choice.version}" not in w and "no official python" not in w
    ]
    if choice.source != "default":
        warnings.append(
            f"Python {choice.version} from {choice.source} cannot install the exact pins "
            f"({limit.path}{f':{limit.line}' if limit.line else ''}: {_describe(narrowest)}); "
            f"using {picked}, the "
            "newest they all have wheels for"
        )
    if picked in table["end_of_life"]:
        why = (
            f"{narrowest.evidence.detail}, which runs only on Python {_span(narrowest.pythons)}; "
            "port the code to move to a supported Python"
            if narrowest.source == "code"
            else f"pins {narrowest.name}=={narrowest.version}, which has wheels only for Python "
            f"{_span(narrowest.pythons)}; upgrade the pins to move to a supported Python"
        )
        warnings.append(
            f"Python {picked} is end-of-life (no security fixes; python:{picked}-slim is no "
            f"longer updated), chosen because {limit.path}{f':{limit.line}' if limit.line else ''} "
            f"{why}"
        )
    others = [e for e in evidence if (e.path, e.line) != (limit.path, limit.line)]
    return PythonChoice(picked, limit.path, [limit, *others], warnings)


def detect_python(
    scan: Scan, hints: list[PythonHint], wheels: list[WheelFact] | None = None
) -> PythonChoice:
    """Choose the Python version from every file that states one.

    An exact pin (``.python-version``, ``runtime.txt``, Pipfile, conda ``python=``) wins
    unless a stronger file's range excludes it; without a surviving pin, the newest
    supported version inside every range is chosen. Disagreements are warnings that name
    both files. ``hints`` are what the dependency files state. ``wheels`` (what the exact
    pins have wheels for) bound the choice: a Python an exact pin has no wheel for is never
    chosen.
    """
    choice = _within_wheels(_from_files(scan, hints), hints, list(wheels or ()))
    choice.wheels = list(wheels or ())
    return choice


def _from_files(scan: Scan, hints: list[PythonHint]) -> PythonChoice:
    """The choice that the files alone make."""
    warnings: list[str] = []
    all_hints = [*hints, *ci_matrix(scan)]
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

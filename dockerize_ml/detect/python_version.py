"""Which Python the image runs: from the project's own files, strongest first."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet

from dockerize_ml import knowledge
from dockerize_ml.detect.deps.model import PythonHint
from dockerize_ml.profile import Evidence
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
_HINT_ORDER = (
    "pyproject.toml",
    "Pipfile",
    "environment.yml",
    "environment.yaml",
    "conda.yaml",
    "conda.yml",
    "setup.py",
    "setup.cfg",
)


def detect_python(scan: Scan, hints: list[PythonHint]) -> PythonChoice:
    """Choose the Python version; warn, naming both files, when sources disagree.

    ``hints`` are what the dependency files state (requires-python, Poetry's ``python``,
    Pipfile's ``python_version``, conda's ``python=``, ``python_requires``).
    """
    found: list[tuple[str, Evidence, SpecifierSet | None]] = []
    warnings: list[str] = []

    for rel, detail in ((".python-version", "pyenv/uv pin"), ("runtime.txt", "runtime pin")):
        pinned = _exact(scan, rel)
        if pinned is not None:
            version, line = pinned
            found.append((version, Evidence(rel, line, f"{detail} {version}"), None))
        elif rel in scan.files:
            warnings.append(f"{rel}: no Python version of the form X.Y found; ignored")

    seen: set[tuple[str, int]] = set()
    ordered = sorted(
        hints,
        key=lambda h: _HINT_ORDER.index(h.evidence.path) if h.evidence.path in _HINT_ORDER else 99,
    )
    for hint in ordered:
        key = (hint.evidence.path, hint.evidence.line)
        if key in seen:
            continue
        seen.add(key)
        if hint.spec is None:
            found.append((hint.version, hint.evidence, None))
            continue
        picked = pick_from_specifier(hint.spec)
        if picked is None:
            warnings.append(
                f"{hint.evidence}: admits no Python version with an official slim image; ignored"
            )
        else:
            found.append((picked, hint.evidence, hint.spec))

    if not found:
        default = knowledge.load("python")["default"]
        return PythonChoice(default, "default", [], warnings)

    version, evidence, first_spec = found[0]
    for other_version, other_evidence, other_spec in found[1:]:
        agrees = _admits(other_spec, version) if other_spec else other_version == version
        if not agrees:
            warnings.append(
                f"Python versions disagree: {evidence} and {other_evidence}; "
                f"using {version} from {evidence.path}"
            )
    if version not in _known_versions():
        warnings.append(
            f"Python {version} from {evidence.path} has no official python:{version}-slim image"
            "; pass --python or --base-image"
        )
    if first_spec is not None:
        detail = f"chose Python {version}, the newest supported inside {first_spec}"
        evidence = Evidence(evidence.path, evidence.line, detail)
    return PythonChoice(version, evidence.path, [evidence, *(f[1] for f in found[1:])], warnings)

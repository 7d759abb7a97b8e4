"""Declared dependencies: requirements files and PEP 621 ``[project.dependencies]``.

The files named here are the dependency inputs: only they reach the install step of the
Dockerfile, before the code is copied.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from dockerize_ml.detect.files import line_of
from dockerize_ml.profile import Dependency, DependencySource, Evidence, Package
from dockerize_ml.scan import Scan

#: The runtime requirements file; variants such as requirements-dev.txt are not runtime.
REQUIREMENTS = "requirements.txt"

_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)")
_EDITABLE = re.compile(r"^(-e|--editable)(?:\s+|=)(\S+)")
_COMMENT = re.compile(r"(^|\s)#.*$")


@dataclass
class DependencyFacts:
    """What the dependency detector found."""

    sources: list[DependencySource] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    package: Package | None = None
    warnings: list[str] = field(default_factory=list)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with comments removed and backslash continuations joined, with line numbers."""
    result: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            result.append((start, line))
    if pending.strip():
        result.append((start, pending.strip()))
    return result


def parse_requirements(scan: Scan, rel: str, facts: DependencyFacts) -> None:
    """Read a requirements file and the files it includes (cycles reported, not followed)."""
    seen: set[str] = set()

    def visit(path: str, constraint: bool, chain: tuple[str, ...]) -> None:
        if path in chain:
            facts.warnings.append(
                f"{chain[-1]}: includes {path}, which includes it back "
                f"({' -> '.join((*chain, path))}); the cycle is not followed"
            )
            return
        if path in seen:
            return
        seen.add(path)
        text = scan.read_text(path)
        if text is None:
            facts.warnings.append(
                f"{chain[-1] if chain else path}: requirements file {path} is missing or unreadable"
            )
            return
        facts.files.append(path)
        folder = posixpath.dirname(path)
        for number, line in _logical_lines(text):
            include = _INCLUDE.match(line)
            if include:
                target = posixpath.normpath(posixpath.join(folder, include.group(2)))
                visit(target, include.group(1) in ("-c", "--constraint"), (*chain, path))
                continue
            if constraint:
                continue  # a constraint narrows versions; it declares nothing
            editable = _EDITABLE.match(line)
            if editable:
                facts.warnings.append(
                    f"{path}:{number}: `{line}` installs a local or editable project; "
                    "dockerize-ml does not yet split it from the dependency layer"
                )
                continue
            if line.startswith("-"):
                # Index and install options (--index-url, --find-links, --hash, ...) stay in the
                # file, which the installer reads itself.
                continue
            _add_requirement(line, path, number, facts)

    visit(rel, False, ())


def _add_requirement(line: str, path: str, number: int, facts: DependencyFacts) -> None:
    # Per-requirement options (`--hash=...`) follow the requirement itself.
    spec = shlex.split(line, posix=True)[0] if " --" in line else line
    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        facts.warnings.append(f"{path}:{number}: not understood as a requirement ({exc}); skipped")
        return
    facts.dependencies.append(_dependency(req, path, number))


def _dependency(req: Requirement, source: str, line: int) -> Dependency:
    return Dependency(
        name=canonicalize_name(req.name),
        specifier=str(req.specifier),
        source=source,
        markers=str(req.marker) if req.marker else "",
        extras=tuple(sorted(req.extras)),
        url=req.url or "",
        line=line,
    )


def _pep621(scan: Scan, pyproject: dict[str, Any], facts: DependencyFacts) -> list[Dependency]:
    project = pyproject.get("project", {})
    declared = project.get("dependencies")
    if "dependencies" in project.get("dynamic", []):
        facts.warnings.append(
            "pyproject.toml: [project] dependencies are dynamic; dockerize-ml reads only "
            "static dependencies"
        )
    if not isinstance(declared, list):
        return []
    text = scan.read_text("pyproject.toml") or ""
    found: list[Dependency] = []
    for item in declared:
        line = line_of(text, f'"{item}"') or line_of(text, f"'{item}'")
        try:
            req = Requirement(str(item))
        except InvalidRequirement as exc:
            facts.warnings.append(f"pyproject.toml:{line}: {item!r} is not a requirement ({exc})")
            continue
        found.append(_dependency(req, "pyproject.toml", line))
    return found


def _package(scan: Scan, pyproject: dict[str, Any] | None) -> Package | None:
    """The project as a package, when it has a build backend to install it with."""
    text = scan.read_text("pyproject.toml") or ""
    if pyproject is not None and "build-system" in pyproject:
        build = pyproject["build-system"]
        name = pyproject.get("project", {}).get("name") or pyproject.get("tool", {}).get(
            "poetry", {}
        ).get("name", "")
        return Package(
            name=str(name),
            build_backend=str(build.get("build-backend", "setuptools.build_meta:__legacy__")),
            build_requires=tuple(str(r) for r in build.get("requires", ["setuptools"])),
            evidence=Evidence("pyproject.toml", line_of(text, "[build-system]"), "build-system"),
        )
    if "setup.py" in scan.files or "setup.cfg" in scan.files:
        rel = "setup.py" if "setup.py" in scan.files else "setup.cfg"
        return Package(
            name="",
            build_backend="setuptools.build_meta:__legacy__",
            build_requires=("setuptools>=61", "wheel"),
            evidence=Evidence(rel, 0, "setuptools project"),
        )
    return None


def detect_dependencies(scan: Scan, pyproject: dict[str, Any] | None) -> DependencyFacts:
    """Find the dependency sources, choose the one to install from, and say so."""
    facts = DependencyFacts()
    facts.package = _package(scan, pyproject)

    pep621 = _pep621(scan, pyproject, facts) if pyproject is not None else []
    has_pep621 = pyproject is not None and "dependencies" in pyproject.get("project", {})
    has_requirements = REQUIREMENTS in scan.files

    if has_requirements:
        parse_requirements(scan, REQUIREMENTS, facts)
        facts.sources.append(DependencySource("requirements", REQUIREMENTS))
        if has_pep621:
            facts.sources.append(DependencySource("pep621", "pyproject.toml", used=False))
            if pep621:
                facts.warnings.append(
                    "both requirements.txt and pyproject.toml [project.dependencies] declare "
                    "dependencies; installing requirements.txt (usually the pinned set)"
                )
    elif has_pep621:
        facts.sources.append(DependencySource("pep621", "pyproject.toml"))
        facts.dependencies.extend(pep621)
        facts.files.append("pyproject.toml")

    if facts.package is not None and facts.package.evidence.path != "pyproject.toml":
        facts.warnings.append(
            f"{facts.package.evidence.path}: its install_requires are not read yet; declare "
            "dependencies in requirements.txt or pyproject.toml"
        )
    if not facts.sources and facts.package is None:
        facts.warnings.append(
            "no requirements.txt or pyproject.toml dependencies found; the image gets only "
            "the standard library"
        )
    return facts

"""Dependency sources: every format a project can declare them in, and which one is used.

The choice, when several sources exist, follows one documented rule (docs/dependencies.md):

1. ``--deps-from KIND`` when given;
2. a lockfile: ``uv.lock``, then ``poetry.lock``, ``pdm.lock``, ``Pipfile.lock``;
3. a requirements file (``requirements.txt``, ``requirements/prod.txt``, ...);
4. a manifest without a lock: Poetry, PEP 621 ``pyproject.toml``, ``Pipfile``, setuptools;
5. a conda environment file.

The others are reported as found but not used, with a warning that names them.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name

from dockerize_ml.detect.deps.conda import conda_candidate, package_names
from dockerize_ml.detect.deps.model import Candidate, PythonHint
from dockerize_ml.detect.deps.pipenv import pipenv_candidate
from dockerize_ml.detect.deps.pyproject import pyproject_candidates
from dockerize_ml.detect.deps.requirements import requirements_candidate
from dockerize_ml.detect.deps.setuptools import setuptools_candidate
from dockerize_ml.detect.devtools import dev_only
from dockerize_ml.detect.files import line_of, repository_root
from dockerize_ml.errors import DockerizeError, ExitCode, docs
from dockerize_ml.profile import (
    SOURCE_KINDS,
    DependencySource,
    Evidence,
    LocalInstall,
    Package,
)
from dockerize_ml.scan import Scan

__all__ = ["DependencyFacts", "detect_dependencies"]


class UnknownSourceError(DockerizeError):
    """``--deps-from`` names a kind of source the project does not have."""

    exit_code = ExitCode.USAGE


def _rank(cand: Candidate) -> int:
    """Which source wins when there are several (lower wins): the kinds table's order."""
    return SOURCE_KINDS[cand.kind].rank_of(bool(cand.lock))


@dataclass
class DependencyFacts:
    """The chosen source, every source found, and what the other detectors need."""

    chosen: Candidate | None
    sources: list[DependencySource] = field(default_factory=list)
    package: Package | None = None
    python_hints: list[PythonHint] = field(default_factory=list)
    #: Every distribution any source names (dependencies, extras, groups): "declared".
    all_declared: set[str] = field(default_factory=set)
    #: Where pip clones the editable VCS requirements of any source (``src/NAME``).
    vcs_checkouts: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


def _outside_folders(scan: Scan, cand: Candidate) -> None:
    """Local folders outside the project (``-e ../../libs/common``, a Poetry or uv path
    dependency on a sibling). Inside the same git repository they are kept: the image is then
    built from the repository root (plan). Elsewhere they cannot reach any build context and
    are left out, with what to do instead."""
    repo = repository_root(scan.root.resolve())
    kept = []
    for local in cand.local:
        path = posixpath.normpath(local.path)
        if not (path == ".." or path.startswith("../") or path.startswith("/")):
            kept.append(local)
            continue
        target = (scan.root / path).resolve()
        if repo is not None and target.is_dir() and target.is_relative_to(repo):
            kept.append(LocalInstall(path, local.editable, local.evidence))
            cand.url_names.append(canonicalize_name(target.name))  # declared: its package
            continue
        cand.warnings.append(
            f"{local.evidence.path}:{local.evidence.line}: {local.path} is outside the "
            "project's git repository (or missing), so no build context can hold both: the "
            "image leaves it out. Publish it to a package index (and depend on it by name), "
            "or move it into the repository"
        )
        cand.url_names.append(canonicalize_name(posixpath.basename(path)))  # declared
    cand.local = kept


def _holds(wider: Candidate, part: Candidate) -> bool:
    """Whether ``wider`` installs ``part`` too: it reads its file (an environment.yml whose
    pip: section says ``-r requirements.txt``), or installs the project whose manifest
    ``part`` is (``-e .`` under pip:, over the setup.py it runs)."""
    if part.path in wider.files:
        return True
    manifest = part.kind in ("setuptools", "pep621", "poetry") and not part.lock
    return manifest and any(posixpath.normpath(loc.path) == "." for loc in wider.local)


def _runtime_set(real: list[Candidate], chosen: Candidate | None) -> Candidate | None:
    """A manifest's run-time set over a requirements file that is its development superset:
    every manifest dependency and, beyond them, only development tools (pytest, black)."""
    if chosen is None or chosen.kind != "requirements" or chosen.local:
        return chosen
    listed = {d.name for d in chosen.dependencies}
    dev = set(dev_only())
    for cand in sorted(real, key=_rank):
        if cand.kind not in ("pep621", "setuptools", "poetry") or cand.lock:
            continue
        names = {d.name for d in cand.dependencies}
        if names and names <= listed and listed - names and listed - names <= dev:
            return cand
    return chosen


def _package(scan: Scan, pyproject: dict[str, Any] | None) -> Package | None:
    """The project as a package, when it has a build backend to install it with."""
    text = scan.read_text("pyproject.toml") or ""
    tool = (pyproject or {}).get("tool", {})
    if (
        tool.get("poetry", {}).get("package-mode") is False
        or tool.get("uv", {}).get("package") is False
    ):
        return None
    if pyproject is not None and "build-system" in pyproject:
        build = pyproject["build-system"]
        name = pyproject.get("project", {}).get("name") or tool.get("poetry", {}).get("name", "")
        return Package(
            name=str(name),
            build_backend=str(build.get("build-backend", "setuptools.build_meta:__legacy__")),
            build_requires=tuple(str(r) for r in build.get("requires", ["setuptools"])),
            evidence=Evidence("pyproject.toml", line_of(text, "[build-system]"), "build-system"),
        )
    for rel in ("setup.py", "setup.cfg"):
        if rel in scan.files:
            return Package(
                name="",
                build_backend="setuptools.build_meta:__legacy__",
                build_requires=("setuptools>=61", "wheel"),
                evidence=Evidence(rel, 0, "setuptools project"),
            )
    return None


def detect_dependencies(
    scan: Scan, pyproject: dict[str, Any] | None, prefer: str | None = None
) -> DependencyFacts:
    """Find every dependency source, choose the one to install from, and say so."""
    found: list[Candidate] = [
        *pyproject_candidates(scan, pyproject),
        *filter(None, [requirements_candidate(scan), pipenv_candidate(scan)]),
        *filter(None, [setuptools_candidate(scan), conda_candidate(scan)]),
    ]
    facts = DependencyFacts(chosen=None, package=_package(scan, pyproject))
    for cand in found:
        _outside_folders(scan, cand)
        facts.python_hints += cand.python
        facts.all_declared |= {d.name for d in cand.dependencies}
        facts.all_declared |= set(cand.url_names)
        facts.vcs_checkouts |= {f"src/{name}" for name in cand.vcs_checkouts}
        if cand.conda is not None:  # conda names: most are the PyPI names too
            facts.all_declared |= package_names(cand.conda)
        for deps in (*cand.extras.values(), *cand.groups.values()):
            facts.all_declared |= {d.name for d in deps}
    # A source with nothing in it (a pyproject.toml that only states requires-python, a
    # setup.py with an empty install_requires) is found but installs nothing.
    real = [
        c
        for c in found
        if c.dependencies or c.lock or c.local or c.extras or c.groups or c.entry_files or c.conda
    ]
    if prefer is not None:
        chosen = next((c for c in found if c.kind == prefer), None)
        if chosen is None:
            kinds = ", ".join(sorted({c.kind for c in found})) or "none"
            raise UnknownSourceError(
                f"--deps-from {prefer}: the project has no such dependency source",
                f"sources found: {kinds}",
            )
    else:
        chosen = min(real, key=_rank) if real else (found[0] if found else None)
        # A source that installs another one (an environment.yml whose pip: section reads
        # requirements.txt) is the whole of it: it wins over the part.
        wider = [c for c in real if chosen is not None and c is not chosen and _holds(c, chosen)]
        if wider and chosen is not None and not chosen.lock:
            chosen = min(wider, key=_rank)
        chosen = _runtime_set(real, chosen)
    facts.chosen = chosen
    for cand in sorted(found, key=lambda c: (c is not chosen, _rank(c))):
        used = cand is chosen
        facts.sources.append(DependencySource(cand.kind, cand.path, used, cand.lock))
        if used:
            facts.warnings += cand.warnings
    others = [c for c in real if c is not chosen and not (chosen and c.path in chosen.files)]
    if chosen is not None and others:
        names = ", ".join(f"{c.path} ({c.kind})" for c in others)
        locks = [c for c in real if c.lock]
        rule = "a lockfile wins" if chosen.lock else f"the order: {docs('dependencies.md')}"
        facts.warnings.append(
            f"several dependency sources: installing from {chosen.path} ({chosen.kind}; {rule}); "
            f"not used: {names}. Choose another with --deps-from KIND"
        )
        if len(locks) > 1:
            facts.warnings.append(
                f"several lockfiles ({', '.join(c.lock for c in locks)}): keep the one your "
                "project uses and delete the others"
            )
    return facts

"""What the image installs beyond the chosen source's list: the distributions inferred from
the imports when nothing declares them, a requirements file's development tools set apart,
git for VCS requirements, and the dependencies of the local folders the project installs."""

from __future__ import annotations

import dataclasses
import posixpath

from packaging.utils import canonicalize_name

from dockerize_ml.detect import devtools
from dockerize_ml.detect.deps import DependencyFacts
from dockerize_ml.detect.deps.model import Candidate
from dockerize_ml.detect.deps.setuptools import folder_requirements
from dockerize_ml.detect.imports import ImportFacts
from dockerize_ml.profile import Dependency, EntryPoint, Evidence
from dockerize_ml.scan import Scan, scan


def inferred_dependencies(
    deps: DependencyFacts, imports: ImportFacts, entry: EntryPoint | None
) -> tuple[Dependency, ...]:
    """What the code imports (and its notebooks install), when nothing declares it."""
    chosen = deps.chosen
    declares_nothing = chosen is None or not (
        chosen.dependencies or chosen.entry_files or chosen.lock or chosen.conda
    )
    if not declares_nothing:
        return ()
    names: dict[str, Evidence] = {**imports.undeclared}
    for name, evidence in imports.notebook_installs.items():
        names.setdefault(name, evidence)
    for name in entry.requires if entry else ():
        names.setdefault(name, entry.evidence[0] if entry and entry.evidence else Evidence(""))
    return as_inferred(names)


def split_dev_tools(
    chosen: Candidate | None,
    declared: list[Dependency],
    imports: ImportFacts,
    entry: EntryPoint | None,
) -> tuple[list[Dependency], list[Dependency], list[str]]:
    """A requirements file's development tools, apart from what the image installs."""
    if chosen is None or chosen.kind != "requirements":
        return declared, [], []
    serves = entry is not None and entry.kind == "jupyterlab"
    return devtools.split(declared, imports.used, serves)


def as_inferred(names: dict[str, Evidence]) -> tuple[Dependency, ...]:
    """Distributions found in the code, as dependencies of source ``inferred``, sorted."""
    return tuple(
        Dependency(canonicalize_name(n), "", "inferred", detail=str(e))
        for n, e in sorted(names.items(), key=lambda kv: canonicalize_name(kv[0]))
    )


def needs_git(chosen: Candidate | None, declared: list[Dependency]) -> bool:
    """A VCS requirement in the installed files, or a ``name @ git+https://...`` of any
    reader (a setup.py's install_requires, a conda ``pip:`` section)."""
    return bool(chosen and chosen.vcs) or any(d.url.startswith("git+") for d in declared)


def local_dependencies(
    project: Scan, chosen: Candidate | None, declared: list[Dependency], warnings: list[str]
) -> tuple[Dependency, ...]:
    """The dependencies of the local folders the project installs (not the project itself):
    they are installed without dependencies after the code, so these come first."""
    if chosen is None:
        return ()
    folders = [loc.path for loc in chosen.local if loc.path != "."]
    own = {canonicalize_name(posixpath.basename(f)) for f in folders}
    seen = {d.name for d in declared} | own
    found: list[Dependency] = []
    for folder in folders:
        if folder.startswith("../"):  # a sibling in the repository: a scan of its own
            sibling = scan(project.root / folder)
            deps = [
                dataclasses.replace(d, source=posixpath.join(folder, d.source))
                for d in folder_requirements(sibling, ".", warnings)
            ]
        else:
            deps = folder_requirements(project, folder, warnings)
        for dep in deps:
            if dep.name not in seen:
                seen.add(dep.name)
                found.append(dep)
    return tuple(found)

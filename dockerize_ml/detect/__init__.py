"""Detection: small detectors, one concern each, pure functions of the scan.

:func:`detect` runs them and assembles the :class:`~dockerize_ml.profile.ProjectProfile`.
No detector decides what the generated files say; that is the plan's job.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from dockerize_ml.detect.code import build_index
from dockerize_ml.detect.context import detect_context
from dockerize_ml.detect.deps import DependencyFacts, detect_dependencies
from dockerize_ml.detect.entrypoints import packaged_entrypoints, script_entrypoints
from dockerize_ml.detect.files import read_toml
from dockerize_ml.detect.frameworks import detect_frameworks, detect_gpu
from dockerize_ml.detect.imports import ImportFacts, detect_imports
from dockerize_ml.detect.python_version import detect_python
from dockerize_ml.detect.servers import ServerFacts, detect_servers
from dockerize_ml.detect.system import detect_system_packages
from dockerize_ml.errors import BadPathError, NotAProjectError
from dockerize_ml.profile import (
    Dependency,
    DependencySource,
    EntryPoint,
    Evidence,
    ImportedDistribution,
    OptionalSet,
    ProjectProfile,
)
from dockerize_ml.scan import Scan, scan

__all__ = ["INFERRED_FILE", "detect", "inspect_project"]

#: Where `init` writes the requirements inferred from imports, when nothing declares them.
INFERRED_FILE = "requirements.txt"

_PROJECT_MARKERS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements.txt",
    "Pipfile",
    "environment.yml",
    "environment.yaml",
)


def _slug(name: str) -> str:
    """A Docker-image-safe name: lowercase letters, digits and single separators."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "app"


def _entrypoints(
    project: Scan, pyproject: dict[str, Any] | None, servers: ServerFacts
) -> list[EntryPoint]:
    """Every entry point, ranked: MLproject > Procfile > console scripts > ``__main__`` >
    app servers in the code > conventional scripts > JupyterLab for notebook-only projects."""
    ranked = [
        *servers.first,
        *packaged_entrypoints(project, pyproject),
        *servers.servers,
        *script_entrypoints(project),
    ]
    return ranked or servers.last


def _inferred(
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
    return tuple(
        Dependency(canonicalize_name(n), "", "inferred", detail=str(e))
        for n, e in sorted(names.items(), key=lambda kv: canonicalize_name(kv[0]))
    )


def detect(project: Scan, deps_from: str | None = None) -> ProjectProfile:
    """Run every detector over one scan and return the profile.

    ``deps_from`` chooses the dependency source when the project has several (the
    ``--deps-from`` flag); by default the documented order decides.
    """
    has_code = any(rel.endswith((".py", ".ipynb")) for rel in project.files)
    if not has_code and not any(marker in project.files for marker in _PROJECT_MARKERS):
        raise NotAProjectError(
            f"no Python project in {project.root}: no .py or .ipynb files, "
            "no requirements.txt or pyproject.toml",
            "point dockerize-ml at the folder that holds your code",
        )

    pyproject = read_toml(project, "pyproject.toml")
    deps = detect_dependencies(project, pyproject, None if deps_from == "inferred" else deps_from)
    python = detect_python(project, deps.python_hints)
    index = build_index(project)
    imports = detect_imports(project, index, deps.all_declared, python.version)
    servers = detect_servers(project, index, deps.all_declared | set(imports.used))
    entrypoints = _entrypoints(project, pyproject, servers)
    entry = entrypoints[0] if entrypoints else None
    context = detect_context(project, index)

    chosen = deps.chosen
    inferred = _inferred(deps, imports, entry)
    if deps_from == "inferred" and not inferred:
        inferred = tuple(
            Dependency(canonicalize_name(n), "", "inferred", detail=str(e))
            for n, e in sorted({**imports.used, **imports.notebook_installs}.items())
        )
    sources = list(deps.sources)
    if inferred:
        sources = [DependencySource("inferred", INFERRED_FILE)] + [
            DependencySource(s.kind, s.path, False, s.lock) for s in sources
        ]
        chosen = None
    declared = list(chosen.dependencies) if chosen else list(inferred)
    distributions = {d.name: Evidence(d.source, d.line) for d in declared}
    distributions.update(imports.used)
    system, system_warnings = detect_system_packages(
        project, index, distributions, bool(chosen and chosen.vcs)
    )

    ports: dict[int, Evidence] = {}
    if entry is not None and entry.port:
        ports[entry.port] = entry.evidence[0] if entry.evidence else Evidence("")
    for port, evidence in servers.ports.items():
        ports.setdefault(port, evidence)

    doc = pyproject or {}
    name = str(
        doc.get("project", {}).get("name")
        or doc.get("tool", {}).get("poetry", {}).get("name")
        or project.root.name
    )
    warnings = [*python.warnings, *deps.warnings, *context.warnings, *servers.warnings]
    warnings += system_warnings
    if inferred:
        warnings.append(
            f"no dependency file declares what the code imports: `init` writes {INFERRED_FILE} "
            f"with {len(inferred)} distributions found in the imports, unpinned; review and "
            "pin them"
        )
    elif chosen is None and deps.package is None:
        warnings.append(
            "no dependencies declared (no requirements.txt, pyproject.toml, Pipfile, setup.py "
            "or environment.yml) and none imported; the image gets only the standard library"
        )
    elif imports.undeclared:
        listed = ", ".join(f"{d} ({e})" for d, e in list(imports.undeclared.items())[:6])
        warnings.append(
            f"imported but declared nowhere: {listed}; they are installed only if another "
            "dependency pulls them in"
        )
    for module, evidence in imports.unknown.items():
        warnings.append(
            f"{evidence}: `{module}` is not a known distribution and nothing declares it; "
            "not guessed as a PyPI name (declare it)"
        )
    if entry is None:
        warnings.append(
            "no entry point found (no [project.scripts], no main.py/train.py/app.py with a "
            '`if __name__ == "__main__":` guard, no app server); the image starts `python`; '
            "pass --entry"
        )
    warnings += project.warnings
    return ProjectProfile(
        root=str(project.root),
        name=_slug(name),
        python_version=python.version,
        python_version_source=python.source,
        python_version_evidence=tuple(python.evidence),
        dependency_sources=tuple(sources),
        dependencies=tuple(declared),
        dependency_files=(INFERRED_FILE,)
        if inferred
        else tuple(dict.fromkeys(chosen.files))
        if chosen
        else (),
        dependency_entry_files=(INFERRED_FILE,)
        if inferred
        else tuple(chosen.entry_files)
        if chosen
        else (),
        extras_available=tuple(chosen.extras) if chosen else (),
        groups_available=tuple(chosen.groups) if chosen else (),
        optional_dependencies=tuple(
            [
                OptionalSet("extra", k, tuple(v))
                for k, v in (chosen.extras if chosen else {}).items()
            ]
            + [
                OptionalSet("group", k, tuple(v))
                for k, v in (chosen.groups if chosen else {}).items()
            ]
        ),
        local_installs=tuple(chosen.local) if chosen else (),
        build_secrets=tuple(chosen.secrets) if chosen else (),
        needs_git=bool(chosen and chosen.vcs),
        conda=chosen.conda if chosen else None,
        undeclared_imports=tuple(sorted(canonicalize_name(d) for d in imports.undeclared)),
        import_evidence=tuple(
            ImportedDistribution(canonicalize_name(d), e, d in imports.undeclared)
            for d, e in imports.used.items()
        ),
        unknown_imports=tuple(ImportedDistribution(m, e, True) for m, e in imports.unknown.items()),
        frameworks=tuple(detect_frameworks(declared, list(imports.used))),
        gpu=detect_gpu(index, declared, chosen.conda if chosen else None),
        entrypoint=entry,
        entrypoint_alternatives=tuple(entrypoints[1:]),
        ports=tuple(ports),
        port_evidence=tuple(ports.values()),
        system_packages=tuple(system),
        notebooks=tuple(project.glob(".ipynb")),
        package=deps.package,
        data_dirs=tuple(context.data_dirs),
        output_dirs=tuple(context.output_dirs),
        env_files=tuple(context.env_files),
        context_excludes=tuple(rule.pattern for rule in context.rules),
        context_rules=tuple(context.rules),
        runtime_files=tuple(context.runtime_files),
        runtime_file_evidence=tuple(context.runtime_evidence),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def inspect_project(path: Path, deps_from: str | None = None) -> ProjectProfile:
    """Check that ``path`` is a folder, scan it and detect its profile."""
    if not path.exists():
        raise BadPathError(f"{path} does not exist", "give the path of your project's folder")
    if not path.is_dir():
        raise BadPathError(
            f"{path} is not a folder", "give the folder that holds the project, not a file in it"
        )
    return detect(scan(path), deps_from)

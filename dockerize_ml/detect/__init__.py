"""Detection: small detectors, one concern each, pure functions of the scan.

:func:`detect` runs them and assembles the :class:`~dockerize_ml.profile.ProjectProfile`.
No detector decides what the generated files say; that is the plan's job.
"""

from __future__ import annotations

import re
from pathlib import Path

from dockerize_ml.detect.context import detect_context
from dockerize_ml.detect.deps import detect_dependencies
from dockerize_ml.detect.entrypoints import detect_entrypoints
from dockerize_ml.detect.files import read_toml
from dockerize_ml.detect.frameworks import detect_frameworks, detect_gpu
from dockerize_ml.detect.python_version import detect_python
from dockerize_ml.errors import BadPathError, NotAProjectError
from dockerize_ml.profile import OptionalSet, ProjectProfile
from dockerize_ml.scan import Scan, scan

__all__ = ["detect", "inspect_project"]

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
    deps = detect_dependencies(project, pyproject, deps_from)
    python = detect_python(project, deps.python_hints)
    chosen = deps.chosen
    entrypoints = detect_entrypoints(project, pyproject)
    context = detect_context(project)
    gpu = detect_gpu(project)

    doc = pyproject or {}
    name = str(
        doc.get("project", {}).get("name")
        or doc.get("tool", {}).get("poetry", {}).get("name")
        or project.root.name
    )
    warnings = [*python.warnings, *deps.warnings, *context.warnings, *project.warnings]
    if not entrypoints:
        warnings.append(
            "no entry point found (no [project.scripts], no main.py/train.py/app.py with a "
            '`if __name__ == "__main__":` guard); the image starts `python`; pass --entry'
        )
    return ProjectProfile(
        root=str(project.root),
        name=_slug(name),
        python_version=python.version,
        python_version_source=python.source,
        python_version_evidence=tuple(python.evidence),
        dependency_sources=tuple(deps.sources),
        dependencies=tuple(chosen.dependencies if chosen else ()),
        dependency_files=tuple(dict.fromkeys(chosen.files)) if chosen else (),
        dependency_entry_files=tuple(chosen.entry_files) if chosen else (),
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
        frameworks=tuple(detect_frameworks(list(chosen.dependencies) if chosen else [])),
        gpu=gpu,
        entrypoint=entrypoints[0] if entrypoints else None,
        entrypoint_alternatives=tuple(entrypoints[1:]),
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

"""Detection: small detectors, one concern each, pure functions of the scan.

:func:`detect` runs them and assembles the :class:`~dockerize_ml.profile.ProjectProfile`.
No detector decides what the generated files say; that is the plan's job. What
:func:`detect` combines lives beside the detectors: :mod:`.ranking` (which entry point runs,
which ports it publishes), :mod:`.installed` (inferred dependencies, development tools, local
folders' dependencies) and :mod:`.leaks` (the project's own .dockerignore, credentials in
dependency files); here remain the order of the detectors and the profile's assembly.
"""

from __future__ import annotations

import gc
import re
from pathlib import Path

from packaging.utils import canonicalize_name

from dockerize_ml.detect import shapes
from dockerize_ml.detect.apis import (
    api_warnings,
    api_wheel_facts,
    asserted_versions,
    bounded,
    code_bounds,
    inside_facts,
    release_bounds,
)
from dockerize_ml.detect.code import CodeIndex, build_index
from dockerize_ml.detect.context import detect_context
from dockerize_ml.detect.deps import DependencyFacts, detect_dependencies
from dockerize_ml.detect.deps.model import Candidate
from dockerize_ml.detect.distributed import detect_distributed
from dockerize_ml.detect.files import read_toml, repository_root
from dockerize_ml.detect.frameworks import detect_cuda_build, detect_frameworks, detect_gpu
from dockerize_ml.detect.imports import (
    ImportFacts,
    declared_elsewhere,
    detect_imports,
    leave_to_their_files,
    lock_names,
    undeclared_warning,
)
from dockerize_ml.detect.installed import (
    as_inferred,
    inferred_dependencies,
    local_dependencies,
    needs_git,
    split_dev_tools,
)
from dockerize_ml.detect.leaks import dependency_credentials, existing_dockerignore
from dockerize_ml.detect.pickles import model_pins, pin_warnings, pinned_to
from dockerize_ml.detect.python_version import detect_python, wheel_facts
from dockerize_ml.detect.ranking import ports_of, rank_entrypoints
from dockerize_ml.detect.servers import detect_servers
from dockerize_ml.detect.system import detect_system_packages
from dockerize_ml.errors import BadPathError, NotAProjectError
from dockerize_ml.knowledge.cuda import compatibility_warnings
from dockerize_ml.names import INFERRED_FILE
from dockerize_ml.profile import (
    CudaBuild,
    Dependency,
    DependencySource,
    EntryPoint,
    Evidence,
    GpuUse,
    ImportedDistribution,
    OptionalSet,
    ProjectProfile,
    WheelFact,
)
from dockerize_ml.scan import Scan, scan

__all__ = ["detect", "inspect_project", "pinned_dependencies", "scan_project"]

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


def _cuda_facts(
    project: Scan, index: CodeIndex, declared: list[Dependency], chosen: Candidate | None
) -> tuple[GpuUse, CudaBuild, list[str]]:
    """CUDA use, CUDA code to compile, and a warning for CUDA compiled at run time."""
    cuda_build = detect_cuda_build(
        project,
        index,
        declared,
        list(chosen.files) if chosen else [],
        [loc.path for loc in chosen.local] if chosen else [],
        chosen.index_options if chosen else [],
        chosen.lock if chosen else "",
    )
    gpu = detect_gpu(index, declared, chosen.conda if chosen else None, project)
    if cuda_build.needed and not gpu.uses_cuda:
        gpu = GpuUse(True, cuda_build.evidence)
    warnings = [
        f"{evidence}: compiles C++/CUDA code when it runs (torch.utils.cpp_extension), "
        "which needs nvcc and a compiler in the image; the generated image has neither. "
        "Build the extension in setup.py (a CUDAExtension, compiled in the build), or "
        "start from an nvidia/cuda devel image with --base-image"
        for evidence in cuda_build.jit[:1]
    ]
    return gpu, cuda_build, warnings


def _declaration_warnings(
    deps: DependencyFacts,
    imports: ImportFacts,
    chosen: Candidate | None,
    inferred: tuple[Dependency, ...],
    entry: EntryPoint | None,
) -> list[str]:
    """What the project does not declare: its dependencies (inferred, none, or some of its
    imports), distributions nobody could name, and its entry point."""
    found: list[str] = []
    if inferred:
        found.append(
            f"no dependency file declares what the code imports: `init` writes {INFERRED_FILE} "
            f"with {len(inferred)} distributions found in the imports, unpinned; review and "
            "pin them"
        )
    elif chosen is None and deps.package is None:
        found.append(
            "no dependencies declared (no requirements.txt, pyproject.toml, Pipfile, setup.py "
            "or environment.yml) and none imported; the image gets only the standard library"
        )
    elif imports.missing:
        found.append(undeclared_warning(imports, chosen))
    for module, evidence in imports.unknown.items():
        found.append(
            f"{evidence}: `{module}` is not a known distribution and nothing declares it; "
            "not guessed as a PyPI name (declare it)"
        )
    if entry is None:
        found.append(
            "no entry point found (no [project.scripts], no main.py/train.py/app.py with a "
            '`if __name__ == "__main__":` guard, no app server); the image starts `python`; '
            "pass --entry"
        )
    return found


def pinned_dependencies(project: Scan, deps_from: str | None = None) -> list[Dependency]:
    """The chosen source's dependencies, for asking the package index about their exact pins
    before :func:`detect` (which stays a pure function of the scan and those answers)."""
    pyproject = read_toml(project, "pyproject.toml", shapes.PYPROJECT)
    deps = detect_dependencies(project, pyproject, None if deps_from == "inferred" else deps_from)
    listed = list(deps.chosen.dependencies) if deps.chosen else []
    # The releases model files were pickled by, for the libraries nothing declares: an
    # inferred dependency is pinned to it, so it bounds the Python like an exact pin (a
    # declared one is the user's choice: warned about, in detect).
    return [*listed, *(p for p in model_pins(project) if p.name not in deps.all_declared)]


def detect(
    project: Scan,
    deps_from: str | None = None,
    wheels: tuple[WheelFact, ...] | None = None,
) -> ProjectProfile:
    """Run every detector over one scan and return the profile.

    ``deps_from`` chooses the dependency source when the project has several (the
    ``--deps-from`` flag); by default the documented order decides. ``wheels`` are what the
    package index said about the exact pins (:mod:`dockerize_ml.wheelindex`); without them,
    the ``wheels`` table of knowledge/python.toml answers.

    Python's cycle collector is paused meanwhile: the code index keeps every parsed module
    (a few hundred thousand AST nodes on a large repository, none of them in a cycle), and
    each collection would walk them all again; on the 10,000-module benchmark that was a
    third of the time (docs/benchmarks.md). Reference counting frees as usual; the collector
    runs again, as it was, when detection returns.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _detect(project, deps_from, wheels)
    finally:
        if paused:
            gc.enable()


def _entry_file(entry: EntryPoint | None, index: CodeIndex) -> str:
    """The module the container runs: the command's script, or the file that defines the
    server (its first evidence); "" when neither is a parsed file."""
    if entry is None:
        return ""
    for candidate in (*entry.command, *(e.path for e in entry.evidence)):
        if candidate.endswith(".py") and candidate in index.files:
            return candidate
    return ""


def _detect(
    project: Scan,
    deps_from: str | None,
    wheels: tuple[WheelFact, ...] | None,
) -> ProjectProfile:
    has_code = any(rel.endswith((".py", ".ipynb")) for rel in project.files)
    if not has_code and not any(marker in project.files for marker in _PROJECT_MARKERS):
        raise NotAProjectError(
            f"no Python project in {project.root}: no .py or .ipynb files, "
            "no requirements.txt or pyproject.toml",
            "point dockerize-ml at the folder that holds your code",
        )

    pyproject = read_toml(project, "pyproject.toml", shapes.PYPROJECT)
    deps = detect_dependencies(project, pyproject, None if deps_from == "inferred" else deps_from)
    index = build_index(project)
    uses = code_bounds(index)  # removed APIs the code uses, and the bound each puts
    old_apis = api_wheel_facts(index, uses)  # code that runs only on old releases
    pickled = model_pins(project)  # model files: the release that pickled them
    asserted = asserted_versions(index)  # `assert timm.__version__ == "0.3.2"`
    # What nothing declares is inferred, then pinned to these (a declared one is the user's
    # choice: warned about); releases whose own code uses a removed API bound like code.
    undeclared_pins = [p for p in [*pickled, *asserted] if p.name not in deps.all_declared]
    inside = inside_facts([*(deps.chosen.dependencies if deps.chosen else ()), *undeclared_pins])
    old_apis += [f for f in inside if f.pythons]  # pure-Python ones bound no Python
    # The bounds on the distributions themselves, pure-Python ones too (setuptools<82 for
    # pkg_resources), for what the image installs although nothing declares it.
    api_bounds = [*uses, *inside]
    python = detect_python(  # offline, the knowledge table answers for the exact pins
        project,
        list(deps.python_hints),
        [
            *(
                wheel_facts([*(deps.chosen.dependencies if deps.chosen else ()), *undeclared_pins])
                if wheels is None
                else list(wheels)
            ),
            *old_apis,
        ],
    )
    locked = lock_names(project, deps.chosen.lock) if deps.chosen and deps.chosen.lock else None
    imports = detect_imports(project, index, deps.all_declared, python.version, locked)
    servers = detect_servers(project, index, deps.all_declared | set(imports.used))
    entrypoints = rank_entrypoints(project, pyproject, servers)
    entry = entrypoints[0] if entrypoints else None
    context = detect_context(project, index, deps.vcs_checkouts)

    chosen = deps.chosen
    left_out = leave_to_their_files(
        imports,
        index,
        declared_elsewhere(project, set(chosen.files) if chosen else set()),
        _entry_file(entry, index),
    )
    inferred = inferred_dependencies(deps, imports, entry)
    if deps_from == "inferred" and not inferred:
        inferred = as_inferred({**imports.used, **imports.notebook_installs})
    inferred = pinned_to(bounded(inferred, api_bounds), undeclared_pins)
    sources = list(deps.sources)
    if inferred:
        sources = [DependencySource("inferred", INFERRED_FILE)] + [
            DependencySource(s.kind, s.path, False, s.lock) for s in sources
        ]
        chosen = None
    declared, dev_tools, warnings_dev = split_dev_tools(
        chosen, list(chosen.dependencies) if chosen else list(inferred), imports, entry
    )
    distributions = {d.name: Evidence(d.source, d.line) for d in declared}
    distributions.update(imports.used)
    system, system_warnings = detect_system_packages(
        project,
        index,
        distributions,
        needs_git(chosen, declared),
        list(chosen.source_builds) if chosen else [],
    )

    ports = ports_of(entry, servers)

    doc = pyproject or {}
    name = str(
        doc.get("project", {}).get("name")
        or doc.get("tool", {}).get("poetry", {}).get("name")
        or project.root.name
    )
    warnings = [*python.warnings, *deps.warnings, *warnings_dev, *context.warnings]
    warnings += [*servers.warnings, *system_warnings]
    warnings += [*_declaration_warnings(deps, imports, chosen, inferred, entry), *left_out]
    warnings += existing_dockerignore(project, pyproject, chosen, inferred, context, entry)
    warnings += compatibility_warnings(tuple(declared), chosen.conda if chosen else None)
    warnings += api_warnings(declared, api_bounds)
    warnings += pin_warnings(declared, pickled)
    local_deps = local_dependencies(project, chosen, declared, warnings)
    gpu, cuda_build, cuda_warnings = _cuda_facts(project, index, declared, chosen)
    warnings += cuda_warnings
    warnings += project.warnings
    return ProjectProfile(
        root=str(project.root),
        repository_root=str(repository_root(project.root) or ""),
        name=_slug(name),
        python_version=python.version,
        python_version_source=python.source,
        python_version_evidence=tuple(python.evidence),
        wheel_facts=tuple(python.wheels),
        dependency_sources=tuple(sources),
        dependencies=tuple(declared),
        dev_tools=tuple(dev_tools),
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
        local_dependencies=local_deps,
        build_secrets=tuple(chosen.secrets) if chosen else (),
        needs_git=needs_git(chosen, declared),
        source_builds=tuple(chosen.source_builds) if chosen else (),
        index_options=tuple(dict.fromkeys(chosen.index_options)) if chosen else (),
        constraint_files=tuple(dict.fromkeys(chosen.constraint_files)) if chosen else (),
        uv_sources=tuple(chosen.uv_sources) if chosen else (),
        uv_workspace=chosen.uv_workspace if chosen else None,
        frozen_paths=tuple(chosen.frozen_paths) if chosen else (),
        conda=chosen.conda if chosen else None,
        undeclared_imports=tuple(sorted(canonicalize_name(d) for d in imports.missing)),
        undeclared_bounds=tuple(
            (d.name, d.specifier)
            for d in bounded(as_inferred(dict(imports.missing)), api_bounds)
            if d.specifier
        ),
        release_bounds=release_bounds(
            inside,
            {
                canonicalize_name(n)
                for n in (*deps.all_declared, *imports.missing, *(d.name for d in declared))
            },
        ),
        import_evidence=tuple(
            ImportedDistribution(canonicalize_name(d), e, d in imports.missing)
            for d, e in imports.used.items()
        ),
        unknown_imports=tuple(ImportedDistribution(m, e, True) for m, e in imports.unknown.items()),
        frameworks=tuple(detect_frameworks(declared, list(imports.used))),
        gpu=gpu,
        cuda_build=cuda_build,
        distributed=detect_distributed(index),
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
        env_keys=tuple(context.env_keys),
        env_local=context.env_local,
        env_example=context.env_example,
        context_excludes=tuple(rule.pattern for rule in context.rules),
        context_rules=tuple(context.rules),
        runtime_files=tuple(context.runtime_files),
        runtime_file_evidence=tuple(context.runtime_evidence),
        mounted_files=tuple(context.mounted_files),
        secrets_found=tuple(Evidence(f.path, f.line, f.rule) for f in context.secrets),
        dependency_credentials=dependency_credentials(project, chosen),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def scan_project(path: Path) -> Scan:
    """Check that ``path`` is a folder and scan it."""
    if not path.exists():
        raise BadPathError(f"{path} does not exist", "give the path of your project's folder")
    if not path.is_dir():
        raise BadPathError(
            f"{path} is not a folder", "give the folder that holds the project, not a file in it"
        )
    return scan(path)


def inspect_project(
    path: Path, deps_from: str | None = None, wheels: tuple[WheelFact, ...] | None = None
) -> ProjectProfile:
    """Check that ``path`` is a folder, scan it and detect its profile (offline: the wheel
    facts come from the knowledge table unless given)."""
    return detect(scan_project(path), deps_from, wheels)

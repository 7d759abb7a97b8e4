"""Detection: small detectors, one concern each, pure functions of the scan.

:func:`detect` runs them and assembles the :class:`~dockerize_ml.profile.ProjectProfile`.
No detector decides what the generated files say; that is the plan's job.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from dockerize_ml import dockerignore
from dockerize_ml.detect import devtools, secrets, shapes
from dockerize_ml.detect.apis import api_warnings, api_wheel_facts, bounded
from dockerize_ml.detect.code import CodeIndex, build_index
from dockerize_ml.detect.context import LARGE_FILE_BYTES, ContextFacts, detect_context
from dockerize_ml.detect.deps import DependencyFacts, detect_dependencies
from dockerize_ml.detect.deps.model import Candidate
from dockerize_ml.detect.deps.setuptools import folder_requirements
from dockerize_ml.detect.distributed import detect_distributed
from dockerize_ml.detect.entrypoints import (
    documented_commands,
    packaged_entrypoints,
    script_entrypoints,
)
from dockerize_ml.detect.files import read_toml, repository_root, space_config
from dockerize_ml.detect.frameworks import detect_cuda_build, detect_frameworks, detect_gpu
from dockerize_ml.detect.imports import (
    ImportFacts,
    detect_imports,
    lock_names,
    undeclared_warning,
)
from dockerize_ml.detect.python_version import detect_python, wheel_facts
from dockerize_ml.detect.servers import ServerFacts, detect_servers
from dockerize_ml.detect.system import detect_system_packages
from dockerize_ml.errors import BadPathError, NotAProjectError
from dockerize_ml.knowledge.cuda import compatibility_warnings
from dockerize_ml.names import INFERRED_FILE, MARKER
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


def _entrypoints(
    project: Scan, pyproject: dict[str, Any] | None, servers: ServerFacts
) -> list[EntryPoint]:
    """Every entry point, ranked: MLproject > Procfile > what the README (or a Makefile
    target) runs > console scripts > ``__main__`` > app servers in the code > conventional
    scripts > JupyterLab for notebook-only projects.

    Of the documented commands, the first named like the main job (train, serve, main, an
    app server) comes first, else the first; one that runs a server the code defines is
    served as that server (on 0.0.0.0, its port), the others stay alternatives."""
    detected = [
        *packaged_entrypoints(project, pyproject),
        *servers.servers,
        *script_entrypoints(project),
    ]
    documented = documented_commands(project)
    chosen = next((d for d in documented if d.main_job), documented[0] if documented else None)
    top: list[EntryPoint] = []
    if chosen is not None:
        same = next((e for e in detected if any(ev.path == chosen.file for ev in e.evidence)), None)
        evidence = (*same.evidence, *chosen.entry.evidence) if same else ()
        bind = servers.self_runs.get(chosen.file)
        if same is not None and same.port and chosen.entry.kind == "script" and bind is not None:
            # the README runs the server's script, which listens on 0.0.0.0 as it is run
            flags = bind.flags(same.port)
            pairs = [flags[i : i + 2] for i in range(0, len(flags), 2)]
            given = chosen.entry.command
            missing = [w for pair in pairs if pair[0] not in given for w in pair]
            command = (*given, *missing)
            top = [dataclasses.replace(same, command=command, evidence=evidence)]
        elif same is not None and same.port:  # a server the code defines: served as such
            top = [dataclasses.replace(same, evidence=evidence)]
        elif same is not None and chosen.entry.kind != "documented-server":
            # the same script, with the README's arguments
            top = [dataclasses.replace(same, command=chosen.entry.command, evidence=evidence)]
        elif chosen.entry.kind != "documented-server":
            top = [chosen.entry]
    rest = [d.entry for d in documented if d is not chosen and d.entry.kind != "documented-server"]
    ranked = [*servers.first, *top, *detected, *rest]
    unique: dict[tuple[str, ...], EntryPoint] = {}
    for entry in ranked:  # a server run as a script is found twice: keep the richer one
        unique.setdefault(tuple(entry.command), entry)
    entries = list(unique.values())
    # A Hugging Face Space says which file it runs (README.md: sdk and app_file).
    space = space_config(project)
    app_file = space.get("app_file", ("", 0))[0]
    if space.get("sdk", ("", 0))[0] in ("gradio", "streamlit") and app_file:
        entries.sort(key=lambda e: app_file not in e.command)
    return entries or servers.last


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
    return _as_inferred(names)


def _dev_tools(
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


def _as_inferred(names: dict[str, Evidence]) -> tuple[Dependency, ...]:
    """Distributions found in the code, as dependencies of source ``inferred``, sorted."""
    return tuple(
        Dependency(canonicalize_name(n), "", "inferred", detail=str(e))
        for n, e in sorted(names.items(), key=lambda kv: canonicalize_name(kv[0]))
    )


def _existing_dockerignore(
    project: Scan,
    pyproject: dict[str, Any] | None,
    chosen: Candidate | None,
    inferred: tuple[Dependency, ...],
    context: ContextFacts,
    entry: EntryPoint | None,
) -> list[str]:
    """Warnings for files the build or the code needs that the project's own .dockerignore
    keeps out of the build context."""
    text = project.read_text(".dockerignore") if ".dockerignore" in project.files else None
    if not text or text.startswith(f"# {MARKER}"):
        return []
    needed: dict[str, str] = {}
    for rel in chosen.files if chosen is not None and not inferred else ():
        needed[rel] = "the dependency install reads it"
    for rel in context.runtime_files:
        needed[rel] = "the code reads it at run time"
    readme = (pyproject or {}).get("project", {}).get("readme")
    if isinstance(readme, str):
        needed[readme] = "pyproject.toml names it, so building the package needs it"
    if entry is not None and entry.kind == "script" and len(entry.command) > 1:
        needed[entry.command[1]] = "it is the entry point"
    rules = dockerignore.parse(text)
    return [
        f".dockerignore keeps {rel} out of the build context, but {why}; add `!{rel}` to it"
        for rel, why in needed.items()
        if dockerignore.excluded(rules, rel)
    ] + _let_in(project, rules)


def _let_in(project: Scan, rules: list[tuple[str, bool]]) -> list[str]:
    """Warnings for secrets and large files the project's own .dockerignore sends to the
    build, each with the line that keeps it out."""
    lines: dict[str, list[str]] = {}
    entries = [*project.files.values(), *(e for e in project.skipped.values() if not e.is_dir)]
    for entry in sorted(entries, key=lambda e: e.path):
        if dockerignore.excluded(rules, entry.path):
            continue
        rule = secrets.secret_by_name(entry.path)
        if rule is not None:
            lines.setdefault(rule.dockerignore, []).append(f"{entry.path} (a secret: {rule.why})")
        elif entry.size >= LARGE_FILE_BYTES:
            mib = entry.size // (1024 * 1024)
            lines.setdefault(entry.path, []).append(f"{entry.path} ({mib} MiB)")
    return [
        f".dockerignore lets {', '.join(what[:3])} into the build context (and the image); "
        f"add the line `{line}` to it"
        for line, what in lines.items()
    ]


def _dependency_credentials(project: Scan, chosen: Candidate | None) -> tuple[Evidence, ...]:
    """Credentials written into the dependency files the image installs from (an index URL
    with a password, a token): copied into the image, they would be in a layer."""
    found: list[Evidence] = []
    for rel in dict.fromkeys(chosen.files if chosen else ()):
        text = project.read_text(rel)
        if text:
            found += [Evidence(f.path, f.line, f.rule) for f in secrets.secrets_in_text(rel, text)]
    return tuple(found)


def _needs_git(chosen: Candidate | None, declared: list[Dependency]) -> bool:
    """A VCS requirement in the installed files, or a ``name @ git+https://...`` of any
    reader (a setup.py's install_requires, a conda ``pip:`` section)."""
    return bool(chosen and chosen.vcs) or any(d.url.startswith("git+") for d in declared)


def _local_dependencies(
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


def _ports(entry: EntryPoint | None, servers: ServerFacts) -> dict[int, Evidence]:
    """The entry point's port, and those of server calls in the file it runs: ports of
    server calls elsewhere belong to alternatives (a side server.py of a training
    repository), not to what the image runs."""
    ports: dict[int, Evidence] = {}
    if entry is not None and entry.port:
        ports[entry.port] = entry.evidence[0] if entry.evidence else Evidence("")
    # A console script or a Procfile line may run any module: its ports are all kept.
    known = entry is not None and (entry.port or entry.kind in ("script", "module"))
    runs = {e.path for e in entry.evidence} | set(entry.command[1:2]) if entry else set()
    for port, evidence in servers.ports.items():
        if not known or evidence.path in runs:
            ports.setdefault(port, evidence)
    return ports


def pinned_dependencies(project: Scan, deps_from: str | None = None) -> list[Dependency]:
    """The chosen source's dependencies, for asking the package index about their exact pins
    before :func:`detect` (which stays a pure function of the scan and those answers)."""
    pyproject = read_toml(project, "pyproject.toml", shapes.PYPROJECT)
    deps = detect_dependencies(project, pyproject, None if deps_from == "inferred" else deps_from)
    return list(deps.chosen.dependencies) if deps.chosen else []


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
    """
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
    old_apis = api_wheel_facts(index)  # code that runs only on old releases
    python = detect_python(  # offline, the knowledge table answers for the exact pins
        project,
        list(deps.python_hints),
        [
            *(
                wheel_facts(list(deps.chosen.dependencies) if deps.chosen else [])
                if wheels is None
                else list(wheels)
            ),
            *old_apis,
        ],
    )
    locked = lock_names(project, deps.chosen.lock) if deps.chosen and deps.chosen.lock else None
    imports = detect_imports(project, index, deps.all_declared, python.version, locked)
    servers = detect_servers(project, index, deps.all_declared | set(imports.used))
    entrypoints = _entrypoints(project, pyproject, servers)
    entry = entrypoints[0] if entrypoints else None
    context = detect_context(project, index, deps.vcs_checkouts)

    chosen = deps.chosen
    inferred = _inferred(deps, imports, entry)
    if deps_from == "inferred" and not inferred:
        inferred = _as_inferred({**imports.used, **imports.notebook_installs})
    inferred = bounded(inferred, old_apis)
    sources = list(deps.sources)
    if inferred:
        sources = [DependencySource("inferred", INFERRED_FILE)] + [
            DependencySource(s.kind, s.path, False, s.lock) for s in sources
        ]
        chosen = None
    declared, dev_tools, warnings_dev = _dev_tools(
        chosen, list(chosen.dependencies) if chosen else list(inferred), imports, entry
    )
    distributions = {d.name: Evidence(d.source, d.line) for d in declared}
    distributions.update(imports.used)
    system, system_warnings = detect_system_packages(
        project,
        index,
        distributions,
        _needs_git(chosen, declared),
        list(chosen.source_builds) if chosen else [],
    )

    ports = _ports(entry, servers)

    doc = pyproject or {}
    name = str(
        doc.get("project", {}).get("name")
        or doc.get("tool", {}).get("poetry", {}).get("name")
        or project.root.name
    )
    warnings = [*python.warnings, *deps.warnings, *warnings_dev, *context.warnings]
    warnings += [*servers.warnings, *system_warnings]
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
    elif imports.missing:
        warnings.append(undeclared_warning(imports, chosen))
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
    warnings += _existing_dockerignore(project, pyproject, chosen, inferred, context, entry)
    warnings += compatibility_warnings(tuple(declared), chosen.conda if chosen else None)
    warnings += api_warnings(declared, old_apis)
    local_deps = _local_dependencies(project, chosen, declared, warnings)
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
        needs_git=_needs_git(chosen, declared),
        source_builds=tuple(chosen.source_builds) if chosen else (),
        index_options=tuple(dict.fromkeys(chosen.index_options)) if chosen else (),
        constraint_files=tuple(dict.fromkeys(chosen.constraint_files)) if chosen else (),
        uv_sources=tuple(chosen.uv_sources) if chosen else (),
        uv_workspace=chosen.uv_workspace if chosen else None,
        frozen_paths=tuple(chosen.frozen_paths) if chosen else (),
        conda=chosen.conda if chosen else None,
        undeclared_imports=tuple(sorted(canonicalize_name(d) for d in imports.missing)),
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
        context_excludes=tuple(rule.pattern for rule in context.rules),
        context_rules=tuple(context.rules),
        runtime_files=tuple(context.runtime_files),
        runtime_file_evidence=tuple(context.runtime_evidence),
        mounted_files=tuple(context.mounted_files),
        secrets_found=tuple(Evidence(f.path, f.line, f.rule) for f in context.secrets),
        dependency_credentials=_dependency_credentials(project, chosen),
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

"""ProjectProfile: the facts detection found, each with its evidence.

``dockerize-ml detect --json`` prints :meth:`ProjectProfile.to_dict`. That output is a public
contract (DESIGN.md): scripts and CI read it. Add fields freely; rename or remove one only
together with a new :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SourceKind:
    """A kind of dependency source: one row of :data:`SOURCE_KINDS`.

    Detection ranks the sources it finds by it (``rank``, ``lock_rank``: lower wins; the
    order docs/dependencies.md states), the install strategy of each kind is in
    ``dockerize_ml.install.kinds`` (a test checks that every row has one), and the CLI's
    ``--deps-from`` and the ``deps-from`` setting accept its ``name``.
    """

    name: str
    #: Rank among the sources without a lockfile; None: the kind always has one.
    rank: int | None
    #: Rank among the lockfiles; None: the kind has none. A kind that can have one is
    #: ``locked``: its manager pins the environment, so no layer installs before it and
    #: nothing undeclared is added to it.
    lock_rank: int | None = None
    #: Its files carry installer options (``--index-url``, ``--find-links``, ``-c FILE``)
    #: that the layers installed before them (heavy frameworks, stable libraries) reuse.
    index_options: bool = False

    @property
    def locked(self) -> bool:
        return self.lock_rank is not None

    def rank_of(self, lock: bool) -> int:
        """The rank of a source of this kind, with or without its lockfile."""
        rank = self.lock_rank if lock else self.rank
        return 99 if rank is None else rank


#: Every kind of dependency source, in the order the CLI's help names them. Lockfiles rank
#: before everything (0-9), then requirements files, manifests and conda files (10-).
SOURCE_KINDS: dict[str, SourceKind] = {
    row.name: row
    for row in (
        SourceKind("requirements", rank=10, index_options=True),
        SourceKind("pep621", rank=12),
        SourceKind("poetry", rank=11, lock_rank=1),
        SourceKind("uv", rank=None, lock_rank=0),
        SourceKind("pdm", rank=None, lock_rank=2),
        SourceKind("pipfile", rank=13, lock_rank=3),
        SourceKind("conda", rank=15, index_options=True),
        SourceKind("setuptools", rank=14),
        # made of the code's imports when no file declares anything (never ranked)
        SourceKind("inferred", rank=None, index_options=True),
    )
}


@dataclass(frozen=True)
class Evidence:
    """Where a fact comes from: a file, a line (1-based, 0 when not line-bound) and why."""

    path: str
    line: int = 0
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        if not where:
            return self.detail
        return f"{where} ({self.detail})" if self.detail else where


@dataclass(frozen=True)
class DependencySource:
    """A file that declares dependencies, and its kind (a key of :data:`SOURCE_KINDS`)."""

    kind: str
    path: str
    used: bool = True  # False when another source was preferred (the warning says why)
    lock: str = ""  # the lockfile installed from, when there is one


@dataclass(frozen=True)
class OptionalSet:
    """An extra (``[project.optional-dependencies]``) or a dependency group, and its contents."""

    kind: str  # "extra" or "group"
    name: str
    dependencies: tuple[Dependency, ...]


@dataclass(frozen=True)
class LocalInstall:
    """A project folder a dependency file installs from a path (``-e .``, ``./libs/x``)."""

    path: str
    editable: bool
    evidence: Evidence


@dataclass(frozen=True)
class CondaEnv:
    """What a conda environment file asks for, and whether pip alone can install it."""

    path: str
    channels: tuple[str, ...]
    conda_packages: tuple[str, ...]
    pip: tuple[str, ...]
    #: The conda packages as PyPI requirements (when ``pip_installable``).
    pypi_requirements: tuple[str, ...]
    #: Conda packages with no PyPI equivalent (``cudatoolkit``, ``r-base``, ...).
    conda_only: tuple[str, ...]
    #: True when every conda package maps to a known PyPI name: a pip install suffices.
    pip_installable: bool
    reason: str
    cuda: str = ""  # the cudatoolkit / pytorch-cuda version the file pins, if any


@dataclass(frozen=True)
class Dependency:
    """A declared dependency; ``name`` is canonicalised as PEP 503."""

    name: str
    specifier: str
    source: str
    markers: str = ""
    extras: tuple[str, ...] = ()
    url: str = ""
    line: int = 0
    detail: str = ""  # for an inferred dependency, where the code imports it


@dataclass(frozen=True)
class ImportedDistribution:
    """A distribution (or, when unknown, a module) the code imports, and where."""

    name: str
    evidence: Evidence
    undeclared: bool


@dataclass(frozen=True)
class GpuUse:
    """Whether the code uses CUDA, and where it says so."""

    uses_cuda: bool = False
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Distributed:
    """Code that trains as several processes, and the launcher that starts them:
    ``torchrun``, ``accelerate``, ``deepspeed`` or ``ray`` ("" for none)."""

    launcher: str = ""
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class UvWorkspace:
    """The uv workspace a project belongs to (paths relative to the project)."""

    root: str
    lock: str
    #: Every member's pyproject.toml: uv reads them all to export from the lock.
    pyprojects: tuple[str, ...]
    #: The project's own name in the workspace (``uv export --package``).
    package: str


@dataclass(frozen=True)
class CompiledRequirement:
    """A dependency whose install compiles CUDA code (flash-attn, apex, ...)."""

    name: str
    #: As pip reads it: a PEP 508 string or a URL.
    requirement: str
    evidence: Evidence


@dataclass(frozen=True)
class CudaBuild:
    """CUDA code that has to be compiled with nvcc, at build time or at run time."""

    #: Dependencies that compile CUDA code when installed.
    requirements: tuple[CompiledRequirement, ...] = ()
    #: The project's own setup.py builds a CUDAExtension.
    project: bool = False
    #: Local folders (``./submodules/x``) whose setup.py builds a CUDAExtension.
    folders: tuple[str, ...] = ()
    #: Code that compiles CUDA at run time (``torch.utils.cpp_extension.load``).
    jit: tuple[Evidence, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    #: Every VCS requirement is compiled by the CUDA builder: the final image needs no git.
    vcs_compiled_only: bool = False
    #: The torch the lockfile pins (``==2.5.1``): the code must compile against that one.
    locked_torch: str = ""

    @property
    def needed(self) -> bool:
        """Whether the build has CUDA code to compile."""
        return bool(self.requirements or self.project or self.folders)


#: The ``health`` of a server that answers no GET (a Flask app of ``POST /predict`` alone):
#: a TCP connection to its port is the probe (the smoke tests, compose's healthcheck,
#: Kubernetes' tcpSocket probes).
TCP_HEALTH = "tcp"


@dataclass(frozen=True)
class EntryPoint:
    """How the container starts: ``kind`` (script, console-script, fastapi, ...) and argv."""

    kind: str
    command: tuple[str, ...]
    evidence: tuple[Evidence, ...] = ()
    port: int = 0  # the port a server listens on, 0 for none
    health: str = ""  # an HTTP path that answers when the server is up
    #: Distributions the command itself needs (uvicorn for a FastAPI app).
    requires: tuple[str, ...] = ()
    #: Environment the command needs in the image (GRADIO_SERVER_NAME=0.0.0.0).
    env: tuple[tuple[str, str], ...] = ()
    #: The Host header a request must carry to be served (a Django project whose
    #: ALLOWED_HOSTS names neither localhost nor ``*``): the health probes send it.
    host: str = ""


@dataclass(frozen=True)
class WheelFact:
    """The Pythons an exact pin has wheels for (Linux x86_64), and where that was read:
    ``source`` is ``pypi`` (the package index, at `detect`/`init`) or ``knowledge`` (the
    ``wheels`` table, offline)."""

    name: str
    version: str
    pythons: tuple[str, ...]
    source: str
    evidence: Evidence = field(default_factory=lambda: Evidence(""))
    #: The Pythons it has wheels for on other machines (``aarch64``), as the index answered;
    #: a machine not listed is not known (offline, the table covers x86_64 only).
    machines: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class SystemPackage:
    """A Debian package the image needs, with why; ``stage`` is ``run`` or ``build``."""

    name: str
    evidence: tuple[Evidence, ...] = ()
    stage: str = "run"


@dataclass(frozen=True)
class ContextRule:
    """One line of the generated .dockerignore and the section that explains it."""

    pattern: str
    section: str


@dataclass(frozen=True)
class Package:
    """The project as an installable package (it has a build backend)."""

    name: str
    build_backend: str
    build_requires: tuple[str, ...]
    evidence: Evidence


@dataclass(frozen=True)
class ProjectProfile:
    """Every fact about the project that the plan needs; frozen and JSON-serialisable."""

    root: str
    name: str
    python_version: str
    python_version_source: str
    python_version_evidence: tuple[Evidence, ...] = ()
    #: What the exact pins' wheels say about Python, and where it was read (``pypi`` or
    #: ``knowledge``); empty when nothing is pinned exactly.
    wheel_facts: tuple[WheelFact, ...] = ()
    dependency_sources: tuple[DependencySource, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    #: Files the dependency install step needs (copied before the code).
    dependency_files: tuple[str, ...] = ()
    #: The requirements files given to ``-r`` (the other files are reached by includes).
    dependency_entry_files: tuple[str, ...] = ()
    #: Optional dependency sets the chosen source offers (installed only when asked for).
    extras_available: tuple[str, ...] = ()
    groups_available: tuple[str, ...] = ()
    #: The dependencies of each extra and group.
    optional_dependencies: tuple[OptionalSet, ...] = ()
    local_installs: tuple[LocalInstall, ...] = ()
    #: What those folders (other than the project itself) declare they need.
    local_dependencies: tuple[Dependency, ...] = ()
    #: Environment variables the dependency files reference; passed as build secrets.
    build_secrets: tuple[str, ...] = ()
    needs_git: bool = False
    #: Requirements-file options that force building from source (``--no-binary``).
    source_builds: tuple[Evidence, ...] = ()
    #: Where the requirements files say packages come from (``--find-links URL``, ...).
    index_options: tuple[str, ...] = ()
    #: The constraints files (``-c FILE``) the dependency files name, from the root: the
    #: layers installed before those files honour them too.
    constraint_files: tuple[str, ...] = ()
    #: Dependencies whose ``[tool.uv.sources]`` entry (git, URL, path, workspace) was applied.
    uv_sources: tuple[str, ...] = ()
    #: The uv workspace (with a lock) the project is a member of, when it uses its members.
    uv_workspace: UvWorkspace | None = None
    #: The git repository that holds the project (its own or an enclosing one), absolute;
    #: "" outside one. CI files live at its root; a sibling folder is built from there.
    repository_root: str = ""
    #: Requirement lines naming a folder of the machine that froze them (``file:///croot/...``).
    frozen_paths: tuple[Evidence, ...] = ()
    conda: CondaEnv | None = None
    #: Imported, declared nowhere, brought by no declared distribution nor the lockfile:
    #: installed unpinned after the declared ones (not against a lockfile).
    undeclared_imports: tuple[str, ...] = ()
    #: The bound the code's use of a removed API puts on an undeclared import that the image
    #: installs (``("setuptools", "<82.0")`` for ``import pkg_resources``).
    undeclared_bounds: tuple[tuple[str, str], ...] = ()
    #: Bounds on what the declared distributions bring, where a pinned release's own code
    #: uses an API a later release of it removed (``flask==1.0.2`` imports ``jinja2.Markup``:
    #: ``jinja2<3.1``), for a distribution nothing declares: installed with the dependencies.
    release_bounds: tuple[Dependency, ...] = ()
    #: Every third-party distribution the code imports, with where (first import).
    import_evidence: tuple[ImportedDistribution, ...] = ()
    #: Imported modules that are neither known distributions, local, nor declared.
    unknown_imports: tuple[ImportedDistribution, ...] = ()
    frameworks: tuple[str, ...] = ()
    gpu: GpuUse = field(default_factory=GpuUse)
    cuda_build: CudaBuild = field(default_factory=CudaBuild)
    distributed: Distributed = field(default_factory=Distributed)
    entrypoint: EntryPoint | None = None
    entrypoint_alternatives: tuple[EntryPoint, ...] = ()
    ports: tuple[int, ...] = ()
    port_evidence: tuple[Evidence, ...] = ()
    system_packages: tuple[SystemPackage, ...] = ()
    notebooks: tuple[str, ...] = ()
    package: Package | None = None
    data_dirs: tuple[str, ...] = ()
    output_dirs: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    #: The variable names ``.env`` sets (never their values), and whether a fresh clone of
    #: the repository lacks the file (gitignored or untracked).
    env_keys: tuple[str, ...] = ()
    env_local: bool = False
    #: The committed example of .env (``.env.example``): its placeholders let the smoke test
    #: start a server that requires the names, where no .env is (CI, a fresh clone).
    env_example: str = ""
    context_excludes: tuple[str, ...] = ()
    #: ``context_excludes`` with the section of the .dockerignore that explains each.
    context_rules: tuple[ContextRule, ...] = ()
    runtime_files: tuple[str, ...] = ()
    runtime_file_evidence: tuple[Evidence, ...] = ()
    #: Development tools a requirements file lists (pytest, black, mkdocs) that the run-time
    #: code does not import: left out of the image's install unless ``--dev-tools``.
    dev_tools: tuple[Dependency, ...] = ()
    #: Files the code reads that stay out of the image (weights above a few MB, files git
    #: does not track): mounted read-only at their path at run time.
    mounted_files: tuple[str, ...] = ()
    #: Files that hold a credential by their content: where, and the rule (detail).
    secrets_found: tuple[Evidence, ...] = ()
    #: Credentials in the dependency files (``init`` refuses: they would reach a layer).
    dependency_credentials: tuple[Evidence, ...] = ()
    warnings: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain JSON-ready data, ``schema_version`` first."""
        data = _plain(self)
        assert isinstance(data, dict)
        return {"schema_version": data.pop("schema_version"), **data}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def requirement_string(dep: Dependency) -> str:
    """The dependency as a PEP 508 string, for an installer's command line."""
    text = dep.name
    if dep.extras:
        text += f"[{','.join(dep.extras)}]"
    text += f" @ {dep.url}" if dep.url else dep.specifier
    if dep.markers:
        text += f"{' ' if dep.url else ''}; {dep.markers}"
    return text


def pinned(dep: Dependency) -> str | None:
    """The release an exact pin names (``==1.2.3``), or None."""
    try:
        specs = list(SpecifierSet(dep.specifier))
    except InvalidSpecifier:
        return None
    for spec in specs:
        if spec.operator in ("==", "===") and "*" not in spec.version:
            return spec.version.split("+")[0]
    return None

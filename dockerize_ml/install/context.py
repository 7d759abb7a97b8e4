"""The install context every strategy shares: the installer's command and cache, the
project's build requirements, and the steps that install the project itself after the code.

Also the records a strategy returns (:class:`InstallPlan`, :class:`Stage`).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from dockerize_ml import knowledge
from dockerize_ml.cudabuild import (
    COMPILED,
    MOUNTED,
    STAGE,
    WHEELS,
    keep,
)
from dockerize_ml.errors import DockerizeError, ExitCode
from dockerize_ml.profile import (
    CompiledRequirement,
    Dependency,
    LocalInstall,
    ProjectProfile,
    requirement_string,
)
from dockerize_ml.steps import (
    Command,
    Step,
)

#: Where dependency files are mounted or copied for the install step (outside the code).
DEPS_DIR = "/tmp/deps"
#: The sed expression that turns a frozen line (``name @ file:///build/path``, from ``pip freeze``
#: on a build machine) into the bare name (GNU sed -E).
FROZEN_SED = r"s#^[[:space:]]*([A-Za-z0-9][A-Za-z0-9._-]*)[[:space:]]*@[[:space:]]*file://.*$#\1#"
VENV = "/opt/venv"
MAMBA_ROOT = "/opt/micromamba"


class InvalidSettingError(DockerizeError):
    """A flag or setting has a value dockerize-ml cannot use."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Stage:
    """A build stage before the final one (an exporter, or an image to copy a binary from)."""

    name: str
    image: str
    comment: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()  # pinned PyPI packages the stage installs
    tools_target: str = ""  # pip's --target for them ("": the base's environment)
    files: tuple[str, ...] = ()  # context files copied into /src
    #: (source in the context, destination under /src): files kept in their folders.
    copies: tuple[tuple[str, str], ...] = ()
    commands: tuple[Command, ...] = ()


@dataclass(frozen=True)
class InstallPlan:
    """Everything about installing the dependencies and the project."""

    installer: str  # uv, pip or micromamba
    origin: str  # where the dependencies come from, for comments
    stages: tuple[Stage, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    apt_build: tuple[str, ...] = ()
    needs_uv: bool = False
    make_venv: bool = True
    copy_binaries: tuple[tuple[str, str, str], ...] = ()  # (stage, source, target)
    before_code: tuple[Step, ...] = ()
    after_code: tuple[Step, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: The project's compiled extension modules are copied from the CUDA builder next to
    #: its code (after the code copy).
    compiled_copy: bool = False
    #: uv comes from the uv stage, mounted in each RUN that needs it (BuildKit): the setup
    #: RUN mounts it too, and nothing installs uv into the image.
    uv_mount: tuple[str, ...] = ()  # (stage, source, target), or empty

    @property
    def uv_mounted(self) -> bool:
        return bool(self.uv_mount)


@dataclass(frozen=True)
class Ctx:
    """What every strategy needs: the profile and the user's install choices."""

    profile: ProjectProfile
    installer: str
    buildkit: bool
    extras: tuple[str, ...]
    groups: tuple[str, ...]
    #: What the CUDA builder compiles: left out of the installs here, installed as wheels.
    compiled: tuple[CompiledRequirement, ...] = ()
    compiled_project: bool = False
    compiled_folders: tuple[str, ...] = ()
    #: Local folders from elsewhere in the repository, by where the image keeps them.
    local_paths: dict[str, str] = field(default_factory=dict)
    #: Development tools taken out of the requirements files (empty with ``--dev-tools``).
    dev_left_out: tuple[Dependency, ...] = ()
    #: The dependency source installed from: its kind (a key of ``profile.SOURCE_KINDS``)
    #: and its file.
    kind: str = ""
    source: str = ""
    #: The image the export stages start from (the final image's Python).
    base_image: str = ""
    #: A uv workspace member's files copied for the export stage (source, destination).
    workspace_copies: tuple[tuple[str, str], ...] = ()
    #: The image resolves as of a day (UV_EXCLUDE_NEWER): the project is then built in
    #: isolation with today's backend (`setuptools>=64` for an editable install has no
    #: release before 2022), its dependencies as of the day.
    as_of: bool = False

    def strings(self, deps: tuple[Dependency, ...] | list[Dependency]) -> list[str]:
        """The dependencies as requirement strings, without what the CUDA builder compiles."""
        lines = [(d.name, requirement_string(d)) for d in deps]
        return [line for name, line in lines if keep(name, line, self.compiled)]

    @property
    def uv(self) -> bool:
        return self.installer == "uv"

    def install(self, *items: str, flags: str = "", cached: bool = True) -> Command:
        """The installer's install command; without BuildKit (or uncached), no cache kept.

        ``flags`` stay on the command's line; each of ``items`` gets a line of its own.
        """
        base = "uv pip install" if self.uv else "pip install"
        if not (self.buildkit and cached):
            base += " --no-cache" if self.uv else " --no-cache-dir"
        return (f"{base} {flags}".rstrip(), *items)

    @property
    def cache(self) -> str:
        if not self.buildkit:
            return ""
        return "/root/.cache/uv" if self.uv else "/root/.cache/pip"

    def step(self, comment: tuple[str, ...], command: Command, **more: Any) -> Step:
        """One RUN of ``command`` with the installer's cache and hadolint's exceptions."""
        return Step(
            comment=comment,
            commands=(command,),
            cache=self.cache,
            hadolint_ignore=self.hadolint([command]),
            **more,
        )

    def hadolint(
        self, commands: list[Command] | tuple[Command, ...] = ()
    ) -> tuple[tuple[str, str], ...]:
        """The hadolint rules a pip step breaks on purpose, and why."""
        if self.uv:
            return ()  # hadolint does not read uv commands
        rules: list[tuple[str, str]] = []
        if self.buildkit:
            rules.append(
                (
                    "DL3042",
                    "The pip cache lives in a cache mount, outside the image (hadolint#497).",
                )
            )
        names = [a for c in commands if c[0].startswith("pip install") for a in c[1:]]
        if any(not a.startswith("-") and "==" not in a for a in names):
            rules.append(
                ("DL3013", "Version ranges are the project's own; pip resolves them as declared.")
            )
        return tuple(rules)

    def release_bounds(self) -> tuple[list[str], tuple[str, ...]]:
        """The bounds the pinned releases need on what they bring (``jinja2<3.1`` for
        ``flask==1.0.2``), installed with the dependencies so the resolver honours them, and
        the comment lines that say why."""
        bounds = self.profile.release_bounds
        if not bounds:
            return [], ()
        comment = (
            "What pinned releases bring, bounded to the releases that still have what",
            "their own code imports:",
            *(f"  {d.name}{d.specifier}: {d.detail}" for d in bounds),
        )
        return quote_each(self.strings(bounds)), comment

    def optional(self, kinds: tuple[str, ...] = ("extra", "group")) -> list[Dependency]:
        """The dependencies of the extras and groups the user asked for."""
        wanted = {("extra", e) for e in self.extras} | {("group", g) for g in self.groups}
        deps: list[Dependency] = []
        for opt in self.profile.optional_dependencies:
            if opt.kind in kinds and (opt.kind, opt.name) in wanted:
                deps += opt.dependencies
        return deps


def quote_each(items: list[str]) -> list[str]:
    return [shlex.quote(i) for i in items]


def _build_requires(ctx: Ctx) -> list[str]:
    """The build backend of the project, installed with the dependencies (no network later)."""
    package = ctx.profile.package
    installs_root = any(local.path == "." for local in ctx.profile.local_installs)
    if ctx.compiled_project:
        return []  # the CUDA builder builds it; the image installs its wheel
    if package is None and not installs_root:
        return []
    if package is None:
        return ["setuptools>=61", "wheel"]
    extra = knowledge.load("tools")["editable_requires"].get(package.build_backend, [])
    return [*package.build_requires, *extra]


def plus_build_requires(ctx: Ctx, commands: list[Command]) -> list[Command]:
    """``commands`` and then the install of the project's build backend, if it has one.

    A command of its own: a lockfile export carries hashes, and pip would demand them of these
    too if they were on the same command line.
    """
    build = _build_requires(ctx)
    if not build or ctx.as_of:  # as of a day, the project step builds in isolation
        return commands
    return [*commands, ctx.install(*quote_each(build))]


def project_steps(ctx: Ctx, locals_: tuple[LocalInstall, ...]) -> list[Step]:
    """After the code copy: the project (and other local folders) without dependencies.

    The project itself is installed editable, as ``poetry install``, ``uv sync`` and
    ``pip install -e .`` do: the code that runs is the code in the working folder, so files
    read relative to a module (``Path(__file__).parent / "models"``) are found, and the code
    is not copied a second time into site-packages. What the CUDA builder compiled (the
    project's or a folder's CUDAExtension) is installed from its wheels instead.
    """
    targets = [t for t in locals_ if t.path not in ctx.compiled_folders]
    if ctx.profile.package is not None and not any(t.path == "." for t in targets):
        targets.insert(0, LocalInstall(".", True, ctx.profile.package.evidence))
    if ctx.compiled_project:
        targets = [t for t in targets if t.path != "."]
    steps = compiled_local_steps(ctx)
    if not targets:
        return steps
    commands: list[Command] = []
    for target in targets:
        path = "." if target.path == "." else "./" + posixpath.normpath(target.path)
        path = ctx.local_paths.get(target.path, path)
        flags = "--no-deps"
        if target.path == "." and not ctx.as_of:
            flags += " --no-build-isolation"  # its backend is in the dependency layer
        if target.path == "." and ctx.uv and ctx.profile.uv_sources:
            flags += " --no-sources"  # applied above; a workspace source cannot resolve
        if target.editable:
            flags += " -e"
        install = ctx.install(flags=flags, cached=False)
        if ctx.as_of:
            # Resolving as of a day: the backend is built in isolation with today's release
            # (an editable install needs setuptools 64; an old environment's packaging
            # breaks today's setuptools), the project's own pins untouched (--no-deps).
            install = (f"env -u UV_EXCLUDE_NEWER {install[0]}", *install[1:])
        commands.append((*install, path))
    commands.append(("rm -rf build",))
    alone = len(targets) == 1 and targets[0].path == "."
    what = "The project itself" if alone else "The project's own folders"
    return [
        *steps,
        Step(
            comment=(
                f"{what}, without dependencies (installed above), so a code edit does not",
                "reinstall them.",
            ),
            commands=tuple(commands),
        ),
    ]


def compiled_local_steps(ctx: Ctx) -> list[Step]:
    """The project's and local folders' CUDA extensions, from the CUDA builder's wheels."""
    kinds = (["project"] if ctx.compiled_project else []) + (
        ["local"] if ctx.compiled_folders else []
    )
    if not kinds:
        return []
    wheels = [f"{MOUNTED}/{kind}/*.whl" for kind in kinds]
    comment = ["The project's CUDA extensions, compiled in the cuda-builder stage: the wheels"]
    comment.append("only (no dependencies, installed above).")
    if ctx.compiled_project:
        comment.append(f"Its compiled modules were copied next to its code ({COMPILED}, above), so")
        comment.append("`python train.py` in the working folder imports them.")
    return [
        Step(
            comment=tuple(comment),
            commands=(ctx.install(*wheels, flags="--no-deps", cached=False),),
            from_stage=((STAGE, WHEELS, MOUNTED),),
        )
    ]


def tool_image(tool: str, base_image: str) -> str:
    """The image a stage that installs ``tool`` starts from: the final image's Python, or
    the oldest Python the tool's pinned release installs on when that one is older (the
    stage's output, a requirements file or the uv binary, does not depend on its Python)."""
    floor = knowledge.load("tools")[tool].get("python", "")
    found = re.fullmatch(r"python:3\.(\d+)-slim", base_image)
    if not floor or found is None or int(found.group(1)) >= int(floor.split(".")[1]):
        return base_image
    return f"python:{floor}-slim"

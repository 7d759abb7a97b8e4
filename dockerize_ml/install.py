"""How each kind of dependency source is installed: the plan's install strategies.

Each strategy returns the steps of the dependency layer (only dependency files reach it) and
the steps after the code copy (the project itself, without its dependencies), in the way the
project's own manager installs: ``uv sync`` for uv.lock, an export of the lockfile for Poetry,
PDM and Pipenv (in a stage of its own, so the exporter never reaches the image), pip or uv for
requirements files, micromamba for conda environments pip cannot install.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name

from dockerize_ml import knowledge
from dockerize_ml.cudabuild import (
    COMPILED,
    MOUNTED,
    STAGE,
    WHEELS,
    CudaBuilder,
    delete_command,
    keep,
    sed_command,
)
from dockerize_ml.errors import DockerizeError, ExitCode, docs
from dockerize_ml.knowledge.cuda import pinned_minor
from dockerize_ml.profile import (
    CompiledRequirement,
    Dependency,
    LocalInstall,
    ProjectProfile,
    requirement_string,
)
from dockerize_ml.steps import (
    UV_BINARY,
    UV_MOUNT,
    UV_STAGE,
    UV_TARGET,
    Command,
    Step,
    quoted_option,
    separate_layers,
)

#: Where dependency files are mounted or copied for the install step (outside the code).
DEPS_DIR = "/tmp/deps"
#: The sed expression that turns a frozen line (``name @ file:///build/path``, from ``pip freeze``
#: on a build machine) into the bare name (GNU sed -E).
FROZEN_SED = r"s#^[[:space:]]*([A-Za-z0-9][A-Za-z0-9._-]*)[[:space:]]*@[[:space:]]*file://.*$#\1#"
VENV = "/opt/venv"
MAMBA_ROOT = "/opt/micromamba"

#: A requirements line that installs a local folder (`.`, `-e .`, `./libs/x`), as sed -E sees it.
_LOCAL_LINE = (
    r"/^[[:space:]]*((-e|--editable)([[:space:]]+|=)[[:space:]]*)?\.{1,2}(\/[^[:space:]]*)?"
    r"[[:space:]]*(#.*)?$/d"
)
#: The same inside a conda environment file's `pip:` list (`    - -e .`).
_LOCAL_YAML_LINE = (
    r"/^[[:space:]]*-[[:space:]]+((-e|--editable)[[:space:]]+)?\.{1,2}(\/[^[:space:]]*)?"
    r"[[:space:]]*$/d"
)


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
class _Ctx:
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

    def optional(self, kinds: tuple[str, ...] = ("extra", "group")) -> list[Dependency]:
        """The dependencies of the extras and groups the user asked for."""
        wanted = {("extra", e) for e in self.extras} | {("group", g) for g in self.groups}
        deps: list[Dependency] = []
        for opt in self.profile.optional_dependencies:
            if opt.kind in kinds and (opt.kind, opt.name) in wanted:
                deps += opt.dependencies
        return deps


def _quote(items: list[str]) -> list[str]:
    return [shlex.quote(i) for i in items]


def _build_requires(ctx: _Ctx) -> list[str]:
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


def _plus_build_requires(ctx: _Ctx, commands: list[Command]) -> list[Command]:
    """``commands`` and then the install of the project's build backend, if it has one.

    A command of its own: a lockfile export carries hashes, and pip would demand them of these
    too if they were on the same command line.
    """
    build = _build_requires(ctx)
    return [*commands, ctx.install(*_quote(build))] if build else commands


def _project_steps(ctx: _Ctx, locals_: tuple[LocalInstall, ...]) -> list[Step]:
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
    steps = _compiled_local_steps(ctx)
    if not targets:
        return steps
    commands: list[Command] = []
    for target in targets:
        path = "." if target.path == "." else "./" + posixpath.normpath(target.path)
        path = ctx.local_paths.get(target.path, path)
        flags = "--no-deps"
        if target.path == ".":
            flags += " --no-build-isolation"  # its backend is in the dependency layer
            if ctx.uv and ctx.profile.uv_sources:
                flags += " --no-sources"  # applied above; a workspace source cannot resolve
        if target.editable:
            flags += " -e"
        commands.append((*ctx.install(flags=flags, cached=False), path))
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


def _compiled_local_steps(ctx: _Ctx) -> list[Step]:
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


def _check_secrets(ctx: _Ctx) -> tuple[str, ...]:
    secrets = ctx.profile.build_secrets
    if secrets and not ctx.buildkit:
        raise InvalidSettingError(
            f"the dependency files use ${{{secrets[0]}}}, which is passed safely only as a "
            "BuildKit secret",
            f"drop --no-buildkit ({docs('private-indexes.md')})",
        )
    return secrets


def _secret_prefix(secrets: tuple[str, ...]) -> str:
    return "".join(f'{s}="$(cat /run/secrets/{s})" ' for s in secrets)


def _requirements(ctx: _Ctx, entry_files: tuple[str, ...], origin: str) -> InstallPlan:
    profile = ctx.profile
    secrets = _check_secrets(ctx)
    local = profile.local_installs
    with_local = sorted(
        {
            loc.evidence.path
            for loc in local
            if loc.evidence.path in entry_files or loc.evidence.path in profile.dependency_files
        }
    )
    with_compiled = sorted(
        {r.evidence.path for r in ctx.compiled if r.evidence.path in profile.dependency_files}
    )
    with_frozen = sorted({e.path for e in profile.frozen_paths})
    dev_files: dict[str, list[str]] = {}
    for dep in ctx.dev_left_out:
        if dep.source in profile.dependency_files:
            dev_files.setdefault(dep.source, []).append(dep.name)
    renamed = sorted(
        {
            d.source
            for d in profile.dependencies
            if d.detail.startswith("replaces ") and d.source in profile.dependency_files
        }
    )
    edited = bool(with_local or with_compiled or with_frozen or dev_files or renamed)
    folder = "/tmp/requirements" if edited else DEPS_DIR
    commands: list[Command] = []
    comment = [
        f"Dependencies before the code: this layer is rebuilt only when {origin} changes.",
    ]
    if edited:
        commands.append((f"cp -r {DEPS_DIR} {folder}",))
    if with_local:
        commands += [(f"sed -i -E '{_LOCAL_LINE}' {folder}/{f}",) for f in with_local]
        comment.append(
            "Lines that install the project's own folders (-e .) are taken out here and run"
        )
        comment.append("after the code copy, so a code edit does not reinstall everything.")
    if with_frozen:
        commands += [(f"sed -i -E '{FROZEN_SED}' {folder}/{f}",) for f in with_frozen]
        comment.append(
            "`name @ file:///...` lines (pip freeze in a conda environment) become the bare name."
        )
    if with_compiled:
        commands += [(sed_command(ctx.compiled, f"{folder}/{f}"),) for f in with_compiled]
        comment.append(
            "What the CUDA builder compiled is taken out here: its wheels are installed above."
        )
    if dev_files:
        for f, dev_names in sorted(dev_files.items()):
            commands.append((delete_command(tuple(dev_names), f"{folder}/{f}"),))
        names = ", ".join(sorted({n for ns in dev_files.values() for n in ns}))
        comment.append(f"Development tools are taken out here (not needed to run): {names}.")
        comment.append("`dockerize-ml init --dev-tools` keeps them.")
    for f in renamed:
        for wrong, real in sorted(_REPLACED.items()):
            commands.append((f"sed -i -E '{_rename_expression(wrong, real)}' {folder}/{f}",))
    if renamed:
        comment.append("`sklearn` on PyPI is a placeholder that fails: scikit-learn is installed.")
    args = [f"-r {folder}/{f}" for f in entry_files]
    args += _quote(ctx.strings(ctx.optional()))
    install = ctx.install(*args)
    commands.append((_secret_prefix(secrets) + install[0], *install[1:]))
    commands = _plus_build_requires(ctx, commands)
    if edited:
        commands.append((f"rm -rf {folder}",))
    step = Step(
        comment=tuple(comment),
        commands=tuple(commands),
        files=profile.dependency_files,
        cache=ctx.cache,
        secrets=secrets,
        hadolint_ignore=ctx.hadolint(commands),
    )
    return InstallPlan(
        installer=ctx.installer,
        origin=origin,
        needs_uv=ctx.uv,
        before_code=(step,),
        after_code=tuple(_project_steps(ctx, local)),
    )


#: PyPI names that are not what they seem -> the distribution installed instead.
_REPLACED: dict[str, str] = knowledge.load("devtools")["replaced"]


def _rename_expression(wrong: str, real: str) -> str:
    """A sed expression that makes a requirements line of ``wrong`` one of ``real``."""
    return f"s/^([[:space:]]*){wrong}([^[:alnum:]._-]|$)/\\1{real}\\2/I"


def _inline(ctx: _Ctx, deps: list[str], origin: str, note: str = "") -> InstallPlan:
    """Dependencies listed in the Dockerfile itself (no file an installer can read alone)."""
    comment = [f"Dependencies before the code, from {origin}."]
    if note:
        comment.append(note)
    comment.append("Run `dockerize-ml init` again after changing them.")
    commands = _plus_build_requires(ctx, [ctx.install(*_quote(deps))] if deps else [])
    steps = (
        (
            Step(
                comment=tuple(comment),
                commands=tuple(commands),
                cache=ctx.cache,
                hadolint_ignore=ctx.hadolint(commands),
            ),
        )
        if commands
        else ()
    )
    return InstallPlan(
        installer=ctx.installer,
        origin=origin,
        needs_uv=ctx.uv,
        before_code=steps,
        after_code=tuple(_project_steps(ctx, ctx.profile.local_installs)),
    )


def _strings(deps: tuple[Dependency, ...] | list[Dependency]) -> list[str]:
    return [requirement_string(d) for d in deps]


def _pep621(ctx: _Ctx) -> InstallPlan:
    origin = "pyproject.toml [project.dependencies]"
    if not ctx.uv or ctx.profile.uv_sources:
        note = (
            "[tool.uv.sources] applied here: git and URL sources as URLs, paths after the code."
            if ctx.profile.uv_sources
            else "pip cannot read the dependencies of a pyproject.toml alone: they are listed here."
        )
        return _inline(
            ctx,
            ctx.strings(ctx.profile.dependencies) + ctx.strings(ctx.optional()),
            origin,
            note,
        )
    extras = [f"--extra {shlex.quote(e)}" for e in ctx.extras]
    groups = ctx.optional(("group",))  # uv reads extras from pyproject.toml, not groups
    args = [f"-r {DEPS_DIR}/pyproject.toml", *extras, *_quote(ctx.strings(groups))]
    commands = _plus_build_requires(ctx, [ctx.install(*args)])
    step = Step(
        comment=(
            "Dependencies before the code: this layer is rebuilt only when pyproject.toml",
            "changes. uv reads the static dependencies of pyproject.toml without building it.",
        ),
        commands=tuple(commands),
        files=("pyproject.toml",),
        cache=ctx.cache,
    )
    return InstallPlan(
        installer="uv",
        origin=origin,
        needs_uv=True,
        before_code=(step,),
        after_code=tuple(_project_steps(ctx, ctx.profile.local_installs)),
    )


def _uv_lock(ctx: _Ctx) -> InstallPlan:
    selection = " ".join(
        [f"--extra {shlex.quote(e)}" for e in ctx.extras]
        + [f"--group {shlex.quote(g)}" for g in ctx.groups]
    )
    no_cache = "" if ctx.buildkit else " --no-cache"
    selection += "".join(f" --no-install-package {r.name}" for r in ctx.compiled)
    sync = (f"uv sync --locked --no-dev{no_cache} {selection.strip()}".rstrip(),)
    before = Step(
        comment=(
            "Dependencies before the code, exactly as uv.lock pins them: this layer is rebuilt",
            "only when pyproject.toml or uv.lock changes (--locked fails if they disagree).",
        ),
        commands=((f"{sync[0]} --no-install-project --project {DEPS_DIR}",),),
        files=("pyproject.toml", "uv.lock"),
        cache="/root/.cache/uv" if ctx.buildkit else "",
    )
    after: tuple[Step, ...] = tuple(_compiled_local_steps(ctx))
    if ctx.profile.package is not None and not ctx.compiled_project:
        after = (
            Step(
                comment=("The project itself; its dependencies are already in place.",),
                commands=(sync,),
                cache="/root/.cache/uv" if ctx.buildkit else "",
            ),
        )
    notes: tuple[str, ...] = ()
    if ctx.installer != "uv":
        notes = ("uv.lock is installed with uv whatever --installer says",)
    return InstallPlan(
        installer="uv",
        origin="uv.lock",
        env=(("UV_PROJECT_ENVIRONMENT", VENV),),
        needs_uv=True,
        before_code=(before,),
        after_code=after,
        notes=notes,
    )


def _exported(ctx: _Ctx, tool: str, stage: Stage, origin: str) -> InstallPlan:
    """Install a lockfile exported to requirements.txt in a stage of its own."""
    target = f"{DEPS_DIR}/requirements.txt"
    if ctx.compiled:  # the CUDA builder's wheels replace them (their hashes would not match)
        sed = (sed_command(ctx.compiled, "/requirements.txt"),)
        stage = dataclasses.replace(stage, commands=(*stage.commands, sed))
    commands = _plus_build_requires(ctx, [ctx.install(f"-r {target}")])
    step = Step(
        comment=(
            f"Dependencies before the code, pinned by {origin} (exported by {tool} in the",
            f"{stage.name} stage): this layer is rebuilt only when the lockfile changes.",
        ),
        commands=tuple(commands),
        from_stage=((stage.name, "/requirements.txt", target),),
        cache=ctx.cache,
        hadolint_ignore=ctx.hadolint(commands),
    )
    return InstallPlan(
        installer=ctx.installer,
        origin=origin,
        stages=(stage,),
        needs_uv=ctx.uv,
        before_code=(step,),
        after_code=tuple(_project_steps(ctx, ctx.profile.local_installs)),
    )


def _poetry(ctx: _Ctx, base_image: str) -> InstallPlan:
    tools = knowledge.load("tools")
    if not ctx.profile.dependency_sources or not any(
        s.used and s.lock for s in ctx.profile.dependency_sources
    ):
        return _inline(
            ctx,
            ctx.strings(ctx.profile.dependencies) + ctx.strings(ctx.optional()),
            "pyproject.toml [tool.poetry.dependencies]",
            "There is no poetry.lock: versions are resolved at build time.",
        )
    export = ["--only main"] + [f"--with {shlex.quote(g)}" for g in ctx.groups]
    export += [f"--extras {shlex.quote(e)}" for e in ctx.extras]
    stage = Stage(
        name="poetry-export",
        image=_tool_image("poetry", base_image),
        comment=(
            "Poetry exports poetry.lock to a pinned requirements file (with hashes); it",
            "never reaches the final image.",
        ),
        tools=(
            f"poetry=={tools['poetry']['version']}",
            f"poetry-plugin-export=={tools['poetry']['export_plugin']}",
        ),
        files=("pyproject.toml", "poetry.lock"),
        commands=(
            (
                f"poetry export {' '.join(export)} --format requirements.txt "
                "--output /requirements.txt",
            ),
        ),
    )
    return _exported(ctx, "Poetry", stage, "poetry.lock")


def _uv_workspace(ctx: _Ctx, base_image: str, copies: tuple[tuple[str, str], ...]) -> InstallPlan:
    """A uv workspace member: its dependencies exported from the workspace's lock (uv export
    --package, without the workspace members, which are installed from their folders after
    the code), in a stage of its own."""
    workspace = ctx.profile.uv_workspace
    assert workspace is not None
    uv = knowledge.load("tools")["uv"]["version"]
    export = (
        f"uv export --frozen --no-dev --package {shlex.quote(workspace.package)} "
        "--no-emit-workspace --format requirements-txt --output-file /requirements.txt"
    )
    stage = Stage(
        name="uv-export",
        image=base_image,
        comment=(
            "uv exports this project's dependencies from the workspace's uv.lock (with",
            "hashes); the stage never reaches the final image.",
        ),
        tools=(f"uv=={uv}",),
        copies=copies,
        commands=((export,),),
    )
    return _exported(ctx, "uv", stage, f"the workspace's uv.lock ({workspace.lock})")


def _tool_image(tool: str, base_image: str) -> str:
    """The image a stage that installs ``tool`` starts from: the final image's Python, or
    the oldest Python the tool's pinned release installs on when that one is older (the
    stage's output, a requirements file or the uv binary, does not depend on its Python)."""
    floor = knowledge.load("tools")[tool].get("python", "")
    found = re.fullmatch(r"python:3\.(\d+)-slim", base_image)
    if not floor or found is None or int(found.group(1)) >= int(floor.split(".")[1]):
        return base_image
    return f"python:{floor}-slim"


def _pdm(ctx: _Ctx, base_image: str) -> InstallPlan:
    tools = knowledge.load("tools")
    groups = "".join(f" --group {shlex.quote(g)}" for g in (*ctx.extras, *ctx.groups))
    stage = Stage(
        name="pdm-export",
        image=_tool_image("pdm", base_image),
        comment=(
            "PDM exports pdm.lock to a pinned requirements file (with hashes); it never",
            "reaches the final image.",
        ),
        tools=(f"pdm=={tools['pdm']['version']}", *_quote(tools["pdm"]["also"])),
        files=("pyproject.toml", "pdm.lock"),
        commands=(
            (f"pdm export --prod{groups} --format requirements --output /requirements.txt",),
        ),
    )
    return _exported(ctx, "PDM", stage, "pdm.lock")


def _pipenv(ctx: _Ctx, base_image: str) -> InstallPlan:
    profile = ctx.profile
    if not any(s.used and s.lock for s in profile.dependency_sources):
        return _inline(
            ctx,
            ctx.strings(profile.dependencies),
            "Pipfile [packages]",
            "There is no Pipfile.lock: versions are resolved at build time.",
        )
    tools = knowledge.load("tools")
    stage = Stage(
        name="pipenv-export",
        image=_tool_image("pipenv", base_image),
        comment=(
            "Pipenv exports Pipfile.lock's default packages to a pinned requirements file",
            "(with hashes); it never reaches the final image.",
        ),
        tools=(f"pipenv=={tools['pipenv']['version']}",),
        files=("Pipfile", "Pipfile.lock"),
        commands=(("pipenv requirements --hash > /requirements.txt",),),
    )
    return _exported(ctx, "Pipenv", stage, "Pipfile.lock")


def _setuptools(ctx: _Ctx) -> InstallPlan:
    profile = ctx.profile
    source = next(s.path for s in profile.dependency_sources if s.used)
    if profile.dependency_entry_files:
        return _requirements(
            ctx, profile.dependency_entry_files, f"{', '.join(profile.dependency_entry_files)}"
        )
    return _inline(
        ctx,
        ctx.strings(profile.dependencies) + ctx.strings(ctx.optional()),
        f"{source} (install_requires{', extras' if ctx.extras else ''})",
        "Read statically from the file, which is never executed.",
    )


def _conda(ctx: _Ctx) -> InstallPlan:
    conda = ctx.profile.conda
    assert conda is not None
    if conda.pip_installable:
        files = tuple(f for f in ctx.profile.dependency_files if f != conda.path)
        pip_lines = []
        for line in conda.pip:
            name = canonicalize_name(re.split(r"[\s<>=!~;\[@]", line, maxsplit=1)[0])
            if not keep(name, line, ctx.compiled):
                continue  # compiled by the CUDA builder, installed from its wheel
            option, _, rest = line.partition(" ")
            if option in ("-r", "--requirement", "-c", "--constraint"):
                pip_lines.append(f"{option} {DEPS_DIR}/{rest.strip()}")
            elif line.startswith("-"):
                pip_lines.append(" ".join(shlex.quote(w) for w in shlex.split(line)))
            else:
                pip_lines.append(shlex.quote(line))
        args = [*_quote(list(conda.pypi_requirements)), *pip_lines]  # conda names: never compiled
        commands = _plus_build_requires(ctx, [ctx.install(*args)] if args else [])
        step = Step(
            comment=(
                f"Dependencies before the code, from {conda.path}: {conda.reason}.",
                "Run `dockerize-ml init` again after changing the environment file.",
            ),
            commands=tuple(commands),
            files=files,
            cache=ctx.cache,
            hadolint_ignore=ctx.hadolint(commands),
        )
        return InstallPlan(
            installer=ctx.installer,
            origin=conda.path,
            needs_uv=ctx.uv,
            before_code=(step,) if commands else (),
            after_code=tuple(_project_steps(ctx, ctx.profile.local_installs)),
        )
    return _micromamba(ctx, conda.path, conda.reason)


def _micromamba(ctx: _Ctx, path: str, reason: str) -> InstallPlan:
    tools = knowledge.load("tools")["micromamba"]
    local = ctx.profile.local_installs
    folder = "/tmp/env" if local else DEPS_DIR
    commands: list[Command] = []
    if local:
        commands.append((f"cp -r {DEPS_DIR} {folder}",))
        commands.append((f"sed -i -E '{_LOCAL_YAML_LINE}' {folder}/{path}",))
    commands.append((f"micromamba create --yes --prefix {VENV} --file {folder}/{path}",))
    if not ctx.buildkit:
        commands.append(("micromamba clean --all --yes",))  # with BuildKit, a cache mount
    if local:
        commands.append((f"rm -rf {folder}",))
    before = Step(
        comment=(
            f"The conda environment, before the code: {reason}, so micromamba installs it.",
            "This layer is rebuilt only when the environment file changes.",
        ),
        commands=tuple(commands),
        files=ctx.profile.dependency_files,
        cache=f"{MAMBA_ROOT}/pkgs" if ctx.buildkit else "",
    )
    after: list[Step] = []
    if local:
        after.append(
            Step(
                comment=("The project's own folders, without dependencies (installed above).",),
                commands=tuple(
                    (
                        "python -m pip install --no-cache-dir --no-deps"
                        + (" -e" if loc.editable else ""),
                        loc.path,
                    )
                    for loc in local
                ),
            )
        )
    return InstallPlan(
        installer="micromamba",
        origin=path,
        stages=(Stage(name="micromamba", image=tools["image"]),),
        env=(("MAMBA_ROOT_PREFIX", MAMBA_ROOT),),
        make_venv=False,
        copy_binaries=(("micromamba", "/bin/micromamba", "/usr/local/bin/micromamba"),),
        before_code=(before,),
        after_code=tuple(after),
    )


#: Sources whose versions a lockfile or an export pins: the heavy layer would fight them.
_LOCKED_KINDS = ("uv", "poetry", "pdm", "pipfile")


def _with_cuda_extra(dep: Dependency) -> Dependency:
    """TensorFlow and JAX as ``tensorflow[and-cuda]`` / ``jax[cuda12]`` in a CUDA image: their
    CUDA libraries come as pip wheels. Not for a TensorFlow older than the extra (its image
    brings CUDA), nor when the project chose a CUDA extra itself."""
    extra = knowledge.load("frameworks")["cuda_extras"].get(dep.name)
    if extra is None or dep.url or any("cuda" in e or e == "gpu" for e in dep.extras):
        return dep
    if dep.name == "tensorflow":
        minor = pinned_minor(dep)
        row = knowledge.load("cuda")["tensorflow"].get(minor or "")
        if row is not None and not row.get("and_cuda"):
            return dep
    return dataclasses.replace(dep, extras=(*dep.extras, extra))


def _early_layer_options(ctx: _Ctx, kind: str) -> tuple[str, ...] | None:
    """The index options of a layer installed before the dependency files (heavy frameworks,
    stable libraries); None when there can be none: a lockfile is the environment, and a
    private index with credentials is reached by the requirements step alone."""
    if kind in _LOCKED_KINDS:
        return None
    options = ctx.profile.index_options if kind in ("requirements", "inferred", "conda") else ()
    if any("${" in option for option in options):
        return None
    return tuple(options)


def _heavy_frameworks(ctx: _Ctx, device: str, kind: str) -> list[Step]:
    """Heavy frameworks (torch, TensorFlow, JAX) in a layer of their own, before the rest, so
    adding a small dependency does not reinstall them; on a CPU image, the torch family
    from its CPU wheel index."""
    options = _early_layer_options(ctx, kind)
    if options is None:
        return []
    table = knowledge.load("frameworks")
    heavy = [
        d
        for d in (*ctx.profile.dependencies, *_undeclared(ctx, kind))
        if table["frameworks"].get(d.name, {}).get("heavy") and not d.url
    ]
    if not heavy:
        return []
    cpu_family = [d for d in heavy if device == "cpu" and d.name in table["cpu_index"]]
    others = [d for d in heavy if d not in cpu_family]
    if device == "cuda":
        others = [_with_cuda_extra(d) for d in others]
    commands: list[Command] = []
    # The requirements files' own indexes and find-links (torch==2.0.1+cu118 with
    # --find-links .../torch_stable.html) serve this layer too.
    own = [quoted_option(option) for option in options]
    if cpu_family:
        index = table["cpu_index"][cpu_family[0].name]
        flags = f"--index-url {index} --extra-index-url https://pypi.org/simple"
        extra = [o.replace("--index-url ", "--extra-index-url ", 1) for o in own]
        commands.append(ctx.install(*extra, *_quote(_strings(cpu_family)), flags=flags))
    if others:
        commands.append(ctx.install(*own, *_quote(_strings(others))))
    names = ", ".join(
        d.name + (f"[{','.join(d.extras)}]" if d.extras else "") for d in (*cpu_family, *others)
    )
    where = (
        "CPU-only wheels"
        if cpu_family
        else "their CUDA-enabled wheels"
        if device == "cuda"
        else "PyPI"
    )
    return [
        Step(
            comment=(
                f"Heavy frameworks first, in a layer of their own ({names}; {where}):",
                "adding a small dependency later does not download them again.",
            ),
            commands=tuple(commands),
            cache=ctx.cache,
            hadolint_ignore=ctx.hadolint(commands),
        )
    ]


def _undeclared(ctx: _Ctx, kind: str) -> list[Dependency]:
    """What the code imports and nothing declares (nor brings): installed unpinned, with the
    warning `detect` gives. Not against a lockfile (the lock is the environment), not for an
    inferred source (it is made of them), not into a micromamba environment."""
    conda = ctx.profile.conda
    if kind in (*_LOCKED_KINDS, "inferred", "") or (conda and not conda.pip_installable):
        return []
    declared = {d.name for d in ctx.profile.dependencies}
    return [
        Dependency(name, "", "imports")
        for name in ctx.profile.undeclared_imports
        if name not in declared and keep(name, name, ctx.compiled)
    ]


def _with_undeclared_imports(ctx: _Ctx, plan: InstallPlan, kind: str) -> InstallPlan:
    """The undeclared imports that are not heavy frameworks (those have their layer), after
    the declared dependencies, so that a version those pin or bring is kept."""
    heavy = knowledge.load("frameworks")["frameworks"]
    names = [d.name for d in _undeclared(ctx, kind) if not heavy.get(d.name, {}).get("heavy")]
    if not names:
        return plan
    command = ctx.install(*_quote(names))
    step = ctx.step(
        (
            f"Imported by the code, declared by no dependency file: {', '.join(names)}.",
            "Installed unpinned; declare them (with the versions you use) to pin them.",
        ),
        command,
    )
    return dataclasses.replace(plan, before_code=(*plan.before_code, step))


def _stable_layer(ctx: _Ctx, kind: str) -> list[Step]:
    """The big, rarely changed libraries (pandas, scikit-learn, FastAPI, ...; the ``stable``
    knowledge rows) in a layer of their own, before the rest, with their bytecode: adding a
    small dependency then installs and compiles only that one. Their versions come from the
    project's own specifiers; the requirements step after it installs everything as declared
    (keeping what this layer installed when it fits)."""
    options = _early_layer_options(ctx, kind)
    if options is None:
        return []
    table = knowledge.load("frameworks")
    stable = [
        d
        for d in ctx.profile.dependencies
        if d.name in table["stable"]
        and not d.url
        and not table["frameworks"].get(d.name, {}).get("heavy")
    ]
    strings = ctx.strings(stable)
    if not strings:
        return []
    command = ctx.install(*[quoted_option(o) for o in options], *_quote(strings))
    names = ", ".join(dict.fromkeys(d.name for d in stable))
    return [
        ctx.step(
            (
                f"The big libraries the project is built on ({names}), in a layer of their own:",
                "adding a small dependency later neither installs nor compiles them again.",
            ),
            command,
        )
    ]


def _with_uv_stage(
    ctx: _Ctx, plan: InstallPlan, base_image: str, system_python: bool
) -> InstallPlan:
    """With BuildKit on a Python base, uv comes from a stage of its own, mounted in each RUN
    that needs it: never in the image, and no pip into a venv to install it."""
    if not plan.needs_uv or plan.installer == "micromamba":
        return plan
    if not ctx.buildkit or system_python:
        return plan  # uv is installed into the image (no mounts, or no pip to install it)
    uv = knowledge.load("tools")["uv"]["version"]
    stage = Stage(
        name=UV_STAGE,
        image=_tool_image("uv", base_image),
        comment=(
            f"uv, pinned, in a stage of its own: each RUN that installs mounts {UV_BINARY}",
            "from here, so uv never reaches the final image.",
        ),
        tools=(f"uv=={uv}",),
        tools_target=UV_TARGET,
    )

    def mounted(steps: tuple[Step, ...]) -> tuple[Step, ...]:
        return tuple(
            dataclasses.replace(step, from_stage=(*step.from_stage, UV_MOUNT)) for step in steps
        )

    return dataclasses.replace(
        plan,
        stages=(stage, *plan.stages),
        before_code=mounted(plan.before_code),
        after_code=mounted(plan.after_code),
        uv_mount=UV_MOUNT,
    )


def plan_install(
    profile: ProjectProfile,
    *,
    installer: str,
    buildkit: bool,
    base_image: str,
    extras: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
    dev_tools: bool = False,
    device: str = "cpu",
    cuda_builder: CudaBuilder | None = None,
    local_paths: dict[str, str] | None = None,
    workspace_copies: tuple[tuple[str, str], ...] = (),
    requirements: tuple[str, ...] = (),
    system_python: bool = False,
) -> InstallPlan:
    """Choose how the dependencies and the project are installed.

    With a ``cuda_builder``, what it compiles is installed from its wheels and left out of
    the installs from the dependency files. ``system_python``: the final image's base has no
    Python of its own (``base_image`` is then the python image of the same version).
    """
    unknown = [e for e in extras if e not in profile.extras_available]
    unknown += [g for g in groups if g not in profile.groups_available]
    if unknown:
        offered = ", ".join([*profile.extras_available, *profile.groups_available]) or "none"
        raise InvalidSettingError(
            f"the project has no extra or group named {unknown[0]!r}",
            f"offered: {offered}",
        )
    ctx = _Ctx(
        profile,
        installer,
        buildkit,
        extras,
        groups,
        local_paths=dict(local_paths or {}),
        dev_left_out=() if dev_tools else profile.dev_tools,
    )
    if cuda_builder is not None:
        facts = profile.cuda_build
        ctx = dataclasses.replace(
            ctx,
            compiled=facts.requirements,
            compiled_project=facts.project,
            compiled_folders=facts.folders,
        )
    used = next((s for s in profile.dependency_sources if s.used), None)
    kind = used.kind if used else ""
    plan: InstallPlan
    if kind in ("requirements", "inferred"):
        plan = _requirements(ctx, profile.dependency_entry_files, used.path if used else "")
    elif kind == "uv":
        plan = _uv_lock(ctx)
    elif kind == "poetry":
        plan = _poetry(ctx, base_image)
    elif kind == "pdm":
        plan = _pdm(ctx, base_image)
    elif kind == "pipfile":
        plan = _pipenv(ctx, base_image)
    elif kind == "setuptools":
        plan = _setuptools(ctx)
    elif kind == "conda":
        plan = _conda(ctx)
    elif kind == "pep621" and workspace_copies:
        plan = _uv_workspace(ctx, base_image, workspace_copies)
    elif kind == "pep621":
        plan = _pep621(ctx)
    else:
        plan = _inline(ctx, [], "nothing (no dependencies declared)")
    if profile.needs_git and not (ctx.compiled and profile.cuda_build.vcs_compiled_only):
        plan = dataclasses.replace(plan, apt_build=("git",))
    plan = _with_first_layers(ctx, plan, device, kind)
    if ctx.compiled_project:
        plan = dataclasses.replace(plan, compiled_copy=True)
    # (a uv workspace's export has them already, pinned by its lock)
    folder_deps = [] if workspace_copies else ctx.strings(profile.local_dependencies)
    if folder_deps and plan.installer != "micromamba":
        command = ctx.install(*_quote(folder_deps))
        folders = sorted({posixpath.dirname(d.source) for d in profile.local_dependencies})
        step = ctx.step(
            (
                f"What the project's own folders need ({', '.join(folders)}), read from their",
                "package files: the folders themselves are installed after the code.",
            ),
            command,
        )
        plan = dataclasses.replace(plan, before_code=(*plan.before_code, step))
    # The entry's own requirements, the imports nothing declares, then what the settings add
    # (build --fix), last so that they win; uv mounted into every step that installs.
    plan = _with_saved_requirements(
        ctx, _with_undeclared_imports(ctx, _with_entry_requirements(ctx, plan), kind), requirements
    )
    plan = _with_uv_stage(ctx, plan, base_image, system_python)
    before = separate_layers(plan.before_code, classic=not ctx.buildkit)
    return dataclasses.replace(plan, before_code=before)


def _with_first_layers(ctx: _Ctx, plan: InstallPlan, device: str, kind: str) -> InstallPlan:
    """The layers before the dependency files' install, each reused while it stays the same:
    the heavy frameworks, what the CUDA builder compiled, the big stable libraries."""
    first = _heavy_frameworks(ctx, device, kind)
    if ctx.compiled:
        first.append(_compiled_step(ctx))
    first += _stable_layer(ctx, kind)
    if not first or plan.installer == "micromamba":
        return plan
    return dataclasses.replace(plan, before_code=(*first, *plan.before_code))


def _compiled_step(ctx: _Ctx) -> Step:
    """The dependencies the CUDA builder compiled, from its wheels, before the others (which
    then find them installed); their own dependencies (einops, ...) come from the index."""
    names = ", ".join(r.name for r in ctx.compiled)
    command = ctx.install(f"{MOUNTED}/deps/*.whl")
    return ctx.step(
        (
            f"Compiled in the cuda-builder stage ({names}): the final image gets the wheels,",
            "not the CUDA toolkit. They depend on torch, installed above.",
        ),
        command,
        from_stage=((STAGE, f"{WHEELS}/deps", f"{MOUNTED}/deps"),),
    )


def _with_saved_requirements(
    ctx: _Ctx, plan: InstallPlan, requirements: tuple[str, ...]
) -> InstallPlan:
    """Add the requirements of the ``dependencies`` setting (what ``build --fix`` learnt)."""
    if not requirements or plan.installer == "micromamba":
        return plan
    command = ctx.install(*_quote(list(requirements)))
    step = ctx.step(
        ("Saved in the settings (dependencies): what no dependency file declares.",), command
    )
    return dataclasses.replace(plan, before_code=(*plan.before_code, step))


def _with_entry_requirements(ctx: _Ctx, plan: InstallPlan) -> InstallPlan:
    """Add what the entry point's command needs (uvicorn, jupyterlab) when nothing declares it."""
    entry = ctx.profile.entrypoint
    declared = {d.name for d in ctx.profile.dependencies}
    declared |= {d.name for o in ctx.profile.optional_dependencies for d in o.dependencies}
    missing = [r for r in (entry.requires if entry else ()) if r not in declared]
    if not missing or plan.installer == "micromamba":
        return plan
    step = Step(
        comment=(f"The entry point runs {', '.join(missing)}, which no dependency file declares.",),
        commands=(ctx.install(*_quote(missing)),),
        cache=ctx.cache,
        hadolint_ignore=ctx.hadolint([ctx.install(*_quote(missing))]),
    )
    return dataclasses.replace(plan, before_code=(*plan.before_code, step))

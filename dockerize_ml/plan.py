"""The one place where decisions are made: profile + settings -> BuildPlan.

Settings are layered: what detection found < what the user chose (command-line flags).
Templates only format the plan; they never decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dockerize_ml import __version__, knowledge
from dockerize_ml.errors import DockerizeError, ExitCode
from dockerize_ml.profile import Dependency, ProjectProfile

INSTALLERS = ("uv", "pip")
#: The folder inside the image that holds the code, and the unprivileged user that runs it.
WORKDIR = "/app"
USER = "app"
DEFAULT_UID = 1000
VENV = "/opt/venv"
#: Where dependency files are mounted or copied for the install step (outside the code).
DEPS_DIR = "/tmp/deps"


class InvalidSettingError(DockerizeError):
    """A flag or setting has a value dockerize-ml cannot use."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Settings:
    """What the user chose; None means "use what detection found"."""

    python: str | None = None
    entry: tuple[str, ...] | None = None
    ports: tuple[int, ...] = ()
    base_image: str | None = None
    buildkit: bool = True
    installer: str = "uv"


@dataclass(frozen=True)
class Mount:
    """A host folder mounted into the container by the run script."""

    host: str
    container: str
    read_only: bool


@dataclass(frozen=True)
class BuildPlan:
    """Every decision the templates need, and nothing they would have to work out."""

    tool_version: str
    project_name: str
    image: str
    base_image: str
    python_version: str
    installer: str
    uv_version: str
    buildkit: bool
    #: Dependency files, copied (or bind-mounted) before the code; paths relative to the root.
    dependency_files: tuple[str, ...]
    #: The files given to `-r` (the others are reached through includes).
    requirement_args: tuple[str, ...]
    #: Requirements written out in the Dockerfile (pip cannot read pyproject.toml alone).
    inline_requirements: tuple[str, ...]
    #: Everything installed by name in the dependency step: inline requirements and the
    #: build backend of a project that is itself a package.
    packages: tuple[str, ...]
    #: Where the dependencies come from, for the comments.
    dependency_origin: str
    install_project: bool
    build_requires: tuple[str, ...]
    command: tuple[str, ...]
    command_origin: str
    ports: tuple[int, ...]
    mounts: tuple[Mount, ...]
    gpus: bool
    cache_volume: str
    dockerignore: tuple[tuple[str, tuple[str, ...]], ...]
    workdir: str = WORKDIR
    user: str = USER
    uid: int = DEFAULT_UID
    venv: str = VENV
    deps_dir: str = DEPS_DIR
    notes: tuple[str, ...] = field(default_factory=tuple)


_IMAGE_REF = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$", re.IGNORECASE)


def _python(profile: ProjectProfile, settings: Settings) -> str:
    if settings.python is None:
        return profile.python_version
    if not re.fullmatch(r"\d+\.\d+", settings.python):
        raise InvalidSettingError(
            f"--python {settings.python!r} is not of the form X.Y", "for example --python 3.11"
        )
    return settings.python


def make_plan(profile: ProjectProfile, settings: Settings) -> BuildPlan:
    """Decide the base image, install strategy, user, command, ports and mounts."""
    if settings.installer not in INSTALLERS:
        raise InvalidSettingError(
            f"--installer {settings.installer!r} is not one of {', '.join(INSTALLERS)}",
            "use --installer uv (the default) or --installer pip",
        )
    python = _python(profile, settings)
    base_image = settings.base_image or f"python:{python}-slim"
    if not _IMAGE_REF.match(base_image) or base_image.endswith(":latest"):
        raise InvalidSettingError(
            f"--base-image {base_image!r} is not a pinned image reference",
            "give a tagged image such as python:3.11-slim (never :latest)",
        )
    for port in settings.ports:
        if not 0 < port < 65536:
            raise InvalidSettingError(f"--port {port} is not a TCP port", "use 1-65535")

    used = [s for s in profile.dependency_sources if s.used]
    requirement_args: tuple[str, ...] = ()
    inline: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    origin = "nothing (no dependencies declared)"
    if used and used[0].kind == "requirements":
        files = profile.dependency_files
        requirement_args = (used[0].path,)
        origin = used[0].path
    elif used and used[0].kind == "pep621":
        origin = "pyproject.toml [project.dependencies]"
        if settings.installer == "uv":
            # uv reads the static dependencies of a pyproject.toml without building it.
            files = ("pyproject.toml",)
            requirement_args = ("pyproject.toml",)
        else:
            inline = tuple(_requirement_string(d) for d in profile.dependencies)

    package = profile.package
    install_project = package is not None
    build_requires = package.build_requires if package is not None else ()
    if not (files or inline) and build_requires:
        origin = "the build backend"

    if settings.entry:
        command, command_origin = settings.entry, "--entry"
    elif profile.entrypoint is not None:
        command = profile.entrypoint.command
        command_origin = str(profile.entrypoint.evidence[0]) if profile.entrypoint.evidence else ""
    else:
        command, command_origin = ("python",), "no entry point found"

    mounts = [Mount(d, f"{WORKDIR}/{d}", True) for d in profile.data_dirs]
    mounts += [Mount(d, f"{WORKDIR}/{d}", False) for d in profile.output_dirs]

    sections: dict[str, list[str]] = {}
    for rule in profile.context_rules:
        sections.setdefault(rule.section, []).append(rule.pattern)

    return BuildPlan(
        tool_version=__version__,
        project_name=profile.name,
        image=f"{profile.name}:latest",
        base_image=base_image,
        python_version=python,
        installer=settings.installer,
        uv_version=knowledge.load("tools")["uv"]["version"],
        buildkit=settings.buildkit,
        dependency_files=files,
        requirement_args=requirement_args,
        inline_requirements=inline,
        packages=(*inline, *build_requires),
        dependency_origin=origin,
        install_project=install_project,
        build_requires=build_requires,
        command=tuple(command),
        command_origin=command_origin,
        ports=tuple(dict.fromkeys((*settings.ports, *profile.ports))),
        mounts=tuple(mounts),
        gpus=profile.gpu.uses_cuda,
        cache_volume=f"{profile.name}-cache",
        dockerignore=tuple((name, tuple(patterns)) for name, patterns in sections.items()),
    )


def _requirement_string(dep: Dependency) -> str:
    """The dependency as a PEP 508 string, for an installer's command line."""
    text = dep.name
    if dep.extras:
        text += f"[{','.join(dep.extras)}]"
    text += f" @ {dep.url}" if dep.url else dep.specifier
    if dep.markers:
        text += f"; {dep.markers}"
    return text

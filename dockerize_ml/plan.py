"""The one place where decisions are made: profile + settings -> BuildPlan.

Settings are layered: what detection found < what the user chose (command-line flags).
Templates only format the plan; they never decide.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker

from dockerize_ml import knowledge
from dockerize_ml.bases import ImageUser, image_user
from dockerize_ml.choices import CI_SYSTEMS, DEVICES, INSTALLERS
from dockerize_ml.cudabuild import CudaBuilder, plan_cuda_builder
from dockerize_ml.errors import InvalidProjectFileError, docs
from dockerize_ml.install import (
    VENV,
    InstallPlan,
    InvalidSettingError,
    plan_install,
)
from dockerize_ml.knowledge.cuda import driver_floor, pinned_minor, torch_cuda
from dockerize_ml.launch import Launch, plan_launch
from dockerize_ml.names import CONTROL
from dockerize_ml.platforms import MARKER_ENV as _MARKER_ENV
from dockerize_ml.platforms import PlatformPlan, plan_platforms
from dockerize_ml.profile import Evidence, ProjectProfile, SystemPackage
from dockerize_ml.steps import apt_install
from dockerize_ml.targets import TargetPlan, apply_targets
from dockerize_ml.version import __version__

__all__ = ["BuildPlan", "InvalidSettingError", "Mount", "Settings", "make_plan"]

#: The folder inside the image that holds the code, and the unprivileged user that runs it
#: (unless the base image has its own: bases.py).
WORKDIR = "/app"
USER = "app"
DEFAULT_UID = 1000


@dataclass(frozen=True)
class Settings:
    """What the user chose; None or empty means "use what detection found"."""

    python: str | None = None
    entry: tuple[str, ...] | None = None
    ports: tuple[int, ...] = ()
    base_image: str | None = None
    buildkit: bool = True
    installer: str = "uv"
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    ci: tuple[str, ...] = ()  # "github", "gitlab"
    k8s: bool = False
    #: Keep a requirements file's development tools (pytest, black, ...) in the install.
    dev_tools: bool = False
    device: str = "auto"  # auto (CUDA when the code uses it), cpu or cuda
    #: Write .devcontainer/devcontainer.json.
    devcontainer: bool = False
    #: Platforms CI builds (linux/amd64, linux/arm64); empty: linux/amd64 alone.
    platforms: tuple[str, ...] = ()

    #: Debian packages for the final image and the builder stage, and requirements besides
    #: the dependency files: what `build --fix` learnt from a failed build (docs/build-fix.md).
    system_packages: tuple[str, ...] = ()
    build_packages: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()

    #: Platforms the image is made to run on (targets.TARGETS), and the prediction route.
    targets: tuple[str, ...] = ()
    predict_route: str | None = None
    #: YYYY-MM-DD: uv installs releases uploaded before this day (UTC) only (asof.py).
    exclude_newer: str = ""


#: Seconds one health request may take before it counts as failed.
PROBE_TIMEOUT = 3


@dataclass(frozen=True)
class SmokePlan:
    """What docker/smoke.sh (and CI) checks in a built image.

    For a server, ``port``, ``path``, ``timeout`` and ``wait`` are the one health probe that
    ``dockerize-ml build``, docker/smoke.sh, compose's healthcheck and the Kubernetes probes
    all use: ``GET path`` on ``port`` answers 2xx or 3xx within ``timeout`` seconds (a 404
    is a failure), once the server had up to ``wait`` seconds to start."""

    distributions: tuple[str, ...]
    kind: str = ""  # server, help, script or "" (nothing more to start)
    label: str = ""  # the server as reports name it: "fastapi", "streamlit", "server"
    port: int = 0
    path: str = "/"
    command: tuple[str, ...] = ()
    script: str = ""
    wait: int = 60
    timeout: int = PROBE_TIMEOUT

    @property
    def script_args(self) -> tuple[str, ...]:
        """The entry's own arguments after the script: the script probe passes them on (a
        script that parses them at its top level needs them)."""
        words = list(self.command)
        return tuple(words[words.index(self.script) + 1 :]) if self.script in words else ()


@dataclass(frozen=True)
class Context:
    """Where the image is built from when the project installs folders from elsewhere in its
    repository (``-e ../../libs/common``): the repository root, so both are in reach."""

    #: The context root, relative to the project folder ("../..").
    root: str
    #: The project folder inside the context, with a trailing slash ("services/scorer/").
    prefix: str
    #: The sibling folders: (as the project names it, inside the context, in the image).
    folders: tuple[tuple[str, str, str], ...]
    #: Files of a uv workspace the export stage reads: (inside the context, in the workspace).
    workspace_files: tuple[tuple[str, str], ...] = ()


#: Where sibling folders from the repository are copied in the image.
SIBLINGS = "/opt/src"


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
    buildkit: bool
    install: InstallPlan
    #: The commands of the one-time setup layer (system packages, user, installer, venv).
    setup_commands: tuple[str, ...]
    #: Debian packages installed in that layer, each with why.
    apt_packages: tuple[tuple[str, str], ...]
    #: Debian packages only the build needs (compilers, headers, git): when any, the
    #: dependencies are installed in a builder stage and the final image copies the venv.
    builder_packages: tuple[tuple[str, str], ...]
    builder_setup: tuple[str, ...]
    #: Environment the entry point needs (GRADIO_SERVER_NAME=0.0.0.0, ...).
    env: tuple[tuple[str, str], ...]
    #: The requirements file `init` writes when nothing declares the dependencies.
    inferred_requirements: tuple[tuple[str, str], ...]
    command: tuple[str, ...]
    command_origin: str
    ports: tuple[int, ...]
    mounts: tuple[Mount, ...]
    gpus: bool
    cache_volume: str
    build_secrets: tuple[str, ...]
    dockerignore: tuple[tuple[str, tuple[str, ...]], ...]
    smoke: SmokePlan = SmokePlan(())
    ci: tuple[str, ...] = ()
    k8s: bool = False
    #: The project folder relative to its git repository (CI files live at the repository root).
    repo_path: str = "."
    #: The server the image runs (entry kind, port, health path), for compose and Kubernetes.
    server_port: int = 0
    health_path: str = ""
    #: The project's dotenv file (docker/run.sh passes it when it exists).
    env_file: str = ""
    #: The dotenv file compose reads: only one a fresh clone has (compose fails on a missing
    #: ``env_file``). Otherwise ``env_names``: the names ``.env`` sets, which compose passes
    #: through from the shell or from ``.env`` itself when it is there.
    compose_env_file: str = ""
    env_names: tuple[str, ...] = ()
    jupyter: bool = False
    #: Secret files the app reads at run time, mounted read-only when present (never built in).
    secret_mounts: tuple[Mount, ...] = ()
    #: Those whose file exists now: Compose would make a folder in the place of a missing one
    #: (the run script checks at run time instead).
    compose_secret_mounts: tuple[Mount, ...] = ()
    #: Files the code reads that are not baked into the image (checkpoints of many MB, files
    #: git does not track): mounted read-only at their path when present.
    file_mounts: tuple[Mount, ...] = ()
    #: The folders the Kubernetes manifests mount (a fresh volume each): the mounts over
    #: which the image keeps no file. A volume over /app/data would hide the CSV the app
    #: reads there; such folders are left to the image, and listed in ``cluster_kept``.
    cluster_mounts: tuple[Mount, ...] = ()
    #: The folders not mounted in the cluster, each with the files the image keeps there.
    cluster_kept: tuple[tuple[str, tuple[str, ...]], ...] = ()
    actions: tuple[tuple[str, str], ...] = ()
    device: str = "cpu"
    #: For a CUDA image: what the host's driver must be, as precisely as the pins allow.
    gpu_host: str = ""
    gitlab_images: tuple[str, str] = ("", "")
    #: The stage that compiles CUDA code (CUDAExtension, flash-attn, ...), if any.
    cuda_builder: CudaBuilder | None = None
    #: Set when the image is built from the repository root (sibling folders installed).
    context: Context | None = None
    #: Distributed training: the launcher the command runs under, and the multi-node jobs.
    launch: Launch | None = None
    devcontainer: bool = False
    #: The platforms CI builds, checked for wheels (empty: linux/amd64 alone).
    platforms: PlatformPlan = dataclasses.field(default_factory=PlatformPlan)
    #: The platform targets' decisions (--target), None without targets.
    targets: TargetPlan | None = None

    @property
    def context_prefix(self) -> str:
        """What paths relative to the project get in front inside the build context."""
        return self.context.prefix if self.context else ""

    #: Things the user should know about the choices made (printed by `init`).
    notes: tuple[str, ...] = ()
    workdir: str = WORKDIR
    user: str = USER
    uid: int = DEFAULT_UID
    venv: str = VENV
    #: The user's group and gid (the image's own user may have another group: jovyan, users).
    group: str = USER
    gid: int = DEFAULT_UID
    #: Whether the uid is the APP_UID build argument (false: the base image's own user).
    uid_arg: bool = True
    #: The base image runs as another user: the setup steps switch to root first.
    switch_to_root: bool = False
    #: False when the packages go into the base's own environment (not a venv: uv is
    #: pointed at its Python instead of VIRTUAL_ENV, which uv accepts for venvs only).
    env_is_venv: bool = True

    @property
    def actions_by_name(self) -> dict[str, str]:
        """The pinned GitHub Actions, by short name."""
        return dict(self.actions)


_IMAGE_REF = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$", re.IGNORECASE)


def _python(profile: ProjectProfile, settings: Settings) -> str:
    if settings.python is None:
        return profile.python_version
    if not re.fullmatch(r"\d+\.\d+", settings.python):
        raise InvalidSettingError(
            f"--python {settings.python!r} is not of the form X.Y", "for example --python 3.11"
        )
    return settings.python


def _python_setup(install: InstallPlan, system_python: bool, venv: bool) -> list[str]:
    """uv and the venv. On a base without Python of its own (nvidia/cuda, ubuntu), the venv
    comes from Debian/Ubuntu's python3 and uv is installed into it (that python3 may be
    externally managed, PEP 668: nothing is installed into it)."""
    uv = knowledge.load("tools")["uv"]["version"]
    commands: list[str] = []
    if system_python:
        if venv:
            commands.append(f"python3 -m venv {VENV}")
        if install.needs_uv:
            commands.append(f"{VENV}/bin/python -m pip install --no-cache-dir uv=={uv}")
        return commands
    if install.needs_uv and not install.uv_mounted:
        commands.append(f"python -m pip install --no-cache-dir uv=={uv}")
    if venv:  # uv's venv has no pip in it: instant, where python -m venv takes seconds
        commands.append(f"uv venv {VENV}" if install.needs_uv else f"python -m venv {VENV}")
    return commands


def _setup_commands(
    install: InstallPlan, apt: tuple[str, ...], builder: bool, user: ImageUser
) -> tuple[str, ...]:
    """The layer built once: system packages, the app user and its folders, uv, the venv
    (with a builder stage, the venv comes from there and uv only if the project needs it)."""
    system_python = user.system_python
    commands = apt_install(apt)
    commands += user.commands
    if builder:
        # The venv comes from the builder stage. On a base without Python the builder put uv
        # into the venv; otherwise uv is installed here when steps after the code need it.
        if install.needs_uv and install.after_code and not system_python:
            commands += _python_setup(install, system_python, venv=False)
        return tuple(commands)
    commands += _python_setup(install, system_python, venv=install.make_venv)
    return tuple(commands)


def _builder_setup(
    install: InstallPlan, packages: tuple[str, ...], system_python: bool
) -> tuple[str, ...]:
    """The builder stage's tools: compilers and headers, uv, and the venv to fill."""
    return (
        *apt_install(packages),
        *_python_setup(install, system_python, venv=install.make_venv),
    )


#: Frameworks that download models into ~/.cache at run time (under the user's home).
_CACHE_ENV = (
    ("XDG_CACHE_HOME", ".cache"),
    ("HF_HOME", ".cache/huggingface"),
    ("TORCH_HOME", ".cache/torch"),
)


def _smoke_plan(
    profile: ProjectProfile, command: tuple[str, ...], ports: tuple[int, ...], python: str
) -> SmokePlan:
    """What a smoke test of the image checks: every dependency the image's Python installs
    imports, and the entry point starts. `dockerize-ml build` and docker/smoke.sh both run it."""
    env = {**_MARKER_ENV, "python_version": python, "python_full_version": f"{python}.0"}
    dists = tuple(
        dict.fromkeys(
            d.name for d in profile.dependencies if not d.markers or Marker(d.markers).evaluate(env)
        )
    )
    entry = profile.entrypoint
    detected = entry is not None and tuple(entry.command) == command
    if detected and entry is not None and entry.port:
        return SmokePlan(dists, "server", entry.kind, entry.port, entry.health or "/", command)
    if ports:
        return SmokePlan(dists, "server", "server", ports[0], _health(profile, ports[0]), command)
    if detected and entry is not None and entry.kind in ("console-script", "module"):
        return SmokePlan(dists, "help", command=command)
    if detected and entry is not None and entry.kind == "script":
        return SmokePlan(dists, "script", command=command, script=command[1])
    return SmokePlan(dists)


def _health(profile: ProjectProfile, port: int) -> str:
    """The health path of a server the image runs without being its detected entry point (a
    console script that calls ``uvicorn.run(app)``): the path the app on that port defines,
    else that of the one app the code defines (its port set where it is run)."""
    servers = [e for e in profile.entrypoint_alternatives if e.port and e.health]
    on_port = [e for e in servers if e.port == port]
    chosen = on_port or (servers if len(servers) == 1 else [])
    return chosen[0].health if chosen else "/"


def _repository(profile: ProjectProfile) -> str:
    """The project's folder relative to its git repository. The branch `init` runs on is not
    read: CI files name the CI system's own default branch, so they hold on every branch."""
    if not profile.repository_root:
        return "."
    return Path(profile.root).relative_to(profile.repository_root).as_posix() or "."


def _system_packages(
    profile: ProjectProfile, install: InstallPlan, cuda_builder: bool = False
) -> tuple[dict[str, str], dict[str, str], bool]:
    """Run-time and build-time Debian packages (each with why), and whether the build needs
    a builder stage: something must be compiled (never for micromamba images, whose
    environment comes from conda packages)."""
    build: dict[str, str] = dict.fromkeys(install.apt_build, "to install from VCS URLs")
    apt: dict[str, str] = {}
    for package in profile.system_packages:
        why = package.evidence[0].detail if package.evidence else ""
        (apt if package.stage == "run" else build).setdefault(package.name, why)
    if cuda_builder and profile.cuda_build.vcs_compiled_only:
        build.pop("git", None)  # the VCS requirements are built in the CUDA builder
    builder = install.installer != "micromamba" and any(n != "git" for n in build)
    if not builder:
        apt.update(build)  # git alone: installed where the dependencies are
        build = {}
    return apt, build, builder


def _image_files_under(profile: ProjectProfile, folder: str) -> tuple[str, ...]:
    """The files the image holds inside a folder the .dockerignore leaves out: the ones it
    puts back (the code reads them at run time, or git tracks them)."""
    inside = folder.rstrip("/") + "/"
    placeholders = knowledge.load("layout")["mounts"]["placeholders"]
    kept = {f for f in profile.runtime_files if f.startswith(inside)}
    for pattern in profile.context_excludes:
        path = pattern[1:].lstrip("/")
        if pattern.startswith("!") and path.startswith(inside) and "*" not in path:
            kept.add(path)
    return tuple(sorted(f for f in kept if f.rsplit("/", 1)[-1] not in placeholders))


def _cluster_mounts(
    profile: ProjectProfile, mounts: list[Mount]
) -> tuple[tuple[Mount, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
    """The mounts a pod gets, and the folders it does not (with the image's files there):
    in a cluster a volume starts empty, so it must not cover a file the image carries."""
    chosen: list[Mount] = []
    kept: list[tuple[str, tuple[str, ...]]] = []
    for mount in mounts:
        if mount.host == ".":  # the notebooks' working copy: a local workflow only
            continue
        files = _image_files_under(profile, mount.host)
        if files:
            kept.append((mount.host, files))
        else:
            chosen.append(mount)
    return tuple(chosen), tuple(kept)


def _cluster_notes(kept: tuple[tuple[str, tuple[str, ...]], ...]) -> list[str]:
    return [
        f"k8s: {folder}/ is not mounted in the pod, where a volume would hide "
        f"{', '.join(files)} (the image keeps them there)"
        for folder, files in kept
    ]


def _secret_mounts(profile: ProjectProfile, settings: Settings) -> tuple[Mount, ...]:
    """Streamlit reads ``st.secrets`` from .streamlit/secrets.toml, which the .dockerignore
    keeps out of the image: the run script mounts it, read-only, when it is there."""
    entry = profile.entrypoint
    if entry is None or settings.entry or entry.kind != "streamlit":
        return ()
    rel = ".streamlit/secrets.toml"
    return (Mount(rel, f"{WORKDIR}/{rel}", True),)


def _environment(
    profile: ProjectProfile, settings: Settings, device: str, home: str
) -> tuple[tuple[str, str], ...]:
    """What the entry point, the model caches and the GPUs need in the environment."""
    env = profile.entrypoint.env if profile.entrypoint and not settings.entry else ()
    if profile.frameworks:
        env = (*env, *((name, f"{home}/{path}") for name, path in _CACHE_ENV))
    if device == "cuda":
        # The NVIDIA Container Toolkit exposes the GPUs these name; compute and utility are
        # what CUDA programs and nvidia-smi need.
        env = (
            *env,
            ("NVIDIA_VISIBLE_DEVICES", "all"),
            ("NVIDIA_DRIVER_CAPABILITIES", "compute,utility"),
        )
    return env


def _as_of(
    settings: Settings, install: InstallPlan, notes: list[str]
) -> tuple[tuple[str, str], ...]:
    """uv resolves as of the ``exclude-newer`` day: a fixed day, the same resolution every
    build (docs/build-fix.md)."""
    if not settings.exclude_newer:
        return ()
    if not install.needs_uv:
        notes.append(
            f"exclude-newer = {settings.exclude_newer!r} applies to uv only: this install "
            'does not use it (installer = "uv")'
        )
        return ()
    return (("UV_EXCLUDE_NEWER", f"{settings.exclude_newer}T00:00:00Z"),)


def _gpu_host(profile: ProjectProfile, base_image: str) -> str:
    """What the host needs to run the CUDA image."""
    tensorflow = _tensorflow_image(profile)
    if tensorflow is not None and tensorflow[0] == base_image:
        cuda = str(knowledge.load("cuda")["tensorflow"][tensorflow[2]]["cuda"])
        return f"an NVIDIA driver >= {driver_floor(cuda)} (the image's CUDA is {cuda})"
    cuda = torch_cuda(profile.dependencies)
    if cuda:
        return f"an NVIDIA driver >= {driver_floor(cuda)} (torch's wheel carries CUDA {cuda})"
    cuda12, cuda13 = driver_floor("12"), driver_floor("13")
    return f"an NVIDIA driver >= {cuda12} for CUDA 12 wheels (>= {cuda13} for CUDA 13)"


def _base_user(
    base_image: str, python: str, settings: Settings, conda_image: bool, notes: list[str]
) -> tuple[ImageUser, str]:
    """The user and environment the base image asks for (bases.py), and the image's Python:
    the base's own when it is known (Ubuntu 24.04's python3 is 3.12 whatever the project
    says)."""
    user = image_user(base_image, VENV, make_venv=True, workdir=WORKDIR)
    if conda_image:  # the environment brings its own Python, whatever the base has
        user = dataclasses.replace(user, system_python=False, python_version="")
    if user.python_version and user.python_version != python:
        if settings.base_image:
            notes.append(
                f"{settings.base_image}'s Python is {user.python_version}: the dependencies "
                f"are chosen for it, not for {python}"
            )
        python = user.python_version
    notes += user.notes
    return user, python


def _into_base_environment(install: InstallPlan, user: ImageUser) -> tuple[InstallPlan, str]:
    """The install plan and where it installs: the base's own environment (a Jupyter stack's
    /opt/conda) takes the packages when bases.toml says so; micromamba makes its own."""
    if user.env == VENV or install.installer == "micromamba":
        return install, VENV
    return dataclasses.replace(install, make_venv=False), user.env


def _tensorflow_image(profile: ProjectProfile) -> tuple[str, str, str] | None:
    """For a TensorFlow older than ``[and-cuda]``: its cudnn-runtime image, Python, pin."""
    tf = next((d for d in profile.dependencies if d.name == "tensorflow"), None)
    minor = pinned_minor(tf) if tf is not None else None
    row = knowledge.load("cuda")["tensorflow"].get(minor or "")
    if row is None or "image" not in row:
        return None
    return str(row["image"]), str(row["python"]), str(minor)


def _base_image(
    profile: ProjectProfile, settings: Settings, device: str, conda_image: bool
) -> tuple[str, str, list[str]]:
    """The base image, the image's Python, and notes about the choice."""
    python = _python(profile, settings)
    notes: list[str] = []
    tensorflow = _tensorflow_image(profile) if device == "cuda" and not conda_image else None
    if settings.base_image:
        base_image = settings.base_image
    elif tensorflow is not None:
        base_image, image_python, minor = tensorflow
        notes.append(
            f"tensorflow {minor} takes CUDA from the system, not from pip wheels: the image "
            f"starts from {base_image} (the CUDA and cuDNN it was built for) with Ubuntu's "
            f"Python {image_python}" + (f", not {python}" if image_python != python else "")
        )
        python = image_python
    elif conda_image:
        base_image = knowledge.load("tools")["micromamba"]["base"]
    else:
        base_image = f"python:{python}-slim"
    if not _IMAGE_REF.match(base_image) or base_image.endswith(":latest") or ":" not in base_image:
        raise InvalidSettingError(
            f"--base-image {base_image!r} is not a pinned image reference",
            "give a tagged image such as python:3.11-slim (never :latest)",
        )
    return base_image, python, notes


def _cuda_builder(
    profile: ProjectProfile,
    settings: Settings,
    device: str,
    conda_image: bool,
    python: str,
    notes: list[str],
) -> CudaBuilder | None:
    """The stage that compiles the project's CUDA code, when there is some to compile."""
    if not profile.cuda_build.needed:
        return None
    if device != "cuda":
        notes.append(
            "--device cpu: the CUDA code (CUDAExtension, flash-attn, ...) needs nvcc and is "
            "not compiled; its install is likely to fail in a CPU image"
        )
        return None
    if conda_image:
        notes.append(
            "the CUDA code to compile (CUDAExtension, flash-attn, ...) is left to the conda "
            "environment's own build: micromamba images have no CUDA builder stage"
        )
        return None
    package = profile.package
    requires = list(package.build_requires) if package and profile.cuda_build.project else []
    builder = plan_cuda_builder(profile, python, requires, settings.buildkit)
    notes += builder.notes
    return builder


def _context(profile: ProjectProfile, settings: Settings) -> Context | None:
    """The repository root as build context, when the project installs sibling folders."""
    outside = [loc.path for loc in profile.local_installs if loc.path.startswith("../")]
    root = Path(profile.root).resolve()
    repo = Path(profile.repository_root) if profile.repository_root else None
    if not outside or repo is None:
        return None
    if not settings.buildkit:
        raise InvalidSettingError(
            f"the project installs {outside[0]} from outside its folder: the image is built "
            "from the repository root, with a Dockerfile-specific ignore file only BuildKit reads",
            "drop --no-buildkit",
        )
    folders = []
    for path in outside:
        inside = (root / path).resolve().relative_to(repo).as_posix()
        folders.append((path, inside, f"{SIBLINGS}/{inside}"))
    up = "/".join([".."] * len(root.relative_to(repo).parts)) or "."
    prefix = root.relative_to(repo).as_posix() + "/"
    workspace_files: list[tuple[str, str]] = []
    workspace = profile.uv_workspace
    if workspace is not None:
        top = (root / workspace.root).resolve()
        for path in (f"{workspace.root}/pyproject.toml", workspace.lock, *workspace.pyprojects):
            full = (root / path).resolve()
            if full.is_file() and full.is_relative_to(repo):
                entry = (full.relative_to(repo).as_posix(), full.relative_to(top).as_posix())
                if entry not in workspace_files:
                    workspace_files.append(entry)
    return Context(up, "" if prefix == "./" else prefix, tuple(folders), tuple(workspace_files))


def _command(
    profile: ProjectProfile, settings: Settings, device: str
) -> tuple[tuple[str, ...], str, tuple[str, ...], Launch | None]:
    """The image's command and where it comes from; the entry point as one process runs it;
    and, for distributed code, the launcher it runs under (launch.py)."""
    if settings.entry:
        command, origin = settings.entry, "--entry"
    elif profile.entrypoint is not None:
        command = profile.entrypoint.command
        origin = str(profile.entrypoint.evidence[0]) if profile.entrypoint.evidence else ""
    else:
        command, origin = ("python",), "no entry point found"
    single = tuple(command)
    launch = plan_launch(profile, single, bool(settings.entry), device)
    if launch is None:
        return single, origin, single, None
    return launch.command, f"{origin}, under {launch.launcher}: {launch.why}", single, launch


def make_plan(profile: ProjectProfile, settings: Settings) -> BuildPlan:
    """Decide the base image, install strategy, user, command, ports and mounts."""
    if settings.installer not in INSTALLERS:
        raise InvalidSettingError(
            f"--installer {settings.installer!r} is not one of {', '.join(INSTALLERS)}",
            "use --installer uv (the default) or --installer pip",
        )
    if settings.device not in DEVICES:
        raise InvalidSettingError(
            f"--device {settings.device!r} is not one of {', '.join(DEVICES)}",
            "auto follows the code's CUDA use; cpu makes a small image; cuda a GPU one",
        )
    _refuse_credentials(profile)
    profile = _with_saved_packages(profile, settings)
    device = settings.device
    if device == "auto":
        device = "cuda" if profile.gpu.uses_cuda else "cpu"
    conda_image = (
        profile.conda is not None
        and not profile.conda.pip_installable
        and any(s.used and s.kind == "conda" for s in profile.dependency_sources)
    )
    base_image, python, notes = _base_image(profile, settings, device, conda_image)
    for port in settings.ports:
        if not 0 < port < 65536:
            raise InvalidSettingError(f"--port {port} is not a TCP port", "use 1-65535")
    user, python = _base_user(base_image, python, settings, conda_image, notes)

    cuda_builder = _cuda_builder(profile, settings, device, conda_image, python, notes)
    context = None if conda_image else _context(profile, settings)
    install = plan_install(
        profile,
        installer=settings.installer,
        buildkit=settings.buildkit,
        base_image=f"python:{python}-slim" if user.system_python else base_image,
        extras=settings.extras,
        groups=settings.groups,
        dev_tools=settings.dev_tools,
        device=device,
        cuda_builder=cuda_builder,
        local_paths={path: image for path, _, image in context.folders} if context else {},
        workspace_copies=context.workspace_files if context else (),
        requirements=settings.dependencies,
        system_python=user.system_python,
    )
    install, install_env = _into_base_environment(install, user)

    command, command_origin, single, launch = _command(profile, settings, device)

    ports = tuple(dict.fromkeys((*settings.ports, *profile.ports)))
    notebooks = profile.entrypoint is not None and profile.entrypoint.kind == "jupyterlab"
    if notebooks and not settings.entry:
        # Notebooks are edited in the container: the working folder itself is mounted, so
        # every change lands on this machine.
        mounts = [Mount(".", WORKDIR, False)]
    else:
        mounts = [Mount(d, f"{WORKDIR}/{d}", True) for d in profile.data_dirs]
        mounts += [Mount(d, f"{WORKDIR}/{d}", False) for d in profile.output_dirs]

    sections: dict[str, list[str]] = {}
    for rule in profile.context_rules:
        sections.setdefault(rule.section, []).append(rule.pattern)

    apt, build, builder = _system_packages(profile, install, cuda_builder is not None)
    if user.system_python:
        apt.setdefault("python3", "the base image has no Python of its own")
        apt.setdefault("python3-venv", "for the virtualenv")
        if builder:
            build.setdefault("python3-dev", "headers to compile against Python")
            build.setdefault("python3-venv", "for the virtualenv")
    env = (*_environment(profile, settings, device, user.home), *(launch.env if launch else ()))
    env = (*env, *_as_of(settings, install, notes))
    inferred = tuple(
        (d.name + d.specifier, d.detail) for d in profile.dependencies if d.source == "inferred"
    )

    smoke = _smoke_plan(profile, single, ports, python)
    cluster_mounts, cluster_kept = _cluster_mounts(profile, mounts)
    secrets = _secret_mounts(profile, settings)
    tools = knowledge.load("tools")
    server_port = smoke.port if smoke.kind == "server" else (ports[0] if ports else 0)
    repo_path = _repository(profile)
    platforms = plan_platforms(profile, settings.platforms, python, conda_image)
    for name in settings.ci:
        if name not in CI_SYSTEMS:
            raise InvalidSettingError(
                f"--ci {name!r} is not one of {', '.join(CI_SYSTEMS)}",
                "use --ci github or --ci gitlab",
            )

    return _checked(
        BuildPlan(
            tool_version=__version__,
            project_name=profile.name,
            image=f"{profile.name}:latest",
            base_image=base_image,
            python_version=python,
            buildkit=settings.buildkit,
            install=install,
            setup_commands=_setup_commands(install, tuple(sorted(apt)), builder, user),
            apt_packages=tuple(sorted(apt.items())),
            builder_packages=tuple(sorted(build.items())),
            builder_setup=_builder_setup(install, tuple(sorted(build)), user.system_python)
            if builder
            else (),
            env=env,
            inferred_requirements=inferred,
            command=tuple(command),
            command_origin=command_origin,
            ports=ports,
            mounts=tuple(mounts),
            gpus=device == "cuda",
            cache_volume=f"{profile.name}-cache",
            build_secrets=profile.build_secrets,
            dockerignore=tuple((name, tuple(patterns)) for name, patterns in sections.items()),
            notes=(
                *notes,
                *install.notes,
                *platforms.notes,
                *(_cluster_notes(cluster_kept) if settings.k8s else ()),
            ),
            smoke=smoke,
            ci=tuple(dict.fromkeys(settings.ci)),
            k8s=settings.k8s,
            repo_path=repo_path,
            server_port=server_port,
            health_path=smoke.path if smoke.kind == "server" else "",
            env_file=".env" if ".env" in profile.env_files else "",
            compose_env_file=".env"
            if ".env" in profile.env_files and not profile.env_local
            else "",
            env_names=profile.env_keys if profile.env_local else (),
            jupyter=notebooks and not settings.entry,
            secret_mounts=secrets,
            compose_secret_mounts=tuple(
                m for m in secrets if (Path(profile.root) / m.host).is_file()
            ),
            file_mounts=tuple(Mount(f, f"{WORKDIR}/{f}", True) for f in profile.mounted_files),
            cluster_mounts=cluster_mounts,
            cluster_kept=cluster_kept,
            device=device,
            gpu_host=_gpu_host(profile, base_image) if device == "cuda" else "",
            cuda_builder=cuda_builder,
            context=context,
            launch=launch,
            devcontainer=settings.devcontainer,
            platforms=platforms,
            user=user.name,
            uid=user.uid,
            venv=install_env,
            group=user.group,
            gid=user.gid,
            uid_arg=user.uid_arg,
            switch_to_root=user.switch_to_root,
            env_is_venv=install_env == VENV,
            actions=tuple(tools["github_actions"].items()),
            gitlab_images=(tools["gitlab"]["docker"], tools["gitlab"]["dind"]),
        ),
        profile,
        settings,
    )


def _with_saved_packages(profile: ProjectProfile, settings: Settings) -> ProjectProfile:
    """The saved ``system-packages`` (final image) and ``build-packages`` (builder stage)
    join the detected ones, as what a failed build taught (``build --fix``)."""
    saved = [
        SystemPackage(name, (Evidence("", 0, f"the saved setting {key}"),), stage)
        for key, stage, names in (
            ("system-packages", "run", settings.system_packages),
            ("build-packages", "build", settings.build_packages),
        )
        for name in names
    ]
    if not saved:
        return profile
    return dataclasses.replace(profile, system_packages=(*profile.system_packages, *saved))


def _refuse_credentials(profile: ProjectProfile) -> None:
    """A dependency file with a credential in it would be copied into a layer (``COPY . .``)
    and the build log: refuse, and say how to pass it safely."""
    if not profile.dependency_credentials:
        return
    where = profile.dependency_credentials[0]
    raise InvalidProjectFileError(
        f"{where.path}:{where.line}: a credential ({where.detail}) is written into a dependency "
        "file; the image would carry it in a layer and the build log would show it",
        "write ${TOKEN} (any name) in its place and set TOKEN when building: dockerize-ml "
        f"passes it as a BuildKit secret ({docs('private-indexes.md')})",
    )


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))


def _checked(plan: BuildPlan, profile: ProjectProfile, settings: Settings) -> BuildPlan:
    """With the targets' decisions (targets.py), refuse a plan any of whose values would
    break out of the file it is written into: control characters anywhere (the templates
    quote every value for its language, but a newline in a comment still starts a command),
    and GitHub expressions (``${{``), which Actions evaluates even inside quoted strings."""
    plan = apply_targets(plan, profile, settings)
    for text in _strings(plan):
        if CONTROL.search(text):
            raise InvalidSettingError(
                f"the value {text!r} holds a control character (a newline, tab or escape) and "
                "cannot be written into a script or YAML file safely",
                "remove it from the flag, the settings file or the project file it came from "
                "(rename the file or folder)",
            )
        if "${{" in text and "github" in plan.ci:
            raise InvalidSettingError(
                f"the value {text!r} holds '${{{{', which GitHub Actions would evaluate",
                "rename the file or folder, or change the flag",
            )
    return plan

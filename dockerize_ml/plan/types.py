"""What the plan is made of: the settings it reads and the BuildPlan (with its parts) it
returns, which the templates format."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from dockerize_ml.choices import CI_SYSTEMS, DEVICES, INSTALLERS
from dockerize_ml.cudabuild import CudaBuilder
from dockerize_ml.install import VENV, InstallPlan, InvalidSettingError
from dockerize_ml.launch import Launch
from dockerize_ml.names import GITHUB_WORKFLOWS
from dockerize_ml.platforms import PlatformPlan
from dockerize_ml.targets import TargetPlan

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

    #: Read before the plan: the dependency source detection installs from (--deps-from),
    #: and the user's own smoke test of `dockerize-ml build`.
    deps_from: str | None = None
    smoke: str | None = None

    def __post_init__(self) -> None:
        """A record that exists holds values the plan can use: an installer, a device, a
        port or a CI system it does not know is refused here, with the flag's name (the
        settings file's own values are checked when it is read: settings.KEYS)."""
        if self.installer not in INSTALLERS:
            raise InvalidSettingError(
                f"--installer {self.installer!r} is not one of {', '.join(INSTALLERS)}",
                "use --installer uv (the default) or --installer pip",
            )
        if self.device not in DEVICES:
            raise InvalidSettingError(
                f"--device {self.device!r} is not one of {', '.join(DEVICES)}",
                "auto follows the code's CUDA use; cpu makes a small image; cuda a GPU one",
            )
        port = next((p for p in self.ports if not 0 < p < 65536), None)
        if port is not None:
            raise InvalidSettingError(f"--port {port} is not a TCP port", "use 1-65535")
        name = next((c for c in self.ci if c not in CI_SYSTEMS), None)
        if name is not None:
            raise InvalidSettingError(
                f"--ci {name!r} is not one of {', '.join(CI_SYSTEMS)}",
                "use --ci github or --ci gitlab",
            )


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
    #: The health path; "" for a server that answers no GET: the probe connects to the port.
    path: str = "/"
    command: tuple[str, ...] = ()
    script: str = ""
    wait: int = 60
    timeout: int = PROBE_TIMEOUT
    #: The committed example of .env (``.env.example``), passed to the containers the smoke
    #: test starts where no .env is (CI, a fresh clone): code that requires the names it
    #: sets (``config("API_KEY")``) starts on its placeholders. A .env, where there is one,
    #: is passed instead, as docker/run.sh passes it.
    env: str = ""
    #: The Host header the probe sends ("": none): Django's ALLOWED_HOSTS without localhost.
    host: str = ""

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


@dataclass(frozen=True)
class CiPaths:
    """Where the CI files (at the repository root) find the project, decided once: in a
    monorepo each project's image, workflow and triggers carry its name and folder."""

    #: After the registry's repository name: "/scorer" for services/scorer, "" at the root.
    image_suffix: str = ""
    #: The GitHub workflow: its name and its file, relative to the repository root.
    workflow_name: str = "docker"
    workflow_file: str = f"{GITHUB_WORKFLOWS}/docker.yml"
    #: From the project folder up to the repository root ("../../"), where the CI files go.
    up: str = ""
    #: The folders whose changes trigger the workflow (none: every change at the root).
    watched: tuple[str, ...] = ()
    #: What CI builds from, relative to the repository root: the project folder, or the
    #: root itself (sibling folders installed), with the project's Dockerfile named then.
    build_context: str = "."
    dockerfile: str = ""
    #: The smoke test, relative to the repository root.
    smoke_script: str = "./docker/smoke.sh"


#: /dev/shm for the processes of a distributed launcher, which share tensors through it
#: (Docker's default is 64 MB): --shm-size for docker run, the memory volume of a machine.
SHM_GIB = 2


@dataclass(frozen=True)
class PodResources:
    """What one pod asks the cluster for (a request is scheduled on, a limit enforced)."""

    cpu: str
    memory: str
    memory_limit: str
    gpus: int = 0


@dataclass(frozen=True)
class KubePlan:
    """The Kubernetes manifests' decisions: a server is a Deployment behind a Service (kept
    running, probed); anything else a Job that runs once to completion."""

    workload: str = "Job"
    #: The one pod of k8s/<name>.yaml, and each machine of the multi-node jobs.
    pod: PodResources = PodResources("500m", "1Gi", "4Gi")
    machine: PodResources = PodResources("1", "2Gi", "8Gi")
    #: Each PersistentVolumeClaim of a mounted folder, and the machines' shared /dev/shm.
    claim_size: str = "10Gi"
    shm_size: str = f"{SHM_GIB}Gi"
    #: The startup probe: every ``startup_period`` seconds, up to the smoke plan's wait.
    startup_period: int = 5
    startup_failures: int = 12


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
    #: Why that layer writes an empty /etc/machine-id ("" when it does not): a release the
    #: image installs needs one (the system table's ``machine_id`` rows).
    machine_id: str
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
    ci_paths: CiPaths = CiPaths()
    kube: KubePlan = KubePlan()
    #: The server the image runs (entry kind, port, health path), for compose and Kubernetes.
    server_port: int = 0
    health_path: str = ""
    #: docker run's --shm-size (docker/run.sh, the dev container), "" for Docker's default.
    shm_size: str = ""
    #: The project's dotenv file (docker/run.sh passes it when it exists).
    env_file: str = ""
    #: The dotenv file compose reads: only one a fresh clone has (compose fails on a missing
    #: ``env_file``). Otherwise ``env_names``: the names ``.env`` sets, which compose passes
    #: through from the shell or from ``.env`` itself when it is there.
    compose_env_file: str = ""
    env_names: tuple[str, ...] = ()
    jupyter: bool = False
    #: The port JupyterLab listens on (the server table's, as the detected command says).
    jupyter_port: int = 0
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
    def setup_installs_uv(self) -> bool:
        """Whether the one-time setup layer installs uv (pinned), as its commands say."""
        return any("uv==" in command for command in self.setup_commands)

    @property
    def setup_makes_venv(self) -> bool:
        """Whether the setup layer makes the venv (with a builder stage, the venv comes from
        there: ``_setup_commands``)."""
        return self.install.make_venv and not self.builder_packages

    @property
    def actions_by_name(self) -> dict[str, str]:
        """The pinned GitHub Actions, by short name."""
        return dict(self.actions)

"""What the container runs and with what: the command (and its launcher), the environment,
the mounts (local and in a cluster), the smoke test, and the build context."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from packaging.markers import Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from dockerize_ml import knowledge
from dockerize_ml.install import InstallPlan, InvalidSettingError
from dockerize_ml.launch import Launch, plan_launch
from dockerize_ml.plan.types import (
    SIBLINGS,
    WORKDIR,
    Context,
    Mount,
    Settings,
    SmokePlan,
)
from dockerize_ml.platforms import MARKER_ENV as _MARKER_ENV
from dockerize_ml.profile import TCP_HEALTH, ProjectProfile, pinned


def command(
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


#: Frameworks that download models into ~/.cache at run time (under the user's home).
_CACHE_ENV = (
    ("XDG_CACHE_HOME", ".cache"),
    ("HF_HOME", ".cache/huggingface"),
    ("TORCH_HOME", ".cache/torch"),
)


def environment(
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


def smoke_plan(
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
    return dataclasses.replace(_started(profile, dists, command, ports), env=profile.env_example)


def _started(
    profile: ProjectProfile,
    dists: tuple[str, ...],
    command: tuple[str, ...],
    ports: tuple[int, ...],
) -> SmokePlan:
    """The smoke plan's check of the entry point: a server's probe, ``--help``, a script's
    import, or none."""
    entry = profile.entrypoint
    detected = entry is not None and tuple(entry.command) == command
    if detected and entry is not None and entry.port:
        path = _probe_path(entry.health)
        return SmokePlan(dists, "server", entry.kind, entry.port, path, command, host=entry.host)
    if ports:
        return SmokePlan(dists, "server", "server", ports[0], _health(profile, ports[0]), command)
    if detected and entry is not None and entry.kind in ("console-script", "module"):
        return SmokePlan(dists, "help", command=command)
    if detected and entry is not None and entry.kind == "script":
        return SmokePlan(dists, "script", command=command, script=command[1])
    return SmokePlan(dists)


def _probe_path(health: str) -> str:
    """The path the probes ask: the server's health path, "/" when none is known, "" for
    one with no route for GET / (the probes connect to its port)."""
    return "" if health == TCP_HEALTH else health or "/"


def _health(profile: ProjectProfile, port: int) -> str:
    """The health path of a server the image runs without being its detected entry point (a
    console script that calls ``uvicorn.run(app)``): the path the app on that port defines,
    else that of the one app the code defines (its port set where it is run)."""
    servers = [e for e in profile.entrypoint_alternatives if e.port and e.health]
    on_port = [e for e in servers if e.port == port]
    chosen = on_port or (servers if len(servers) == 1 else [])
    return _probe_path(chosen[0].health if chosen else "/")


def context(profile: ProjectProfile, settings: Settings) -> Context | None:
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


def repository(profile: ProjectProfile) -> str:
    """The project's folder relative to its git repository. The branch `init` runs on is not
    read: CI files name the CI system's own default branch, so they hold on every branch."""
    if not profile.repository_root:
        return "."
    return Path(profile.root).relative_to(profile.repository_root).as_posix() or "."


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


def cluster_mounts(
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


def cluster_notes(kept: tuple[tuple[str, tuple[str, ...]], ...]) -> list[str]:
    return [
        f"k8s: {folder}/ is not mounted in the pod, where a volume would hide "
        f"{', '.join(files)} (the image keeps them there)"
        for folder, files in kept
    ]


def secret_mounts(profile: ProjectProfile, settings: Settings) -> tuple[Mount, ...]:
    """Streamlit reads ``st.secrets`` from .streamlit/secrets.toml, which the .dockerignore
    keeps out of the image: the run script mounts it, read-only, when it is there."""
    entry = profile.entrypoint
    if entry is None or settings.entry or entry.kind != "streamlit":
        return ()
    rel = ".streamlit/secrets.toml"
    return (Mount(rel, f"{WORKDIR}/{rel}", True),)


def as_of(
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


def machine_id(profile: ProjectProfile, settings: Settings) -> str:
    """Why the image needs an empty /etc/machine-id, or "": a dependency whose releases that
    need one (the system table's ``machine_id`` rows) the install can choose. An exact pin
    in them; a range that stops before the release without the need; or any range when the
    install is resolved as of a day before that release (``exclude-newer``). A file of no
    bytes costs nothing where it was not needed."""
    rows = knowledge.load("system")["machine_id"]
    for dep in profile.dependencies:
        row = rows.get(dep.name)
        if row is None or dep.url:
            continue
        affected = SpecifierSet(row["versions"])
        version = pinned(dep)
        try:
            spec = SpecifierSet(dep.specifier)
        except InvalidSpecifier:
            continue
        if version is not None:
            needed = affected.contains(version, prereleases=True)
        elif spec.contains("9999", prereleases=True):  # today's release is allowed
            needed = bool(settings.exclude_newer) and settings.exclude_newer < row["fixed_on"]
        else:
            needed = True  # bounded above: an older release may be chosen
        if needed:
            return str(row["why"])
    return ""

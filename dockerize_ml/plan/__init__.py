"""The one place where decisions are made: profile + settings -> BuildPlan.

Its rooms: ``types`` (the settings read and the plan returned), ``image`` (device, base
image, Python, user), ``setup_layer`` (system packages, user, uv, venv) and ``runtime``
(command, environment, mounts, smoke test, build context); ``make_plan`` puts them together.

Settings are layered: what detection found < what the user chose (command-line flags).
Templates only format the plan; they never decide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from dockerize_ml import knowledge
from dockerize_ml.errors import InvalidProjectFileError, docs
from dockerize_ml.install import VENV, InvalidSettingError, plan_install
from dockerize_ml.names import CONTROL
from dockerize_ml.plan import deploy, image, runtime, setup_layer
from dockerize_ml.plan.types import WORKDIR, BuildPlan, Context, Mount, Settings, SmokePlan
from dockerize_ml.platforms import plan_platforms
from dockerize_ml.profile import ProjectProfile
from dockerize_ml.targets import apply_targets
from dockerize_ml.version import __version__

__all__ = [
    "BuildPlan",
    "Context",
    "InvalidSettingError",
    "Mount",
    "Settings",
    "SmokePlan",
    "make_plan",
]


def make_plan(profile: ProjectProfile, settings: Settings) -> BuildPlan:
    """Decide the base image, install strategy, user, command, ports and mounts."""
    _refuse_credentials(profile)
    profile = setup_layer.with_saved_packages(profile, settings)
    device = image.choose_device(profile, settings)
    conda_image = image.is_conda_image(profile)
    base_image, python, notes = image.base_image(profile, settings, device, conda_image)
    user, python = image.base_user(base_image, python, settings, conda_image, notes)

    cuda_builder = image.cuda_builder(profile, settings, device, conda_image, python, notes)
    context = None if conda_image else runtime.context(profile, settings)
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
        as_of=bool(settings.exclude_newer) and settings.installer == "uv",
    )
    install, install_env = image.into_base_environment(install, user)

    command, command_origin, single, launch = runtime.command(profile, settings, device)

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

    apt, build, builder = setup_layer.system_packages(profile, install, cuda_builder is not None)
    if user.system_python:
        apt.setdefault("python3", "the base image has no Python of its own")
        apt.setdefault("python3-venv", "for the virtualenv")
        if builder:
            build.setdefault("python3-dev", "headers to compile against Python")
            build.setdefault("python3-venv", "for the virtualenv")
    env = (
        *runtime.environment(profile, settings, device, user.home),
        *(launch.env if launch else ()),
        *runtime.as_of(settings, install, notes),
    )
    inferred = tuple(
        (d.name + d.specifier, d.detail) for d in profile.dependencies if d.source == "inferred"
    )

    smoke = runtime.smoke_plan(profile, single, ports, python)
    machine_id = runtime.machine_id(profile, settings)
    cluster_mounts, cluster_kept = runtime.cluster_mounts(profile, mounts)
    secrets = runtime.secret_mounts(profile, settings)
    tools = knowledge.load("tools")
    server_port = smoke.port if smoke.kind == "server" else (ports[0] if ports else 0)
    repo_path = runtime.repository(profile)
    platforms = plan_platforms(profile, settings.platforms, python, conda_image)

    return _checked(
        BuildPlan(
            tool_version=__version__,
            project_name=profile.name,
            image=f"{profile.name}:latest",
            base_image=base_image,
            python_version=python,
            buildkit=settings.buildkit,
            install=install,
            setup_commands=setup_layer.setup_commands(
                install, tuple(sorted(apt)), builder, user, bool(machine_id)
            ),
            apt_packages=tuple(sorted(apt.items())),
            machine_id=machine_id,
            builder_packages=tuple(sorted(build.items())),
            builder_setup=setup_layer.builder_setup(
                install, tuple(sorted(build)), user.system_python
            )
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
                *(runtime.cluster_notes(cluster_kept) if settings.k8s else ()),
            ),
            smoke=smoke,
            ci=tuple(dict.fromkeys(settings.ci)),
            k8s=settings.k8s,
            repo_path=repo_path,
            ci_paths=deploy.ci_paths(profile.name, repo_path, context),
            kube=deploy.kube(smoke, device == "cuda"),
            shm_size=deploy.shm_size(launch),
            server_port=server_port,
            health_path=smoke.path if smoke.kind == "server" else "",
            env_file=".env" if ".env" in profile.env_files else "",
            compose_env_file=".env"
            if ".env" in profile.env_files and not profile.env_local
            else "",
            env_names=profile.env_keys if profile.env_local else (),
            jupyter=notebooks and not settings.entry,
            jupyter_port=deploy.jupyter_port(profile, notebooks and not settings.entry),
            secret_mounts=secrets,
            compose_secret_mounts=tuple(
                m for m in secrets if (Path(profile.root) / m.host).is_file()
            ),
            file_mounts=tuple(Mount(f, f"{WORKDIR}/{f}", True) for f in profile.mounted_files),
            cluster_mounts=cluster_mounts,
            cluster_kept=cluster_kept,
            device=device,
            gpu_host=image.gpu_host(profile, base_image) if device == "cuda" else "",
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

"""The one-time setup layer: Debian packages (run time and build time), the app user, uv and
the venv, and the builder stage's tools."""

from __future__ import annotations

import dataclasses

from dockerize_ml import knowledge
from dockerize_ml.bases import ImageUser
from dockerize_ml.install import (
    VENV,
    InstallPlan,
)
from dockerize_ml.plan.types import (
    Settings,
)
from dockerize_ml.profile import Evidence, ProjectProfile, SystemPackage
from dockerize_ml.steps import apt_install


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


def setup_commands(
    install: InstallPlan,
    apt: tuple[str, ...],
    builder: bool,
    user: ImageUser,
    machine_id: bool = False,
) -> tuple[str, ...]:
    """The layer built once: system packages, the app user and its folders, an empty
    /etc/machine-id when a release needs one, uv, the venv (with a builder stage, the venv
    comes from there and uv only if the project needs it)."""
    system_python = user.system_python
    commands = apt_install(apt)
    commands += user.commands
    if machine_id:
        commands.append("touch /etc/machine-id")
    if builder:
        # The venv comes from the builder stage. On a base without Python the builder put uv
        # into the venv; otherwise uv is installed here when steps after the code need it.
        if install.needs_uv and install.after_code and not system_python:
            commands += _python_setup(install, system_python, venv=False)
        return tuple(commands)
    commands += _python_setup(install, system_python, venv=install.make_venv)
    return tuple(commands)


def builder_setup(
    install: InstallPlan, packages: tuple[str, ...], system_python: bool
) -> tuple[str, ...]:
    """The builder stage's tools: compilers and headers, uv, and the venv to fill."""
    return (
        *apt_install(packages),
        *_python_setup(install, system_python, venv=install.make_venv),
    )


def system_packages(
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


def with_saved_packages(profile: ProjectProfile, settings: Settings) -> ProjectProfile:
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

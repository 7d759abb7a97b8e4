"""How each kind of dependency source is installed: the plan's install strategies.

Each strategy returns the steps of the dependency layer (only dependency files reach it) and
the steps after the code copy (the project itself, without its dependencies), in the way the
project's own manager installs: ``uv sync`` for uv.lock, an export of the lockfile for Poetry,
PDM and Pipenv (in a stage of its own, so the exporter never reaches the image), pip or uv for
requirements files, micromamba for conda environments pip cannot install.
"""

from __future__ import annotations

import dataclasses

from dockerize_ml.cudabuild import CudaBuilder
from dockerize_ml.install.context import (
    DEPS_DIR,
    MAMBA_ROOT,
    VENV,
    Ctx,
    InstallPlan,
    InvalidSettingError,
    Stage,
)
from dockerize_ml.install.kinds import strategy
from dockerize_ml.install.layers import (
    with_entry_requirements,
    with_first_layers,
    with_folder_dependencies,
    with_saved_requirements,
    with_undeclared_imports,
    with_uv_stage,
)
from dockerize_ml.profile import ProjectProfile
from dockerize_ml.steps import separate_layers

__all__ = [
    "DEPS_DIR",
    "MAMBA_ROOT",
    "VENV",
    "InstallPlan",
    "InvalidSettingError",
    "Stage",
    "plan_install",
]


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
    as_of: bool = False,
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
    used = next((s for s in profile.dependency_sources if s.used), None)
    kind = used.kind if used else ""
    ctx = Ctx(
        profile,
        installer,
        buildkit,
        extras,
        groups,
        local_paths=dict(local_paths or {}),
        dev_left_out=() if dev_tools else profile.dev_tools,
        kind=kind,
        source=used.path if used else "",
        base_image=base_image,
        workspace_copies=workspace_copies,
        as_of=as_of,
    )
    if cuda_builder is not None:
        facts = profile.cuda_build
        ctx = dataclasses.replace(
            ctx,
            compiled=facts.requirements,
            compiled_project=facts.project,
            compiled_folders=facts.folders,
        )
    plan = strategy(kind)(ctx)
    if profile.needs_git and not (ctx.compiled and profile.cuda_build.vcs_compiled_only):
        plan = dataclasses.replace(plan, apt_build=("git",))
    plan = with_first_layers(ctx, plan, device)
    if ctx.compiled_project:
        plan = dataclasses.replace(plan, compiled_copy=True)
    plan = with_folder_dependencies(ctx, plan)
    # The entry's own requirements, the imports nothing declares, then what the settings add
    # (build --fix), last so that they win; uv mounted into every step that installs.
    plan = with_saved_requirements(
        ctx, with_undeclared_imports(ctx, with_entry_requirements(ctx, plan)), requirements
    )
    plan = with_uv_stage(ctx, plan, base_image, system_python)
    before = separate_layers(plan.before_code, classic=not ctx.buildkit)
    return dataclasses.replace(plan, before_code=before)

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

from dockerize_ml.cudabuild import CudaBuilder
from dockerize_ml.install.conda import from_conda
from dockerize_ml.install.context import (
    DEPS_DIR,
    MAMBA_ROOT,
    VENV,
    Ctx,
    InstallPlan,
    InvalidSettingError,
    Stage,
    quote_each,
)
from dockerize_ml.install.exports import from_pdm, from_pipenv, from_poetry, from_uv_workspace
from dockerize_ml.install.layers import (
    with_entry_requirements,
    with_first_layers,
    with_saved_requirements,
    with_undeclared_imports,
    with_uv_stage,
)
from dockerize_ml.install.requirements import (
    from_inline,
    from_pep621,
    from_requirements,
    from_setuptools,
)
from dockerize_ml.install.uvlock import from_uv_lock
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
    ctx = Ctx(
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
        plan = from_requirements(ctx, profile.dependency_entry_files, used.path if used else "")
    elif kind == "uv":
        plan = from_uv_lock(ctx)
    elif kind == "poetry":
        plan = from_poetry(ctx, base_image)
    elif kind == "pdm":
        plan = from_pdm(ctx, base_image)
    elif kind == "pipfile":
        plan = from_pipenv(ctx, base_image)
    elif kind == "setuptools":
        plan = from_setuptools(ctx)
    elif kind == "conda":
        plan = from_conda(ctx)
    elif kind == "pep621" and workspace_copies:
        plan = from_uv_workspace(ctx, base_image, workspace_copies)
    elif kind == "pep621":
        plan = from_pep621(ctx)
    else:
        plan = from_inline(ctx, [], "nothing (no dependencies declared)")
    if profile.needs_git and not (ctx.compiled and profile.cuda_build.vcs_compiled_only):
        plan = dataclasses.replace(plan, apt_build=("git",))
    plan = with_first_layers(ctx, plan, device, kind)
    if ctx.compiled_project:
        plan = dataclasses.replace(plan, compiled_copy=True)
    # (a uv workspace's export has them already, pinned by its lock)
    folder_deps = [] if workspace_copies else ctx.strings(profile.local_dependencies)
    if folder_deps and plan.installer != "micromamba":
        command = ctx.install(*quote_each(folder_deps))
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
    plan = with_saved_requirements(
        ctx, with_undeclared_imports(ctx, with_entry_requirements(ctx, plan), kind), requirements
    )
    plan = with_uv_stage(ctx, plan, base_image, system_python)
    before = separate_layers(plan.before_code, classic=not ctx.buildkit)
    return dataclasses.replace(plan, before_code=before)

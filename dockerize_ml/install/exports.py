"""Lockfile exports: Poetry, PDM, Pipenv and uv workspaces export their lock to a pinned
requirements file in a stage of their own, so the exporter never reaches the image."""

from __future__ import annotations

import dataclasses
import shlex

from dockerize_ml import knowledge
from dockerize_ml.cudabuild import (
    sed_command,
)
from dockerize_ml.install.context import (
    DEPS_DIR,
    Ctx,
    InstallPlan,
    Stage,
    plus_build_requires,
    project_steps,
    quote_each,
    tool_image,
)
from dockerize_ml.install.requirements import from_inline
from dockerize_ml.steps import (
    Step,
)


def _exported(ctx: Ctx, tool: str, stage: Stage, origin: str) -> InstallPlan:
    """Install a lockfile exported to requirements.txt in a stage of its own."""
    target = f"{DEPS_DIR}/requirements.txt"
    if ctx.compiled:  # the CUDA builder's wheels replace them (their hashes would not match)
        sed = (sed_command(ctx.compiled, "/requirements.txt"),)
        stage = dataclasses.replace(stage, commands=(*stage.commands, sed))
    commands = plus_build_requires(ctx, [ctx.install(f"-r {target}")])
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
        after_code=tuple(project_steps(ctx, ctx.profile.local_installs)),
    )


def from_poetry(ctx: Ctx) -> InstallPlan:
    tools = knowledge.load("tools")
    if not ctx.profile.dependency_sources or not any(
        s.used and s.lock for s in ctx.profile.dependency_sources
    ):
        return from_inline(
            ctx,
            ctx.strings(ctx.profile.dependencies) + ctx.strings(ctx.optional()),
            "pyproject.toml [tool.poetry.dependencies]",
            "There is no poetry.lock: versions are resolved at build time.",
        )
    export = ["--only main"] + [f"--with {shlex.quote(g)}" for g in ctx.groups]
    export += [f"--extras {shlex.quote(e)}" for e in ctx.extras]
    stage = Stage(
        name="poetry-export",
        image=tool_image("poetry", ctx.base_image),
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


def from_uv_workspace(ctx: Ctx) -> InstallPlan:
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
        image=ctx.base_image,
        comment=(
            "uv exports this project's dependencies from the workspace's uv.lock (with",
            "hashes); the stage never reaches the final image.",
        ),
        tools=(f"uv=={uv}",),
        copies=ctx.workspace_copies,
        commands=((export,),),
    )
    return _exported(ctx, "uv", stage, f"the workspace's uv.lock ({workspace.lock})")


def from_pdm(ctx: Ctx) -> InstallPlan:
    tools = knowledge.load("tools")
    groups = "".join(f" --group {shlex.quote(g)}" for g in (*ctx.extras, *ctx.groups))
    stage = Stage(
        name="pdm-export",
        image=tool_image("pdm", ctx.base_image),
        comment=(
            "PDM exports pdm.lock to a pinned requirements file (with hashes); it never",
            "reaches the final image.",
        ),
        tools=(f"pdm=={tools['pdm']['version']}", *quote_each(tools["pdm"]["also"])),
        files=("pyproject.toml", "pdm.lock"),
        commands=(
            (f"pdm export --prod{groups} --format requirements --output /requirements.txt",),
        ),
    )
    return _exported(ctx, "PDM", stage, "pdm.lock")


def from_pipenv(ctx: Ctx) -> InstallPlan:
    profile = ctx.profile
    if not any(s.used and s.lock for s in profile.dependency_sources):
        return from_inline(
            ctx,
            ctx.strings(profile.dependencies),
            "Pipfile [packages]",
            "There is no Pipfile.lock: versions are resolved at build time.",
        )
    tools = knowledge.load("tools")
    stage = Stage(
        name="pipenv-export",
        image=tool_image("pipenv", ctx.base_image),
        comment=(
            "Pipenv exports Pipfile.lock's default packages to a pinned requirements file",
            "(with hashes); it never reaches the final image.",
        ),
        tools=(f"pipenv=={tools['pipenv']['version']}",),
        files=("Pipfile", "Pipfile.lock"),
        commands=(("pipenv requirements --hash > /requirements.txt",),),
    )
    return _exported(ctx, "Pipenv", stage, "Pipfile.lock")

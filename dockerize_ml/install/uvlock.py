"""The uv lock strategy: ``uv sync --locked``, the dependencies before the code and the
project after it."""

from __future__ import annotations

import shlex

from dockerize_ml.install.context import (
    DEPS_DIR,
    VENV,
    Ctx,
    InstallPlan,
    compiled_local_steps,
)
from dockerize_ml.steps import (
    Step,
)


def from_uv_lock(ctx: Ctx) -> InstallPlan:
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
    after: tuple[Step, ...] = tuple(compiled_local_steps(ctx))
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

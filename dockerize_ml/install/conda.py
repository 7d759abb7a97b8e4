"""Conda environment files: pip installs them when every package is on PyPI, micromamba
otherwise."""

from __future__ import annotations

import re
import shlex

from packaging.utils import canonicalize_name

from dockerize_ml import knowledge
from dockerize_ml.cudabuild import (
    keep,
)
from dockerize_ml.install.context import (
    DEPS_DIR,
    MAMBA_ROOT,
    VENV,
    Ctx,
    InstallPlan,
    Stage,
    plus_build_requires,
    project_steps,
    quote_each,
)
from dockerize_ml.steps import (
    Command,
    Step,
)

#: The same inside a conda environment file's `pip:` list (`    - -e .`).
_LOCAL_YAML_LINE = (
    r"/^[[:space:]]*-[[:space:]]+((-e|--editable)[[:space:]]+)?\.{1,2}(\/[^[:space:]]*)?"
    r"[[:space:]]*$/d"
)


def from_conda(ctx: Ctx) -> InstallPlan:
    conda = ctx.profile.conda
    assert conda is not None
    if conda.pip_installable:
        files = tuple(f for f in ctx.profile.dependency_files if f != conda.path)
        pip_lines = []
        for line in conda.pip:
            name = canonicalize_name(re.split(r"[\s<>=!~;\[@]", line, maxsplit=1)[0])
            if not keep(name, line, ctx.compiled):
                continue  # compiled by the CUDA builder, installed from its wheel
            option, _, rest = line.partition(" ")
            if option in ("-r", "--requirement", "-c", "--constraint"):
                pip_lines.append(f"{option} {DEPS_DIR}/{rest.strip()}")
            elif line.startswith("-"):
                pip_lines.append(" ".join(shlex.quote(w) for w in shlex.split(line)))
            else:
                pip_lines.append(shlex.quote(line))
        args = [
            *quote_each(list(conda.pypi_requirements)),
            *pip_lines,
        ]  # conda names: never compiled
        commands = plus_build_requires(ctx, [ctx.install(*args)] if args else [])
        step = Step(
            comment=(
                f"Dependencies before the code, from {conda.path}: {conda.reason}.",
                "Run `dockerize-ml init` again after changing the environment file.",
            ),
            commands=tuple(commands),
            files=files,
            cache=ctx.cache,
            hadolint_ignore=ctx.hadolint(commands),
        )
        return InstallPlan(
            installer=ctx.installer,
            origin=conda.path,
            needs_uv=ctx.uv,
            before_code=(step,) if commands else (),
            after_code=tuple(project_steps(ctx, ctx.profile.local_installs)),
        )
    return _micromamba(ctx, conda.path, conda.reason)


def _micromamba(ctx: Ctx, path: str, reason: str) -> InstallPlan:
    tools = knowledge.load("tools")["micromamba"]
    local = ctx.profile.local_installs
    folder = "/tmp/env" if local else DEPS_DIR
    commands: list[Command] = []
    if local:
        commands.append((f"cp -r {DEPS_DIR} {folder}",))
        commands.append((f"sed -i -E '{_LOCAL_YAML_LINE}' {folder}/{path}",))
    commands.append((f"micromamba create --yes --prefix {VENV} --file {folder}/{path}",))
    if not ctx.buildkit:
        commands.append(("micromamba clean --all --yes",))  # with BuildKit, a cache mount
    if local:
        commands.append((f"rm -rf {folder}",))
    before = Step(
        comment=(
            f"The conda environment, before the code: {reason}, so micromamba installs it.",
            "This layer is rebuilt only when the environment file changes.",
        ),
        commands=tuple(commands),
        files=ctx.profile.dependency_files,
        cache=f"{MAMBA_ROOT}/pkgs" if ctx.buildkit else "",
    )
    after: list[Step] = []
    if local:
        after.append(
            Step(
                comment=("The project's own folders, without dependencies (installed above).",),
                commands=tuple(
                    (
                        "python -m pip install --no-cache-dir --no-deps"
                        + (" -e" if loc.editable else ""),
                        loc.path,
                    )
                    for loc in local
                ),
            )
        )
    return InstallPlan(
        installer="micromamba",
        origin=path,
        stages=(Stage(name="micromamba", image=tools["image"]),),
        env=(("MAMBA_ROOT_PREFIX", MAMBA_ROOT),),
        make_venv=False,
        copy_binaries=(("micromamba", "/bin/micromamba", "/usr/local/bin/micromamba"),),
        before_code=(before,),
        after_code=tuple(after),
    )

"""Strategies for requirements files and for dependencies listed inline in the Dockerfile
(PEP 621 and setuptools manifests read statically, lockless Poetry and Pipenv projects).
"""

from __future__ import annotations

import shlex

from dockerize_ml import knowledge
from dockerize_ml.cudabuild import (
    delete_command,
    sed_command,
)
from dockerize_ml.errors import docs
from dockerize_ml.install.context import (
    DEPS_DIR,
    FROZEN_SED,
    Ctx,
    InstallPlan,
    InvalidSettingError,
    plus_build_requires,
    project_steps,
    quote_each,
)
from dockerize_ml.steps import (
    Command,
    Step,
)

#: A requirements line that installs a local folder (`.`, `-e .`, `./libs/x`), as sed -E sees it.
_LOCAL_LINE = (
    r"/^[[:space:]]*((-e|--editable)([[:space:]]+|=)[[:space:]]*)?\.{1,2}(\/[^[:space:]]*)?"
    r"[[:space:]]*(#.*)?$/d"
)


def _check_secrets(ctx: Ctx) -> tuple[str, ...]:
    secrets = ctx.profile.build_secrets
    if secrets and not ctx.buildkit:
        raise InvalidSettingError(
            f"the dependency files use ${{{secrets[0]}}}, which is passed safely only as a "
            "BuildKit secret",
            f"drop --no-buildkit ({docs('private-indexes.md')})",
        )
    return secrets


def _secret_prefix(secrets: tuple[str, ...]) -> str:
    return "".join(f'{s}="$(cat /run/secrets/{s})" ' for s in secrets)


def from_requirements(ctx: Ctx, entry_files: tuple[str, ...], origin: str) -> InstallPlan:
    profile = ctx.profile
    secrets = _check_secrets(ctx)
    local = profile.local_installs
    with_local = sorted(
        {
            loc.evidence.path
            for loc in local
            if loc.evidence.path in entry_files or loc.evidence.path in profile.dependency_files
        }
    )
    with_compiled = sorted(
        {r.evidence.path for r in ctx.compiled if r.evidence.path in profile.dependency_files}
    )
    with_frozen = sorted({e.path for e in profile.frozen_paths})
    dev_files: dict[str, list[str]] = {}
    for dep in ctx.dev_left_out:
        if dep.source in profile.dependency_files:
            dev_files.setdefault(dep.source, []).append(dep.name)
    renamed = sorted(
        {
            d.source
            for d in profile.dependencies
            if d.detail.startswith("replaces ") and d.source in profile.dependency_files
        }
    )
    edited = bool(with_local or with_compiled or with_frozen or dev_files or renamed)
    folder = "/tmp/requirements" if edited else DEPS_DIR
    commands: list[Command] = []
    comment = [
        f"Dependencies before the code: this layer is rebuilt only when {origin} changes.",
    ]
    if edited:
        commands.append((f"cp -r {DEPS_DIR} {folder}",))
    if with_local:
        commands += [(f"sed -i -E '{_LOCAL_LINE}' {folder}/{f}",) for f in with_local]
        comment.append(
            "Lines that install the project's own folders (-e .) are taken out here and run"
        )
        comment.append("after the code copy, so a code edit does not reinstall everything.")
    if with_frozen:
        commands += [(f"sed -i -E '{FROZEN_SED}' {folder}/{f}",) for f in with_frozen]
        comment.append(
            "`name @ file:///...` lines (pip freeze in a conda environment) become the bare name."
        )
    if with_compiled:
        commands += [(sed_command(ctx.compiled, f"{folder}/{f}"),) for f in with_compiled]
        comment.append(
            "What the CUDA builder compiled is taken out here: its wheels are installed above."
        )
    if dev_files:
        for f, dev_names in sorted(dev_files.items()):
            commands.append((delete_command(tuple(dev_names), f"{folder}/{f}"),))
        names = ", ".join(sorted({n for ns in dev_files.values() for n in ns}))
        comment.append(f"Development tools are taken out here (not needed to run): {names}.")
        comment.append("`dockerize-ml init --dev-tools` keeps them.")
    for f in renamed:
        for wrong, real in sorted(_REPLACED.items()):
            commands.append((f"sed -i -E '{_rename_expression(wrong, real)}' {folder}/{f}",))
    if renamed:
        comment.append("`sklearn` on PyPI is a placeholder that fails: scikit-learn is installed.")
    args = [f"-r {folder}/{f}" for f in entry_files]
    args += quote_each(ctx.strings(ctx.optional()))
    bounds, why = ctx.release_bounds()
    args += bounds
    comment += why
    install = ctx.install(*args)
    commands.append((_secret_prefix(secrets) + install[0], *install[1:]))
    commands = plus_build_requires(ctx, commands)
    if edited:
        commands.append((f"rm -rf {folder}",))
    step = Step(
        comment=tuple(comment),
        commands=tuple(commands),
        files=profile.dependency_files,
        cache=ctx.cache,
        secrets=secrets,
        hadolint_ignore=ctx.hadolint(commands),
    )
    return InstallPlan(
        installer=ctx.installer,
        origin=origin,
        needs_uv=ctx.uv,
        before_code=(step,),
        after_code=tuple(project_steps(ctx, local)),
    )


#: PyPI names that are not what they seem -> the distribution installed instead.
_REPLACED: dict[str, str] = knowledge.load("devtools")["replaced"]


def _rename_expression(wrong: str, real: str) -> str:
    """A sed expression that makes a requirements line of ``wrong`` one of ``real``."""
    return f"s/^([[:space:]]*){wrong}([^[:alnum:]._-]|$)/\\1{real}\\2/I"


def from_inline(ctx: Ctx, deps: list[str], origin: str, note: str = "") -> InstallPlan:
    """Dependencies listed in the Dockerfile itself (no file an installer can read alone)."""
    comment = [f"Dependencies before the code, from {origin}."]
    if note:
        comment.append(note)
    comment.append("Run `dockerize-ml init` again after changing them.")
    bounds, why = ctx.release_bounds() if deps else ([], ())
    comment += why
    items = [*quote_each(deps), *bounds]
    commands = plus_build_requires(ctx, [ctx.install(*items)] if deps else [])
    steps = (
        (
            Step(
                comment=tuple(comment),
                commands=tuple(commands),
                cache=ctx.cache,
                hadolint_ignore=ctx.hadolint(commands),
            ),
        )
        if commands
        else ()
    )
    return InstallPlan(
        installer=ctx.installer,
        origin=origin,
        needs_uv=ctx.uv,
        before_code=steps,
        after_code=tuple(project_steps(ctx, ctx.profile.local_installs)),
    )


def from_pep621(ctx: Ctx) -> InstallPlan:
    origin = "pyproject.toml [project.dependencies]"
    if not ctx.uv or ctx.profile.uv_sources:
        note = (
            "[tool.uv.sources] applied here: git and URL sources as URLs, paths after the code."
            if ctx.profile.uv_sources
            else "pip cannot read the dependencies of a pyproject.toml alone: they are listed here."
        )
        return from_inline(
            ctx,
            ctx.strings(ctx.profile.dependencies) + ctx.strings(ctx.optional()),
            origin,
            note,
        )
    extras = [f"--extra {shlex.quote(e)}" for e in ctx.extras]
    groups = ctx.optional(("group",))  # uv reads extras from pyproject.toml, not groups
    bounds, why = ctx.release_bounds()
    args = [f"-r {DEPS_DIR}/pyproject.toml", *extras, *quote_each(ctx.strings(groups)), *bounds]
    commands = plus_build_requires(ctx, [ctx.install(*args)])
    step = Step(
        comment=(
            "Dependencies before the code: this layer is rebuilt only when pyproject.toml",
            "changes. uv reads the static dependencies of pyproject.toml without building it.",
            *why,
        ),
        commands=tuple(commands),
        files=("pyproject.toml",),
        cache=ctx.cache,
    )
    return InstallPlan(
        installer="uv",
        origin=origin,
        needs_uv=True,
        before_code=(step,),
        after_code=tuple(project_steps(ctx, ctx.profile.local_installs)),
    )


def from_setuptools(ctx: Ctx) -> InstallPlan:
    profile = ctx.profile
    source = next(s.path for s in profile.dependency_sources if s.used)
    if profile.dependency_entry_files:
        return from_requirements(
            ctx, profile.dependency_entry_files, f"{', '.join(profile.dependency_entry_files)}"
        )
    return from_inline(
        ctx,
        ctx.strings(profile.dependencies) + ctx.strings(ctx.optional()),
        f"{source} (install_requires{', extras' if ctx.extras else ''})",
        "Read statically from the file, which is never executed.",
    )

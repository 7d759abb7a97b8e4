"""The layers added around any strategy: heavy frameworks and their CUDA wheels, what the
CUDA builder compiled, the stable libraries, the entry point's requirements, undeclared
imports, saved requirements and the uv stage."""

from __future__ import annotations

import dataclasses
import posixpath
import shlex

from dockerize_ml import knowledge
from dockerize_ml.cudabuild import (
    MOUNTED,
    STAGE,
    WHEELS,
    keep,
)
from dockerize_ml.install.context import (
    DEPS_DIR,
    Ctx,
    InstallPlan,
    Stage,
    quote_each,
    tool_image,
)
from dockerize_ml.knowledge.cuda import pinned_minor
from dockerize_ml.profile import (
    SOURCE_KINDS,
    Dependency,
    requirement_string,
)
from dockerize_ml.steps import (
    UV_BINARY,
    UV_MOUNT,
    UV_STAGE,
    UV_TARGET,
    Command,
    Step,
    quoted_option,
)


def _locked(kind: str) -> bool:
    """Whether a lockfile or an export pins the source's versions: a layer before it would
    fight them (the kinds table's ``locked``)."""
    row = SOURCE_KINDS.get(kind)
    return row is not None and row.locked


def _strings(deps: tuple[Dependency, ...] | list[Dependency]) -> list[str]:
    return [requirement_string(d) for d in deps]


def _with_cuda_extra(dep: Dependency) -> Dependency:
    """TensorFlow and JAX as ``tensorflow[and-cuda]`` / ``jax[cuda12]`` in a CUDA image: their
    CUDA libraries come as pip wheels. Not for a TensorFlow older than the extra (its image
    brings CUDA), nor when the project chose a CUDA extra itself."""
    extra = knowledge.load("frameworks")["cuda_extras"].get(dep.name)
    if extra is None or dep.url or any("cuda" in e or e == "gpu" for e in dep.extras):
        return dep
    if dep.name == "tensorflow":
        minor = pinned_minor(dep)
        row = knowledge.load("cuda")["tensorflow"].get(minor or "")
        if row is not None and not row.get("and_cuda"):
            return dep
    return dataclasses.replace(dep, extras=(*dep.extras, extra))


def _early_layer_options(ctx: Ctx) -> tuple[str, ...] | None:
    """The index options of a layer installed before the dependency files (heavy frameworks,
    stable libraries); None when there can be none: a lockfile is the environment, and a
    private index with credentials is reached by the requirements step alone."""
    if _locked(ctx.kind):
        return None
    row = SOURCE_KINDS.get(ctx.kind)
    options = ctx.profile.index_options if row is not None and row.index_options else ()
    if any("${" in option for option in options):
        return None
    return tuple(options)


def _constraint_files(ctx: Ctx) -> tuple[str, ...]:
    """The constraints files (``-c FILE``) the dependency files install under. A layer
    installed before them honours them too: a version it chose alone would be replaced by
    the dependency files' install (both copies kept in the image, and the layer for
    nothing), or conflict with what they pin."""
    row = SOURCE_KINDS.get(ctx.kind)
    return ctx.profile.constraint_files if row is not None and row.index_options else ()


def _constrained(files: tuple[str, ...]) -> tuple[list[str], tuple[str, ...]]:
    """The installer's ``-c`` arguments for ``files`` (mounted under DEPS_DIR), and the
    comment that says so."""
    if not files:
        return [], ()
    args = [f"-c {DEPS_DIR}/{shlex.quote(f)}" for f in files]
    return args, (f"Under the constraints of {', '.join(files)}, as the dependency files are.",)


def _heavy_frameworks(ctx: Ctx, device: str) -> list[Step]:
    """Heavy frameworks (torch, TensorFlow, JAX) in a layer of their own, before the rest, so
    adding a small dependency does not reinstall them; on a CPU image, the torch family
    from its CPU wheel index."""
    options = _early_layer_options(ctx)
    if options is None:
        return []
    table = knowledge.load("frameworks")
    heavy = [
        d
        for d in (*ctx.profile.dependencies, *_undeclared(ctx))
        if table["frameworks"].get(d.name, {}).get("heavy") and not d.url
    ]
    if not heavy:
        return []
    cpu_family = [d for d in heavy if device == "cpu" and d.name in table["cpu_index"]]
    others = [d for d in heavy if d not in cpu_family]
    if device == "cuda":
        others = [_with_cuda_extra(d) for d in others]
    commands: list[Command] = []
    # The requirements files' own indexes and find-links (torch==2.0.1+cu118 with
    # --find-links .../torch_stable.html) serve this layer too.
    files = _constraint_files(ctx)
    constraints, said = _constrained(files)
    own = [quoted_option(option) for option in options]
    if cpu_family:
        index = table["cpu_index"][cpu_family[0].name]
        flags = f"--index-url {index} --extra-index-url https://pypi.org/simple"
        extra = [o.replace("--index-url ", "--extra-index-url ", 1) for o in own]
        cpu = quote_each(_strings(cpu_family))
        commands.append(ctx.install(*extra, *constraints, *cpu, flags=flags))
    if others:
        commands.append(ctx.install(*own, *constraints, *quote_each(_strings(others))))
    names = ", ".join(
        d.name + (f"[{','.join(d.extras)}]" if d.extras else "") for d in (*cpu_family, *others)
    )
    where = (
        "CPU-only wheels"
        if cpu_family
        else "their CUDA-enabled wheels"
        if device == "cuda"
        else "PyPI"
    )
    return [
        Step(
            comment=(
                f"Heavy frameworks first, in a layer of their own ({names}; {where}):",
                "adding a small dependency later does not download them again.",
                *said,
            ),
            commands=tuple(commands),
            files=files,
            cache=ctx.cache,
            hadolint_ignore=ctx.hadolint(commands),
        )
    ]


def _undeclared(ctx: Ctx) -> list[Dependency]:
    """What the code imports and nothing declares (nor brings): installed unpinned, with the
    warning `detect` gives. Not against a lockfile (the lock is the environment), not for an
    inferred source (it is made of them), not into a micromamba environment."""
    conda = ctx.profile.conda
    kind = ctx.kind
    if _locked(kind) or kind in ("inferred", "") or (conda and not conda.pip_installable):
        return []
    declared = {d.name for d in ctx.profile.dependencies}
    bounds = dict(ctx.profile.undeclared_bounds)
    return [
        Dependency(name, bounds.get(name, ""), "imports")
        for name in ctx.profile.undeclared_imports
        if name not in declared and keep(name, name, ctx.compiled)
    ]


def with_undeclared_imports(ctx: Ctx, plan: InstallPlan) -> InstallPlan:
    """The undeclared imports that are not heavy frameworks (those have their layer), after
    the declared dependencies, so that a version those pin or bring is kept."""
    heavy = knowledge.load("frameworks")["frameworks"]
    undeclared = [d for d in _undeclared(ctx) if not heavy.get(d.name, {}).get("heavy")]
    names = [d.name for d in undeclared]
    if not names:
        return plan
    command = ctx.install(*quote_each([requirement_string(d) for d in undeclared]))
    step = ctx.step(
        (
            f"Imported by the code, declared by no dependency file: {', '.join(names)}.",
            "Installed unpinned; declare them (with the versions you use) to pin them.",
        ),
        command,
    )
    return dataclasses.replace(plan, before_code=(*plan.before_code, step))


def _stable_layer(ctx: Ctx) -> list[Step]:
    """The big, rarely changed libraries (pandas, scikit-learn, FastAPI, ...; the ``stable``
    knowledge rows) in a layer of their own, before the rest, with their bytecode: adding a
    small dependency then installs and compiles only that one. Their versions come from the
    project's own specifiers; the requirements step after it installs everything as declared
    (keeping what this layer installed when it fits)."""
    options = _early_layer_options(ctx)
    if options is None:
        return []
    table = knowledge.load("frameworks")
    stable = [
        d
        for d in ctx.profile.dependencies
        if d.name in table["stable"]
        and not d.url
        and not table["frameworks"].get(d.name, {}).get("heavy")
    ]
    strings = ctx.strings(stable)
    if not strings:
        return []
    files = _constraint_files(ctx)
    constraints, said = _constrained(files)
    own = [quoted_option(o) for o in options]
    command = ctx.install(*own, *constraints, *quote_each(strings))
    names = ", ".join(dict.fromkeys(d.name for d in stable))
    return [
        ctx.step(
            (
                f"The big libraries the project is built on ({names}), in a layer of their own:",
                "adding a small dependency later neither installs nor compiles them again.",
                *said,
            ),
            command,
            files=files,
        )
    ]


def with_uv_stage(ctx: Ctx, plan: InstallPlan, base_image: str, system_python: bool) -> InstallPlan:
    """With BuildKit on a Python base, uv comes from a stage of its own, mounted in each RUN
    that needs it: never in the image, and no pip into a venv to install it."""
    if not plan.needs_uv or plan.installer == "micromamba":
        return plan
    if not ctx.buildkit or system_python:
        return plan  # uv is installed into the image (no mounts, or no pip to install it)
    uv = knowledge.load("tools")["uv"]["version"]
    stage = Stage(
        name=UV_STAGE,
        image=tool_image("uv", base_image),
        comment=(
            f"uv, pinned, in a stage of its own: each RUN that installs mounts {UV_BINARY}",
            "from here, so uv never reaches the final image.",
        ),
        tools=(f"uv=={uv}",),
        tools_target=UV_TARGET,
    )

    def mounted(steps: tuple[Step, ...]) -> tuple[Step, ...]:
        return tuple(
            dataclasses.replace(step, from_stage=(*step.from_stage, UV_MOUNT)) for step in steps
        )

    return dataclasses.replace(
        plan,
        stages=(stage, *plan.stages),
        before_code=mounted(plan.before_code),
        after_code=mounted(plan.after_code),
        uv_mount=UV_MOUNT,
    )


def with_first_layers(ctx: Ctx, plan: InstallPlan, device: str) -> InstallPlan:
    """The layers before the dependency files' install, each reused while it stays the same:
    the heavy frameworks, what the CUDA builder compiled, the big stable libraries."""
    first = _heavy_frameworks(ctx, device)
    if ctx.compiled:
        first.append(_compiled_step(ctx))
    first += _stable_layer(ctx)
    if not first or plan.installer == "micromamba":
        return plan
    return dataclasses.replace(plan, before_code=(*first, *plan.before_code))


def _compiled_step(ctx: Ctx) -> Step:
    """The dependencies the CUDA builder compiled, from its wheels, before the others (which
    then find them installed); their own dependencies (einops, ...) come from the index."""
    names = ", ".join(r.name for r in ctx.compiled)
    command = ctx.install(f"{MOUNTED}/deps/*.whl")
    return ctx.step(
        (
            f"Compiled in the cuda-builder stage ({names}): the final image gets the wheels,",
            "not the CUDA toolkit. They depend on torch, installed above.",
        ),
        command,
        from_stage=((STAGE, f"{WHEELS}/deps", f"{MOUNTED}/deps"),),
    )


def with_folder_dependencies(ctx: Ctx, plan: InstallPlan) -> InstallPlan:
    """What the project's own folders (``-e ./libs/x``) depend on, before the code; not for a
    uv workspace member, whose export has them already, pinned by its lock."""
    profile = ctx.profile
    folder_deps = [] if ctx.workspace_copies else ctx.strings(profile.local_dependencies)
    if not folder_deps or plan.installer == "micromamba":
        return plan
    command = ctx.install(*quote_each(folder_deps))
    folders = sorted({posixpath.dirname(d.source) for d in profile.local_dependencies})
    step = ctx.step(
        (
            f"What the project's own folders need ({', '.join(folders)}), read from their",
            "package files: the folders themselves are installed after the code.",
        ),
        command,
    )
    return dataclasses.replace(plan, before_code=(*plan.before_code, step))


def with_saved_requirements(
    ctx: Ctx, plan: InstallPlan, requirements: tuple[str, ...]
) -> InstallPlan:
    """Add the requirements of the ``dependencies`` setting (what ``build --fix`` learnt)."""
    if not requirements or plan.installer == "micromamba":
        return plan
    command = ctx.install(*quote_each(list(requirements)))
    step = ctx.step(
        ("Saved in the settings (dependencies): what no dependency file declares.",), command
    )
    return dataclasses.replace(plan, before_code=(*plan.before_code, step))


def with_entry_requirements(ctx: Ctx, plan: InstallPlan) -> InstallPlan:
    """Add what the entry point's command needs (uvicorn, jupyterlab) when nothing declares it."""
    entry = ctx.profile.entrypoint
    declared = {d.name for d in ctx.profile.dependencies}
    declared |= {d.name for o in ctx.profile.optional_dependencies for d in o.dependencies}
    missing = [r for r in (entry.requires if entry else ()) if r not in declared]
    if not missing or plan.installer == "micromamba":
        return plan
    step = Step(
        comment=(f"The entry point runs {', '.join(missing)}, which no dependency file declares.",),
        commands=(ctx.install(*quote_each(missing)),),
        cache=ctx.cache,
        hadolint_ignore=ctx.hadolint([ctx.install(*quote_each(missing))]),
    )
    return dataclasses.replace(plan, before_code=(*plan.before_code, step))

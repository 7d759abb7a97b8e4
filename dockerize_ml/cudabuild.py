"""Compiling CUDA code: the builder stage on NVIDIA's devel image, and what it hands over.

PyPI's torch wheel carries the CUDA runtime, so most GPU images need no CUDA base at all. Only
code that must be compiled with nvcc does: a ``CUDAExtension`` in the project's setup.py (or a
local folder's), and dependencies such as flash-attn or apex (``compile`` in the ``cuda``
knowledge table). They are built into wheels in a stage ``FROM nvidia/cuda:<cuda>-devel``
whose CUDA is the one torch's wheel carries, with the same Python minor as the final image
(uv's managed CPython, built for old glibc), ``TORCH_CUDA_ARCH_LIST`` set because a build sees
no GPU. The final image installs the wheels: no toolkit, no compiler.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from packaging.version import Version

from dockerize_ml import knowledge
from dockerize_ml.knowledge.cuda import torch_cuda
from dockerize_ml.profile import CompiledRequirement, Dependency, ProjectProfile
from dockerize_ml.steps import Command, Step, apt_install, quoted_option, separate_layers

STAGE = "cuda-builder"
#: Where the builder leaves the wheels, and where the final stage mounts them.
WHEELS = "/wheels"
MOUNTED = "/tmp/cuda-wheels"
#: Compiled extension modules of the project, at their paths in the working folder.
COMPILED = "/compiled"
BUILDER_VENV = "/opt/venv"
#: Build tools every torch extension build needs without build isolation.
_BUILD_TOOLS = ("setuptools", "wheel", "ninja", "packaging", "psutil")


@dataclass(frozen=True)
class CudaBuilder:
    """The builder stage that compiles CUDA code, and what the final stage takes from it."""

    image: str
    cuda: str
    arch_list: str
    python: str
    #: Environment the builds read (FORCE_CUDA, DS_BUILD_OPS, ...), sorted.
    env: tuple[tuple[str, str], ...]
    #: The project's own CUDAExtension is built (into WHEELS/project, .so files in COMPILED).
    project: bool
    #: Local folders with a CUDAExtension, built into WHEELS/local.
    folders: tuple[str, ...]
    #: Why each compiled thing is compiled, for the stage's comment.
    reasons: tuple[str, ...]
    #: The builder's setup RUN (system packages, the venv with its Python).
    setup: tuple[str, ...] = ()
    #: Its build steps; those from index ``code_after`` on need the project's code.
    steps: tuple[Step, ...] = ()
    code_after: int = 0
    notes: tuple[str, ...] = ()
    uv_image: str = ""
    stage: str = STAGE
    venv: str = BUILDER_VENV
    compiled: str = COMPILED


def _newest(versions: list[str]) -> str:
    return max(versions, key=Version)


def _cuda_for(profile: ProjectProfile) -> tuple[str, str]:
    """The CUDA of torch's wheel (the builder must match it), and a note when guessed."""
    table = knowledge.load("cuda")
    locked = profile.cuda_build.locked_torch
    torch = (Dependency("torch", locked, "lock"),) if locked else profile.dependencies
    cuda = torch_cuda(torch)
    if cuda:
        return cuda, ""
    newest = _newest(list(table["torch"]))
    cuda = str(table["torch"][newest]["pypi_cuda"])
    return cuda, (
        f"torch is not pinned: the CUDA builder uses CUDA {cuda}, the CUDA of torch {newest}'s "
        "wheel; pin torch (==X.Y.Z) so that the compiled code and torch always agree"
    )


def devel_image(cuda: str) -> str:
    """``nvidia/cuda:<full version>-devel-<os>`` for a CUDA minor (``12.4``)."""
    devel = knowledge.load("cuda")["devel"]
    images: dict[str, str] = devel["images"]
    if cuda not in images:
        same_major = [m for m in images if m.split(".")[0] == cuda.split(".", maxsplit=1)[0]]
        older = [m for m in same_major if Version(m) <= Version(cuda)] or same_major
        cuda = _newest(older) if older else _newest(list(images))
    return f"nvidia/cuda:{images[cuda]}-devel-{devel['os']}"


def arch_list(cuda: str) -> str:
    """The GPU architectures to compile for with this CUDA (the newest list that applies)."""
    lists: dict[str, str] = knowledge.load("cuda")["arch_list"]
    applies = [v for v in lists if Version(v) <= Version(cuda)] or [min(lists, key=Version)]
    return lists[_newest(applies)]


def _ere(text: str) -> str:
    """``text`` as a literal in a POSIX extended regular expression."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)


def _canonical_pattern(name: str) -> str:
    return "[-_.]+".join(_ere(part) for part in re.split(r"[-_.]+", name))


def sed_expressions(compiled: tuple[CompiledRequirement, ...]) -> tuple[str, ...]:
    """GNU sed expressions that delete each compiled requirement from a requirements file,
    by name or by its repository URL, with its continuation lines (``--hash`` options)."""
    table = knowledge.load("cuda")["compile"]
    addresses: list[str] = []
    for req in compiled:
        url = _ere(table[req.name]["url"]).replace("%", "\\%")
        addresses += [name_address(req.name), f"\\%{url}%I"]
    return _deleting(addresses)


def name_address(name: str) -> str:
    """A sed address of the requirements lines that name distribution ``name``."""
    return f"/^[[:space:]]*{_canonical_pattern(name)}([^[:alnum:]._-]|$)/I"


def _deleting(addresses: list[str]) -> tuple[str, ...]:
    expressions: list[str] = []
    for address in addresses:
        label = f"n{len(expressions)}"  # labels are global in a sed script
        expressions.append(f"{address}{{:{label};/\\\\$/{{N;b{label}}};d}}")
    return tuple(expressions)


def delete_command(names: tuple[str, ...], path: str) -> str:
    """``sed -i -E -e ... path``: the requirements of these names taken out of a requirements
    file (with their continuation lines), as :func:`sed_command` does for compiled ones."""
    args = " ".join(f"-e {shlex.quote(e)}" for e in _deleting([name_address(n) for n in names]))
    return f"sed -i -E {args} {path}"


def sed_command(compiled: tuple[CompiledRequirement, ...], path: str) -> str:
    """``sed -i -E -e ... path``: the compiled requirements taken out of a requirements file."""
    args = " ".join(f"-e {shlex.quote(e)}" for e in sed_expressions(compiled))
    return f"sed -i -E {args} {path}"


def keep(name: str, line: str, compiled: tuple[CompiledRequirement, ...]) -> bool:
    """Whether a requirement (name, or the line it comes from) is not built by the builder."""
    table = knowledge.load("cuda")["compile"]
    for req in compiled:
        if name == req.name or table[req.name]["url"].lower() in line.lower():
            return False
    return True


#: Extracts the compiled modules of a wheel (``.so``) into a folder, at their package paths.
_EXTRACT_SO = (
    "python -c 'import sys, zipfile; w = zipfile.ZipFile(sys.argv[1]); "
    'w.extractall(sys.argv[2], [n for n in w.namelist() if n.endswith(".so")])\''
)


def _steps(
    facts_requirements: tuple[str, ...],
    requires: tuple[str, ...],
    project: bool,
    folders: tuple[str, ...],
    buildkit: bool,
    index: tuple[str, ...] = (),
) -> tuple[list[Step], int]:
    """The builder's RUNs: torch and the build tools, the dependencies' wheels, then (after
    the code copy) the project's and the folders' wheels. ``index``: the requirements files'
    own --find-links and indexes (prebuilt wheels there are taken rather than compiled)."""
    uv_cache = "/root/.cache/uv" if buildkit else ""
    pip_cache = "/root/.cache/pip" if buildkit else ""
    no_cache = "" if buildkit else " --no-cache-dir"
    wheel = f"pip wheel{no_cache} --no-deps --no-build-isolation --wheel-dir"
    steps = [
        Step(
            comment=(
                "torch as the project pins it (PyPI's build, with CUDA) and the build tools:",
                "the CUDA code compiles against them, without build isolation.",
            ),
            commands=(("uv pip install" + ("" if buildkit else " --no-cache"), *index, *requires),),
            cache=uv_cache,
        )
    ]
    if facts_requirements:
        steps.append(
            Step(
                comment=(
                    "The dependencies that compile CUDA code, as wheels. pip keeps the wheels it",
                    "builds in its cache: a rebuild does not compile them again.",
                ),
                commands=((f"{wheel} {WHEELS}/deps", *index, *facts_requirements),),
                cache=pip_cache,
            )
        )
    steps = list(separate_layers(steps))
    code_after = len(steps)
    commands: list[Command] = []
    if project:
        commands.append((f"{wheel} {WHEELS}/project .",))
        commands.append((f"mkdir -p {COMPILED}",))
        commands.append((f"{_EXTRACT_SO} {WHEELS}/project/*.whl {COMPILED}",))
    if folders:
        commands.append((f"{wheel} {WHEELS}/local", *(f"./{f}" for f in folders)))
    if commands:
        steps.append(
            Step(
                comment=(),
                commands=tuple(commands),
                cache=pip_cache,
                # setuptools' build folders: objects kept for the next (incremental) compile
                caches=(
                    (*(["/src/build"] if project else []), *(f"/src/{f}/build" for f in folders))
                    if buildkit
                    else ()
                ),
            )
        )
    return steps, code_after


def plan_cuda_builder(
    profile: ProjectProfile, python: str, build_requires: list[str], buildkit: bool = True
) -> CudaBuilder:
    """The builder for the profile's CUDA code (call only when ``cuda_build.needed``)."""
    facts = profile.cuda_build
    table = knowledge.load("cuda")
    tools = knowledge.load("tools")
    cuda, guessed = _cuda_for(profile)
    env: dict[str, str] = {"FORCE_CUDA": "1"}
    reasons: list[str] = []
    for req in facts.requirements:
        row = table["compile"][req.name]
        env.update(row["env"])
        reasons.append(f"{req.name} ({req.evidence.path}:{req.evidence.line}): {row['why']}")
    if facts.project:
        reasons.append("the project's setup.py builds a CUDAExtension")
    reasons += [f"{folder}/setup.py builds a CUDAExtension" for folder in facts.folders]
    torch = next((d for d in profile.dependencies if d.name == "torch"), None)
    torch_req = f"torch{torch.specifier}" if torch is not None and not torch.url else "torch"
    if facts.locked_torch:  # compile against the torch the lock installs
        torch_req = f"torch{facts.locked_torch}"
    wanted = [torch_req, *_BUILD_TOOLS, *build_requires]
    seen: set[str] = set()
    requires: list[str] = []
    for item in wanted:
        key = re.split(r"[\s<>=!~;\[@]", item, maxsplit=1)[0].lower().replace("_", "-")
        if key not in seen:
            seen.add(key)
            requires.append(item)
    needs_git = any("git+" in r.requirement for r in facts.requirements)
    notes = [guessed] if guessed else []
    if torch is None:
        notes.append(
            "the CUDA code compiles against torch, which no dependency file declares: the "
            "builder installs the newest torch; declare and pin it"
        )
    apt = ("ca-certificates", "git") if needs_git else ("ca-certificates",)
    quoted = tuple(shlex.quote(r) for r in requires)
    compiled = tuple(shlex.quote(r.requirement) for r in facts.requirements)
    # credentials reach only the final stage, as a build secret
    index = tuple(quoted_option(o) for o in profile.index_options if "${" not in o)
    steps, code_after = _steps(compiled, quoted, facts.project, facts.folders, buildkit, index)
    setup = (
        *apt_install(apt),
        f"uv venv --seed --python-preference only-managed --python {python} {BUILDER_VENV}",
    )
    return CudaBuilder(
        image=devel_image(cuda),
        cuda=cuda,
        arch_list=arch_list(cuda),
        python=python,
        env=tuple(sorted(env.items())),
        project=facts.project,
        folders=facts.folders,
        reasons=tuple(reasons),
        setup=setup,
        steps=tuple(steps),
        code_after=code_after,
        notes=tuple(notes),
        uv_image=f"ghcr.io/astral-sh/uv:{tools['uv']['version']}",
    )

"""The install column of the kinds table: one strategy per kind of dependency source.

``profile.SOURCE_KINDS`` holds each kind's name, rank and lock (detection reads them, and
detection sits below the install rooms); this holds what the install does with it.
``tests/test_install_kinds.py`` checks that every row of the one has a strategy here.
"""

from __future__ import annotations

from collections.abc import Callable

from dockerize_ml.install.conda import from_conda
from dockerize_ml.install.context import Ctx, InstallPlan
from dockerize_ml.install.exports import from_pdm, from_pipenv, from_poetry, from_uv_workspace
from dockerize_ml.install.requirements import (
    from_inline,
    from_pep621,
    from_requirements,
    from_setuptools,
)
from dockerize_ml.install.uvlock import from_uv_lock

#: A strategy: the install plan of the dependency source ``ctx.kind`` names.
Strategy = Callable[[Ctx], InstallPlan]


def _requirement_files(ctx: Ctx) -> InstallPlan:
    return from_requirements(ctx, ctx.profile.dependency_entry_files, ctx.source)


def _pep621(ctx: Ctx) -> InstallPlan:
    """A PEP 621 project; a uv workspace member exports its part of the workspace's lock."""
    return from_uv_workspace(ctx) if ctx.workspace_copies else from_pep621(ctx)


def _nothing(ctx: Ctx) -> InstallPlan:
    return from_inline(ctx, [], "nothing (no dependencies declared)")


#: kind -> strategy, for every key of ``profile.SOURCE_KINDS``.
STRATEGIES: dict[str, Strategy] = {
    "requirements": _requirement_files,
    "pep621": _pep621,
    "poetry": from_poetry,
    "uv": from_uv_lock,
    "pdm": from_pdm,
    "pipfile": from_pipenv,
    "conda": from_conda,
    "setuptools": from_setuptools,
    "inferred": _requirement_files,  # a generated requirements file
}


def strategy(kind: str) -> Strategy:
    """The strategy of ``kind``; no source at all installs nothing but the project."""
    return STRATEGIES.get(kind, _nothing)

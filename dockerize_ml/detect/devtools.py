"""Development tools in a requirements file: a development superset is not the image's.

A ``requirements.txt`` often lists what the developer's virtualenv holds: pytest, black,
pre-commit, mkdocs. A production image needs none of them; they are reported (with the file
and line) so the plan can leave them out of the install. One the code imports at run time
stays, and so do notebook servers when the image serves notebooks. ``sklearn``, a deprecated
PyPI name that fails to install, is the ``scikit-learn`` the code means.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from packaging.utils import canonicalize_name

from dockerize_ml import knowledge
from dockerize_ml.profile import Dependency


def dev_only() -> dict[str, str]:
    """Development-only distribution -> why (tools, then notebook servers)."""
    table = knowledge.load("devtools")
    return {**table["tools"], **table["notebook"]}


def split(
    declared: list[Dependency], imported: Iterable[str], serves_notebooks: bool
) -> tuple[list[Dependency], list[Dependency], list[str]]:
    """``declared`` (from requirements files) as (what the image installs, the development
    tools left out, warnings). ``imported``: distributions the run-time code imports."""
    table = knowledge.load("devtools")
    used = {canonicalize_name(name) for name in imported}
    dev = dict(table["tools"]) if serves_notebooks else dev_only()
    replaced: dict[str, str] = table["replaced"]
    keep: list[Dependency] = []
    left: list[Dependency] = []
    warnings: list[str] = []
    for original in declared:
        dep = original
        if dep.name in replaced:
            real = replaced[dep.name]
            where = f"{dep.source}:{dep.line}" if dep.line else dep.source
            warnings.append(
                f"{where}: `{dep.name}` on PyPI is a deprecated placeholder that fails to "
                f"install; the image installs {real}, which is what `import {dep.name}` needs"
            )
            dep = dataclasses.replace(dep, name=real, detail=f"replaces {dep.name}")
        if dep.name in dev and dep.name not in used:
            left.append(dep)
        else:
            keep.append(dep)
    return keep, left, warnings

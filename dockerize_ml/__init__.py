"""dockerize-ml: turn a Python or ML repository into a Docker image the way an expert would.

The public API is small: :func:`inspect_project` (scan + detect), :func:`make_plan`,
:func:`render`, and the jobs :func:`run_init` and :func:`run_check`. Everything else is internal.

The names are loaded on first use (PEP 562), so that importing one room of the package
(``dockerize_ml.write``, the CLI for ``--version``) does not load the whole pipeline.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dockerize_ml.version import __version__

if TYPE_CHECKING:
    from dockerize_ml.detect import inspect_project
    from dockerize_ml.jobs import run_check, run_init
    from dockerize_ml.plan import BuildPlan, Settings, make_plan
    from dockerize_ml.rendering import render

#: Public name -> the module that defines it.
_PUBLIC = {
    "BuildPlan": "dockerize_ml.plan",
    "Settings": "dockerize_ml.plan",
    "inspect_project": "dockerize_ml.detect",
    "make_plan": "dockerize_ml.plan",
    "render": "dockerize_ml.rendering",
    "run_check": "dockerize_ml.jobs",
    "run_init": "dockerize_ml.jobs",
}

__all__ = [
    "BuildPlan",
    "Settings",
    "__version__",
    "inspect_project",
    "make_plan",
    "render",
    "run_check",
    "run_init",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'dockerize_ml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

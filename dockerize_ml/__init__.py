"""dockerize-ml: turn a Python or ML repository into a Docker image the way an expert would.

The public API is small: :func:`inspect_project` (scan + detect), :func:`make_plan`,
:func:`render`, and the jobs :func:`run_init` and :func:`run_check`. Everything else is internal.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Imported after __version__, which the plan records in every generated file.
from dockerize_ml.detect import inspect_project
from dockerize_ml.jobs import run_check, run_init
from dockerize_ml.plan import BuildPlan, Settings, make_plan
from dockerize_ml.render import render

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

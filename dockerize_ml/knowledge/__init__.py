"""Knowledge tables: data files, not code.

Each table is a TOML file next to this module, loaded once and validated by
``tests/test_knowledge.py`` (every row well-formed, every table used).
"""

from __future__ import annotations

import sys
from functools import cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

TABLES = (
    "python",
    "layout",
    "frameworks",
    "tools",
    "conda",
    "imports",
    "system",
    "cuda",
    "secrets",
    "devtools",
    "distributed",
    "platforms",
    "debian",
    "targets",
    "apis",
    "bases",
)


@cache
def load(name: str) -> dict[str, Any]:
    """Return the parsed knowledge table ``name`` (one of :data:`TABLES`)."""
    if name not in TABLES:
        raise KeyError(f"unknown knowledge table {name!r}")
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)

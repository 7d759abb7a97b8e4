"""Path tests that never raise: ``Path.is_file()`` and friends raise PermissionError
(Python < 3.14) for a path inside a folder that cannot be searched, and an unreadable
subfolder is a warning, never a crash."""

from __future__ import annotations

from pathlib import Path


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (a link) leads to a file inside ``root``."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):
        return False
    return root in target.parents

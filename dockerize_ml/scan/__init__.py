"""One walk of the project; every detector reads from it, never from disk.

The walk honours ``.gitignore`` files (the project's own, nested ones, and those of the
enclosing git repository when the project is a subfolder of one) and a built-in skip list.
Ignored files and folders are still *recorded* (a gitignored ``.env`` or ``data/`` matters to
the build context) but never descended into or read. Folders with huge entry counts are not
walked file by file (the project's own folder always is), files over a size cap or binary
files are never read, and a folder or file that cannot be read is a warning, never an error.

The rooms: :mod:`.walk` (the walk, the .gitignore rules, the skip list), :mod:`.result` (the
:class:`Scan` every detector queries, with its cached reads), :mod:`.text` (bytes as text, as
pip reads them) and :mod:`.fs` (path tests that never raise); here, :func:`scan` and the
files git tracks.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from dockerize_ml.scan.result import MAX_READ_BYTES, Entry, Scan
from dockerize_ml.scan.text import UndecodableError, decode
from dockerize_ml.scan.walk import DATA_DIR_ENTRIES, LARGE_DIR_ENTRIES, Walker

__all__ = [
    "DATA_DIR_ENTRIES",
    "GIT_TIMEOUT_SECONDS",
    "LARGE_DIR_ENTRIES",
    "MAX_READ_BYTES",
    "Entry",
    "Scan",
    "UndecodableError",
    "decode",
    "scan",
]


def scan(root: Path) -> Scan:
    """Walk the project at ``root`` once and return what it holds."""
    root = root.resolve()
    walker = Walker(root)
    walker.walk(root, "")
    walker.result.gitignores = walker.rules.sources
    walker.result.tracked = _tracked_files(root)
    return walker.result


#: How long ``git ls-files`` may take before the scan goes on without it.
GIT_TIMEOUT_SECONDS = 30


def _tracked_files(root: Path) -> frozenset[str] | None:
    """The files git tracks under ``root`` (paths relative to it), or None.

    What a working copy holds beside them (untracked or ignored) is the clutter of work: runs,
    downloads, outputs. None when git is missing, the folder is no checkout, or git tracks
    nothing in it (a fresh ``git init``, or a home folder under git: no evidence either way).
    """
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached"],
            capture_output=True,
            check=False,
            timeout=GIT_TIMEOUT_SECONDS,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    paths = frozenset(
        p.decode("utf-8", errors="surrogateescape") for p in done.stdout.split(b"\0") if p
    )
    return paths or None

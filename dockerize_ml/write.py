"""Writing generated files: atomic, never over a file the user owns without --force.

Safe regeneration with state and 3-way merges comes with the regeneration issue; until then
``init`` writes a file only when it is absent or already holds exactly the new text, unless
forced.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dockerize_ml.errors import WouldOverwriteError, WriteFailedError
from dockerize_ml.render import EXECUTABLE


@dataclass(frozen=True)
class WriteResult:
    """What happened to one generated file: created, replaced, unchanged (or would be)."""

    path: str
    action: str


def atomic_write(path: Path, text: str, executable: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        mode = 0o755 if executable else 0o644
        if path.exists():
            # Keep the user's permission bits, adding the execute bits a script needs.
            mode = path.stat().st_mode & 0o7777 | (0o111 if executable else 0)
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_files(
    root: Path, files: dict[str, str], *, force: bool = False, dry_run: bool = False
) -> list[WriteResult]:
    """Write the rendered ``files`` under ``root``.

    Refuses (writing nothing) when a file exists with other content and ``force`` is false.
    """
    results: list[WriteResult] = []
    conflicts: list[str] = []
    for rel, text in files.items():
        target = root / rel
        if not target.exists():
            results.append(WriteResult(rel, "create"))
            continue
        try:
            current = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current == text:
            results.append(WriteResult(rel, "unchanged"))
        else:
            results.append(WriteResult(rel, "replace"))
            conflicts.append(rel)
    if conflicts and not force:
        raise WouldOverwriteError(conflicts)
    if dry_run:
        return results
    for result in results:
        if result.action == "unchanged":
            continue
        try:
            atomic_write(root / result.path, files[result.path], result.path in EXECUTABLE)
        except OSError as exc:
            raise WriteFailedError(
                f"cannot write {root / result.path}: {exc.strerror or exc}",
                "check that the folder is writable",
            ) from None
    return results

"""The result of the walk: what the project holds (:class:`Scan`), queried by every detector,
and its files' text, each read at most once under a size cap."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dockerize_ml.scan import fs
from dockerize_ml.scan.text import UndecodableError, decode

#: Files larger than this are never read as text.
MAX_READ_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Entry:
    """A file or folder of the project, by its POSIX path relative to the root."""

    path: str
    is_dir: bool
    size: int = 0  # bytes, files only
    reason: str = ""  # why a folder was not walked: gitignored, vcs, virtualenv, cache, large


@dataclass
class Scan:
    """The result of one walk: what is there, what was left out and why."""

    root: Path
    files: dict[str, Entry] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    #: Files and folders left out of the walk (gitignored, skip list, huge folders).
    skipped: dict[str, Entry] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: The .gitignore files in force: (folder relative to the root, "" for the root; the
    #: prefix the file's patterns see before a project path, for a .gitignore above the root;
    #: its lines).
    gitignores: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    #: The files git tracks (``git ls-files``), relative to the root; None when the project
    #: is no git checkout (or git is not there, or tracks nothing in it).
    tracked: frozenset[str] | None = None
    _text: dict[str, str | None] = field(default_factory=dict, repr=False)
    _problems: dict[str, str] = field(default_factory=dict, repr=False)
    _limits: dict[str, int] = field(default_factory=dict, repr=False)

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` is a file or folder of the project, walked or not."""
        return rel in self.files or rel in self.dirs or rel in self.skipped

    def is_dir(self, rel: str) -> bool:
        """Whether ``rel`` is a folder (walked or skipped)."""
        entry = self.skipped.get(rel)
        return rel in self.dirs or (entry is not None and entry.is_dir)

    def is_file(self, rel: str) -> bool:
        """Whether ``rel`` is a file of the project: walked, recorded as skipped, or (inside a
        folder that was not walked) present on disk."""
        if rel in self.files:
            return True
        entry = self.skipped.get(rel)
        if entry is not None:
            return not entry.is_dir
        parts = rel.split("/")
        inside_skipped = any("/".join(parts[:i]) in self.skipped for i in range(1, len(parts)))
        return inside_skipped and fs.is_file(self.root / rel)

    def size_of(self, rel: str) -> int:
        """The size of a project file in bytes (0 when unknown)."""
        entry = self.files.get(rel) or self.skipped.get(rel)
        if entry is not None:
            return entry.size
        try:
            return (self.root / rel).stat().st_size
        except OSError:
            return 0

    def top_level(self) -> Iterator[Entry]:
        """Every entry directly under the root, walked or skipped, sorted by name."""
        seen: dict[str, Entry] = {}
        for rel, entry in self.files.items():
            if "/" not in rel:
                seen[rel] = entry
        for rel in self.dirs:
            if rel and "/" not in rel:
                seen[rel] = Entry(rel, is_dir=True)
        for rel, entry in self.skipped.items():
            if "/" not in rel:
                seen[rel] = entry
        return iter(sorted(seen.values(), key=lambda e: e.path))

    def files_under(self, folder: str) -> Iterator[Entry]:
        """Walked files inside ``folder`` (recursively)."""
        prefix = folder.rstrip("/") + "/"
        return (e for rel, e in self.files.items() if rel.startswith(prefix))

    def glob(self, suffix: str) -> list[str]:
        """Walked files whose name ends with ``suffix``, sorted."""
        return sorted(rel for rel in self.files if rel.endswith(suffix))

    def read_text(self, rel: str, limit: int | None = None) -> str | None:
        """The file's text, or None when it is missing, too large, binary or not UTF-8.

        ``limit`` raises the size cap for this file (notebooks carry large outputs). Each file
        is read at most once; a file that cannot be read adds a warning once, and
        :meth:`problem` says why.
        """
        limit = MAX_READ_BYTES if limit is None else limit
        if rel in self._text and not self._larger_limit(rel, limit):
            cached = self._text[rel]
            # read earlier under a larger cap (a lockfile): not for a reader with a smaller one
            return cached if cached is None or len(cached) <= limit else None
        text = self._read(rel, limit)
        self._text[rel] = text
        self._limits[rel] = limit
        return text

    def read_elsewhere(self, rel: str) -> tuple[str, str | None, str, list[str]]:
        """:meth:`read_text` with the default cap, done on a forked copy of this scan (a
        worker of the code index), as what :meth:`remember` takes back: the path, the text,
        the problem, the warnings it added."""
        before = len(self.warnings)
        text = self.read_text(rel)
        return rel, text, self.problem(rel), self.warnings[before:]

    def remember(self, read: tuple[str, str | None, str, list[str]]) -> None:
        """A read of :meth:`read_elsewhere`, kept as if this scan had done it."""
        rel, text, problem, warnings = read
        self._text[rel] = text
        self._limits[rel] = MAX_READ_BYTES
        if problem:
            self._problems[rel] = problem
        self.warnings.extend(warnings)

    def read_head(self, rel: str, size: int) -> bytes:
        """The first ``size`` bytes of a walked file (a model file read as bytes, never
        whole); empty when it is not one or cannot be read. Not cached: each reader asks
        once."""
        if rel not in self.files:
            return b""
        try:
            with (self.root / rel).open("rb") as handle:
                return handle.read(size)
        except OSError:
            return b""

    def _larger_limit(self, rel: str, limit: int) -> bool:
        """Whether ``rel`` was too large for an earlier read, but this one allows more (a
        lockfile of several MiB, read first by a detector with the default cap)."""
        if self._text.get(rel) is not None or limit <= self._limits.get(rel, limit):
            return False
        if not self._problems.get(rel, "").startswith("larger"):
            return False
        del self._problems[rel]
        self.warnings[:] = [
            w for w in self.warnings if not w.startswith(f"{rel}: not read, larger")
        ]
        return True

    def problem(self, rel: str) -> str:
        """Why :meth:`read_text` returned None for ``rel`` ("" when it did not, or was not
        asked): "larger than 2048 KiB", "not UTF-8 text (byte 0xe9 on line 3)", ..."""
        return self._problems.get(rel, "")

    def _read(self, rel: str, limit: int) -> str | None:
        entry = self.files.get(rel)
        if entry is None:
            self._problems[rel] = "not a file of the project"
            return None
        if entry.size > limit:
            self._problems[rel] = f"larger than {limit // 1024} KiB ({entry.size // 1024} KiB)"
            self.warnings.append(f"{rel}: not read, larger than {limit // 1024} KiB")
            return None
        try:
            data = _read_bytes(f"{self.root}{os.sep}{rel}", limit)
        except OSError as exc:
            self._problems[rel] = f"cannot be read ({exc.strerror or exc})"
            self.warnings.append(f"{rel}: cannot be read ({exc.strerror or exc})")
            return None
        if len(data) > limit:  # it grew since the walk
            self._problems[rel] = f"larger than {limit // 1024} KiB"
            return None
        try:
            text, note = decode(data)
        except UndecodableError as exc:
            self._problems[rel] = exc.reason
            if not exc.binary:  # a binary file is not text the user meant: no warning
                self.warnings.append(f"{rel}: not read, {exc.reason}")
            return None
        if note:
            self.warnings.append(f"{rel}: {note}")
        return text


#: How the files are opened: read-only, never inherited, bytes as they are (Windows).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _read_bytes(path: str, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a file (one more than the cap says it grew past it),
    with the system's own calls: a large repository's ten thousand modules are read in a
    quarter of the time pathlib's ``read_bytes`` takes."""
    fd = os.open(path, _READ_FLAGS)
    try:
        parts: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)
    finally:
        os.close(fd)

"""One walk of the project; every detector reads from it, never from disk.

The walk honours ``.gitignore`` files (the project's own, nested ones, and those of the
enclosing git repository when the project is a subfolder of one) and a built-in skip list.
Ignored files and folders are still *recorded* (a gitignored ``.env`` or ``data/`` matters to
the build context) but never descended into or read. Folders with huge entry counts are not
walked file by file (the project's own folder always is), files over a size cap or binary
files are never read, and a folder or file that cannot be read is a warning, never an error.
"""

from __future__ import annotations

import codecs
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from dockerize_ml import knowledge

#: Files larger than this are never read as text.
MAX_READ_BYTES = 2 * 1024 * 1024
#: A folder with more entries than this is recorded but not walked file by file (not the
#: project's root: a flat folder of 3000 scripts is still a project).
LARGE_DIR_ENTRIES = 2000
#: A folder with at least this many entries and (almost) no source files is data: its
#: subfolders are not walked.
DATA_DIR_ENTRIES = 200
_SOURCE_SUFFIXES = (".py", ".ipynb", ".toml", ".cfg", ".txt", ".yml", ".yaml", ".json", ".md")


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
        return inside_skipped and _is_file(self.root / rel)

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
            data = (self.root / rel).read_bytes()
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


class UndecodableError(ValueError):
    """Bytes that are not text dockerize-ml (and pip, uv, Python) can read; ``reason`` says
    why, with the line."""

    def __init__(self, reason: str, binary: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.binary = binary


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes) -> tuple[str, str]:
    """The text of a file's bytes, as pip reads a requirements file (UTF-8, with or without a
    byte-order mark; UTF-16 with one), and a note when the encoding deserves one.

    Raises :class:`UndecodableError` for anything else: NUL bytes (a binary file, or UTF-16
    without a byte-order mark, which pip would read as UTF-8 and fail on) and bytes that are
    not UTF-8 (a Latin-1 comment: the image's pip and uv read UTF-8 and stop there).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:  # PowerShell 5's `pip freeze > requirements.txt` writes UTF-16
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UndecodableError(
                f"not UTF-16 text, though it starts with UTF-16's byte-order mark "
                f"(at byte {exc.start})",
                binary=True,
            ) from None
        if "\x00" in text:
            raise UndecodableError("NUL characters in UTF-16 text", binary=True)
        note = (
            "UTF-16 text (as PowerShell's `>` writes it); read, but re-save it "
            "as UTF-8: the image's sed edits of dependency files need UTF-8"
        )
        return text, note
    nul = data.find(b"\x00")
    if nul >= 0:
        head = data[:4096]
        odd = head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4
        if odd:
            raise UndecodableError(
                "UTF-16 text without a byte-order mark, which pip and uv read as UTF-8 and fail on",
                binary=True,
            )
        raise UndecodableError(
            f"binary: a NUL byte on line {_line_at(data, nul)}, which no text file holds",
            binary=True,
        )
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
        raise UndecodableError(
            f"not UTF-8 text (byte 0x{data[start]:02x} on line {_line_at(data, start)}; "
            "a Latin-1 or Windows-1252 character?), and pip and uv in the image read UTF-8"
        ) from None


class _IgnoreRules:
    """The .gitignore files in force, each matched relative to its own folder."""

    def __init__(self) -> None:
        # (prefix that paths relative to the project root must get, spec)
        self._specs: list[tuple[str, str, pathspec.GitIgnoreSpec]] = []
        self.sources: list[tuple[str, str, tuple[str, ...]]] = []

    def add(self, folder: str, prefix: str, lines: list[str]) -> None:
        """Add the rules of a .gitignore in ``folder`` (relative to the project root).

        ``prefix`` is prepended to project paths to make them relative to the file's own
        folder (non-empty only for .gitignore files above the project root).
        """
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        self._specs.append((folder, prefix, spec))
        self.sources.append((folder, prefix, tuple(lines)))

    def ignored(self, rel: str, is_dir: bool) -> bool:
        verdict = False
        for folder, prefix, spec in self._specs:
            if folder and not (rel == folder or rel.startswith(folder + "/")):
                continue
            local = rel[len(folder) + 1 :] if folder else rel
            candidate = prefix + local + ("/" if is_dir else "")
            result = spec.check_file(candidate).include
            if result is not None:
                verdict = result
        return verdict


def _enclosing_gitignores(root: Path, rules: _IgnoreRules, warnings: list[str]) -> None:
    """Add the .gitignore files of the git repository that contains ``root``, if any."""
    chain: list[Path] = []
    for parent in root.parents:
        chain.append(parent)
        if _exists(parent / ".git"):
            break
    else:
        return  # not inside a git repository: the folders above are unrelated
    for ancestor in reversed(chain):
        ignore = ancestor / ".gitignore"
        if _is_file(ignore):
            prefix = root.relative_to(ancestor).as_posix() + "/"
            rules.add("", prefix, _read_lines(ignore, warnings))


def _read_lines(path: Path, warnings: list[str]) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        warnings.append(f"{path}: cannot be read ({exc.strerror or exc})")
        return []


def _skip_names() -> dict[str, str]:
    """Folder name -> why the walk skips it, from the knowledge table."""
    layout = knowledge.load("layout")["skip"]
    names: dict[str, str] = {}
    for reason in ("vcs", "caches", "tooling", "virtualenvs"):
        for name in layout[reason]:
            names[name] = "virtualenv" if reason == "virtualenvs" else reason
    return names


class _Walker:
    """One depth-first walk filling a :class:`Scan`."""

    def __init__(self, root: Path) -> None:
        self.result = Scan(root=root)
        self.result.dirs.add("")
        self.rules = _IgnoreRules()
        self.skip_names = _skip_names()
        context = knowledge.load("layout")["context"]
        self.data_names = {
            *context["data_dirs"],
            *context["output_dirs"],
            *context["experiment_dirs"],
        }
        if not _exists(root / ".git"):
            _enclosing_gitignores(root, self.rules, self.result.warnings)

    def walk(self, folder: Path, rel_folder: str) -> None:
        result = self.result
        gitignore = folder / ".gitignore"
        if _is_file(gitignore):
            self.rules.add(rel_folder, "", _read_lines(gitignore, result.warnings))
        try:
            # The project's own folder is always walked, however many files it holds.
            entries = _list_dir(folder, None if rel_folder == "" else LARGE_DIR_ENTRIES)
        except _TooLarge as big:
            result.dirs.discard(rel_folder)
            result.skipped[rel_folder] = Entry(rel_folder, True, reason=f"large:{big.count}")
            return
        except OSError as exc:
            result.warnings.append(
                f"{rel_folder or '.'}: cannot be listed ({exc.strerror or exc}); "
                "what it holds is not read"
            )
            return
        if rel_folder and self._is_data(folder.name, entries):
            # Datasets are recorded, never walked file by file; a file the code names inside
            # one is still found on disk (Scan.is_file).
            result.dirs.discard(rel_folder)
            result.skipped[rel_folder] = Entry(rel_folder, True, reason=f"data:{len(entries)}")
            return
        subfolders: list[tuple[Path, str]] = []
        for entry in entries:
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=True)
            except OSError:
                continue
            if is_link and not is_file:
                # A symlinked folder may loop or leave the project; record, never follow.
                result.skipped[rel] = Entry(rel, True, reason="symlink")
            elif is_link and not _inside(Path(entry.path), result.root):
                # A file linked from outside the project is never read (nor sent by Docker).
                result.skipped[rel] = Entry(rel, False, reason="symlink")
                result.warnings.append(
                    f"{rel}: a link to a file outside the project; not read, and Docker does "
                    "not follow it into the build context either"
                )
            elif is_dir:
                reason = self._folder_skip_reason(entry, rel)
                if reason is None:
                    result.dirs.add(rel)
                    subfolders.append((Path(entry.path), rel))
                else:
                    result.skipped[rel] = Entry(rel, True, reason=reason)
            elif is_file:
                self._add_file(entry, rel)
        for path, rel in subfolders:
            self.walk(path, rel)

    def _is_data(self, name: str, entries: list[os.DirEntry[str]]) -> bool:
        """A dataset folder: named like one with no Python code at its top, or large with
        (almost) no source files."""
        has_code = any(e.name.endswith((".py", ".ipynb")) for e in entries)
        if name in self.data_names:
            # data/<set>/prepare.py: a folder named like data whose sets hold code is code.
            return not (has_code or _code_one_level_down(entries))
        if len(entries) < DATA_DIR_ENTRIES:
            return False
        sources = sum(e.name.endswith(_SOURCE_SUFFIXES) for e in entries)
        return sources * 100 < len(entries)

    def _folder_skip_reason(self, entry: os.DirEntry[str], rel: str) -> str | None:
        reason = self.skip_names.get(entry.name)
        if reason is not None:
            return reason
        path = Path(entry.path)
        if _is_file(path / "pyvenv.cfg") or _is_dir(path / "conda-meta"):
            return "virtualenv"
        if entry.name.endswith(".egg-info"):
            return "caches"
        if self.rules.ignored(rel, is_dir=True):
            return "gitignored"
        return None

    def _add_file(self, entry: os.DirEntry[str], rel: str) -> None:
        try:
            size = entry.stat(follow_symlinks=True).st_size
        except OSError:
            size = 0
        if self.rules.ignored(rel, is_dir=False):
            self.result.skipped[rel] = Entry(rel, False, size, reason="gitignored")
        else:
            self.result.files[rel] = Entry(rel, False, size)


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (a link) leads to a file inside ``root``."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):
        return False
    return root in target.parents


def scan(root: Path) -> Scan:
    """Walk the project at ``root`` once and return what it holds."""
    root = root.resolve()
    walker = _Walker(root)
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


#: How many subfolders of a folder named like data are looked into for code.
_PEEK_SUBFOLDERS = 50


def _code_one_level_down(entries: list[os.DirEntry[str]]) -> bool:
    """Whether one of the first subfolders holds a .py file or a notebook at its top."""
    folders = [e for e in entries if _entry_is_dir(e)][:_PEEK_SUBFOLDERS]
    for folder in folders:
        try:
            with os.scandir(folder.path) as it:
                for count, entry in enumerate(it):
                    if entry.name.endswith((".py", ".ipynb")):
                        return True
                    if count > LARGE_DIR_ENTRIES:
                        break
        except OSError:
            continue
    return False


def _entry_is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


class _TooLarge(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def _list_dir(folder: Path, cap: int | None) -> list[os.DirEntry[str]]:
    """The folder's entries, sorted; raises :class:`_TooLarge` past ``cap`` without listing
    all."""
    entries: list[os.DirEntry[str]] = []
    with os.scandir(folder) as it:
        for entry in it:
            entries.append(entry)
            if cap is not None and len(entries) > cap:
                raise _TooLarge(len(entries))
    entries.sort(key=lambda e: e.name)
    return entries


# Path.is_file() and friends raise PermissionError (Python < 3.14) for a path inside a folder
# that cannot be searched: an unreadable subfolder is a warning, never a crash.
def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False

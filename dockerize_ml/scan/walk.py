"""The walk itself: depth first, honouring the .gitignore files in force (the project's own,
nested ones, the enclosing repository's) and the skip list; dataset folders, huge folders,
virtualenvs and symlinked folders recorded, not descended into."""

from __future__ import annotations

import os
from pathlib import Path

import pathspec

from dockerize_ml import knowledge
from dockerize_ml.scan import fs
from dockerize_ml.scan.result import Entry, Scan

#: A folder with more entries than this is recorded but not walked file by file (not the
#: project's root: a flat folder of 3000 scripts is still a project).
LARGE_DIR_ENTRIES = 2000
#: A folder with at least this many entries and (almost) no source files is data: its
#: subfolders are not walked.
DATA_DIR_ENTRIES = 200
_SOURCE_SUFFIXES = (".py", ".ipynb", ".toml", ".cfg", ".txt", ".yml", ".yaml", ".json", ".md")


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
        if fs.exists(parent / ".git"):
            break
    else:
        return  # not inside a git repository: the folders above are unrelated
    for ancestor in reversed(chain):
        ignore = ancestor / ".gitignore"
        if fs.is_file(ignore):
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


class Walker:
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
        if not fs.exists(root / ".git"):
            _enclosing_gitignores(root, self.rules, self.result.warnings)

    def walk(self, folder: Path, rel_folder: str) -> None:
        result = self.result
        gitignore = folder / ".gitignore"
        if fs.is_file(gitignore):
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
            elif is_link and not fs.inside(Path(entry.path), result.root):
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
        if fs.is_file(path / "pyvenv.cfg") or fs.is_dir(path / "conda-meta"):
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


#: Past the cap, a folder whose entries so far are at least this share Python modules and
#: notebooks is code (a generated package of 5,000 modules), listed whole like the root.
CODE_SHARE = 0.9


def _list_dir(folder: Path, cap: int | None) -> list[os.DirEntry[str]]:
    """The folder's entries, sorted; raises :class:`_TooLarge` past ``cap`` without listing
    all, unless what it listed so far is code (:data:`CODE_SHARE`)."""
    entries: list[os.DirEntry[str]] = []
    with os.scandir(folder) as it:
        for entry in it:
            entries.append(entry)
            if cap is not None and len(entries) > cap:
                code = sum(e.name.endswith((".py", ".ipynb")) for e in entries)
                if code < CODE_SHARE * len(entries):
                    raise _TooLarge(len(entries))
                cap = None
    entries.sort(key=lambda e: e.name)
    return entries

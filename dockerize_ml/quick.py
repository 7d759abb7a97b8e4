"""The fast path of ``check`` and of a repeated ``init``: nothing has moved since the last run.

``init`` records, after it writes, a fingerprint of everything the generated files could
depend on: the path, size, modification time and mode of every file in the project (the
generated files and the state included), git's view of the working copy (its index, HEAD and
exclude files), the tool's version, its own files (a source checkout's edits change the
output without a new version) and the ``DOCKERIZE_ML_*`` environment. When a later
``check``, or an ``init`` without flags, finds the same fingerprint, the answer is the last
one: up to date, nothing to write. Anything else (one file touched, a flag given, a project
that reads files outside its folder) takes the full path, so the fingerprint may only be
too strict, never too lax.

It lives in ``.dockerize-ml/fingerprint.json``, beside the lock and ignored by git like it:
modification times differ on every clone, and the committed state must not churn.

This module imports nothing of the pipeline: the point is to answer before loading it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from dockerize_ml.names import STATE_DIR
from dockerize_ml.version import __version__

FINGERPRINT_FILE = f"{STATE_DIR}/fingerprint.json"
#: Files of the state folder that are not inputs: the lock and the fingerprint itself.
_NOT_INPUTS = frozenset({f"{STATE_DIR}/lock", FINGERPRINT_FILE})
#: What git keeps that changes which files are tracked or ignored.
_GIT_FILES = ("HEAD", "index", "info/exclude", "config", "packed-refs", "refs/remotes/origin/HEAD")


@dataclass(frozen=True)
class Recorded:
    """What the last full run said, replayed by the fast path."""

    messages: tuple[str, ...]
    files: tuple[str, ...]


def fingerprint(root: Path) -> str | None:
    """The fingerprint of the project as it is now; None when it cannot be taken (the project
    sits inside a larger git repository, whose files it reads, or cannot be walked)."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}\0".encode())
    digest.update(_tool_files().encode())
    for key in sorted(k for k in os.environ if k.startswith("DOCKERIZE_ML_")):
        digest.update(f"env {key}={os.environ[key]}\0".encode())
    for parent in root.resolve().parents:
        if (parent / ".git").exists():
            return None
    try:
        for rel, stat in _stats(root):
            digest.update(f"{rel}\0{stat}\0".encode("utf-8", "surrogateescape"))
    except OSError:
        return None
    return digest.hexdigest()


def _tool_files() -> str:
    """The size and modification time of the tool's own files (the package and its
    knowledge tables, the templates: inside the package, or beside it in a source
    checkout): about 130 stats, a few milliseconds."""
    here = Path(__file__).resolve().parent
    folders = [str(here)]
    if not (here / "templates").is_dir():
        folders.append(str(here.parent / "templates"))
    parts: list[str] = []
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    folders.append(entry.path)
                elif entry.name.endswith((".py", ".toml", ".j2")):
                    stat = entry.stat()
                    parts.append(f"{entry.path}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts)


def _stats(root: Path) -> list[tuple[str, str]]:
    """Every file of the project with its size, modification time and mode, and every
    folder by name, sorted."""
    out: list[tuple[str, str]] = []
    git = root / ".git"
    if git.is_dir():
        for name in _GIT_FILES:
            path = git / name
            if path.is_file():
                st = path.stat()
                out.append((f".git/{name}", f"{st.st_size} {st.st_mtime_ns}"))
    elif git.is_file():  # a worktree or submodule: git's files live elsewhere
        raise OSError("a .git file")
    base = str(root)
    for folder, dirs, files in os.walk(base, onerror=_raise):
        rel_folder = os.path.relpath(folder, base)
        if rel_folder == ".":
            dirs[:] = [d for d in dirs if d != ".git"]
        prefix = "" if rel_folder == "." else rel_folder.replace(os.sep, "/") + "/"
        # A folder by its name only: its own time moves with the lock and the fingerprint,
        # and what it holds is listed file by file.
        out += [(prefix + name + "/", "folder") for name in dirs]
        for name in files:
            rel = prefix + name
            if rel in _NOT_INPUTS:
                continue
            st = Path(folder, name).lstat()
            out.append((rel, f"{st.st_size} {st.st_mtime_ns} {st.st_mode}"))
    out.sort()
    return out


def _raise(error: OSError) -> None:
    raise error


def record(root: Path, messages: list[str], files: list[str]) -> None:
    """Remember this run's answer with the project's fingerprint (after the writes)."""
    value = fingerprint(root)
    path = root / FINGERPRINT_FILE
    try:
        if value is None:
            path.unlink(missing_ok=True)
            return
        data = {"fingerprint": value, "messages": messages, "files": files}
        part = path.with_name(f".{path.name}.{os.getpid()}.part")  # atomic: all or nothing
        part.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        part.replace(path)
    except OSError:
        return  # only the fast path is lost


def unchanged(root: Path) -> Recorded | None:
    """The last run's answer, when nothing has moved since it; else None."""
    try:
        data = json.loads((root / FINGERPRINT_FILE).read_text(encoding="utf-8"))
        stored, messages, files = data["fingerprint"], data["messages"], data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(stored, str) or stored != fingerprint(root):
        return None
    if not all(isinstance(x, str) for x in (*messages, *files)):
        return None
    return Recorded(tuple(messages), tuple(files))


def forget(root: Path) -> None:
    """Drop the recorded answer (a run that wrote without recording a new one)."""
    try:
        (root / FINGERPRINT_FILE).unlink(missing_ok=True)
    except OSError:
        return


def file_line(verb: str, path: Path) -> str:
    """One line of init's report, replayed or not: the verb in a column, then the file."""
    return f"{verb:<15} {path}"


def next_line(root: Path) -> str:
    """The line init's report ends with: what to run next."""
    return f"next: {root / 'docker/build.sh'} && {root / 'docker/run.sh'}"

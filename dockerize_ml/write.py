"""Writing generated files without ever losing a user's edit.

dockerize-ml keeps, in ``.dockerize-ml/state.json``, the pristine text of every file it wrote
(the template ships inside the wheel, so the last render is our merge base, as copier's
previous template version is its own). On every ``init``:

- a file the user has not touched is updated;
- a file the user edited gets a 3-way merge (last pristine render, the user's file, the new
  render); where the edits conflict, the user's file is left as it is and the new render is
  written beside it (``Dockerfile.dockerize-ml-new``);
- a generated file the user deleted is not re-created (unless ``--recreate``);
- a file dockerize-ml never wrote is never overwritten: the new render goes beside it, or,
  with ``--force``, the user's file is first kept as ``<name>.orig``;
- once the user resolves a conflict (edits their file and deletes the ``-new`` one), the render
  they were offered becomes the merge base, so the same conflict is not offered again;
- nothing is written through a link that leaves the project; a link inside it is written
  through (it stays a link), and a dangling one is a file in the way, never replaced.

Every write is atomic (a temporary file and a rename), and a lock keeps two runs at once from
interleaving their state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import merge3

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: atomic renames alone keep files whole
    fcntl = None  # type: ignore[assignment]

from dockerize_ml import __version__
from dockerize_ml.errors import WriteFailedError

STATE_DIR = ".dockerize-ml"
STATE_FILE = f"{STATE_DIR}/state.json"
STATE_SCHEMA = 1
NEW_SUFFIX = ".dockerize-ml-new"
BACKUP_SUFFIX = ".orig"
#: Generated files that must be executable.
EXECUTABLE = frozenset(
    {
        "docker/build.sh",
        "docker/run.sh",
        "docker/smoke.sh",
        "docker/platform/train",  # on the image's PATH (targets.py): COPY keeps the mode
        "docker/platform/serve",
    }
)


def digest(text: str) -> str:
    """SHA-256 of a text, as stored in the state."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class FileRecord:
    """What dockerize-ml last wrote at a path."""

    sha256: str
    pristine: str
    deleted: bool = False
    #: The render written beside the user's file at a conflict, until they resolve it.
    offered: str | None = None


@dataclass
class State:
    """The state file: schema, tool version, dependency inputs and generated files."""

    tool_version: str = __version__
    inputs: dict[str, str] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    schema_version: int = STATE_SCHEMA

    @classmethod
    def load(cls, root: Path) -> tuple[State | None, str]:
        """The saved state, or None (and why) when there is none or it cannot be used."""
        path = root / STATE_FILE
        if not path.is_file():
            return None, ""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                return None, f"{STATE_FILE} is not a JSON object; treating every file as yours"
            if data.get("schema_version") != STATE_SCHEMA:
                return None, f"{STATE_FILE} has schema {data.get('schema_version')!r}; ignored"
            files = {k: FileRecord(**v) for k, v in data["files"].items()}
            return cls(data["tool_version"], dict(data["inputs"]), files), ""
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            return None, f"{STATE_FILE} cannot be read ({exc}); treating every file as yours"

    def save(self, root: Path) -> None:
        data = asdict(self)
        text = json.dumps({"schema_version": data.pop("schema_version"), **data}, indent=1)
        atomic_write(root / STATE_FILE, text + "\n")


@dataclass(frozen=True)
class FileAction:
    """What ``init`` does (or would do) with one generated file, and why."""

    path: str
    action: str  # create update merge keep unchanged conflict deleted beside backup
    write: str | None = None  # the text to write at ``path``
    beside: str | None = None  # the text to write next to it (conflicts, files we never wrote)
    pristine: str | None = None  # the render to record as the next merge base
    note: str = ""
    offered: str | None = None  # the render offered beside the user's file (a conflict)


#: Actions after which the user still has something to do; they decide the exit code.
ATTENTION = frozenset({"conflict", "beside"})


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


def merge(base: str, ours: str, theirs: str) -> str | None:
    """3-way merge of texts; None when the user's and the new changes conflict."""
    m = merge3.Merge3(
        base.splitlines(keepends=True),
        ours.splitlines(keepends=True),
        theirs.splitlines(keepends=True),
    )
    if any(region[0] == "conflict" for region in m.merge_regions()):
        return None
    return "".join(m.merge_lines())


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _outside_link(root: Path, rel: str) -> str | None:
    """The first link on the way to ``rel`` that leads out of the project, as a message."""
    top = root.resolve()
    path = root
    for part in Path(rel).parts:
        path = path / part
        if path.is_symlink():
            target = path.resolve()
            if target != top and top not in target.parents:
                return f"{path.relative_to(root).as_posix()} is a link to {target}"
    return None


def plan_writes(
    root: Path,
    files: dict[str, str],
    state: State | None,
    *,
    force: bool = False,
    recreate: bool = False,
) -> list[FileAction]:
    """Decide, for each rendered file, how to write it without losing anything."""
    actions: list[FileAction] = []
    for rel, new in files.items():
        outside = _outside_link(root, rel)
        if outside:
            raise WriteFailedError(
                f"{outside}, outside the project; dockerize-ml writes nothing through it",
                "replace the link with a folder or file of the project, or remove it",
            )
        path = root / rel
        record = state.files.get(rel) if state else None
        if path.is_symlink() and not path.exists():
            actions.append(FileAction(rel, "beside", beside=new, note="a link to a missing file"))
            continue
        current = _read(path) if path.exists() else None
        if current is None and path.exists():
            actions.append(FileAction(rel, "beside", beside=new, note="not readable as text"))
        elif record is None:
            actions.append(_first_time(rel, current, new, force))
        elif current is None:
            if recreate:
                actions.append(FileAction(rel, "create", write=new, pristine=new))
            else:
                actions.append(
                    FileAction(rel, "deleted", pristine=record.pristine, note="you deleted it")
                )
        else:
            base = record.pristine
            if record.offered is not None and not path.with_name(path.name + NEW_SUFFIX).exists():
                # The user resolved the conflict (the offered file is gone): they have seen
                # that render, so it is the base their file is compared with now.
                base = record.offered
            actions.append(_again(rel, base, current, new, force))
    return actions


def _first_time(rel: str, current: str | None, new: str, force: bool) -> FileAction:
    if current is None:
        return FileAction(rel, "create", write=new, pristine=new)
    if current == new:
        return FileAction(rel, "unchanged", pristine=new)
    if force:
        return FileAction(
            rel, "backup", write=new, pristine=new, note=f"yours kept as {rel}{BACKUP_SUFFIX}"
        )
    return FileAction(
        rel, "beside", beside=new, note="not written by dockerize-ml; the new file is beside it"
    )


def _again(rel: str, pristine: str, current: str, new: str, force: bool) -> FileAction:
    if current == new:
        return FileAction(rel, "unchanged", pristine=new)
    if current == pristine:
        return FileAction(rel, "update", write=new, pristine=new)
    if new == pristine:
        return FileAction(rel, "keep", pristine=pristine, note="your edits; nothing new to add")
    if force:
        return FileAction(
            rel, "backup", write=new, pristine=new, note=f"yours kept as {rel}{BACKUP_SUFFIX}"
        )
    merged = merge(pristine, current, new)
    if merged is None:
        return FileAction(
            rel,
            "conflict",
            beside=new,
            pristine=pristine,
            note="your edits and the new render touch the same lines",
            offered=new,
        )
    return FileAction(rel, "merge", write=merged, pristine=new, note="your edits carried over")


def _backup_path(path: Path) -> Path:
    candidate = path.with_name(path.name + BACKUP_SUFFIX)
    number = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}{BACKUP_SUFFIX}.{number}")
        number += 1
    return candidate


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold the project's lock, so two runs at once do not interleave their writes."""
    lock_dir = root / STATE_DIR
    try:
        lock_dir.mkdir(parents=True, exist_ok=True)
        ignore = lock_dir / ".gitignore"
        if not ignore.exists():
            # The state is meant to be committed (teammates and CI `check` against it); the
            # lock not.
            atomic_write(ignore, "lock\n")
        handle = (lock_dir / "lock").open("a")
    except OSError as exc:
        raise WriteFailedError(
            f"cannot write {STATE_DIR}/ in {root}: {exc.strerror or exc}",
            f"dockerize-ml keeps its state in the folder {STATE_DIR}: make the project "
            "writable, and move away a file of that name",
        ) from None
    with handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


def _target(root: Path, rel: str) -> Path:
    """Where to write ``rel``: through a link inside the project (it stays a link)."""
    path = root / rel
    return path.resolve() if path.is_symlink() else path


def apply(
    root: Path, actions: list[FileAction], state: State | None, inputs: dict[str, str]
) -> State:
    """Carry out ``actions`` and record the new state."""
    new_state = State(inputs=dict(inputs), files=dict(state.files) if state else {})
    current = STATE_FILE
    try:
        for action in actions:
            current = action.path
            target = _target(root, action.path)
            if action.action == "backup" and target.exists():
                target.replace(_backup_path(target))
            if action.write is not None:
                atomic_write(target, action.write, action.path in EXECUTABLE)
            beside = (root / action.path).with_name(Path(action.path).name + NEW_SUFFIX)
            if action.beside is not None:
                atomic_write(beside, action.beside, action.path in EXECUTABLE)
            elif beside.exists() and action.action not in ATTENTION:
                beside.unlink()  # an old conflict file the new state resolves
            if action.pristine is not None and action.action != "beside":
                new_state.files[action.path] = FileRecord(
                    digest(action.write or action.pristine),
                    action.pristine,
                    deleted=action.action == "deleted",
                    offered=action.offered,
                )
        current = STATE_FILE
        new_state.save(root)
    except OSError as exc:
        raise WriteFailedError(
            f"cannot write {current} in {root}: {exc.strerror or exc}",
            "check that the folder is writable and that no file stands where a folder must be",
        ) from None
    return new_state

"""What git says about the working copy: its .gitignore files (translated to Docker's
anchored patterns), folders that hold no tracked file and no code (out), and tracked files a
guess from a name would drop (put back, by folder past a count)."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable

from dockerize_ml import dockerignore
from dockerize_ml.detect import secrets
from dockerize_ml.detect.context.rules import LARGE_FILE_BYTES, Rules, parsed_rules
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.scan import Scan


def gitignore_patterns(folder: str, prefix: str, lines: tuple[str, ...]) -> list[str]:
    """A .gitignore's lines as .dockerignore patterns, for the same files.

    A .gitignore pattern without a slash matches at any depth below its folder (``*.log`` is
    ``**/*.log``), one with a slash is anchored to the folder; .dockerignore patterns are all
    anchored to the context root. A ``.gitignore`` above the project (``prefix``) keeps only
    the patterns that can match inside it. A pattern that matches everything (a whitelist
    ``.gitignore``: ``*`` then ``!*.py``) is left out: Docker's ``!`` cannot follow it.
    """
    out: list[str] = []
    base = f"{folder}/" if folder else ""
    for raw in lines:
        line = raw.rstrip()
        if not line or line.startswith("#") or "\\" in line:
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        pattern = pattern.rstrip("/")  # Docker has no folder-only patterns: a file of that name too
        anchored = "/" in pattern
        pattern = pattern.lstrip("/")
        if not pattern or pattern.strip("*/") == "":
            continue
        if anchored and pattern.startswith("**/"):
            anchored, pattern = False, pattern[3:]
        if prefix:
            if not anchored:
                translated = f"**/{pattern}"
            else:
                rest = _below(pattern, prefix)
                if rest is None:
                    continue
                translated = rest
        else:
            translated = f"{base}{pattern}" if anchored else f"{base}**/{pattern}"
        out.append(("!" if negated else "") + translated)
    return out


def _below(pattern: str, prefix: str) -> str | None:
    """An anchored pattern of a .gitignore above the project, relative to the project folder
    (``prefix``, with its trailing slash), or None when it cannot match inside it."""
    parts, wanted = pattern.split("/"), prefix.rstrip("/").split("/")
    if len(parts) <= len(wanted) or any("**" in p for p in parts[: len(wanted)]):
        return None
    if all(fnmatch.fnmatchcase(w, p) for w, p in zip(wanted, parts, strict=False)):
        return "/".join(parts[len(wanted) :])
    return None


def gitignore_rules(scan: Scan, rules: Rules, at: int) -> None:
    """What git ignores is clutter of a working copy (outputs, caches, downloads): it stays
    out of the context too. Files git tracks all the same are put back later.

    The rules go in at position ``at`` (before the project's own weights and secrets rules,
    which so win over a ``!`` line of a .gitignore); a .gitignore inside a folder that is out
    of the context already (dockerize-ml's own state) adds nothing.
    """
    section = "Ignored by the repository's .gitignore (the clutter of a working copy)"
    parsed = parsed_rules(rules)
    added = Rules()
    for folder, prefix, lines in scan.gitignores:
        if folder and dockerignore.excluded(parsed, folder):
            continue
        for pattern in gitignore_patterns(folder, prefix, lines):
            try:
                dockerignore.parse(pattern)
            except InvalidProjectFileError:
                continue  # git reads it, Docker would refuse it: left out
            if all(r.pattern != pattern for r in rules.items):
                added.add(section, pattern)
    rules.items[at:at] = added.items


def untracked_folders(scan: Scan, rules: Rules) -> None:
    """In a git checkout, a folder that holds no tracked file and no code is what a run, a
    download or an experiment left in the working copy: it stays out."""
    tracked = scan.tracked
    if tracked is None:
        return

    def parents(paths: Iterable[str]) -> set[str]:
        return {"/".join(p.split("/")[:i]) for p in paths for i in range(1, p.count("/") + 1)}

    holding = parents(tracked)
    with_code = parents(rel for rel in scan.files if rel.endswith((".py", ".ipynb")))
    parsed = dockerignore.matcher(parsed_rules(rules))
    files_in: dict[str, list[str]] = {}
    for rel in scan.files:
        for folder in parents([rel]):
            files_in.setdefault(folder, []).append(rel)
    section = "Folders git does not track and that hold no code (runs, downloads, datasets)"
    folders = sorted({*scan.dirs, *(p for p, e in scan.skipped.items() if e.is_dir)} - {""})
    added: list[str] = []
    for path in folders:
        if path in holding or path in with_code or any(path.startswith(f"{a}/") for a in added):
            continue
        if parsed.excluded(path):
            continue
        inside = files_in.get(path, [])
        if inside and all(parsed.excluded(rel) for rel in inside):
            continue  # out already, file by file (dockerize-ml's own docker/ scripts)
        added.append(path)
    rules.add(section, *added)


#: Sections whose rules guess from names; a file git tracks is put back from them.
_GUESSED = (
    "Ignored by the repository's .gitignore",
    "Datasets",
    "Run outputs",
    "Experiment logs",
    "Model weights",
    "Folders git does not track",
)
#: Past this many tracked files to put back, they are put back by folder.
MAX_PUT_BACK = 40


def tracked_back(scan: Scan, rules: Rules) -> None:
    """A file the repository tracks is its own (a corpus it ships, a small model an API
    serves), even where a .gitignore rule or a name says data: it is put back."""
    if scan.tracked is None:
        return
    guessed = [r for r in rules.items if r.section.startswith(_GUESSED)]
    parsed = dockerignore.matcher(parsed_rules(rules))
    own = dockerignore.matcher(
        [(r.pattern.lstrip("!"), r.pattern.startswith("!")) for r in guessed]
    )
    others = dockerignore.matcher(
        dockerignore.parse(
            "\n".join(r.pattern for r in rules.items if not r.section.startswith(_GUESSED))
        )
    )
    back: list[str] = []
    for rel in sorted(scan.tracked):
        if not parsed.excluded(rel) or secrets.secret_by_name(rel) is not None:
            continue
        if scan.size_of(rel) >= LARGE_FILE_BYTES:
            continue
        # Put back only what a guess keeps out, never what the tooling or secret rules do.
        if own.excluded(rel) and not others.excluded(rel):
            back.append(rel)
    if len(back) > MAX_PUT_BACK:
        back = _by_folder(scan, back)
    rules.add_paths("Files git tracks: the repository's own, kept in", *back, put_back=True)


def _by_folder(scan: Scan, back: list[str]) -> list[str]:
    """``back`` shortened: a folder whose every file is tracked (as the walk saw it, with no
    folder inside it left unwalked) is put back whole; the files of any other one by name, so
    that no untracked file comes back with them."""
    tracked = scan.tracked or frozenset()
    whole: dict[str, bool] = {}
    for rel in back:
        folder = posixpath.dirname(rel)
        if folder in whole or not folder:
            continue
        prefix = folder + "/"
        inside = [r for r in scan.files if r.startswith(prefix)]
        unwalked = any(p.startswith(prefix) for p in scan.skipped)
        whole[folder] = folder in scan.dirs and not unwalked and all(r in tracked for r in inside)
    kept = [f for f, ok in whole.items() if ok]
    out = [f for f in kept if not any(f.startswith(k + "/") for k in kept)]
    out += [r for r in back if not any(r.startswith(k + "/") for k in kept)]
    return sorted(out)

"""Loose output files: what a run left in the working copy that nothing names.

Dropping every file git does not track would also drop a user's uncommitted work (a new
script, a config they pass with ``--config``). The rule is narrower, and each part is what a
user would say about such a file:

- git does not track it (a tracked file is the project's, whatever its suffix);
- its suffix is one of *results*, not of code or configuration (``output_suffixes`` in
  knowledge/layout.toml: tables, arrays, subtitles, audio, video, logs); a ``.json`` or
  ``.txt`` counts too when it shares its stem with such a file in the same folder (a
  transcript written as ``interview.srt`` and ``interview.json``);
- nothing names it: no string in the code, no line of a tracked configuration file or
  README mentions its file name (a file the code reads by name is mounted instead, by the
  run-time rules).

Each one is left out by its own path, in a section of the .dockerignore that says how to
put it back.
"""

from __future__ import annotations

import posixpath

from dockerize_ml import dockerignore, knowledge
from dockerize_ml.detect.code import CodeIndex
from dockerize_ml.scan import Scan

#: Tracked text files whose mentions of a file name count as naming it.
_NAMING_SUFFIXES = (".md", ".rst", ".txt", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".json")
_NAMING_FILES = ("Makefile", "justfile", "Procfile", "MLproject", "dvc.yaml", "Dockerfile")
#: Larger tracked files are data, not documentation: not read for names.
_NAMING_MAX_BYTES = 1_000_000


def _named(scan: Scan, index: CodeIndex) -> str:
    """Every string of the code and the tracked documentation and configuration, joined."""
    parts = [lit.value for lit in index.literals()]
    parts += [source.text for source in index.files.values() if not source.notebook]
    for rel in sorted(scan.tracked or ()):
        name = posixpath.basename(rel)
        entry = scan.files.get(rel)
        if entry is None or entry.size > _NAMING_MAX_BYTES:
            continue
        if name.endswith(_NAMING_SUFFIXES) or name in _NAMING_FILES:
            parts.append(scan.read_text(rel) or "")
    return "\n".join(parts)


def loose_outputs(scan: Scan, index: CodeIndex, rules: list[tuple[str, bool]]) -> list[str]:
    """Untracked result files that nothing names, and that ``rules`` (the .dockerignore
    so far) do not keep out already."""
    if scan.tracked is None:
        return []
    suffixes = tuple(knowledge.load("layout")["context"]["output_suffixes"])
    out = dockerignore.matcher(rules)
    untracked = [
        entry.path
        for entry in (*scan.files.values(), *scan.skipped.values())
        if not entry.is_dir and entry.path not in scan.tracked and not out.excluded(entry.path)
    ]
    results = {rel for rel in untracked if rel.lower().endswith(suffixes)}
    stems = {posixpath.splitext(rel)[0] for rel in results}
    results |= {
        rel
        for rel in untracked
        if rel.lower().endswith((".json", ".txt")) and posixpath.splitext(rel)[0] in stems
    }
    if not results:
        return []
    named = _named(scan, index)
    return sorted(rel for rel in results if posixpath.basename(rel) not in named)

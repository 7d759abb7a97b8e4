"""Reading project files out of the scan, with errors that name the file and line."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.scan import Scan

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_toml(scan: Scan, rel: str) -> dict[str, Any] | None:
    """Parse ``rel`` as TOML; None when the file is absent.

    Raises :class:`InvalidProjectFileError` naming the file and line when it is not valid TOML.
    """
    if rel not in scan.files:
        return None
    text = scan.read_text(rel)
    if text is None:
        raise InvalidProjectFileError(
            f"{rel} cannot be read as UTF-8 text", "save it as UTF-8 and run again"
        )
    return parse_toml(rel, text)


def parse_toml(rel: str, text: str) -> dict[str, Any]:
    """Parse TOML text; an error names the file and line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        where = f"{rel}:{match.group(1)}" if match else rel
        reason = _TOML_POSITION.sub("", str(exc)).strip()
        raise InvalidProjectFileError(
            f"{where}: not valid TOML: {reason}",
            f"fix {rel} (a TOML checker such as `python -m tomllib` helps), then run again",
        ) from None


def repository_root(root: Path) -> Path | None:
    """The git repository that holds the project folder (its own or an enclosing one)."""
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            return folder
    return None


def read_toml_file(path: Path) -> dict[str, Any] | None:
    """A TOML file outside the scan (a workspace's root), or None when it is missing,
    unreadable or not valid TOML."""
    try:
        return parse_toml(str(path), path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, InvalidProjectFileError):
        return None


def line_of(text: str, needle: str) -> int:
    """The 1-based line on which ``needle`` first occurs in ``text``, or 0."""
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else 0


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(\n|\Z)", re.DOTALL)
_FRONT_KEY = re.compile(r"^([A-Za-z_]+)[ \t]*:[ \t]*[\"']?([^\"'#\n]*?)[\"']?[ \t]*(#.*)?$")


def space_config(scan: Scan) -> dict[str, tuple[str, int]]:
    """The Hugging Face Space configuration in README.md's front matter (``sdk: gradio``,
    ``app_file: src/app.py``, ``python_version: "3.10"``): each top-level key's text and
    line. Read as text, not YAML: ``python_version: 3.10`` is the float 3.1 to a YAML reader.
    """
    text = scan.read_text("README.md") or ""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}
    config: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(match.group(1).splitlines(), start=2):
        key = _FRONT_KEY.match(line)
        if key and key.group(2).strip():
            config.setdefault(key.group(1), (key.group(2).strip(), number))
    return config

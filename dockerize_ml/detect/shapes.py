"""What each project file must look like, checked once when it is read.

A reader then trusts the types it reads (``project`` is a table, ``dependencies`` an array of
strings) instead of guarding every ``.get``. A value of the wrong type is an error that names
the file, the line where it can be found and the key: ``pyproject.toml:3: project.dependencies
is a string, but must be an array of strings``.

A shape is written as data:

- a type, or a tuple of types: the value is an instance (``str``, ``(int, float)``); a
  ``str`` is a name, a version or a command, so it holds no control character (a newline or
  an escape would break the script or YAML file it is written into); :data:`TEXT` is any
  string (a notebook cell's code);
- ``[S]``: an array (list) whose every item has shape ``S``;
- ``{"*": S}``: a table (dict) whose every value has shape ``S``;
- ``{"key": S, ...}``: a table whose listed keys, when present, have their shapes (the other
  keys are free: other tools own them);
- ``Either(S1, S2, ...)``: any one of them.

Only what dockerize-ml reads is described; the rest of a file is left to its own tool.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.names import CONTROL


class _Text(str):
    """The shape of a string that may span lines."""


#: Any string, control characters included.
TEXT = _Text


class Either:
    """A value that may have any one of several shapes."""

    def __init__(self, *shapes: Any) -> None:
        self.shapes = shapes


_NAMES = {
    "toml": {
        dict: "a table",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        type(None): "empty",
    },
    "json": {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    },
    "yaml": {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "empty",
    },
}


def _name(kind: type, lang: str) -> str:
    kind = str if kind is TEXT else kind
    names = _NAMES[lang]
    for known, name in names.items():
        if kind is known:
            return name
    if issubclass(kind, (datetime.date, datetime.time)):
        return "a date" if lang != "toml" else "a date-time"
    return f"a {kind.__name__}"


def _plural(name: str) -> str:
    word = name.split(" ", 1)[-1]
    return {"empty": "empty values", "null": "nulls"}.get(word, word + "s")


def describe(shape: Any, lang: str = "toml") -> str:
    """``an array of strings``, ``a string or a table``: the shape in words."""
    if isinstance(shape, Either):
        words = [describe(s, lang) for s in shape.shapes]
        return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]
    if isinstance(shape, list):
        inner = describe(shape[0], lang)
        parts = [_plural(p.strip()) for p in re.split(r",| or ", inner) if p.strip()]
        items = ", ".join(parts[:-1]) + " or " + parts[-1] if len(parts) > 1 else parts[0]
        return f"{_name(list, lang)} of {items}"
    if isinstance(shape, dict):
        return _name(dict, lang)
    if isinstance(shape, tuple):
        names = list(dict.fromkeys(_name(k, lang) for k in shape))
        return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
    return _name(str if shape is TEXT else shape, lang)


def _matches(value: Any, shape: Any) -> bool:
    """Whether ``value`` has ``shape`` at its top (the items are checked separately)."""
    if isinstance(shape, Either):
        return any(_matches(value, s) for s in shape.shapes)
    if isinstance(shape, list):
        return isinstance(value, list)
    if isinstance(shape, dict):
        return isinstance(value, dict)
    kinds = shape if isinstance(shape, tuple) else (shape,)
    kinds = tuple(str if k is TEXT else k for k in kinds)
    if object in kinds:
        return True
    if isinstance(value, bool) and bool not in kinds:
        return False  # True is an int to Python, never to a TOML reader
    return isinstance(value, kinds)


def _is_text(shape: Any) -> bool:
    if isinstance(shape, Either):
        return any(_is_text(s) for s in shape.shapes)
    return shape is TEXT or (isinstance(shape, tuple) and TEXT in shape)


def _join(key: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{key}[{part}]"
    bare = re.fullmatch(r"[A-Za-z0-9_-]+", part) is not None
    text = part if bare else json.dumps(part)  # quoted and escaped, as TOML writes it
    return f"{key}.{text}" if key else text


def _line(text: str, key: str) -> int:
    """The line of the file where ``key`` (dotted) is written, or 0: a best effort, for the
    message only."""
    parts = re.findall(r'"(?:[^"\\]|\\.)*"|[^.\[\]]+', key)
    if not text or not parts:
        return 0
    last = parts[-1].strip('"')
    word = re.escape(last)
    patterns = (
        rf"^[ \t]*\[\[?[ \t]*{re.escape('.'.join(parts))}[ \t]*\]",  # [tool.poetry.dependencies]
        rf"^[ \t]*[\"']?{word}[\"']?[ \t]*[=:]",  # key = value, key: value
        rf"^[ \t]*-?[ \t]*[\"']?{word}[\"']?[ \t]*[=:]",
        rf"[\"']{word}[\"'][ \t]*:",  # JSON
    )
    for pattern in patterns:
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return 0


def check(
    value: Any,
    shape: Any,
    rel: str,
    *,
    text: str = "",
    lang: str = "toml",
    hint: str = "",
) -> None:
    """Raise :class:`InvalidProjectFileError` naming the file, line and key of the first
    value whose type does not match ``shape``; ``text`` (the file's text) finds the line."""
    problem = find(value, shape, lang)
    if problem is None:
        return
    key, message = problem
    line = _line(text, key)
    where = f"{rel}:{line}" if line else rel
    raise InvalidProjectFileError(
        f"{where}: {key or 'the file'} {message}", hint or f"fix {key or 'it'} in {rel}"
    )


def find(value: Any, shape: Any, lang: str = "toml") -> tuple[str, str] | None:
    """The first (key, "is X, but must be Y") where ``value`` does not match ``shape``, or
    None. Iterative: a document nested deeper than Python's stack is no crash."""
    stack: list[tuple[Any, Any, str]] = [(value, shape, "")]
    while stack:
        item, expected, key = stack.pop()
        if not _matches(item, expected):
            return key, f"is {_name(type(item), lang)}, but must be {describe(expected, lang)}"
        if isinstance(item, str) and CONTROL.search(item) and not _is_text(expected):
            return key, f"holds a control character ({item!r}), which no name or command does"
        if isinstance(expected, Either):
            # The first alternative the value matches describes its items.
            expected = next(s for s in expected.shapes if _matches(item, s))
        if isinstance(expected, list) and isinstance(item, list):
            stack.extend(
                (child, expected[0], _join(key, i)) for i, child in reversed(list(enumerate(item)))
            )
        elif isinstance(expected, dict) and isinstance(item, dict):
            children = []
            for name, child in item.items():
                inner = expected.get("*", expected.get(name)) if isinstance(name, str) else None
                if inner is not None:
                    children.append((child, inner, _join(key, str(name))))
            stack.extend(reversed(children))
    return None


# --- the shapes of the files dockerize-ml reads -------------------------------------------

_STRINGS = [str]
_POETRY_TABLE = {
    "version": str,
    "path": str,
    "git": str,
    "tag": str,
    "rev": str,
    "branch": str,
    "subdirectory": str,
    "extras": _STRINGS,
    "markers": str,
    "python": str,
    "optional": bool,
    "develop": bool,
}
_POETRY_DEPENDENCY = Either(str, _POETRY_TABLE, [Either(str, _POETRY_TABLE)])
_UV_SOURCE = {
    "git": str,
    "tag": str,
    "rev": str,
    "branch": str,
    "subdirectory": str,
    "url": str,
    "path": str,
    "editable": bool,
    "workspace": bool,
}

#: pyproject.toml: PEP 621 and 735, the build system, Poetry, uv, setuptools, our own table.
PYPROJECT = {
    "project": {
        "name": str,
        "dependencies": _STRINGS,
        "optional-dependencies": {"*": _STRINGS},
        "dynamic": _STRINGS,
        "requires-python": str,
        "scripts": {"*": str},
        "readme": Either(str, dict),
    },
    "dependency-groups": {"*": [Either(str, {"include-group": str})]},
    "build-system": {"requires": _STRINGS, "build-backend": str},
    "tool": {
        "poetry": {
            "name": str,
            "package-mode": bool,
            "dependencies": {"*": _POETRY_DEPENDENCY},
            "extras": {"*": _STRINGS},
            "group": {"*": {"dependencies": {"*": _POETRY_DEPENDENCY}}},
            "scripts": {"*": Either(str, dict)},
        },
        "uv": {
            "package": bool,
            "sources": {"*": Either(_UV_SOURCE, [_UV_SOURCE])},
            "workspace": {"members": _STRINGS},
        },
        "setuptools": {"dynamic": {"dependencies": {"file": Either(str, _STRINGS)}}},
        "dockerize-ml": dict,
    },
}

_PIPFILE_PACKAGE = Either(
    str,
    {
        "version": str,
        "path": str,
        "editable": bool,
        "extras": _STRINGS,
        "git": str,
        "ref": str,
        "markers": str,
    },
)
#: Pipfile (TOML).
PIPFILE = {
    "packages": {"*": _PIPFILE_PACKAGE},
    "dev-packages": {"*": _PIPFILE_PACKAGE},
    "requires": {"python_version": str, "python_full_version": str},
    "source": [dict],
}

#: Pipfile.lock (JSON).
PIPFILE_LOCK = {"_meta": dict, "default": {"*": {"version": str}}, "develop": {"*": dict}}

#: uv.lock, poetry.lock and pdm.lock (TOML): the packages they pin.
LOCK = {"package": [{"name": str, "version": str}]}

_SCALAR = (str, int, float)
#: conda environment files (YAML).
CONDA = {
    "name": _SCALAR,
    "channels": Either(type(None), [str]),
    "dependencies": [Either(_SCALAR, {"pip": [_SCALAR]})],
}

#: MLproject (YAML): its entry points.
MLPROJECT = {
    "entry_points": {
        "*": {
            "command": _SCALAR,
            "parameters": Either(type(None), {"*": Either(_SCALAR, {"default": object})}),
        }
    }
}

#: A Jupyter notebook (JSON): its cells.
NOTEBOOK = {"cells": [{"cell_type": str, "source": Either(TEXT, [TEXT])}]}

"""Reading project files out of the scan, with errors that name the file and line.

Every structured file (TOML, JSON, YAML) is parsed here, within limits that keep a hostile or
broken file from costing more than a fraction of a second: a nesting depth
(:data:`MAX_DEPTH`), and for YAML a size (:data:`MAX_YAML_BYTES`) and a cap on what aliases
may add (:data:`MAX_YAML_ALIASES`, :data:`MAX_YAML_EXPANSION`: a 1 KB "billion laughs" file
expands to gigabytes). A file past a limit is an :class:`InvalidProjectFileError` naming it,
as is one whose values have the wrong types (:mod:`dockerize_ml.detect.shapes`).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from dockerize_ml.detect import shapes
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.scan import MAX_READ_BYTES, Scan

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Arrays and tables inside each other: no project file nests more than a dozen deep.
MAX_DEPTH = 64
#: YAML is parsed in pure Python (about 0.3 MB/s); conda environment files and MLproject
#: files are a few KiB.
MAX_YAML_BYTES = 256 * 1024
#: Aliases (``*name``) in one YAML file, and the nodes they may add when expanded.
MAX_YAML_ALIASES = 100
MAX_YAML_EXPANSION = 10_000

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def _too_deep(rel: str) -> InvalidProjectFileError:
    return InvalidProjectFileError(
        f"{rel}: nested more than {MAX_DEPTH} levels deep (arrays or tables inside each "
        "other); no project file is",
        f"fix {rel}, then run again",
    )


def check_depth(value: Any, rel: str) -> None:
    """Refuse a document nested deeper than :data:`MAX_DEPTH` (iteratively: the readers
    downstream never meet a structure that would exhaust Python's stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise _too_deep(rel)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def require_text(scan: Scan, rel: str, limit: int | None = None) -> str:
    """The text of a project file the image needs; an error naming it when it cannot be
    read (too large, binary, not UTF-8)."""
    text = scan.read_text(rel, limit)
    if text is not None:
        return text
    problem = scan.problem(rel) or "cannot be read"
    if problem.startswith("larger"):
        hint = f"a {rel} this large is not one the project's tools wrote; trim it"
    elif problem.startswith("cannot be read"):
        hint = f"make {rel} readable, then run again"
    else:
        hint = f"save {rel} as UTF-8 text, then run again"
    raise InvalidProjectFileError(f"{rel}: {problem}", hint)


def read_toml(scan: Scan, rel: str, shape: Any = None) -> dict[str, Any] | None:
    """Parse ``rel`` as TOML; None when the file is absent.

    Raises :class:`InvalidProjectFileError` naming the file and line when it is not valid TOML,
    cannot be read, or (with ``shape``) holds a value of the wrong type.
    """
    if rel not in scan.files:
        return None
    return parse_toml(rel, require_text(scan, rel), shape)


def parse_toml(rel: str, text: str, shape: Any = None) -> dict[str, Any]:
    """Parse TOML text, within the limits; an error names the file and line."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        where = f"{rel}:{match.group(1)}" if match else rel
        reason = _TOML_POSITION.sub("", str(exc)).strip()
        raise InvalidProjectFileError(
            f"{where}: not valid TOML: {reason}",
            f"fix {rel} (a TOML checker such as `python -m tomllib` helps), then run again",
        ) from None
    except RecursionError:
        raise _too_deep(rel) from None
    check_depth(doc, rel)
    if shape is not None:
        shapes.check(doc, shape, rel, text=text)
    return doc


def parse_json(rel: str, text: str, shape: Any = None) -> Any:
    """Parse JSON text, within the limits; an error names the file and line."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidProjectFileError(
            f"{rel}:{exc.lineno}: not valid JSON: {exc.msg}", f"fix or regenerate {rel}"
        ) from None
    except RecursionError:
        raise _too_deep(rel) from None
    check_depth(doc, rel)
    if shape is not None:
        shapes.check(doc, shape, rel, text=text, lang="json")
    return doc


class _YamlLimit(Exception):
    """A YAML file past one of the limits."""


class _LimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, which refuses deep nesting and too many aliases while it
    composes (before anything is built)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise _YamlLimit(f"more than {MAX_YAML_ALIASES} aliases (*name)")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _YamlLimit(f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expansion(root: yaml.Node) -> int:
    """How many nodes the document has once every alias is expanded, minus those written:
    counted over the node graph (each node once), never by expanding it."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            visiting.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            continue
        if id(node) in sizes:
            continue
        if id(node) in visiting:
            raise _YamlLimit("an alias refers to the list or mapping that holds it")
        visiting.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)] - len(sizes)


def _check_expansion(node: yaml.Node | None) -> None:
    if node is not None and _expansion(node) > MAX_YAML_EXPANSION:
        raise _YamlLimit(
            f"its aliases expand to more than {MAX_YAML_EXPANSION} nodes (a YAML alias bomb?)"
        )


def parse_yaml(rel: str, text: str, shape: Any = None) -> Any:
    """Parse YAML text safely and within the limits; an error names the file and line."""
    if len(text) > MAX_YAML_BYTES:
        raise InvalidProjectFileError(
            f"{rel}: {len(text) // 1024} KiB, larger than the {MAX_YAML_BYTES // 1024} KiB "
            "dockerize-ml reads as YAML",
            f"a {rel} this large is not one the project's tools wrote; trim it",
        )
    loader: _LimitedLoader | None = None
    try:
        loader = _LimitedLoader(text)  # its reader refuses control characters at once
        node = loader.get_single_node()
        _check_expansion(node)
        doc = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{rel}:{mark.line + 1}" if mark is not None else rel
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidProjectFileError(
            f"{where}: not valid YAML: {problem}", f"fix {rel}, then run again"
        ) from None
    except _YamlLimit as exc:
        raise InvalidProjectFileError(f"{rel}: {exc}", f"fix {rel}, then run again") from None
    except RecursionError:  # pragma: no cover - the depth limit comes first
        raise _too_deep(rel) from None
    finally:
        if loader is not None:
            loader.dispose()
    if shape is not None:
        shapes.check(doc, shape, rel, text=text, lang="yaml")
    return doc


def repository_root(root: Path) -> Path | None:
    """The git repository that holds the project folder (its own or an enclosing one)."""
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            return folder
    return None


def read_toml_file(path: Path, shape: Any = None) -> dict[str, Any] | None:
    """A TOML file outside the scan (a workspace's root), or None when it is missing,
    unreadable, too large, not valid TOML or (with ``shape``) of the wrong shape."""
    try:
        if path.stat().st_size > MAX_READ_BYTES:
            return None
        return parse_toml(str(path), path.read_text(encoding="utf-8"), shape)
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

"""What every server detector shares: the facts they fill, the server rows of
``knowledge/frameworks.toml``, the module a file is imported as, and which file most likely
holds the app."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dockerize_ml import knowledge
from dockerize_ml.detect.code import SourceFile
from dockerize_ml.detect.servers.binds import Bind, dotted, last
from dockerize_ml.profile import EntryPoint, Evidence

#: Files most likely to hold the app, best first, when several do.
_APP_FILES = ("app", "main", "api", "server", "serve", "service", "wsgi", "asgi")


@dataclass
class ServerFacts:
    """Entry points found in the code and project files, and the ports they use."""

    first: list[EntryPoint] = field(default_factory=list)  # MLproject, Procfile
    servers: list[EntryPoint] = field(default_factory=list)
    last: list[EntryPoint] = field(default_factory=list)  # notebook-only repositories
    ports: dict[int, Evidence] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: Files whose own server call listens where the container can reach it when the file
    #: is run as a script (host 0.0.0.0, or an option that sets it), with that call.
    self_runs: dict[str, Bind] = field(default_factory=dict)


def module_of(path: str) -> tuple[str, str]:
    """``src/pkg/api.py`` -> (``pkg.api``, ``src``): the module and the folder it imports from."""
    parts = path.removesuffix(".py").split("/")
    app_dir = ""
    if parts[0] == "src" and len(parts) > 1:
        parts, app_dir = parts[1:], "src"
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts), app_dir


def server_row(kind: str) -> dict[str, Any]:
    """A server's defaults (port, health path, what its command needs): frameworks.toml."""
    row: dict[str, Any] = knowledge.load("frameworks")["servers"][kind]
    return row


def on_defaults(
    kind: str,
    command: Iterable[str],
    evidence: Evidence,
    env: tuple[tuple[str, str], ...] = (),
) -> EntryPoint:
    """An entry point of ``kind`` served on its row's port and health path, with the
    distributions its command needs (BentoML, Ray Serve, JupyterLab)."""
    row = server_row(kind)
    return EntryPoint(
        kind,
        tuple(command),
        (evidence,),
        row["port"],
        row["health"],
        requires=tuple(row["requires"]),
        env=env,
    )


def decorated(source: SourceFile, decorator: str) -> list[tuple[str, int]]:
    """Module-level classes (and functions) decorated with ``decorator`` (its last dotted
    part: ``service`` for ``@bentoml.service(...)``), with their lines."""
    found: list[tuple[str, int]] = []
    if decorator not in source.text:
        return found  # the name is written where it decorates: no tree to walk
    for node in source.tree.body if source.tree else ():
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and any(
            last(dotted(d)) == decorator for d in node.decorator_list
        ):
            found.append((node.name, node.lineno))
    return found


def imports_module(source: SourceFile, module: str) -> bool:
    """Whether the file imports ``module`` or one of its submodules."""
    if module.partition(".")[0] not in source.packages:
        return False
    return any(i.module == module or i.module.startswith(module + ".") for i in source.imports)


def rank_file(path: str) -> tuple[int, int, str]:
    """The file most likely to hold the app first: best named, then nearest the root."""
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    depth = path.count("/")
    return (_APP_FILES.index(stem) if stem in _APP_FILES else len(_APP_FILES), depth, path)

"""One parse of the project's code: Python files and the code cells of notebooks.

Every code-reading detector (imports, servers, ports, programs run, runtime files, GPU use)
reads this index instead of parsing again. A file that does not parse is a warning with its
path; the rest of the project is still read.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any, NamedTuple, TypeGuard

from dockerize_ml import knowledge
from dockerize_ml.detect import shapes
from dockerize_ml.detect.files import check_depth
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.names import GENERATED
from dockerize_ml.scan import Scan

#: Notebooks can carry megabytes of outputs; they are read up to this size, outputs dropped.
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024

_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


# Import, Call and Literal are named tuples, not dataclasses: a large repository has a hundred
# thousand of them, and a tuple is built in a third of the time (docs/benchmarks.md).


class Import(NamedTuple):
    """``import a.b`` or ``from a.b import c``: the module, where, and whether optional."""

    module: str
    path: str
    line: int
    optional: bool = False
    level: int = 0  # > 0 for relative imports
    cell: int = 0  # notebook cell (1-based), 0 for .py files


class Call(NamedTuple):
    """A call whose callee is a plain or dotted name, with its literal arguments."""

    func: str  # as written: "subprocess.run", "FastAPI", "app.run"
    args: tuple[object, ...]  # literal values (str, int, list of str) or None
    kwargs: tuple[tuple[str, object], ...]
    path: str
    line: int
    assigned_to: str = ""  # `app = FastAPI()` at module level -> "app"
    cell: int = 0

    def kwarg(self, name: str) -> object:
        """A keyword argument's literal value, or None."""
        return dict(self.kwargs).get(name)


class Literal(NamedTuple):
    """A string literal, or a path joined from literals (``os.path.join``, ``Path / "x"``)."""

    value: str
    path: str
    line: int
    cell: int = 0


@dataclass
class Nodes:
    """What the parse of one module keeps for the detectors that follow names and
    definitions (an app factory, a decorated class, an argparse default): the tree, every
    call node (so that detectors looking for one do not walk the tree again: a walk of every
    tree costs as much as the parse), and the classes decorated ``@dataclass``, by name."""

    tree: ast.Module
    call_nodes: list[ast.Call] = field(default_factory=list)
    dataclasses: dict[str, ast.ClassDef] = field(default_factory=dict)


@dataclass
class SourceFile:
    """What one .py file or notebook holds."""

    path: str
    text: str
    imports: list[Import] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    literals: list[Literal] = field(default_factory=list)
    #: Distributions a notebook installs itself (`!pip install x`, `%pip install x`).
    pip_installs: list[tuple[str, int, int]] = field(default_factory=list)
    notebook: bool = False
    #: A .py file that parsed and was read by the visitor: it has a :attr:`tree`.
    analysed: bool = False
    #: Of the parsed module (.py files only), from the same pass: each import's local name
    #: -> the dotted module or object it stands for (``np`` -> ``numpy``), every outermost
    #: chain of names with its line (``torch._six.container_abcs``), and the classes
    #: decorated ``@dataclass``, by name; ``imported``: each ``from a import b`` as ``a.b``
    #: with its line. The removed-API detector reads them (apis.py).
    aliases: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    chains: list[tuple[str, int]] = field(default_factory=list, repr=False, compare=False)
    imported: list[tuple[str, int]] = field(default_factory=list, repr=False, compare=False)
    dataclass_names: list[str] = field(default_factory=list, repr=False, compare=False)
    #: The parse's nodes, when this process parsed the file; a file parsed by a worker of
    #: :func:`build_index` sent back its facts only and is parsed again here on demand.
    nodes: Nodes | None = field(default=None, repr=False, compare=False)

    @cached_property
    def packages(self) -> frozenset[str]:
        """The first part of every module the file imports (``os`` for ``import os.path``;
        ``gradio`` for ``from .gradio import demo`` too, as the detectors that ask read
        imports): a quick answer to whether it can import something of a package."""
        return frozenset(i.module.partition(".")[0] for i in self.imports)

    def _nodes(self) -> Nodes | None:
        if not self.analysed:
            return None
        if self.nodes is None:  # parsed in a worker: the few files a detector walks, again
            scratch = SourceFile(self.path, self.text)
            _parse(scratch, self.text, 0, [])
            self.nodes = scratch.nodes or Nodes(ast.Module(body=[], type_ignores=[]))
        return self.nodes

    @property
    def tree(self) -> ast.Module | None:
        """The parsed module (.py files only)."""
        nodes = self._nodes()
        return nodes.tree if nodes is not None else None

    @property
    def call_nodes(self) -> list[ast.Call]:
        nodes = self._nodes()
        return nodes.call_nodes if nodes is not None else []

    @property
    def dataclasses(self) -> dict[str, ast.ClassDef]:
        nodes = self._nodes() if self.dataclass_names else None
        return nodes.dataclasses if nodes is not None else {}


@dataclass
class CodeIndex:
    """Every parsed source file, by path."""

    files: dict[str, SourceFile] = field(default_factory=dict)

    def imports(self) -> list[Import]:
        return [i for f in self.files.values() for i in f.imports]

    def calls(self) -> list[Call]:
        return [c for f in self.files.values() for c in f.calls]

    def literals(self) -> list[Literal]:
        return [lit for f in self.files.values() for lit in f.literals]


@cache
def _dev_files() -> re.Pattern[str]:
    """The ``dev_files`` globs as one expression (fnmatch's own translation of each)."""
    globs = knowledge.load("layout")["code"]["dev_files"]
    return re.compile("|".join(fnmatch.translate(g) for g in globs))


def dev_file(path: str) -> bool:
    """Tests, docs, setup.py: files that build or check the project, not what it runs (the
    layout table's ``dev_files`` globs, matched as fnmatch.fnmatchcase does)."""
    return _dev_files().match(path) is not None


def _literal(node: ast.AST) -> object:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool)):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        # Items that are not literals stay as None: ["ffmpeg", "-i", str(src)] still names
        # the program it runs.
        return [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
    return None


def dotted_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


#: Stands for the folder of the file whose code builds a path from ``__file__``.
HERE = "<here>"
_SAME_PATH = ("os.path.abspath", "os.path.realpath", "os.path.normpath", "str", "os.fspath")


def _parent(path: str) -> str:
    head, _, tail = path.rpartition("/")
    if head and tail not in ("..", HERE):
        return head
    return f"{path}/.."


def _joined(node: ast.AST, names: dict[str, str] | None = None) -> str | None:
    """A path built only from literals: ``Path("a") / "b"``, ``os.path.join("a", "b")``, or
    from the file's own place: ``Path(__file__).resolve().parents[1] / "models"``,
    ``os.path.join(os.path.dirname(__file__), "model.pkl")`` (``<here>/../models``); ``names``
    are paths assigned to variables earlier (``BASE_DIR = Path(__file__).parent``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return f"{HERE}/__file__" if node.id == "__file__" else (names or {}).get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _joined(node.left, names), _joined(node.right, names)
        return f"{left}/{right}" if left is not None and right is not None else None
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        inner = _joined(node.value, names)
        return _parent(inner) if inner is not None and inner.startswith(HERE) else None
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "parents"
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, int)
    ):
        inner = _joined(node.value.value, names)
        if inner is None or not inner.startswith(HERE):
            return None
        for _ in range(node.slice.value + 1):
            inner = _parent(inner)
        return inner
    if isinstance(node, ast.Call):
        func = dotted_name(node.func)
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("resolve", "absolute"):
            inner = _joined(node.func.value, names)
            return inner if inner is not None and inner.startswith(HERE) else None
        if func in ("Path", "pathlib.Path", "os.path.join", "PurePath") and node.args:
            parts = [_joined(a, names) for a in node.args]
            if all(p is not None for p in parts):
                return "/".join(p for p in parts if p is not None)
        if len(node.args) == 1 and func in ("os.path.dirname", *_SAME_PATH):
            inner = _joined(node.args[0], names)
            if inner is None or not inner.startswith(HERE):
                return None
            return _parent(inner) if func == "os.path.dirname" else inner
    return None


#: Nodes with nothing below them worth a visit: names, contexts, operators.
_LEAVES = (ast.Name, ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


class _Visitor(ast.NodeVisitor):
    """One pass over a module. ``visit`` and ``generic_visit`` are ast.NodeVisitor's, made
    cheaper (a dispatch table instead of a name lookup per node; leaves not entered): the
    walk is most of the time ``detect`` takes on a large repository (docs/benchmarks.md)."""

    def visit(self, node: ast.AST) -> None:
        handler = _DISPATCH.get(type(node))
        if handler is not None:
            handler(self, node)
        elif not isinstance(node, _LEAVES):
            self.generic_visit(node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def __init__(self, source: SourceFile, cell: int, nodes: Nodes) -> None:
        self.source = source
        self.nodes = nodes
        self.cell = cell
        self.optional = 0  # depth of try/except ImportError and `if TYPE_CHECKING`
        self.depth = 0  # function/class nesting
        self.paths: dict[str, str] = {}  # variables holding paths (literal or from __file__)

    def _import(self, module: str, node: ast.stmt, level: int = 0) -> None:
        self.source.imports.append(
            Import(module, self.source.path, node.lineno, self.optional > 0, level, self.cell)
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._import(alias.name, node)
            if not self.cell:
                top = alias.name.split(".")[0]
                self.source.aliases[alias.asname or top] = alias.name if alias.asname else top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self._import(node.module or "", node, node.level)
        elif node.module:
            self._import(node.module, node)
            if not self.cell:
                for alias in node.names:
                    dotted = f"{node.module}.{alias.name}"
                    self.source.aliases[alias.asname or alias.name] = dotted
                    self.source.imported.append((dotted, node.lineno))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = dotted_name(node)
        if not dotted:  # `load().weights`, `x[0].shape`: what is below is worth a visit
            self.visit(node.value)
        elif not self.cell:
            self.source.chains.append((dotted, node.lineno))

    def visit_Try(self, node: ast.Try) -> None:
        guarded = any(
            h.type is None
            or dotted_name(h.type) in _IMPORT_ERRORS
            or (
                isinstance(h.type, ast.Tuple)
                and any(dotted_name(e) in _IMPORT_ERRORS for e in h.type.elts)
            )
            for h in node.handlers
        )
        self.optional += guarded
        for stmt in node.body:
            self.visit(stmt)
        self.optional -= guarded
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    visit_TryStar = visit_Try  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        checking = dotted_name(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        self.optional += checking
        for stmt in node.body:
            self.visit(stmt)
        self.optional -= checking
        for stmt in node.orelse:
            self.visit(stmt)
        self.visit(node.test)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not self.cell:
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if dotted_name(target).split(".")[-1] == "dataclass":
                    self.nodes.dataclasses[node.name] = node
        self.visit_FunctionDef(node)  # type: ignore[arg-type]

    def visit_Assign(self, node: ast.Assign) -> None:
        target = node.targets[0] if len(node.targets) == 1 else None
        joined = _joined(node.value, self.paths)
        if joined is not None and isinstance(target, ast.Name):
            self.paths[target.id] = joined  # BASE_DIR = Path(__file__).resolve().parent
            if "/" in joined and not isinstance(node.value, ast.Constant):
                self.source.literals.append(
                    Literal(joined, self.source.path, node.lineno, self.cell)
                )
        if isinstance(node.value, ast.Call) and isinstance(target, ast.Name) and self.depth == 0:
            self._call(node.value, target.id)
            for part in (*node.value.args, *(k.value for k in node.value.keywords)):
                self.visit(part)
            self.visit(node.value.func)
            return
        self.generic_visit(node)

    def _call(self, node: ast.Call, assigned_to: str = "") -> None:
        if not self.cell:
            self.nodes.call_nodes.append(node)
        func = dotted_name(node.func)
        if not func and isinstance(node.func, ast.Attribute):
            func = f".{node.func.attr}"  # a method of an expression: gr.Interface(...).launch()
        if not func:
            return
        self.source.calls.append(
            Call(
                func,
                tuple(_literal(a) for a in node.args),
                tuple((k.arg, _literal(k.value)) for k in node.keywords if k.arg),
                self.source.path,
                node.lineno,
                assigned_to,
                self.cell,
            )
        )

    def visit_Call(self, node: ast.Call) -> None:
        self._call(node)
        joined = _joined(node, self.paths)
        if joined is not None and "/" in joined:
            self.source.literals.append(Literal(joined, self.source.path, node.lineno, self.cell))
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        joined = _joined(node, self.paths)
        if joined is not None:
            self.source.literals.append(Literal(joined, self.source.path, node.lineno, self.cell))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, str) and 0 < len(value) < 300 and "\n" not in value:
            self.source.literals.append(Literal(value, self.source.path, node.lineno, self.cell))


#: Node type -> the visitor's handler for it (``visit_<Type>``, as ast.NodeVisitor names them).
_DISPATCH: dict[type[ast.AST], Callable[[_Visitor, Any], None]] = {
    getattr(ast, name[len("visit_") :]): getattr(_Visitor, name)
    for name in dir(_Visitor)
    if name.startswith("visit_") and hasattr(ast, name[len("visit_") :])
}


def _parse(source: SourceFile, text: str, cell: int, warnings: list[str]) -> None:
    try:
        tree = ast.parse(text, filename=source.path)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", 0) or 0
        where = f"{source.path}:{line}" + (f" (cell {cell})" if cell else "")
        warnings.append(f"{where}: syntax error, not analysed")
        return
    except (RecursionError, MemoryError):  # CPython's parser gives up on deep nesting
        tree = None
    try:
        if tree is not None:
            nodes = Nodes(tree)
            _Visitor(source, cell, nodes).visit(tree)
            if not cell:
                source.analysed = True
                source.nodes = nodes
                source.dataclass_names = list(nodes.dataclasses)
            return
    except RecursionError:
        pass
    where = source.path + (f" (cell {cell})" if cell else "")
    warnings.append(f"{where}: nested too deeply to analyse; not analysed")


def _cell_code(lines: list[str], source: SourceFile, cell: int) -> str:
    """A code cell as Python: IPython magics and shell lines blanked, `!pip install` noted."""
    if lines and lines[0].lstrip().startswith("%%"):
        return ""  # a cell magic (%%bash, %%writefile): not Python
    kept: list[str] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith(("!", "%")):
            words = stripped.lstrip("!%").split()
            if words[:2] in (["pip", "install"], ["pip3", "install"]) or words[:4] == [
                "python",
                "-m",
                "pip",
                "install",
            ]:
                start = 4 if words[0] == "python" else 2
                try:  # a trailing `# comment` is the shell's, not pip's
                    args = shlex.split(" ".join(words[start:]), comments=True)
                except ValueError:
                    rest = words[start:]
                    args = rest[: rest.index("#")] if "#" in rest else rest
                skip = False
                for arg in args:
                    if skip:
                        skip = False
                        continue
                    if arg in ("-r", "-c", "-e", "--index-url", "-i", "--extra-index-url"):
                        skip = True
                        continue
                    if not arg.startswith("-"):
                        source.pip_installs.append((arg, number, cell))
            indent = line[: len(line) - len(line.lstrip())]
            kept.append(f"{indent}pass")
        else:
            kept.append(line.rstrip("\n"))
    return "\n".join(kept)


def _notebook(scan: Scan, rel: str, warnings: list[str]) -> SourceFile | None:
    text = scan.read_text(rel, limit=MAX_NOTEBOOK_BYTES)
    if text is None:
        return None
    try:
        data = json.loads(text)
        check_depth(data, rel)
    except json.JSONDecodeError as exc:
        warnings.append(f"{rel}:{exc.lineno}: not a valid notebook (JSON: {exc.msg}); skipped")
        return None
    except (RecursionError, InvalidProjectFileError):
        warnings.append(f"{rel}: not a notebook (nested too deep to be one); skipped")
        return None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        warnings.append(f"{rel}: not a notebook (no cells); skipped")
        return None
    problem = shapes.find(data, shapes.NOTEBOOK, "json")
    if problem is not None:
        warnings.append(f"{rel}: not a valid notebook ({' '.join(problem)}); skipped")
        return None
    source = SourceFile(rel, "", notebook=True)
    code_parts: list[str] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        raw = cell.get("source", [])
        lines = raw.splitlines(keepends=True) if isinstance(raw, str) else [str(s) for s in raw]
        code = _cell_code("".join(lines).splitlines(), source, number)
        code_parts.append(code)
        _parse(source, code, number, warnings)
    source.text = "\n".join(code_parts)
    return source


#: How the Python files dockerize-ml generates start (render.MARKER, after "# ").


#: From this many modules on, the index is built by several processes where the platform
#: forks: below it, starting a worker costs more than it saves (docs/benchmarks.md).
PARALLEL_FROM = 2000

#: What a forked worker reads and parses: set before the fork, read by the worker's copy.
_SHARED: list[tuple[Scan, list[str]]] = []


#: At most this many workers: beyond it the batches are too few for more to pay.
MAX_WORKERS = 8


def workers() -> int:
    """How many processes may parse: the CPUs this process may use (its affinity, and its
    cgroup's CPU quota in a container: ``--cpus=2`` on a 64-core host is 2), at most
    :data:`MAX_WORKERS`; 1 where the platform does not fork cheaply (only Linux does) or in
    a daemonic process (a multiprocessing worker may not have children). Whether another
    thread runs, which forbids a fork whatever ``jobs`` says, :func:`build_index` asks."""
    import multiprocessing  # noqa: PLC0415 (asked only of large projects)

    if not sys.platform.startswith("linux"):
        return 1
    if multiprocessing.current_process().daemon:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _cpu_quota() or cpus, MAX_WORKERS))


def _cpu_quota() -> int:
    """The CPUs a cgroup v2 quota allows (``cpu.max``: "200000 100000" is 2), 0 for none."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return -(-int(quota) // int(period)) if quota != "max" else 0
    except (OSError, ValueError):
        return 0


def build_index(scan: Scan, jobs: int | None = None) -> CodeIndex:
    """Read and parse every walked .py file and notebook once; on a large project, in
    ``jobs`` processes (:func:`workers` by default): each worker reads and parses its share
    and sends back the texts and their facts (imports, calls, literals, names), never the
    trees, which would cost more to send than to parse; a detector that walks a tree parses
    that file again (:class:`SourceFile`). The same index and warnings either way, in the
    same order (each module's read warning, then its parse warnings)."""
    paths = scan.glob(".py")
    index = CodeIndex()
    # A fork copies only the calling thread: with another one running, no worker.
    parallel = len(paths) >= PARALLEL_FROM and threading.active_count() == 1
    jobs = (workers() if jobs is None else jobs) if parallel else 1
    if jobs <= 1 or not _in_parallel(scan, paths, jobs, index):
        for rel in paths:
            _add(scan, index, rel, scan.read_text(rel))
    for rel in scan.glob(".ipynb"):
        notebook = _notebook(scan, rel, scan.warnings)
        if notebook is not None:
            index.files[rel] = notebook
    return index


def _add(scan: Scan, index: CodeIndex, rel: str, text: str | None, keep: bool = True) -> None:
    """One module read here into the index, its parse warnings after its read's."""
    if _project_code(text):
        source, warnings = _one(rel, text)
        if not keep:
            source.nodes = None  # parsed again on demand, like the workers' modules
        scan.warnings.extend(warnings)
        index.files[rel] = source


def _project_code(text: str | None) -> TypeGuard[str]:
    """Whether a module's text is the project's code: read, and not one of dockerize-ml's
    own entry points (docker/platform/)."""
    return text is not None and not text.startswith(GENERATED)


def _one(rel: str, text: str) -> tuple[SourceFile, list[str]]:
    source = SourceFile(rel, text)
    warnings: list[str] = []
    _parse(source, text, 0, warnings)
    return source, warnings


#: One module's facts as plain tuples, which pickle several times faster than dataclasses:
#: (path, imports, calls, literals, aliases, chains, imported, dataclass names, analysed,
#: warnings); imports, calls and literals without their path (the module's).
_Packed = tuple[
    str,
    list[tuple[str, int, bool, int, int]],
    list[tuple[str, tuple[object, ...], tuple[tuple[str, object], ...], int, str, int]],
    list[tuple[str, int, int]],
    dict[str, str],
    list[tuple[str, int]],
    list[tuple[str, int]],
    list[str],
    bool,
    list[str],
]


_Read = tuple[str, str | None, str, list[str]]


def _packed(start: int, stop: int) -> list[tuple[_Read, _Packed | None]]:
    """In a worker: each module of its share read (:meth:`Scan.read_elsewhere`) and, when it
    is the project's code, its facts."""
    scan, paths = _SHARED[0]
    found: list[tuple[_Read, _Packed | None]] = []
    for rel in paths[start:stop]:
        read = scan.read_elsewhere(rel)
        text = read[1]
        if not _project_code(text):
            found.append((read, None))
            continue
        source, warnings = _one(rel, text)
        packed: _Packed = (
            rel,
            [(i.module, i.line, i.optional, i.level, i.cell) for i in source.imports],
            [(c.func, c.args, c.kwargs, c.line, c.assigned_to, c.cell) for c in source.calls],
            [(lit.value, lit.line, lit.cell) for lit in source.literals],
            source.aliases,
            source.chains,
            source.imported,
            source.dataclass_names,
            source.analysed,
            warnings,
        )
        found.append((read, packed))
    return found


def _unpacked(packed: _Packed, text: str) -> tuple[SourceFile, list[str]]:
    rel, imports, calls, literals, aliases, chains, imported, names, analysed, warnings = packed
    source = SourceFile(
        rel,
        text,
        [Import(m, rel, line, optional, level, cell) for m, line, optional, level, cell in imports],
        [Call(f, a, k, rel, line, to, cell) for f, a, k, line, to, cell in calls],
        [Literal(value, rel, line, cell) for value, line, cell in literals],
        analysed=analysed,
        aliases=aliases,
        chains=chains,
        imported=imported,
        dataclass_names=names,
    )
    return source, warnings


#: This process's share of the modules, against a worker's 1 (with two processes, 45 of
#: 100): it also takes in what the workers send.
_OWN = 0.9

#: Modules a worker parses before it sends their facts: this process reads one batch while
#: the workers parse the next.
_BATCH = 250


def _in_parallel(scan: Scan, paths: list[str], jobs: int, index: CodeIndex) -> bool:
    """The modules read and parsed by ``jobs`` processes into ``index``, this one among
    them: it takes a smaller first share (it also takes in what the workers send) and keeps
    no trees either, which parses faster. False when the workers cannot be started (then
    this process does it all). A worker that dies (killed for memory) leaves its batches to
    this process; an interrupt (Ctrl-C) stops the workers at once, then goes on up."""
    # Imported here (12 ms): most projects are below PARALLEL_FROM, and every command
    # imports this module.
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    own = int(len(paths) * _OWN / jobs)
    batches = [(start, start + _BATCH) for start in range(own, len(paths), _BATCH)]
    jobs = min(jobs, len(batches) + 1)
    _SHARED.append((scan, paths))
    pool = None
    try:
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(jobs - 1, mp_context=context, initializer=_worker_start)
        pending = [pool.submit(_batch, bounds) for bounds in batches]
    except Exception:  # no fork, no semaphores, a fork refused half-way: this process parses
        if pool is not None:
            _stop(pool)
        return False
    finally:
        _SHARED.clear()
    try:
        for rel in paths[:own]:
            _add(scan, index, rel, scan.read_text(rel), keep=False)
        for (start, stop), future in zip(batches, pending, strict=True):
            try:
                done = future.result()
            except BrokenProcessPool:
                for rel in paths[start:stop]:
                    _add(scan, index, rel, scan.read_text(rel))
                continue
            for read, packed in done:
                scan.remember(read)
                if packed is not None and read[1] is not None:
                    source, warnings = _unpacked(packed, read[1])
                    scan.warnings.extend(warnings)
                    index.files[source.path] = source
    except BaseException:
        _stop(pool)  # Ctrl-C, or a bug: no worker left parsing, nothing to wait for
        raise
    pool.shutdown()
    return True


def _worker_start() -> None:
    """A worker leaves Ctrl-C to the process that started it, which stops the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop(pool: Any) -> None:
    """Every worker of ``pool`` stopped now, its queued batches dropped."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(5)


def _batch(bounds: tuple[int, int]) -> list[tuple[_Read, _Packed | None]]:
    """A worker's task, sent by name: it finds :func:`_packed` in the worker's own copy of
    this module (a test replaces it there to slow or kill a worker)."""
    return _packed(*bounds)

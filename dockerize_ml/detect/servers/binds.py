"""Where a server listens: host and port read from the code.

A server call (``app.run``, ``demo.launch``, ``uvicorn.run``) is followed to the values it
passes: literals, the defaults of command-line options (argparse, click, typer), names bound
to literals and ``os.environ.get("PORT", 8080)``'s default. A script that sets up its app in
its ``__main__`` block before running it (:func:`self_run`) is run as its author runs it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from dockerize_ml.detect.code import SourceFile

_ANY_HOST = {"0.0.0.0", "::", ""}


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    if isinstance(node, ast.Call):
        return dotted(node.func)
    return ""


def last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def walk_calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _options(tree: ast.Module) -> dict[str, tuple[str, object]]:
    """Command-line options the file declares (argparse ``add_argument``, click/typer
    ``option``), by destination: the option string and its literal default (None when the
    default is not a literal or there is none)."""
    found: dict[str, tuple[str, object]] = {}
    for call in walk_calls(tree):
        if last(dotted(call.func)) not in ("add_argument", "option", "Option"):
            continue
        flags = [
            a.value
            for a in call.args
            if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value[:1] == "-"
        ]
        if not flags:
            continue
        kwargs = {k.arg: k.value for k in call.keywords if k.arg}
        flag = max(flags, key=len)
        dest_node = kwargs.get("dest")
        dest = (
            dest_node.value
            if isinstance(dest_node, ast.Constant) and isinstance(dest_node.value, str)
            else flag.lstrip("-").replace("-", "_")
        )
        default = kwargs.get("default")
        value = default.value if isinstance(default, ast.Constant) else None
        found.setdefault(dest, (flag, value))
    return found


def _assigned(tree: ast.Module) -> dict[str, object]:
    """Names bound to a literal anywhere in the file (``port = 80``), the first binding."""
    found: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, node.value.value)
    return found


def _value(tree: ast.Module, node: ast.AST | None) -> tuple[object, str]:
    """What an argument of a server call is: a literal, the default of a command-line option
    it reads (``args.port``, with the option string), a name bound to a literal (``port =
    80``), or ``int(os.environ.get("PORT", 8080))``'s default."""
    if node is None:
        return None, ""
    if isinstance(node, ast.Constant):
        return node.value, ""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        options = _options(tree)
        if node.attr in options:
            flag, default = options[node.attr]
            return default, flag
    if isinstance(node, ast.Name):
        return _assigned(tree).get(node.id), ""
    if isinstance(node, ast.Call):
        name = dotted(node.func)
        if name in ("int", "str") and node.args:
            return _value(tree, node.args[0])
        if last(name) in ("get", "getenv") and len(node.args) > 1:
            return _value(tree, node.args[1])
    return None, ""


@dataclass(frozen=True)
class Bind:
    """Where a server call (``app.run``, ``demo.launch``, ``uvicorn.run``) listens."""

    func: str
    line: int
    host: object = None
    host_flag: str = ""
    port: object = None
    port_flag: str = ""

    def port_or(self, default: int) -> int:
        """The port it listens on, ``default`` when the code does not say."""
        port = self.port
        return port if isinstance(port, int) and 0 < port < 65536 else default

    def flags(self, default: int) -> tuple[str, ...]:
        """The app's own command-line flags that make it listen on 0.0.0.0 and its port,
        when host or port come from options whose defaults would not (an environment
        variable cannot override an explicit argument)."""
        flags: list[str] = []
        if self.host_flag and self.host not in _ANY_HOST:
            flags += [self.host_flag, "0.0.0.0"]
        if self.port_flag and self.port_or(0) == 0:
            flags += [self.port_flag, str(default)]
        return tuple(flags)


_SERVER_CALLS = ("run", "launch", "serve", "run_server", "start_http_server")


def binds(source: SourceFile) -> list[Bind]:
    """Every server call in a file with the host and port it passes, followed to literals
    and command-line defaults."""
    # The index's calls name every call of the module (``.run`` for a method of an
    # expression): a file that calls no server function is not walked.
    if not any(last(c.func) in _SERVER_CALLS for c in source.calls if not c.cell):
        return []
    tree = source.tree
    if tree is None:
        return []
    found: list[Bind] = []
    for call in source.call_nodes:
        name = dotted(call.func) or (
            f".{call.func.attr}" if isinstance(call.func, ast.Attribute) else ""
        )
        if last(name) not in _SERVER_CALLS:
            continue
        kwargs = {k.arg: k.value for k in call.keywords if k.arg}
        host, host_flag = _value(tree, kwargs.get("host", kwargs.get("server_name")))
        port, port_flag = _value(tree, kwargs.get("port", kwargs.get("server_port")))
        found.append(Bind(name, call.lineno, host, host_flag, port, port_flag))
    return sorted(found, key=lambda b: b.line)


def _main_block(tree: ast.Module) -> ast.If | None:
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and dotted(node.test.left) == "__name__"
        ):
            return node
    return None


_PLUMBING = {"add_argument", "parse_args", "ArgumentParser", "run", "print", "basicConfig"}


def _does_setup(block: ast.If, runner: str) -> bool:
    """Does a ``__main__`` block do more than parse options and run the server (load a
    model, fill a registry)? Then serving the module by import would skip that."""

    def plumbing(stmt: ast.stmt) -> bool:
        if isinstance(stmt, ast.Try):
            return all(
                plumbing(s) for s in (*stmt.body, *(s for h in stmt.handlers for s in h.body))
            )
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if all(
                isinstance(t, ast.Name) and t.id in ("port", "host", "args", "parser")
                for t in targets
            ):
                return True
        calls = [last(dotted(c.func)) for c in walk_calls(stmt)]
        return bool(calls) and all(c in _PLUMBING or c == last(runner) for c in calls)

    return not all(plumbing(stmt) for stmt in block.body)


def self_run(source: SourceFile, runner: str) -> Bind | None:
    """The ``app.run(...)`` a Flask file calls in its ``__main__`` block after preparing what
    the app serves (loading a model), on a host the container can reach or set: then the
    script is the entry point, as its author runs it."""
    own = next((b for b in binds(source) if b.func == runner), None)
    block = _main_block(source.tree) if source.tree else None
    if own is None or block is None or own.line < block.lineno:
        return None
    reachable = own.host in ("0.0.0.0", "::") or bool(own.host_flag)
    return own if reachable and _does_setup(block, runner) else None

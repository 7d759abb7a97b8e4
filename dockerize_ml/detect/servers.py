"""App servers and other entry points found by reading the code and the project's files.

FastAPI/Starlette and Flask apps with their real ``module:app``, Django, Streamlit, Gradio,
MLflow ``MLproject`` entry points, ``Procfile`` processes and notebook-only repositories
(JupyterLab). Every command listens on 0.0.0.0 inside the container; code that binds a
loopback address is a warning.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name

from dockerize_ml import knowledge
from dockerize_ml.detect import shapes
from dockerize_ml.detect.code import Call, CodeIndex, SourceFile
from dockerize_ml.detect.files import line_of, parse_yaml
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.profile import EntryPoint, Evidence
from dockerize_ml.scan import Scan

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_ANY_HOST = {"0.0.0.0", "::", ""}
_HEALTH_PATHS = ("/health", "/healthz", "/ping", "/ready", "/status")
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


def _server(kind: str) -> dict[str, Any]:
    """A server's defaults (port, health path, what its command needs): frameworks.toml."""
    row: dict[str, Any] = knowledge.load("frameworks")["servers"][kind]
    return row


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _walk_calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _options(tree: ast.Module) -> dict[str, tuple[str, object]]:
    """Command-line options the file declares (argparse ``add_argument``, click/typer
    ``option``), by destination: the option string and its literal default (None when the
    default is not a literal or there is none)."""
    found: dict[str, tuple[str, object]] = {}
    for call in _walk_calls(tree):
        if _last(_dotted(call.func)) not in ("add_argument", "option", "Option"):
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
        name = _dotted(node.func)
        if name in ("int", "str") and node.args:
            return _value(tree, node.args[0])
        if _last(name) in ("get", "getenv") and len(node.args) > 1:
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
    tree = source.tree
    if tree is None:
        return []
    found: list[Bind] = []
    for call in source.call_nodes:
        name = _dotted(call.func) or (
            f".{call.func.attr}" if isinstance(call.func, ast.Attribute) else ""
        )
        if _last(name) not in _SERVER_CALLS:
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
            and _dotted(node.test.left) == "__name__"
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
        calls = [_last(_dotted(c.func)) for c in _walk_calls(stmt)]
        return bool(calls) and all(c in _PLUMBING or c == _last(runner) for c in calls)

    return not all(plumbing(stmt) for stmt in block.body)


_APP_CLASSES = ("FastAPI", "Starlette", "Flask")


def _factories(index: CodeIndex) -> dict[str, tuple[str, str, int]]:
    """App factories: module-level functions that build and return a FastAPI, Starlette or
    Flask app (``def create_app(): app = Flask(...); return app``), by name: the framework,
    the file and the line."""
    found: dict[str, tuple[str, str, int]] = {}
    for source in index.files.values():
        if not any(name in source.text for name in _APP_CLASSES):
            continue  # no app class named anywhere in the file: nothing to walk for
        for node in source.tree.body if source.tree else ():
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if not any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(node)):
                continue
            for call in _walk_calls(node):
                framework = _last(_dotted(call.func))
                if framework in _APP_CLASSES:
                    found.setdefault(node.name, (framework, source.path, node.lineno))
                    break
    return found


def _decorated(source: SourceFile, decorator: str) -> list[tuple[str, int]]:
    """Module-level classes (and functions) decorated with ``decorator`` (its last dotted
    part: ``service`` for ``@bentoml.service(...)``), with their lines."""
    found: list[tuple[str, int]] = []
    for node in source.tree.body if source.tree else ():
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and any(
            _last(_dotted(d)) == decorator for d in node.decorator_list
        ):
            found.append((node.name, node.lineno))
    return found


def _imports(source: SourceFile, module: str) -> bool:
    return any(i.module == module or i.module.startswith(module + ".") for i in source.imports)


def _rank_file(path: str) -> tuple[int, int, str]:
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    depth = path.count("/")
    return (_APP_FILES.index(stem) if stem in _APP_FILES else len(_APP_FILES), depth, path)


def _health(index: CodeIndex, path: str, default: str) -> str:
    source = index.files.get(path)
    literals = {lit.value for lit in source.literals} if source else set()
    return next((p for p in _HEALTH_PATHS if p in literals), default)


def _apps(index: CodeIndex) -> list[tuple[str, Call]]:
    """ASGI/WSGI apps, by framework: ``app = FastAPI()`` at module level, ``app =
    create_app()`` of a factory, or a factory that nothing calls (assigned_to ``f()``)."""
    factories = _factories(index)
    apps: list[tuple[str, Call]] = []
    called: set[str] = set()
    for call in index.calls():
        name = _last(call.func)
        if call.cell or not call.assigned_to:
            continue
        if name in ("FastAPI", "Starlette", "Flask"):
            apps.append((name, call))
        elif name in factories:
            apps.append((factories[name][0], call))
            called.add(name)
    for func, (framework, path, line) in factories.items():
        if func not in called and not any(c.path == path for _, c in apps):
            apps.append((framework, Call(func, (), (), path, line, f"{func}()")))
    # A FastAPI app that Ray Serve wraps (@serve.ingress) is served by `serve run`.
    wrapped = {
        s.path for s in index.files.values() if _decorated(s, "deployment") and _imports(s, "ray")
    }
    return sorted(
        ((n, c) for n, c in apps if c.path not in wrapped), key=lambda a: _rank_file(a[1].path)
    )


def _asgi(name: str, call: Call, index: CodeIndex, evidence: Evidence) -> EntryPoint:
    row = _server("fastapi") if name == "FastAPI" else _server("starlette")
    module, app_dir = module_of(call.path)
    run = next((b for b in binds(index.files[call.path]) if _last(b.func) == "run"), None)
    port = run.port_or(row["port"]) if run else row["port"]
    if call.assigned_to.endswith("()"):  # a factory: uvicorn calls it
        command = ["uvicorn", "--factory", f"{module}:{call.assigned_to[:-2]}"]
    else:
        command = ["uvicorn", f"{module}:{call.assigned_to}"]
    command += ["--host", "0.0.0.0", "--port", str(port)]
    if app_dir:
        command += ["--app-dir", app_dir]
    return EntryPoint(
        name.lower(),
        tuple(command),
        (evidence,),
        port=port,
        health=_health(index, call.path, row["health"]),
        requires=tuple(row["requires"]),
    )


def _self_run(source: SourceFile, runner: str) -> Bind | None:
    """The ``app.run(...)`` a Flask file calls in its ``__main__`` block after preparing what
    the app serves (loading a model), on a host the container can reach or set: then the
    script is the entry point, as its author runs it."""
    own = next((b for b in binds(source) if b.func == runner), None)
    block = _main_block(source.tree) if source.tree else None
    if own is None or block is None or own.line < block.lineno:
        return None
    reachable = own.host in ("0.0.0.0", "::") or bool(own.host_flag)
    return own if reachable and _does_setup(block, runner) else None


def _flask(call: Call, index: CodeIndex, declared: set[str], facts: ServerFacts) -> EntryPoint:
    row = _server("flask")
    module, app_dir = module_of(call.path)
    source = index.files[call.path]
    health = _health(index, call.path, row["health"])
    factory = call.assigned_to.endswith("()")
    evidence = Evidence(call.path, call.line, f"{call.assigned_to} = {call.func}(...)")
    if factory:
        evidence = Evidence(call.path, call.line, f"def {call.assigned_to}: returns Flask()")
    runner = f"{call.assigned_to}.run"
    own = None if factory else _self_run(source, runner)
    if own is not None:
        port = own.port_or(row["port"])
        why = f"{runner}() after the setup in its __main__ block"
        return EntryPoint(
            "flask",
            ("python", call.path, *own.flags(port)),
            (Evidence(call.path, own.line, why), evidence),
            port,
            health,
        )
    run = next((b for b in binds(source) if b.func == runner), None)
    if "gunicorn" in declared:
        row = _server("gunicorn")
    port = run.port_or(row["port"]) if run else row["port"]
    target = f"{module}:{call.assigned_to}"
    if "gunicorn" in declared:
        command = ["gunicorn", "--bind", f"0.0.0.0:{port}", target]
        if app_dir:
            command[1:1] = ["--chdir", app_dir]
    else:
        # `flask --app module` finds an `app` by itself; a factory is `module:create_app()`.
        flask_target = module if call.assigned_to == "app" else target
        command = ["flask", "--app", flask_target, "run", "--host", "0.0.0.0"]
        command += ["--port", str(port)]
        facts.warnings.append(
            f"{evidence}: served by Flask's development server; declare gunicorn for "
            "production and run `dockerize-ml init` again"
        )
    return EntryPoint("flask", tuple(command), (evidence,), port, health)


def _asgi_wsgi(index: CodeIndex, declared: set[str], facts: ServerFacts) -> None:
    for name, call in _apps(index):
        if name in ("FastAPI", "Starlette"):
            factory = call.assigned_to.endswith("()")
            detail = (
                f"def {call.assigned_to}: returns {name}()"
                if factory
                else f"{call.assigned_to} = {call.func}(...)"
            )
            facts.servers.append(_asgi(name, call, index, Evidence(call.path, call.line, detail)))
        else:
            facts.servers.append(_flask(call, index, declared, facts))


def _django(scan: Scan, facts: ServerFacts) -> None:
    """A Django project, served by gunicorn from the folder of its ``manage.py`` (its
    modules import from there, and relative paths in its settings start there)."""
    manages = sorted(
        (f for f in scan.files if f.rsplit("/", 1)[-1] == "manage.py"),
        key=lambda f: (f.count("/"), f),
    )
    if not manages:
        return
    manage = manages[0]
    folder = manage.rpartition("/")[0]
    prefix = f"{folder}/" if folder else ""
    wsgi = next(
        (
            rel
            for rel in sorted(scan.files, key=lambda f: (f.count("/"), f))
            if rel.startswith(prefix)
            and rel.endswith("/wsgi.py")
            and rel[len(prefix) :].count("/") == 1
        ),
        None,
    )
    row = _server("django")
    evidence = Evidence(manage, 0, "Django project")
    port = row["port"]
    if wsgi is not None:
        module = wsgi[len(prefix) :].removesuffix(".py").replace("/", ".")
        command: tuple[str, ...] = ("gunicorn", module, "--bind", f"0.0.0.0:{port}")
        if folder:
            command = ("gunicorn", "--chdir", folder, *command[1:])
        requires = tuple(row["requires"])
    else:
        command = ("python", manage, "runserver", f"0.0.0.0:{port}")
        requires = ()
        facts.warnings.append(
            f"{manage}: no wsgi.py beside the settings; served by Django's development server"
        )
    facts.servers.append(
        EntryPoint("django", command, (evidence,), port, row["health"], requires=requires)
    )


def _model_servers(index: CodeIndex, facts: ServerFacts) -> None:
    """Model-serving frameworks: BentoML services (``@bentoml.service`` classes, or
    ``svc = bentoml.Service(...)``), Ray Serve applications (``app = Deployment.bind()``)
    and LitServe servers (``LitServer(...).run()``)."""
    for source in sorted(index.files.values(), key=lambda s: _rank_file(s.path)):
        if source.notebook or source.tree is None:
            continue
        module, app_dir = module_of(source.path)
        if _imports(source, "bentoml"):
            services = _decorated(source, "service")
            services += [
                (c.assigned_to, c.line)
                for c in source.calls
                if c.assigned_to and _last(c.func) == "Service" and "bentoml" in c.func
            ]
            for name, line in services[:1]:
                row = _server("bentoml")
                command = ["bentoml", "serve", f"{module}:{name}", "--host", "0.0.0.0"]
                command += ["--port", str(row["port"])]
                if app_dir:
                    command += ["--working-dir", app_dir]
                facts.servers.append(
                    EntryPoint(
                        "bentoml",
                        tuple(command),
                        (Evidence(source.path, line, f"BentoML service {name}"),),
                        row["port"],
                        row["health"],
                        requires=tuple(row["requires"]),
                        env=(("BENTOML_DO_NOT_TRACK", "True"),),
                    )
                )
        if _imports(source, "ray") and _decorated(source, "deployment"):
            deployments = {name for name, _ in _decorated(source, "deployment")}
            bound = [
                c
                for c in source.calls
                if c.assigned_to
                and c.func.endswith(".bind")
                and c.func.split(".")[0] in deployments
            ]
            for call in bound[:1]:
                row = _server("ray-serve")
                command = ["serve", "run", f"{module}:{call.assigned_to}"]
                if app_dir:
                    command += ["--app-dir", app_dir]
                facts.servers.append(
                    EntryPoint(
                        "ray-serve",
                        tuple(command),
                        (Evidence(source.path, call.line, f"{call.assigned_to} = {call.func}()"),),
                        row["port"],
                        row["health"],
                        requires=tuple(row["requires"]),
                        # Serve's HTTP proxy binds 127.0.0.1 unless told otherwise.
                        env=(("RAY_SERVE_DEFAULT_HTTP_HOST", "0.0.0.0"),),
                    )
                )
        if _imports(source, "litserve"):
            runs = [b for b in binds(source) if _last(b.func) == "run"]
            servers = [c for c in source.calls if _last(c.func) == "LitServer"]
            if runs and servers:
                row = _server("litserve")
                port = runs[0].port_or(row["port"])
                facts.servers.append(
                    EntryPoint(
                        "litserve",
                        ("python", source.path, *runs[0].flags(port)),
                        (Evidence(source.path, servers[0].line, "LitServer(...).run()"),),
                        port,
                        row["health"],
                    )
                )


def _ui_apps(index: CodeIndex, facts: ServerFacts) -> None:
    """Streamlit and Gradio apps: a script that imports the framework at top level."""
    for source in sorted(index.files.values(), key=lambda s: _rank_file(s.path)):
        if source.notebook:
            continue
        modules = {i.module.split(".")[0] for i in source.imports if not i.optional}
        if "streamlit" in modules:
            evidence = next(
                Evidence(i.path, i.line, "imports streamlit")
                for i in source.imports
                if i.module.startswith("streamlit")
            )
            row = _server("streamlit")
            command = (
                "streamlit",
                "run",
                source.path,
                "--server.address=0.0.0.0",
                f"--server.port={row['port']}",
                "--server.headless=true",
            )
            facts.servers.append(
                EntryPoint(
                    "streamlit",
                    command,
                    (evidence,),
                    row["port"],
                    row["health"],
                    # no usage statistics sent from a server
                    env=(("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false"),),
                )
            )
        elif "gradio" in modules:
            launches = [b for b in binds(source) if b.func.endswith(".launch")]
            launch = next((b for b in launches if b.host_flag or b.port_flag), None)
            launch = launch or next(iter(launches), None)
            if launch is None:
                continue
            row = _server("gradio")
            port = launch.port_or(row["port"])
            call = next((c for c in source.calls if c.line == launch.line), None)
            if call is not None and call.kwarg("share") is True:
                facts.warnings.append(
                    f"{source.path}:{launch.line}: launch(share=True) opens a public tunnel "
                    "through Gradio's servers; the container publishes the port itself, so "
                    "drop share=True (or set GRADIO_SHARE=False)"
                )
            evidence = Evidence(source.path, launch.line, "gradio .launch()")
            facts.servers.append(
                EntryPoint(
                    "gradio",
                    ("python", source.path, *launch.flags(port)),
                    (evidence,),
                    port,
                    row["health"],
                    env=(("GRADIO_SERVER_NAME", "0.0.0.0"), ("GRADIO_SERVER_PORT", str(port))),
                )
            )


def _loopback_and_ports(index: CodeIndex, facts: ServerFacts) -> None:
    """Ports of server calls (literal, or the default of the option or variable they read);
    warnings for servers bound to a loopback address."""
    for source in index.files.values():
        for bind in binds(source):
            port = bind.port_or(0)
            if port:
                detail = f"port={port}" + (f" ({bind.port_flag} default)" if bind.port_flag else "")
                facts.ports.setdefault(port, Evidence(source.path, bind.line, detail))
            reachable = bind.host in ("0.0.0.0", "::") or bool(bind.host_flag)
            if reachable and bind.func.endswith((".run", ".launch")):
                facts.self_runs.setdefault(source.path, bind)
            if isinstance(bind.host, str) and bind.host in _LOOPBACK:
                where = f" (the {bind.host_flag} default)" if bind.host_flag else ""
                facts.warnings.append(
                    f"{source.path}:{bind.line}: {bind.func}() listens on {bind.host!r}{where}, "
                    "a loopback address, which nothing outside the container can reach; "
                    "use 0.0.0.0"
                )


def _mlproject(scan: Scan, facts: ServerFacts) -> None:
    rel = next(
        (f for f in ("MLproject", "MLproject.yaml", "MLproject.yml") if f in scan.files), None
    )
    text = scan.read_text(rel) if rel else None
    if rel is None or text is None:
        return
    try:
        data = parse_yaml(rel, text, shapes.MLPROJECT)
    except InvalidProjectFileError as exc:
        facts.warnings.append(f"{exc.message}; its entry points are ignored")
        return
    entries = data.get("entry_points", {}) if isinstance(data, dict) else {}
    if not isinstance(entries, dict) or not entries:
        return
    name = "main" if "main" in entries else next(iter(entries))
    entry = entries[name] if isinstance(entries[name], dict) else {}
    command = str(entry.get("command", ""))
    for param, spec in (entry.get("parameters") or {}).items():
        default = spec.get("default") if isinstance(spec, dict) else None
        if default is not None:
            command = command.replace("{" + str(param) + "}", str(default))
    if not command or "{" in command:
        facts.warnings.append(f"{rel}: entry point {name!r} needs parameters without defaults")
        return
    evidence = Evidence(rel, line_of(text, "command"), f"entry point {name}")
    argv = _split(command, f"{rel}: entry point {name!r}", facts)
    if argv:
        facts.first.append(EntryPoint("mlproject", argv, (evidence,)))


def _split(command: str, where: str, facts: ServerFacts) -> tuple[str, ...]:
    """A command line as argv; a warning (and nothing) when its quotes do not close."""
    try:
        return tuple(shlex.split(command))
    except ValueError as exc:
        facts.warnings.append(f"{where}: cannot split {command!r} ({exc}); ignored")
        return ()


_PROCFILE_PORT = re.compile(r"(?:--port[ =]|-p\s+|--bind[ =]\S*:|-b\s+\S*:|:)(\d{2,5})\b")


def _procfile(scan: Scan, facts: ServerFacts) -> None:
    text = scan.read_text("Procfile") if "Procfile" in scan.files else None
    if not text:
        return
    processes: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        kind, sep, command = line.partition(":")
        if sep and kind.strip() and not kind.startswith("#"):
            processes.setdefault(kind.strip(), (command.strip(), number))
    if not processes:
        return
    kind = "web" if "web" in processes else next(iter(processes))
    command, number = processes[kind]
    command = re.sub(r"\$\{?PORT\}?", "8000", command)
    match = _PROCFILE_PORT.search(command)
    port = int(match.group(1)) if match else (8000 if kind == "web" else 0)
    evidence = Evidence("Procfile", number, f"{kind} process")
    argv = _split(command, f"Procfile:{number}: {kind}", facts)
    if argv:
        facts.first.append(EntryPoint("procfile", argv, (evidence,), port))


def _notebooks(scan: Scan, index: CodeIndex, facts: ServerFacts) -> None:
    notebooks = scan.glob(".ipynb")
    if not notebooks:
        return
    row = _server("jupyterlab")
    command = ("jupyter", "lab", "--ip=0.0.0.0", f"--port={row['port']}", "--no-browser")
    evidence = Evidence(notebooks[0], 0, f"{len(notebooks)} notebook(s)")
    facts.last.append(
        EntryPoint(
            "jupyterlab",
            command,
            (evidence,),
            row["port"],
            row["health"],
            requires=tuple(row["requires"]),
        )
    )


def detect_servers(scan: Scan, index: CodeIndex, declared: set[str]) -> ServerFacts:
    """Every entry point the code and project files suggest, grouped by rank."""
    facts = ServerFacts()
    declared = {canonicalize_name(d) for d in declared}
    # Tests, docs and setup.py build apps to test them, not to serve them.
    dev_patterns = knowledge.load("layout")["code"]["dev_files"]
    index = CodeIndex(
        {
            path: source
            for path, source in index.files.items()
            if not any(fnmatch.fnmatchcase(path, pattern) for pattern in dev_patterns)
        }
    )
    _mlproject(scan, facts)
    _procfile(scan, facts)
    _model_servers(index, facts)
    _asgi_wsgi(index, declared, facts)
    _django(scan, facts)
    _ui_apps(index, facts)
    # The app file best named and nearest the root first, whatever serves it: a Gradio
    # app.py before a FastAPI backend/main.py (the sort is stable within one file).
    facts.servers.sort(key=lambda e: _rank_file(e.evidence[0].path) if e.evidence else (99, 0, ""))
    _loopback_and_ports(index, facts)
    _notebooks(scan, index, facts)
    return facts

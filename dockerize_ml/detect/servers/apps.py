"""ASGI and WSGI apps: FastAPI, Starlette and Flask app objects and factories, and Django.

An app is ``app = FastAPI()`` at module level, ``app = create_app()`` of a factory, or a
factory nothing calls; each is served by uvicorn, gunicorn (when declared) or ``flask run``
on 0.0.0.0, with the port the code gives and a health path it defines. A Flask script that
prepares its app in its ``__main__`` block is run as a script instead.
"""

from __future__ import annotations

import ast
import re

from dockerize_ml.detect.code import Call, CodeIndex
from dockerize_ml.detect.servers.binds import binds, dotted, last, self_run, walk_calls
from dockerize_ml.detect.servers.common import (
    ServerFacts,
    decorated,
    imports_module,
    module_of,
    rank_file,
    server_row,
)
from dockerize_ml.profile import TCP_HEALTH, EntryPoint, Evidence
from dockerize_ml.scan import Scan

_HEALTH_PATHS = ("/health", "/healthz", "/ping", "/ready", "/status")


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
            for call in walk_calls(node):
                framework = last(dotted(call.func))
                if framework in _APP_CLASSES:
                    found.setdefault(node.name, (framework, source.path, node.lineno))
                    break
    return found


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
        name = last(call.func)
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
        s.path
        for s in index.files.values()
        if imports_module(s, "ray") and decorated(s, "deployment")
    }
    return sorted(
        ((n, c) for n, c in apps if c.path not in wrapped), key=lambda a: rank_file(a[1].path)
    )


def _asgi(name: str, call: Call, index: CodeIndex, evidence: Evidence) -> EntryPoint:
    row = server_row("fastapi") if name == "FastAPI" else server_row("starlette")
    module, app_dir = module_of(call.path)
    run = next((b for b in binds(index.files[call.path]) if last(b.func) == "run"), None)
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


def _no_get_at(source: ast.Module | None, app: str, path: str) -> bool:
    """Whether no route the app's module declares on ``app`` answers GET at ``path``: every
    one refuses GET (``@app.route("/predict", methods=["POST"])``, ``@app.post``) or serves
    another path (amirziai/sklearnflask: GET /train and /wipe, nothing at /; a probe must
    not call those). False when it declares none here (blueprints elsewhere), or a path or
    the methods are not literals the reader can see."""
    routes = 0
    for node in ast.walk(source) if source is not None else ():
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for deco in node.decorator_list:
            if not (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)):
                continue
            owner, method = dotted(deco.func.value), deco.func.attr
            if owner != app or method not in ("route", "get", "post", "put", "delete", "patch"):
                continue
            routes += 1
            if method not in ("route", "get"):
                continue  # refuses GET
            rule = deco.args[0] if deco.args else None
            if not (isinstance(rule, ast.Constant) and isinstance(rule.value, str)):
                return False  # a path the reader cannot see
            if method == "route":
                methods = next((k.value for k in deco.keywords if k.arg == "methods"), None)
                if methods is not None:
                    if not isinstance(methods, (ast.List, ast.Tuple, ast.Set)):
                        return False  # methods the reader cannot see
                    names = [e.value for e in methods.elts if isinstance(e, ast.Constant)]
                    if len(names) != len(methods.elts):
                        return False
                    if not any(str(n).upper() in ("GET", "HEAD") for n in names):
                        continue  # refuses GET
            if rule.value == path or "<" in rule.value:
                return False  # GET at the path, or a variable rule that may match it
    return routes > 0


def _flask(call: Call, index: CodeIndex, declared: set[str], facts: ServerFacts) -> EntryPoint:
    row = server_row("flask")
    module, app_dir = module_of(call.path)
    source = index.files[call.path]
    health = _health(index, call.path, row["health"])
    if health == row["health"] and _no_get_at(source.tree, call.assigned_to, health):
        health = TCP_HEALTH  # POST /predict alone, or GET elsewhere: nothing answers GET /
    factory = call.assigned_to.endswith("()")
    evidence = Evidence(call.path, call.line, f"{call.assigned_to} = {call.func}(...)")
    if factory:
        evidence = Evidence(call.path, call.line, f"def {call.assigned_to}: returns Flask()")
    runner = f"{call.assigned_to}.run"
    own = None if factory else self_run(source, runner)
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
        row = server_row("gunicorn")
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


def asgi_wsgi(index: CodeIndex, declared: set[str], facts: ServerFacts) -> None:
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


def django(scan: Scan, index: CodeIndex, facts: ServerFacts) -> None:
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
    row = server_row("django")
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
    host = _allowed_host(index, wsgi, port, facts) if wsgi is not None else ""
    health = _django_health(scan, wsgi) if wsgi is not None else ""
    facts.servers.append(
        EntryPoint(
            "django",
            command,
            (evidence,),
            port,
            health or row["health"],
            requires=requires,
            host=host,
        )
    )


#: A URL pattern of the site's root: ``path("", ...)``, ``url(r"^$", ...)``.
_ROOT_PATTERN = re.compile(r"""\b(?:path|re_path|url)\(\s*r?(['"])(?:\^?\$?)\1""")
#: The admin site's prefix: ``path("admin/", admin.site.urls)``.
_ADMIN_PATTERN = re.compile(
    r"""\b(?:path|re_path|url)\(\s*r?['"]\^?([A-Za-z0-9_/-]*)['"]\s*,\s*admin\.site\.urls"""
)


def _django_health(scan: Scan, wsgi: str) -> str:
    """Where a Django site answers without knowing its views: "/" when the root URL conf
    routes the empty path, else the admin site (it redirects to its login page, which
    answers); "" when neither is there (the table's default)."""
    text = scan.read_text(f"{wsgi.rpartition('/')[0]}/urls.py") or ""
    if _ROOT_PATTERN.search(text):
        return "/"
    admin = _ADMIN_PATTERN.search(text)
    return f"/{admin.group(1)}" if admin and admin.group(1) else ""


#: Hosts Django serves a request from this machine for (with ALLOWED_HOSTS empty, under DEBUG).
_LOCAL_HOSTS = frozenset({"*", "localhost", "127.0.0.1", "[::1]", ".localhost"})


def _allowed_host(index: CodeIndex, wsgi: str, port: int, facts: ServerFacts) -> str:
    """The Host header Django's settings accept, when their ``ALLOWED_HOSTS`` is a list of
    names without localhost (``['0.0.0.0']``, ``['api.example.com']``): a probe to
    127.0.0.1 would get HTTP 400 (DisallowedHost). "" when any host, localhost, or hosts
    read from the environment are allowed (the settings are not a literal list)."""
    folder = wsgi.rpartition("/")[0]
    for rel in (f"{folder}/settings.py", f"{folder}/settings/__init__.py"):
        source = index.files.get(rel)
        tree = source.tree if source is not None else None
        for node in tree.body if tree is not None else ():
            if not (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "ALLOWED_HOSTS" for t in node.targets)
                and isinstance(node.value, (ast.List, ast.Tuple))
            ):
                continue
            hosts = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
            names = [h for h in hosts if isinstance(h, str) and h]
            if not names or len(names) != len(node.value.elts) or _LOCAL_HOSTS & set(names):
                return ""
            host = names[0].lstrip(".")  # `.example.com` allows example.com and below
            facts.warnings.append(
                f"{rel}:{node.lineno}: ALLOWED_HOSTS = {names!r} refuses requests to "
                f"localhost (HTTP 400): the health probes send `Host: {host}`; to browse to "
                f"http://localhost:{port}, add 'localhost' (or read the list from the "
                "environment)"
            )
            return host
    return ""

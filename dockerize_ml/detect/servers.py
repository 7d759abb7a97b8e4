"""App servers and other entry points found by reading the code and the project's files.

FastAPI/Starlette and Flask apps with their real ``module:app``, Django, Streamlit, Gradio,
MLflow ``MLproject`` entry points, ``Procfile`` processes and notebook-only repositories
(JupyterLab). Every command listens on 0.0.0.0 inside the container; code that binds a
loopback address is a warning.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from dockerize_ml.detect import shapes
from dockerize_ml.detect.code import Call, CodeIndex
from dockerize_ml.detect.files import line_of, parse_yaml
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.profile import EntryPoint, Evidence
from dockerize_ml.scan import Scan

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
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


def module_of(path: str) -> tuple[str, str]:
    """``src/pkg/api.py`` -> (``pkg.api``, ``src``): the module and the folder it imports from."""
    parts = path.removesuffix(".py").split("/")
    app_dir = ""
    if parts[0] == "src" and len(parts) > 1:
        parts, app_dir = parts[1:], "src"
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts), app_dir


def _rank_file(path: str) -> tuple[int, int, str]:
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    depth = path.count("/")
    return (_APP_FILES.index(stem) if stem in _APP_FILES else len(_APP_FILES), depth, path)


def _health(index: CodeIndex, path: str, default: str) -> str:
    source = index.files.get(path)
    literals = {lit.value for lit in source.literals} if source else set()
    return next((p for p in _HEALTH_PATHS if p in literals), default)


def _code_port(index: CodeIndex, path: str, runners: tuple[str, ...], default: int) -> int:
    """The literal port the file itself serves on (``uvicorn.run(app, port=8080)``,
    ``app.run(port=8080)``): the author's choice, kept in the image; else ``default``."""
    for call in index.calls():
        if call.path == path and call.func in runners:
            port = call.kwarg("port")
            if isinstance(port, int) and 0 < port < 65536:
                return port
    return default


def _asgi_wsgi(index: CodeIndex, declared: set[str], facts: ServerFacts) -> None:
    apps: list[tuple[str, Call]] = []
    for call in index.calls():
        name = call.func.rsplit(".", 1)[-1]
        if call.assigned_to and name in ("FastAPI", "Starlette", "Flask") and not call.cell:
            apps.append((name, call))
    for name, call in sorted(apps, key=lambda a: _rank_file(a[1].path)):
        module, app_dir = module_of(call.path)
        target = f"{module}:{call.assigned_to}"
        evidence = Evidence(call.path, call.line, f"{call.assigned_to} = {name}(...)")
        runners = ("uvicorn.run", "run", f"{call.assigned_to}.run")
        if name in ("FastAPI", "Starlette"):
            port = _code_port(index, call.path, runners, 8000)
            command = ["uvicorn", target, "--host", "0.0.0.0", "--port", str(port)]
            if app_dir:
                command += ["--app-dir", app_dir]
            default_health = "/docs" if name == "FastAPI" else "/"
            facts.servers.append(
                EntryPoint(
                    name.lower(),
                    tuple(command),
                    (evidence,),
                    port=port,
                    health=_health(index, call.path, default_health),
                    requires=("uvicorn",),
                )
            )
        elif "gunicorn" in declared:
            port = _code_port(index, call.path, runners, 8000)
            command = ["gunicorn", "--bind", f"0.0.0.0:{port}", target]
            if app_dir:
                command[1:1] = ["--chdir", app_dir]
            facts.servers.append(
                EntryPoint(
                    "flask", tuple(command), (evidence,), port, _health(index, call.path, "/")
                )
            )
        else:
            port = _code_port(index, call.path, runners, 5000)
            command = ["flask", "--app", target, "run", "--host", "0.0.0.0", "--port", str(port)]
            facts.servers.append(
                EntryPoint(
                    "flask", tuple(command), (evidence,), port, _health(index, call.path, "/")
                )
            )
            facts.warnings.append(
                f"{evidence}: served by Flask's development server; declare gunicorn for "
                "production and run `dockerize-ml init` again"
            )


def _django(scan: Scan, declared: set[str], facts: ServerFacts) -> None:
    if "manage.py" not in scan.files:
        return
    wsgi = next((rel for rel in sorted(scan.files) if rel.endswith("/wsgi.py")), None)
    evidence = Evidence("manage.py", 0, "Django project")
    if wsgi and "gunicorn" in declared:
        module, _ = module_of(wsgi)
        command: tuple[str, ...] = ("gunicorn", "--bind", "0.0.0.0:8000", module)
    else:
        command = ("python", "manage.py", "runserver", "0.0.0.0:8000")
        facts.warnings.append(
            "manage.py: served by Django's development server; declare gunicorn for production"
        )
    facts.servers.append(EntryPoint("django", command, (evidence,), 8000, "/"))


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
            command = (
                "streamlit",
                "run",
                source.path,
                "--server.address=0.0.0.0",
                "--server.port=8501",
                "--server.headless=true",
            )
            facts.servers.append(
                EntryPoint(
                    "streamlit",
                    command,
                    (evidence,),
                    8501,
                    "/_stcore/health",
                    # no usage statistics sent from a server
                    env=(("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false"),),
                )
            )
        elif "gradio" in modules:
            launch = next((c for c in source.calls if c.func.endswith(".launch")), None)
            if launch is None:
                continue
            port = launch.kwarg("server_port")
            port = port if isinstance(port, int) else 7860
            if launch.kwarg("share") is True:
                facts.warnings.append(
                    f"{source.path}:{launch.line}: launch(share=True) opens a public tunnel "
                    "through Gradio's servers; the container publishes the port itself, so "
                    "drop share=True (or set GRADIO_SHARE=False)"
                )
            evidence = Evidence(source.path, launch.line, "gradio .launch()")
            facts.servers.append(
                EntryPoint(
                    "gradio",
                    ("python", source.path),
                    (evidence,),
                    port,
                    "/",
                    env=(("GRADIO_SERVER_NAME", "0.0.0.0"), ("GRADIO_SERVER_PORT", str(port))),
                )
            )


def _loopback_and_ports(index: CodeIndex, facts: ServerFacts) -> None:
    """Literal ports in server calls; warnings for servers bound to a loopback address."""
    for call in index.calls():
        name = call.func.rsplit(".", 1)[-1]
        if name not in ("run", "launch", "serve", "run_server", "start_http_server"):
            continue
        for key in ("port", "server_port"):
            port = call.kwarg(key)
            if isinstance(port, int) and 0 < port < 65536:
                facts.ports.setdefault(port, Evidence(call.path, call.line, f"{key}={port}"))
        for key in ("host", "server_name"):
            host = call.kwarg(key)
            if isinstance(host, str) and host in _LOOPBACK:
                facts.warnings.append(
                    f"{call.path}:{call.line}: {call.func}({key}={host!r}) listens on a loopback "
                    "address, which nothing outside the container can reach; use 0.0.0.0"
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
    command = ("jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser")
    evidence = Evidence(notebooks[0], 0, f"{len(notebooks)} notebook(s)")
    facts.last.append(
        EntryPoint("jupyterlab", command, (evidence,), 8888, "/api", requires=("jupyterlab",))
    )


def detect_servers(scan: Scan, index: CodeIndex, declared: set[str]) -> ServerFacts:
    """Every entry point the code and project files suggest, grouped by rank."""
    facts = ServerFacts()
    declared = {canonicalize_name(d) for d in declared}
    _mlproject(scan, facts)
    _procfile(scan, facts)
    _asgi_wsgi(index, declared, facts)
    _django(scan, declared, facts)
    _ui_apps(index, facts)
    _loopback_and_ports(index, facts)
    _notebooks(scan, index, facts)
    return facts

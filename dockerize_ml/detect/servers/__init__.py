"""App servers and other entry points found by reading the code and the project's files.

Every command listens on 0.0.0.0 inside the container; code that binds a loopback address is
a warning. The rooms, one seam each:

- :mod:`.binds`: where a server call listens (host and port followed to literals, option
  defaults and environment defaults), and a script that runs its own server;
- :mod:`.apps`: ASGI/WSGI apps (FastAPI, Starlette, Flask objects and factories) and Django;
- :mod:`.models`: model servers (BentoML, Ray Serve, LitServe) and UI apps (Streamlit, Gradio);
- :mod:`.projectfiles`: ``MLproject``, ``Procfile`` and notebook-only repositories;
- :mod:`.common`: the facts they fill, the server rows of frameworks.toml, the file ranking.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from dockerize_ml.detect.code import CodeIndex, dev_file
from dockerize_ml.detect.servers.apps import asgi_wsgi, django
from dockerize_ml.detect.servers.binds import Bind, binds
from dockerize_ml.detect.servers.common import ServerFacts, module_of, rank_file
from dockerize_ml.detect.servers.models import model_servers, ui_apps
from dockerize_ml.detect.servers.projectfiles import mlproject, notebooks, procfile
from dockerize_ml.profile import Evidence
from dockerize_ml.scan import Scan

__all__ = ["Bind", "ServerFacts", "binds", "detect_servers", "module_of"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


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


def detect_servers(scan: Scan, index: CodeIndex, declared: set[str]) -> ServerFacts:
    """Every entry point the code and project files suggest, grouped by rank."""
    facts = ServerFacts()
    declared = {canonicalize_name(d) for d in declared}
    # Tests, docs and setup.py build apps to test them, not to serve them.
    index = CodeIndex({path: s for path, s in index.files.items() if not dev_file(path)})
    mlproject(scan, facts)
    procfile(scan, facts)
    model_servers(index, facts)
    asgi_wsgi(index, declared, facts)
    django(scan, index, facts)
    ui_apps(index, facts)
    # The app file best named and nearest the root first, whatever serves it: a Gradio
    # app.py before a FastAPI backend/main.py (the sort is stable within one file).
    facts.servers.sort(key=lambda e: rank_file(e.evidence[0].path) if e.evidence else (99, 0, ""))
    _loopback_and_ports(index, facts)
    notebooks(scan, facts)
    return facts

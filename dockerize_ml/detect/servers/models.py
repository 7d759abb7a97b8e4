"""Model servers and UI apps: BentoML, Ray Serve and LitServe; Streamlit and Gradio.

A model-serving framework is found by what it needs in one file: a BentoML service (an
``@bentoml.service`` class or ``svc = bentoml.Service(...)``), a bound Ray Serve deployment
(``app = Deployment.bind()``), a ``LitServer(...).run()``. A UI app is a script that imports
Streamlit at top level, or one that calls Gradio's ``.launch()``.
"""

from __future__ import annotations

from dockerize_ml.detect.code import CodeIndex, SourceFile
from dockerize_ml.detect.servers.binds import binds, last
from dockerize_ml.detect.servers.common import (
    ServerFacts,
    decorated,
    imports_module,
    module_of,
    on_defaults,
    rank_file,
    server_row,
)
from dockerize_ml.profile import EntryPoint, Evidence

#: The packages a file must import to be one of a kind: a quick first sort of the files.
_MODEL_SERVERS = frozenset({"bentoml", "ray", "litserve"})
_UI = frozenset({"streamlit", "gradio"})


def model_servers(index: CodeIndex, facts: ServerFacts) -> None:
    """Model-serving frameworks: BentoML services (``@bentoml.service`` classes, or
    ``svc = bentoml.Service(...)``), Ray Serve applications (``app = Deployment.bind()``)
    and LitServe servers (``LitServer(...).run()``)."""
    servers = [s for s in index.files.values() if not _MODEL_SERVERS.isdisjoint(s.packages)]
    for source in sorted(servers, key=lambda s: rank_file(s.path)):
        if source.notebook or not source.analysed:
            continue
        if imports_module(source, "bentoml"):
            facts.servers += _bentoml(source)
        if imports_module(source, "ray") and decorated(source, "deployment"):
            facts.servers += _ray_serve(source)
        if imports_module(source, "litserve"):
            facts.servers += _litserve(source)


def _bentoml(source: SourceFile) -> list[EntryPoint]:
    module, app_dir = module_of(source.path)
    services = decorated(source, "service")
    services += [
        (c.assigned_to, c.line)
        for c in source.calls
        if c.assigned_to and last(c.func) == "Service" and "bentoml" in c.func
    ]
    found: list[EntryPoint] = []
    for name, line in services[:1]:
        row = server_row("bentoml")
        command = ["bentoml", "serve", f"{module}:{name}", "--host", "0.0.0.0"]
        command += ["--port", str(row["port"])]
        if app_dir:
            command += ["--working-dir", app_dir]
        evidence = Evidence(source.path, line, f"BentoML service {name}")
        found.append(on_defaults("bentoml", command, evidence, (("BENTOML_DO_NOT_TRACK", "True"),)))
    return found


def _ray_serve(source: SourceFile) -> list[EntryPoint]:
    module, app_dir = module_of(source.path)
    deployments = {name for name, _ in decorated(source, "deployment")}
    bound = [
        c
        for c in source.calls
        if c.assigned_to and c.func.endswith(".bind") and c.func.split(".")[0] in deployments
    ]
    found: list[EntryPoint] = []
    for call in bound[:1]:
        command = ["serve", "run", f"{module}:{call.assigned_to}"]
        if app_dir:
            command += ["--app-dir", app_dir]
        evidence = Evidence(source.path, call.line, f"{call.assigned_to} = {call.func}()")
        # Serve's HTTP proxy binds 127.0.0.1 unless told otherwise.
        env = (("RAY_SERVE_DEFAULT_HTTP_HOST", "0.0.0.0"),)
        found.append(on_defaults("ray-serve", command, evidence, env))
    return found


def _litserve(source: SourceFile) -> list[EntryPoint]:
    runs = [b for b in binds(source) if last(b.func) == "run"]
    servers = [c for c in source.calls if last(c.func) == "LitServer"]
    if not (runs and servers):
        return []
    row = server_row("litserve")
    port = runs[0].port_or(row["port"])
    return [
        EntryPoint(
            "litserve",
            ("python", source.path, *runs[0].flags(port)),
            (Evidence(source.path, servers[0].line, "LitServer(...).run()"),),
            port,
            row["health"],
        )
    ]


def ui_apps(index: CodeIndex, facts: ServerFacts) -> None:
    """Streamlit and Gradio apps: a script that imports the framework at top level."""
    apps = [s for s in index.files.values() if not _UI.isdisjoint(s.packages)]
    for source in sorted(apps, key=lambda s: rank_file(s.path)):
        if source.notebook:
            continue
        modules = {i.module.split(".")[0] for i in source.imports if not i.optional}
        if "streamlit" in modules:
            evidence = next(
                Evidence(i.path, i.line, "imports streamlit")
                for i in source.imports
                if i.module.startswith("streamlit")
            )
            row = server_row("streamlit")
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
            row = server_row("gradio")
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

"""Which entry point the image runs, of all the detectors found, and which ports it publishes.

The documented command (README, Makefile) the project's own files and code back up wins,
served as the server the code defines when it runs one; a Hugging Face Space's ``app_file``
goes first. The ports are the entry point's and those of server calls in the file it runs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dockerize_ml.detect.entrypoints import (
    documented_commands,
    packaged_entrypoints,
    script_entrypoints,
)
from dockerize_ml.detect.files import space_config
from dockerize_ml.detect.servers import ServerFacts
from dockerize_ml.profile import EntryPoint, Evidence
from dockerize_ml.scan import Scan


def rank_entrypoints(
    project: Scan, pyproject: dict[str, Any] | None, servers: ServerFacts
) -> list[EntryPoint]:
    """Every entry point, ranked: MLproject > Procfile > what the README (or a Makefile
    target) runs > console scripts > ``__main__`` > app servers in the code > conventional
    scripts > JupyterLab for notebook-only projects.

    Of the documented commands, the first named like the main job (train, serve, main, an
    app server) comes first, else the first; one that runs a server the code defines is
    served as that server (on 0.0.0.0, its port), the others stay alternatives."""
    detected = [
        *packaged_entrypoints(project, pyproject),
        *servers.servers,
        *script_entrypoints(project),
    ]
    documented = documented_commands(project)
    chosen = next((d for d in documented if d.main_job), documented[0] if documented else None)
    top: list[EntryPoint] = []
    if chosen is not None:
        same = next((e for e in detected if any(ev.path == chosen.file for ev in e.evidence)), None)
        evidence = (*same.evidence, *chosen.entry.evidence) if same else ()
        bind = servers.self_runs.get(chosen.file)
        if same is not None and same.port and chosen.entry.kind == "script" and bind is not None:
            # the README runs the server's script, which listens on 0.0.0.0 as it is run
            flags = bind.flags(same.port)
            pairs = [flags[i : i + 2] for i in range(0, len(flags), 2)]
            given = chosen.entry.command
            missing = [w for pair in pairs if pair[0] not in given for w in pair]
            command = (*given, *missing)
            top = [dataclasses.replace(same, command=command, evidence=evidence)]
        elif same is not None and same.port:  # a server the code defines: served as such
            top = [dataclasses.replace(same, evidence=evidence)]
        elif same is not None and chosen.entry.kind != "documented-server":
            # the same script, with the README's arguments
            top = [dataclasses.replace(same, command=chosen.entry.command, evidence=evidence)]
        elif chosen.entry.kind != "documented-server":
            top = [chosen.entry]
    rest = [d.entry for d in documented if d is not chosen and d.entry.kind != "documented-server"]
    ranked = [*servers.first, *top, *detected, *rest]
    unique: dict[tuple[str, ...], EntryPoint] = {}
    for entry in ranked:  # a server run as a script is found twice: keep the richer one
        unique.setdefault(tuple(entry.command), entry)
    entries = list(unique.values())
    # A Hugging Face Space says which file it runs (README.md: sdk and app_file).
    space = space_config(project)
    app_file = space.get("app_file", ("", 0))[0]
    if space.get("sdk", ("", 0))[0] in ("gradio", "streamlit") and app_file:
        entries.sort(key=lambda e: app_file not in e.command)
    return entries or servers.last


def ports_of(entry: EntryPoint | None, servers: ServerFacts) -> dict[int, Evidence]:
    """The entry point's port, and those of server calls in the file it runs: ports of
    server calls elsewhere belong to alternatives (a side server.py of a training
    repository), not to what the image runs."""
    ports: dict[int, Evidence] = {}
    if entry is not None and entry.port:
        ports[entry.port] = entry.evidence[0] if entry.evidence else Evidence("")
    # A console script or a Procfile line may run any module: its ports are all kept.
    known = entry is not None and (entry.port or entry.kind in ("script", "module"))
    runs = {e.path for e in entry.evidence} | set(entry.command[1:2]) if entry else set()
    for port, evidence in servers.ports.items():
        if not known or evidence.path in runs:
            ports.setdefault(port, evidence)
    return ports

"""Entry points the project's own files declare: MLflow ``MLproject`` entry points,
``Procfile`` processes, and JupyterLab for the notebooks of a notebook-only repository."""

from __future__ import annotations

import re
import shlex

from dockerize_ml.detect import shapes
from dockerize_ml.detect.files import line_of, parse_yaml
from dockerize_ml.detect.servers.common import ServerFacts, on_defaults, server_row
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.profile import EntryPoint, Evidence
from dockerize_ml.scan import Scan


def mlproject(scan: Scan, facts: ServerFacts) -> None:
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


def procfile(scan: Scan, facts: ServerFacts) -> None:
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


def notebooks(scan: Scan, facts: ServerFacts) -> None:
    """JupyterLab on the notebooks, the last resort of a repository without another start."""
    found = scan.glob(".ipynb")
    if not found:
        return
    port = server_row("jupyterlab")["port"]
    command = ("jupyter", "lab", "--ip=0.0.0.0", f"--port={port}", "--no-browser")
    evidence = Evidence(found[0], 0, f"{len(found)} notebook(s)")
    facts.last.append(on_defaults("jupyterlab", command, evidence))

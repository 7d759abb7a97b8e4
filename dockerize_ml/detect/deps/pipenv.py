"""Pipenv: ``Pipfile`` (TOML) and ``Pipfile.lock`` (JSON)."""

from __future__ import annotations

from typing import Any

from dockerize_ml.detect import shapes
from dockerize_ml.detect.deps.model import Candidate, PythonHint, parse_dependency
from dockerize_ml.detect.files import line_of, parse_json, read_toml, require_text
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.profile import Evidence, LocalInstall
from dockerize_ml.scan import Scan

PIPFILE = "Pipfile"
LOCK = "Pipfile.lock"


def _entry(name: str, value: Any, text: str, cand: Candidate) -> str | None:
    """One ``[packages]`` entry as a PEP 508 string (None for a local path)."""
    line = line_of(text, f"\n{name}") + 1
    if isinstance(value, str):
        spec = "" if value.strip() == "*" else value.strip()
        return f"{name}{spec}"
    if not isinstance(value, dict):
        return None
    if "path" in value:
        cand.local.append(
            LocalInstall(
                str(value["path"]).rstrip("/") or ".",
                bool(value.get("editable")),
                Evidence(PIPFILE, line, f"{name}: path dependency"),
            )
        )
        return None
    extras = value.get("extras", [])
    base = name + (f"[{','.join(extras)}]" if extras else "")
    if "git" in value:
        cand.vcs = True
        ref = value.get("ref")
        return f"{base} @ git+{value['git']}" + (f"@{ref}" if ref else "")
    version = str(value.get("version", "*"))
    spec = "" if version == "*" else version
    markers = value.get("markers", "")
    return base + spec + (f"; {markers}" if markers else "")


def _lock_valid(scan: Scan, cand: Candidate) -> None:
    hint = "regenerate it with `pipenv lock`"
    try:
        data = parse_json(LOCK, require_text(scan, LOCK), shapes.PIPFILE_LOCK)
    except InvalidProjectFileError as exc:
        raise InvalidProjectFileError(exc.message, hint) from None
    if not isinstance(data, dict) or "default" not in data:
        raise InvalidProjectFileError(f'{LOCK}: no "default" section; not a Pipfile.lock', hint)


def pipenv_candidate(scan: Scan) -> Candidate | None:
    """The Pipenv source of the project, if it has a Pipfile."""
    doc = read_toml(scan, PIPFILE, shapes.PIPFILE)
    if doc is None:
        return None
    text = scan.read_text(PIPFILE) or ""
    lock = LOCK if LOCK in scan.files else ""
    cand = Candidate("pipfile", lock or PIPFILE, lock=lock, files=[PIPFILE])
    if lock:
        _lock_valid(scan, cand)
        cand.files.append(lock)
    for name, value in doc.get("packages", {}).items():
        req = _entry(str(name), value, text, cand)
        if req is not None:
            dep = parse_dependency(req, PIPFILE, line_of(text, f"\n{name}") + 1, cand.warnings)
            if dep is not None:
                cand.dependencies.append(dep)
    requires = doc.get("requires", {})
    version = requires.get("python_version") or requires.get("python_full_version")
    if version:
        line = line_of(text, "python_")
        evidence = Evidence(PIPFILE, line, f"python_version {version}")
        parts = str(version).split(".")
        if len(parts) >= 2:
            cand.python.append(PythonHint(f"{parts[0]}.{parts[1]}", None, evidence))
    return cand

"""`dockerize-ml build` names the cause of a failure; `build --fix` repairs it, for real.

One broken sample per recognised cause, each with a package that the knowledge tables do not
know: `build` fails naming the cause (exit 11 or 12); `build --fix` ends with passing smoke
tests and the change saved, so that a later `init` keeps it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import _unavailable, run_cli

from dockerize_ml.errors import ExitCode
from dockerize_ml.settings import Choices, load

#: sample -> (init flags, exit code of the plain build, the cause's kind, settings saved).
CASES: dict[str, tuple[tuple[str, ...], int, str, dict[str, Any]]] = {
    "broken-odbc": ((), 12, "shared-library", {"system-packages": ["libodbc2"]}),
    "broken-dmtx": ((), 12, "shared-library", {"system-packages": ["libdmtx0b"]}),
    "broken-ldap": (
        (),
        11,
        "no-compiler",
        {"build-packages": ["build-essential", "libldap-dev", "libsasl2-dev"]},
    ),
    "broken-no-wheel": ((), 11, "no-wheel", {"python": "3.11"}),
    "broken-undeclared": ((), 12, "missing-module", {"dependencies": ["python-dateutil"]}),
    "broken-loopback": (
        ("--port", "8000"),
        12,
        "loopback-server",
        {"entry": "python serve.py --host 0.0.0.0 --port 8000", "ports": [8000]},
    ),
    "broken-needs-argument": (
        (),
        12,
        "entry-argument",
        {"entry": "python train.py --config configs/base.yaml"},
    ),
}


def _subset(saved: dict[str, Any], expected: dict[str, Any]) -> bool:
    for key, value in expected.items():
        if isinstance(value, list):
            if not set(value) <= set(saved.get(key, [])):
                return False
        elif saved.get(key) != value:
            return False
    return True


@pytest.mark.docker
@pytest.mark.parametrize("name", list(CASES))
def test_build_names_the_cause_and_build_fix_repairs_it(
    name: str, engine: Any, buildkit_cli: str, sample: Callable[[str], Path]
) -> None:
    flags, code, kind, expected = CASES[name]
    if name == "broken-no-wheel":
        try:
            engine.images.get("python:3.13-slim")
        except Exception:
            _unavailable("base image python:3.13-slim is missing (a stand-in from Debian trixie)")
    root = sample(name)
    tag = f"fix-{name}-{uuid.uuid4().hex[:8]}:latest"
    try:
        assert run_cli("init", root, *flags).returncode == 0
        plain = run_cli("build", root, "--tag", tag, "--timeout", "20")
        assert plain.returncode == code, plain.stderr[-2000:]
        lines = plain.stderr.splitlines()
        assert any(line.startswith("cause: ") for line in lines), plain.stderr[-2000:]
        assert any(line.startswith("change: ") for line in lines)
        assert "build --fix" in plain.stderr and "Traceback" not in plain.stderr

        fixed = run_cli("build", root, "--fix", "--json", "--tag", tag, "--timeout", "20")
        assert fixed.returncode == 0, fixed.stderr[-3000:]
        report = json.loads(fixed.stdout)
        assert report["ok"] and report["report"]["ok"]
        rounds = report["rounds"]
        assert not rounds[0]["ok"] and rounds[-1]["ok"] and len(rounds) >= 2
        assert rounds[0]["findings"][0]["kind"] == kind
        saved = load(root).table()
        assert _subset(saved, expected), saved

        # the fix is a setting: a later init replays it, and check finds nothing stale
        again = run_cli("init", root)
        assert again.returncode == 0, again.stderr
        assert load(root).table() == saved
        assert run_cli("check", root).returncode == 0
    finally:
        engine.images.remove(tag, force=True) if _exists(engine, tag) else None


def _exists(engine: Any, tag: str) -> bool:
    try:
        engine.images.get(tag)
    except Exception:
        return False
    return True


@pytest.mark.docker
def test_an_unrecognised_failure_stops_with_a_clear_message(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path]
) -> None:
    root = sample("broken-needs-argument")
    (root / "requirements.txt").write_text("pyyaml==6.0.2\nno-such-distribution-xyz==1.0\n")
    assert run_cli("init", root).returncode == 0
    tag = f"fix-unknown-{uuid.uuid4().hex[:8]}:latest"
    result = run_cli("build", root, "--fix", "--tag", tag)
    assert result.returncode == ExitCode.BUILD_FAILED, result.stderr[-2000:]
    assert "build --fix stopped after round 1: the cause is not one build --fix recognises" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert load(root) == Choices()

"""compose.yaml starts on a fresh clone: no required .env, and an outputs folder the image's
user can write to, although Docker creates a missing bind-mounted folder as root.

Debian's docker-compose 1.29 is the one on these machines; the file is also checked against
the Compose specification (check-jsonschema's vendored schema).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import copy_sample, run_cli, tool

from dockerize_ml import inspect_project, make_plan, render
from dockerize_ml.plan import Settings


def compose_cli() -> str:
    return shutil.which("docker-compose") or pytest.fail("docker-compose is not installed")


def _compose(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [compose_cli(), "-f", str(root / "compose.yaml"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env=env,
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_a_gitignored_env_is_passed_by_name_not_required(tmp_path: Path) -> None:
    # churn-model's .env is gitignored: a fresh clone has none
    root = copy_sample("churn-model", tmp_path / "churn-model")
    files = render(make_plan(inspect_project(root), Settings()))
    _write(root, files)
    app = yaml.safe_load(files["compose.yaml"])["services"]["app"]
    assert "env_file" not in app
    assert app["environment"] == ["CHURN_DB_URL", "CHURN_THRESHOLD"]
    assert "not-a-real-password" not in files["compose.yaml"]  # names, never values
    env_text = (root / ".env").read_text()
    (root / ".env").unlink()
    fresh = _compose(root, "config")
    assert fresh.returncode == 0, fresh.stderr
    environment = yaml.safe_load(fresh.stdout)["services"]["app"]["environment"]
    assert environment == {"CHURN_DB_URL": None, "CHURN_THRESHOLD": None}  # left unset
    (root / ".env").write_text(env_text)
    local = _compose(root, "config")
    assert local.returncode == 0, local.stderr
    environment = yaml.safe_load(local.stdout)["services"]["app"]["environment"]
    assert environment["CHURN_THRESHOLD"] == "0.5"  # read from .env when it is there
    schema = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    assert schema.returncode == 0, schema.stdout


def test_a_tracked_env_stays_an_env_file(tmp_path: Path) -> None:
    root = copy_sample("streamlit-csv", tmp_path / "streamlit-csv")
    (root / ".env").write_text("API_KEY=not-a-secret\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    app = yaml.safe_load(render(make_plan(inspect_project(root), Settings()))["compose.yaml"])
    assert app["services"]["app"]["env_file"] == ".env"
    assert "environment" not in app["services"]["app"]


def test_outputs_are_handed_to_the_images_user_first(tmp_path: Path) -> None:
    root = copy_sample("churn-model", tmp_path / "churn-model")
    compose = yaml.safe_load(render(make_plan(inspect_project(root), Settings()))["compose.yaml"])
    prepare, app = compose["services"]["prepare"], compose["services"]["app"]
    assert app["depends_on"] == {"prepare": {"condition": "service_completed_successfully"}}
    assert prepare["user"] == "0" and prepare["volumes"] == ["./outputs:/app/outputs"]
    assert prepare["command"][-1] == "/app/outputs" and prepare["image"] == app["image"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _git(*args: str | Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *map(str, args)],
        check=True,
        capture_output=True,
    )


def _health(container: str) -> str:
    inspect = subprocess.run(
        ["/usr/bin/docker", "inspect", "--format", "{{.State.Health.Status}}", container],
        capture_output=True,
        text=True,
        check=False,
    )
    return inspect.stdout.strip()


@pytest.mark.docker
def test_compose_starts_a_server_on_a_fresh_clone_without_env(
    engine: Any, buildkit_cli: str, tmp_path: Path
) -> None:
    name = f"run-compose-{uuid.uuid4().hex[:8]}"  # the folder names the image
    work = copy_sample("streamlit-csv", tmp_path / "work" / name)
    _write(work, {".gitignore": ".venv/\n__pycache__/\n.env\noutputs/\n", ".env": "API_KEY=x\n"})
    _write(work, {"outputs/last-run.txt": "from an earlier run\n"})
    _git("init", "-q", work)
    _git("-C", work, "add", "-A")
    _git("-C", work, "commit", "-qm", "the project")
    init = run_cli("init", work, "--python", "3.11")
    assert init.returncode == 0, init.stdout + init.stderr
    _git("-C", work, "add", "-A")
    _git("-C", work, "commit", "-qm", "dockerize-ml init")
    clone = tmp_path / "clone" / name
    _git("clone", "-q", work, clone)
    assert not (clone / ".env").exists() and not (clone / "outputs").exists()

    compose_file = clone / "compose.yaml"
    port = _free_port()  # parallel runs must not collide on 8501
    text = compose_file.read_text()
    assert '"127.0.0.1:8501:8501"' in text
    compose_file.write_text(text.replace('"127.0.0.1:8501:8501"', f'"127.0.0.1:{port}:8501"'))
    image = yaml.safe_load(text)["services"]["app"]["image"]
    # docker-compose builds with the docker first on PATH: Debian's, which has BuildKit
    env = {
        **os.environ,
        "PATH": f"{Path(buildkit_cli).parent}:{os.environ['PATH']}",
        "DOCKER_BUILDKIT": "1",
        "COMPOSE_DOCKER_CLI_BUILD": "1",
    }
    project = ["-p", name]
    try:
        up = _compose(clone, *project, "up", "-d", "--build", env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        container = _compose(clone, *project, "ps", "-q", "app", env=env).stdout.strip()
        deadline = time.monotonic() + 180
        while _health(container) != "healthy" and time.monotonic() < deadline:
            assert _health(container) in ("starting", "healthy"), _health(container)
            time.sleep(2)
        assert _health(container) == "healthy"  # compose's healthcheck: the plan's probe
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
            assert r.status == 200 and r.read() == b"ok"
        write = _compose(
            clone,
            *project,
            "exec",
            "-T",
            "app",
            "sh",
            "-c",
            "id -u && echo written > /app/outputs/probe.txt",
            env=env,
        )
        assert write.returncode == 0, write.stdout + write.stderr
        assert write.stdout.strip() != "0"  # not as root
        assert (clone / "outputs" / "probe.txt").read_text() == "written\n"
        # the image holds the CSV the app reads, under the folder compose mounts from the clone
        listed = subprocess.run(
            ["/usr/bin/docker", "run", "--rm", image, "ls", "/app/data"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "sales.csv" in listed.stdout.split(), listed.stdout + listed.stderr
    finally:
        down = _compose(clone, *project, "down", "--volumes", "--rmi", "all", env=env)
        assert down.returncode == 0, down.stderr

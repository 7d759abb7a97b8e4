"""`dockerize-ml build`: build through the SDK or the CLI, smoke-test, report, exit codes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_tree

from dockerize_ml.engine import diagnose
from dockerize_ml.errors import ExitCode


def build_json(
    root: Path, *flags: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli("build", root, "--json", *flags, env=env)


@pytest.mark.docker
def test_passing_project_with_buildkit(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path]
) -> None:
    root = sample("churn-model")
    assert run_cli("init", root).returncode == 0
    result = build_json(root, "--tag", "dockerize-ml-test-build-ok:latest")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["builder"] == "buildkit (docker CLI)"
    assert report["image_bytes"] > 100_000_000
    assert report["context_bytes"] > 0
    names = {s["name"]: s for s in report["smoke"]}
    assert names["non-root user"]["detail"] == "runs as uid 1000"
    assert names["dependencies import"]["ok"]
    assert names["entry script imports"]["ok"]
    engine.images.remove("dockerize-ml-test-build-ok:latest", force=True)


@pytest.mark.docker
def test_classic_builder_through_the_sdk_and_a_cli_entry_point(
    engine: Any, sample: Callable[[str], Path]
) -> None:
    root = sample("sentiment-cli")
    assert run_cli("init", root, "--no-buildkit").returncode == 0
    result = build_json(
        root, "--tag", "dockerize-ml-test-build-sdk:latest", "--smoke", "sentiment-cli 'love it'"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["builder"] == "classic (Docker SDK)"
    names = {s["name"]: s for s in report["smoke"]}
    assert names["entry point answers --help"]["ok"]
    assert names["smoke command"]["ok"] and "+0." in names["smoke command"]["detail"]
    engine.images.remove("dockerize-ml-test-build-sdk:latest", force=True)


@pytest.mark.docker
def test_server_on_loopback_fails_its_smoke_test(
    engine: Any, buildkit_cli: str, tmp_path: Path
) -> None:
    root = write_tree(
        tmp_path / "loopback",
        {
            ".python-version": "3.11\n",
            "requirements.txt": "fastapi>=0.110\nuvicorn>=0.29\n",
            "serve.py": (
                "import uvicorn\nfrom fastapi import FastAPI\n\napi = FastAPI()\n\n\n"
                "@api.get('/')\ndef root():\n    return {'ok': True}\n\n\n"
                "if __name__ == '__main__':\n    uvicorn.run(api, host='127.0.0.1', port=8000)\n"
            ),
        },
    )
    init = run_cli("init", root, "--entry", "python serve.py", "--port", "8000")
    assert init.returncode == 0, init.stderr
    result = run_cli("build", root, "--tag", "dockerize-ml-test-loopback:latest", "--timeout", "20")
    assert result.returncode == ExitCode.SMOKE_FAILED, result.stdout + result.stderr
    assert "FAIL server answers on port 8000" in result.stdout
    assert "loopback address inside the container" in result.stdout
    assert result.stderr.rstrip().endswith("error: smoke test failed: server answers on port 8000")
    engine.images.remove("dockerize-ml-test-loopback:latest", force=True)


@pytest.mark.docker
def test_unresolvable_requirement_is_named(engine: Any, buildkit_cli: str, tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "unresolvable",
        {
            ".python-version": "3.11\n",
            "requirements.txt": "numpy\ndockerize-ml-no-such-package-xyz==1.0\n",
            "main.py": "if __name__ == '__main__':\n    print('hi')\n",
        },
    )
    assert run_cli("init", root).returncode == 0
    result = run_cli("build", root, "--tag", "dockerize-ml-test-unresolvable:latest")
    assert result.returncode == ExitCode.BUILD_FAILED
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the image did not build at `RUN")
    assert "dockerize-ml-no-such-package-xyz" in last
    assert "Traceback" not in result.stderr


def test_no_engine_says_where_it_looked(sample: Callable[[str], Path], tmp_path: Path) -> None:
    root = sample("churn-model")
    assert run_cli("init", root).returncode == 0
    nothing = tmp_path / "nothing.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(nothing))  # a socket with nothing answering behind it
    server.close()
    result = run_cli("build", root, env={**os.environ, "DOCKER_HOST": f"unix://{nothing}"})
    assert result.returncode == ExitCode.NO_ENGINE
    assert f"unix://{nothing}" in result.stderr and "start Docker" in result.stderr


def test_missing_dockerfile(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "p", {"main.py": ""})
    result = run_cli("build", root)
    assert result.returncode == ExitCode.NO_DOCKERFILE
    assert "dockerize-ml init" in result.stderr


@pytest.mark.parametrize(
    ("log", "needle"),
    [
        (
            "#8 [4/6] RUN pip install -r /tmp/deps/requirements.txt\n"
            "#8 2.1 ERROR: No matching distribution found for torchh==2.0\n#8 ERROR: executor failed",
            "pip cannot find the requirement torchh==2.0",
        ),
        (
            "Step 5/9 : COPY models/model.pkl /app/\n"
            "COPY failed: file not found in build context or excluded by .dockerignore: "
            "stat models/model.pkl: file does not exist",
            "the build needs models/model.pkl, which is missing or excluded by .dockerignore",
        ),
        (
            "#9 [5/7] RUN pip install psycopg2==2.9.9\n#9 12.0 fatal error: pg_config.h: No such "
            "file or directory\n#9 ERROR: executor failed",
            "needs the header pg_config.h",
        ),
    ],
)
def test_build_failures_are_explained(log: str, needle: str) -> None:
    step, message = diagnose(log)
    assert step
    assert needle in message


class _FakeContainer:
    def __init__(self, engine: _FakeEngine, command: list[str]) -> None:
        self.engine, self.command = engine, command

    def wait(self, timeout: float) -> dict[str, int]:
        return {"StatusCode": 0}

    def logs(self, **_: Any) -> bytes:
        if self.command[:2] == ["id", "-u"]:
            return b"1000\n"
        if "import importlib" in " ".join(self.command):
            return b'{"torch": ""}\n'
        return b"ok\n"

    def remove(self, force: bool) -> None:
        self.engine.removed += 1


class _FakeEngine:
    """Records the containers the smoke tests start (no GPU on these machines)."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.removed = 0
        self.containers = self

    def run(self, image: str, command: list[str] | None = None, **kwargs: Any) -> _FakeContainer:
        self.runs.append({"image": image, "command": command, **kwargs})
        return _FakeContainer(self, command or [])


def test_gpus_request_every_gpu_and_check_cuda(tmp_path: Path) -> None:
    from dockerize_ml.detect import inspect_project
    from dockerize_ml.plan import Settings, make_plan
    from dockerize_ml.smoke import smoke_test

    root = write_tree(
        tmp_path / "gpu",
        {
            "requirements.txt": "torch\n",
            "train.py": "import torch\nx = torch.zeros(1).cuda()\nif __name__ == '__main__':\n    pass\n",
        },
    )
    profile = inspect_project(root)
    engine = _FakeEngine()
    plan = make_plan(profile, Settings())
    results = smoke_test(engine, "img", plan.smoke, profile.frameworks, gpus=True)
    assert [r.name for r in results] == [
        "non-root user",
        "dependencies import",
        "entry script imports",
        "torch sees a GPU",
    ]
    assert all(r.ok for r in results)
    for run in engine.runs:
        [request] = run["device_requests"]
        assert request["Count"] == -1 and request["Capabilities"] == [["gpu"]]
    assert "torch.zeros(1).cuda()" in engine.runs[-1]["command"][-1]
    assert engine.removed == len(engine.runs), "every container is removed"


@pytest.mark.docker
def test_notebook_course_image_serves_jupyterlab(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path]
) -> None:
    root = sample("notebook-course")
    assert run_cli("init", root, "--python", "3.11").returncode == 0
    assert '--volume "$PWD":/app' in (root / "docker" / "run.sh").read_text()
    result = build_json(root, "--tag", "dockerize-ml-test-notebooks:latest")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    names = {s["name"]: s for s in report["smoke"]}
    assert names["jupyterlab answers on port 8888"]["detail"] == "GET /api -> 200"
    assert names["dependencies import"]["ok"]  # pandas, seaborn, scikit-learn, statsmodels, ...
    engine.images.remove("dockerize-ml-test-notebooks:latest", force=True)

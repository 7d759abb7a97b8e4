"""Platform targets (--target): the plan's decisions, the generated entry points, and each
platform's contract exercised with the real engine the way the platform runs the image."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import lint_generated, run_cli, tool

from dockerize_ml import inspect_project, make_plan, render
from dockerize_ml.errors import ExitCode
from dockerize_ml.names import PLATFORM_DIR
from dockerize_ml.plan import Settings

ENTRY = f"{PLATFORM_DIR}/platform_entry.py"


def plan_for(root: Path, **settings: Any) -> Any:
    return make_plan(inspect_project(root), Settings(**settings))


def written(root: Path, **settings: Any) -> dict[str, str]:
    """Render with ``settings``, write the files, and lint them all (hadolint, shellcheck on
    docker/*.sh and the entry points, ruff on the Python entry point)."""
    files = render(plan_for(root, **settings))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    lint_generated(root)
    if ENTRY in files:
        scripts = [str(root / PLATFORM_DIR / name) for name in ("train", "serve")]
        shellcheck = subprocess.run(
            [tool("shellcheck"), "--severity=style", *scripts],
            capture_output=True,
            text=True,
            check=False,
        )
        assert shellcheck.returncode == 0, shellcheck.stdout
        # The user's project may lint with ruff's defaults: line length 88, Python 3.8 up.
        rules = ["--select", "E,F,W,B,UP,I,SIM,C90", "--target-version", "py38"]
        ruff = [sys.executable, "-m", "ruff"]
        check = subprocess.run(
            [*ruff, "check", "--isolated", *rules, str(root / ENTRY)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout
        fmt = subprocess.run(
            [*ruff, "format", "--isolated", "--check", str(root / ENTRY)],
            capture_output=True,
            check=False,
        )
        assert fmt.returncode == 0, fmt.stdout
    return files


# --- the plan ----------------------------------------------------------------------------


def test_sagemaker_keeps_the_command_and_adds_the_entry_points(
    sample: Callable[[str], Path],
) -> None:
    root = sample("sklearn-api")
    plan = plan_for(root, targets=("sagemaker",))
    target = plan.targets
    assert target.train == ("python", "train.py")
    assert target.app is not None
    assert (target.app.interface, target.app.module, target.app.attr) == ("asgi", "app", "app")
    assert (target.model_dir, target.data_dirs, target.health) == ("models", ("data",), "/health")
    # SageMaker calls `train` / `serve` by name: the image's own command stays the app's.
    assert plan.command == ("uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000")
    files = written(root, targets=("sagemaker",))
    assert (
        "\nCOPY --chmod=0755 docker/platform/ /opt/dockerize-ml/\nENV PATH=/opt/dockerize-ml:$PATH"
        in (files["Dockerfile"])
    )
    config = json.loads(files[f"{PLATFORM_DIR}/targets.json"])
    assert config["serve"]["command"][-1] == "{port}"
    assert config["serve"]["sagemaker"] is True
    classic = render(plan_for(root, targets=("sagemaker",), buildkit=False))["Dockerfile"]
    assert "\nCOPY docker/platform/ /opt/dockerize-ml/\n" in classic  # --chmod is BuildKit's
    # Without targets nothing of this is written.
    assert not any(rel.startswith(PLATFORM_DIR) for rel in render(plan_for(root)))


def test_platforms_that_run_the_command_get_serve_on_8080(sample: Callable[[str], Path]) -> None:
    root = sample("sklearn-api")
    plan = plan_for(root, targets=("cloudrun",), k8s=True)
    assert plan.command == ("serve",)
    assert (plan.ports, plan.server_port, plan.smoke.port) == ((8080,), 8080, 8080)
    files = written(root, targets=("cloudrun",), k8s=True)
    assert 'CMD ["serve"]' in files["Dockerfile"] and "EXPOSE 8080" in files["Dockerfile"]
    assert "127.0.0.1:8080:8080" in files["compose.yaml"]
    assert "containerPort: 8080" in files["k8s/sklearn-api.yaml"]
    assert json.loads(files[f"{PLATFORM_DIR}/targets.json"])["serve"]["sagemaker"] is False


def test_vertex_training_project_runs_train(sample: Callable[[str], Path]) -> None:
    root = sample("churn-model")
    plan = plan_for(root, targets=("vertex",))
    assert plan.command == ("train",)
    assert plan.targets.train == ("python", "train.py")
    assert plan.targets.model_dir == "outputs"
    assert plan.targets.app is None
    written(root, targets=("vertex",))


def test_gunicorn_app_and_its_port(sample: Callable[[str], Path]) -> None:
    target = plan_for(sample("flask-scores"), targets=("sagemaker",)).targets
    assert target.app is not None
    assert (target.app.interface, target.app.module, target.app.attr) == ("wsgi", "app", "app")
    assert target.serve_command == ("gunicorn", "--bind", "0.0.0.0:{port}", "app:app")
    assert target.health == "/healthz"


def test_generated_entry_points_are_not_read_as_the_project(
    sample: Callable[[str], Path],
) -> None:
    """platform_entry.py imports uvicorn, gunicorn and werkzeug and has a __main__ block: it
    must not become an undeclared import or an entry point of the project."""
    root = sample("flask-scores")
    before = inspect_project(root)
    written(root, targets=("sagemaker", "cloudrun"))
    after = inspect_project(root)
    assert after.undeclared_imports == before.undeclared_imports
    assert after.entrypoint_alternatives == before.entrypoint_alternatives
    assert after.to_dict() == before.to_dict()


def test_spaces_readme_front_matter(sample: Callable[[str], Path]) -> None:
    root = sample("flask-scores")
    (root / "README.md").unlink()
    files = written(root, targets=("spaces",))
    readme = files["README.md"]
    assert readme.startswith("---\n")
    matter = readme.split("---\n")[1]
    assert "sdk: docker\n" in matter and "app_port: 8080\n" in matter
    # Written by dockerize-ml, so regenerated (and merged) later; a user's README never is.
    assert "README.md" in render(plan_for(root, targets=("spaces",)))
    (root / "README.md").write_text("# mine\n")
    plan = plan_for(root, targets=("spaces",))
    assert "README.md" not in render(plan)
    assert any("sdk: docker, app_port: 8080" in note for note in plan.notes)
    (root / "README.md").write_text("---\nsdk: docker\napp_port: 8080\n---\n# mine\n")
    assert not any("README" in note for note in plan_for(root, targets=("spaces",)).notes)


def test_targets_are_saved_replayed_and_checked(sample: Callable[[str], Path]) -> None:
    root = sample("flask-scores")
    first = run_cli("init", root, "--target", "sagemaker", "--predict-route", "/score")
    assert first.returncode == 0, first.stderr
    saved = (root / "dockerize-ml.toml").read_text()
    assert 'targets = ["sagemaker"]' in saved and 'predict-route = "/score"' in saved
    config = json.loads((root / PLATFORM_DIR / "targets.json").read_text())
    assert config["serve"]["predict"] == "/score"
    assert os.access(root / PLATFORM_DIR / "serve", os.X_OK)
    again = run_cli("init", root)
    assert again.returncode == 0 and "updated" not in again.stdout, again.stdout
    assert run_cli("check", root).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--target", "heroku"), "--target 'heroku' is not one of sagemaker, vertex"),
        (("--target", "sagemaker", "--predict-route", "predict"), "is not an HTTP path"),
    ],
)
def test_bad_target_flags(
    sample: Callable[[str], Path], args: tuple[str, ...], message: str
) -> None:
    result = run_cli("init", sample("flask-scores"), *args)
    assert result.returncode == ExitCode.USAGE
    assert message in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_saved_targets(sample: Callable[[str], Path]) -> None:
    root = sample("flask-scores")
    (root / "dockerize-ml.toml").write_text('targets = ["lambda"]\n')
    result = run_cli("init", root)
    assert result.returncode == ExitCode.INVALID_PROJECT_FILE
    assert "setting 'targets' holds 'lambda'" in result.stderr
    assert "Traceback" not in result.stderr


# --- the route map, in this process (Flask is a test dependency of nothing: skip without) --


def _entry_module(root: Path, files: dict[str, str]) -> ModuleType:
    spec = importlib.util.spec_from_file_location("platform_entry_test", root / ENTRY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_route_map_of_a_flask_app(
    sample: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("flask")
    from werkzeug.test import Client

    root = sample("flask-scores")
    files = written(root, targets=("sagemaker",))
    entry = _entry_module(root, files)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.chdir(root)
    monkeypatch.delitem(sys.modules, "app", raising=False)  # the sample's, imported fresh
    app = entry.load_app({"module": "app", "attr": "app", "factory": False, "app_dir": ""})
    config = json.loads(files[f"{PLATFORM_DIR}/targets.json"])["serve"]
    with pytest.raises(SystemExit, match=r"2 POST routes \(/score, /feedback\).*--predict-route"):
        entry.route_map(app, config)
    monkeypatch.setenv("AIP_PREDICT_ROUTE", "/v1/models/m:predict")
    mapped, own = entry.route_map(app, {**config, "predict": "/feedback"})
    assert mapped == {
        ("GET", "/ping"): "/healthz",
        ("POST", "/invocations"): "/feedback",
        ("POST", "/v1/models/m:predict"): "/feedback",
    }
    assert own == set()
    client = Client(entry.wsgi(app, mapped, own))
    assert client.get("/ping").json == {"status": "ok"}
    assert client.post("/invocations", json={}).json == {"thanks": True}
    # An app without the health route: /ping is answered by the map itself.
    mapped, own = entry.route_map(app, {**config, "predict": "/score", "health": "/nothere"})
    assert ("GET", "/ping") in own and ("GET", "/ping") not in mapped
    assert Client(entry.wsgi(app, mapped, own)).get("/ping").status_code == 200


# --- the platforms' contracts, with the real engine ----------------------------------------


def _build(root: Path, tag: str, *flags: str) -> None:
    """`init` with ``flags``, `dockerize-ml build` (BuildKit), then the generated
    docker/smoke.sh: the image's command (``serve`` for some targets) answers on its port."""
    init = run_cli("init", root, *flags)
    assert init.returncode == 0, init.stderr
    built = run_cli("build", root, "--tag", tag, "--no-smoke")
    assert built.returncode == 0, built.stdout + built.stderr
    smoke = subprocess.run(
        [str(root / "docker" / "smoke.sh"), tag], capture_output=True, text=True, check=False
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr


def _opt_ml(root: Path, channel: str, rows: str, hyperparameters: dict[str, str]) -> Path:
    """A /opt/ml tree as SageMaker mounts it, writable by the image's user (uid 1000)."""
    tree = root / "opt-ml"
    (tree / "input" / "data" / channel).mkdir(parents=True)
    (tree / "input" / "config").mkdir(parents=True)
    (tree / "model").mkdir()
    (tree / "output").mkdir()
    (tree / "input" / "data" / channel / "train.csv").write_text(rows)
    (tree / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    for path in [tree, *tree.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    return tree


def _get(url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:  # the model loads
        return json.loads(response.read())


@contextlib.contextmanager
def serving(engine: Any, tag: str, port: int, **run: Any) -> Iterator[str]:
    """A detached container publishing ``port``; the base URL once it answers."""
    container = engine.containers.run(
        tag, detach=True, ports={f"{port}/tcp": ("127.0.0.1", None)}, **run
    )
    try:
        container.reload()
        host_port = container.ports[f"{port}/tcp"][0]["HostPort"]
        base = f"http://127.0.0.1:{host_port}"
        for _ in range(90):
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                break
            except urllib.error.HTTPError:
                break  # an answer, if not for /
            except OSError:
                pass
            container.reload()
            assert container.status in ("created", "running"), container.logs().decode()
            time.sleep(1)
        yield base
    finally:
        logs = container.logs().decode(errors="replace")
        container.remove(force=True)
        print(logs)


def _rows(n: int) -> str:
    lines = ["sepal,petal,label"]
    lines += [f"{5 + i % 2}.0,{1.5 + 3 * (i % 2)},{i % 2}" for i in range(n)]
    return "\n".join(lines) + "\n"


@pytest.mark.docker
def test_sagemaker_train_and_serve(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    """`docker run IMAGE train` with a /opt/ml tree: the channel is the data the code reads,
    hyperparameters.json its arguments, the model lands on the host (and a failure in
    /opt/ml/output/failure); `docker run IMAGE serve`: 8080, /ping and /invocations."""
    root = sample("sklearn-api")
    _build(root, tag, "--target", "sagemaker")
    tree = _opt_ml(root, "training", _rows(12), {"c": "0.5", "max-iter": "300"})
    volumes = {str(tree): {"bind": "/opt/ml", "mode": "rw"}}
    logs = engine.containers.run(tag, ["train"], volumes=volumes, remove=True, stderr=True)
    assert (tree / "model" / "model.joblib").is_file(), logs.decode()
    params = json.loads((tree / "model" / "params.json").read_text())
    assert params == {"c": 0.5, "max_iter": 300, "rows": 12}  # the channel's 12, not the 60
    assert not (tree / "output" / "failure").exists()

    (tree / "input" / "config" / "hyperparameters.json").write_text('{"c": "strong"}')
    container = engine.containers.run(tag, ["train"], volumes=volumes, detach=True)
    assert container.wait(timeout=120)["StatusCode"] != 0
    container.remove()
    failure = (tree / "output" / "failure").read_text()
    assert "exited with 2" in failure and "invalid float value: 'strong'" in failure

    model = {str(tree / "model"): {"bind": "/opt/ml/model", "mode": "ro"}}
    with serving(engine, tag, 8080, command=["serve"], volumes=model) as base:
        assert _get(base + "/ping") == {"status": "ok"}
        answer = _get(base + "/invocations", {"rows": [[5.0, 1.5], [6.0, 4.5]]})
        assert answer == {"predictions": [0, 1]}


@pytest.mark.docker
def test_cloudrun_vertex_and_spaces(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str, tmp_path: Path
) -> None:
    """One gunicorn image for three platforms: Cloud Run's PORT=9090; Vertex AI's
    AIP_HTTP_PORT with its health and predict routes, and its training outputs through the
    /gcs mount; Spaces' uid 1000 with a writable home, answering on the README's app_port."""
    root = sample("flask-scores")
    (root / "README.md").unlink()
    flags = ("--target", "cloudrun", "--target", "vertex", "--target", "spaces")
    _build(root, tag, *flags, "--predict-route", "/score")
    readme = (root / "README.md").read_text()
    assert "app_port: 8080\n" in readme

    gcs = tmp_path / "gcs-bucket"
    gcs.mkdir()
    gcs.chmod(0o777)
    engine.containers.run(
        tag,
        ["train", "--min-count", "2"],
        environment={"AIP_MODEL_DIR": "gs://bucket/run-1/model/"},
        volumes={str(gcs): {"bind": "/gcs/bucket", "mode": "rw"}},
        remove=True,
    )
    weights = json.loads((gcs / "run-1" / "model" / "weights.json").read_text())
    assert weights == {"weights": {"great": 2, "awful": -2}, "rows": 4}

    outputs = {str(gcs / "run-1" / "model"): {"bind": "/app/outputs", "mode": "ro"}}
    score = {"texts": ["great product", "awful"]}
    with serving(engine, tag, 9090, environment={"PORT": "9090"}, volumes=outputs) as base:
        assert _get(base + "/healthz") == {"status": "ok"}
        assert _get(base + "/score", score) == {"scores": [2, -2]}
    vertex = {
        "AIP_HTTP_PORT": "7070",
        "AIP_HEALTH_ROUTE": "/v1/health",
        "AIP_PREDICT_ROUTE": "/v1/models/scores:predict",
    }
    with serving(engine, tag, 7070, environment=vertex, volumes=outputs) as base:
        assert _get(base + "/v1/health") == {"status": "ok"}
        assert _get(base + "/v1/models/scores:predict", score) == {"scores": [2, -2]}
    with serving(engine, tag, 8080, user="1000", volumes=outputs) as base:
        assert _get(base + "/healthz") == {"status": "ok"}
    home = engine.containers.run(
        tag, ["sh", "-c", 'touch "$HOME/.probe" && echo "$HOME"'], user="1000", remove=True
    )
    assert home.decode().strip() == "/home/app"

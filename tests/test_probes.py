"""One health probe for every consumer, and pod specs that hide nothing the image holds.

The plan chooses one probe (port, path, timeout, start time). ``dockerize-ml build``
(smoke.py), docker/smoke.sh, compose's healthcheck and the Kubernetes probes must all be that
one; the files are parsed back here, not grepped, and every script line in them is run
through ``bash -n`` and shellcheck. A volume in a pod starts empty: none may be mounted over a
file the image holds (computed here from the sample's files and the generated .dockerignore,
by Docker's matching rules, not from the plan).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SAMPLE_DIRS, copy_sample, tool, write_tree

from dockerize_ml import dockerignore, inspect_project, make_plan, render
from dockerize_ml.names import CONTEXT_IGNORE
from dockerize_ml.plan import BuildPlan, Settings, SmokePlan
from dockerize_ml.probes import IMPORT_PROBE, SCRIPT_PROBE
from dockerize_ml.smoke import _http_probe

#: Files that only keep a folder in git: hiding them hides nothing the code reads.
PLACEHOLDERS = {".gitkeep", ".keep", ".gitignore"}
#: Samples whose project is a folder inside the sample's repository.
PROJECT_FOLDER = {"uv-workspace": "services/tagger"}


def _project(name: str, tmp: Path) -> Path:
    root = copy_sample(name, tmp / name)
    if name in PROJECT_FOLDER:
        (root / ".git").mkdir()
        return root / PROJECT_FOLDER[name]
    return root


def _rendered(name: str, tmp: Path) -> tuple[Path, BuildPlan, dict[str, str]]:
    root = _project(name, tmp)
    plan = make_plan(inspect_project(root), Settings(k8s=True))
    return root, plan, render(plan)


def _image_files(root: Path, plan: BuildPlan, files: dict[str, str]) -> set[str]:
    """The paths under the image's workdir that `COPY . .` brings in: every file of the
    project the generated ignore file lets into the build context."""
    context = (root / plan.context.root).resolve() if plan.context else root
    rules = dockerignore.parse(files[CONTEXT_IGNORE if plan.context else ".dockerignore"])
    prefix = plan.context_prefix
    found: set[str] = set()
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            rel = (Path(folder) / name).relative_to(root).as_posix()
            if not dockerignore.excluded(rules, prefix + rel):
                found.add(f"{plan.workdir}/{rel}")
    assert context.is_dir()
    return found


def _pod_specs(text: str) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(text) if d]
    return [d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")]


def _sh_script_lines(argv: list[str]) -> list[str]:
    """The shell program of an exec-form ``sh -c PROGRAM`` (compose's ``$$`` unescaped)."""
    if argv[:2] in (["sh", "-c"], ["bash", "-c"]):
        return [argv[2].replace("$$", "$")]
    return []


def _check_shell(program: str, tmp: Path) -> None:
    script = tmp / "line.sh"
    script.write_text("#!/bin/sh\n" + program + "\n")
    parsed = subprocess.run(
        ["bash", "-n", str(script)], capture_output=True, text=True, check=False
    )
    assert parsed.returncode == 0, parsed.stderr
    lint = subprocess.run(
        [tool("shellcheck"), "--severity=style", "--shell=sh", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


def _smoke_probe(text: str) -> tuple[str, int, int]:
    """From docker/smoke.sh: the path its curl asks, its --max-time, and the container port."""
    curl = next(line for line in text.splitlines() if line.strip().startswith("if curl "))
    words = shlex.split(curl.strip().removeprefix("if ").removesuffix("; then"))
    url = words[-1]
    assert url.startswith("http://${smoke_host}:${host_port}"), url
    publish = re.search(r'--publish "\$\{publish_ip\}::(\d+)"', text)
    assert publish is not None
    return (
        url.removeprefix("http://${smoke_host}:${host_port}"),
        int(words[words.index("--max-time") + 1]),
        int(publish.group(1)),
    )


def _heredoc(text: str, word: str) -> str:
    start = text.index(f"<<'{word}'\n") + len(f"<<'{word}'\n")
    return text[start : text.index(f"\n{word}\n", start) + 1]


@pytest.mark.parametrize("name", sorted(SAMPLE_DIRS))
def test_every_sample_one_probe_and_no_hidden_file(name: str, tmp_path: Path) -> None:
    root, plan, files = _rendered(name, tmp_path)
    smoke = plan.smoke
    manifest = files[f"k8s/{plan.project_name}.yaml"]
    image = _image_files(root, plan, files)

    # No volume of a pod covers a file the image holds at run time.
    for pod in _pod_specs(manifest):
        for container in pod["containers"]:
            for mount in container.get("volumeMounts", []):
                path = mount["mountPath"].rstrip("/")
                hidden = sorted(
                    f
                    for f in image
                    if (f == path or f.startswith(path + "/"))
                    and f.rsplit("/", 1)[-1] not in PLACEHOLDERS
                )
                assert not hidden, f"{mount['name']} at {path} hides {hidden}"
            for key in ("command", "args"):  # every script line of the manifest
                for line in _sh_script_lines(container.get(key, [])):
                    _check_shell(line, tmp_path)

    compose = yaml.safe_load(files["compose.yaml"])
    for service in compose["services"].values():
        for line in _sh_script_lines(service.get("command", [])):
            _check_shell(line, tmp_path)
    app = compose["services"]["app"]
    smoke_sh = files["docker/smoke.sh"]

    # The import probe docker/smoke.sh runs is the one `dockerize-ml build` runs.
    if smoke.distributions:
        assert _heredoc(smoke_sh, "PYTHON") == IMPORT_PROBE
    if smoke.kind == "script":
        assert shlex.quote(SCRIPT_PROBE) in smoke_sh

    if smoke.kind != "server":
        assert "healthcheck" not in app
        assert "smoke: the server answers" not in smoke_sh
        for pod in _pod_specs(manifest):
            assert not any("readinessProbe" in c for c in pod["containers"])
        return

    # compose: the probe's URL, its timeout, and the start time.
    test = app["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    compile(test[3], "healthcheck", "exec")
    assert f"timeout={smoke.timeout})" in test[3]
    assert test[4] == f"http://127.0.0.1:{smoke.port}{smoke.path}"
    assert app["healthcheck"]["start_period"] == f"{smoke.wait}s"
    # Kubernetes: startup, readiness and liveness all ask the same.
    (pod,) = _pod_specs(manifest)
    (container,) = pod["containers"]
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container[kind]
        assert probe["httpGet"] == {"path": smoke.path, "port": smoke.port}, kind
        assert probe["timeoutSeconds"] == smoke.timeout, kind
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= smoke.wait
    # docker/smoke.sh
    assert _smoke_probe(smoke_sh) == (smoke.path, smoke.timeout, smoke.port)


def test_every_samples_compose_and_manifests_pass_their_validators(tmp_path: Path) -> None:
    compose = shutil.which("docker-compose") or pytest.fail("docker-compose is not installed")
    composes, manifests = [], []
    for name in sorted(SAMPLE_DIRS):
        root, plan, files = _rendered(name, tmp_path)
        for rel in ("compose.yaml", f"k8s/{plan.project_name}.yaml"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(files[rel])
        composes.append(str(root / "compose.yaml"))
        manifests.append(str(root / f"k8s/{plan.project_name}.yaml"))
        config = subprocess.run(
            [compose, "-f", composes[-1], "config", "--quiet"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert config.returncode == 0, f"{name}: {config.stderr}"
    for argv in (
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *composes],
        [tool("kubernetes-validate"), "--strict", *manifests],
    ):
        checked = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_folder_the_image_keeps_files_in_is_not_mounted_in_the_cluster(
    tmp_path: Path,
) -> None:
    _, plan, files = _rendered("streamlit-csv", tmp_path)
    assert plan.cluster_kept == (("data", ("data/sales.csv",)),)
    assert (
        "./data:/app/data:ro" in yaml.safe_load(files["compose.yaml"])["services"]["app"]["volumes"]
    )  # locally the folder is the same files, and more
    manifest = files["k8s/streamlit-csv.yaml"]
    assert "# data/ is not mounted here: the image keeps data/sales.csv in it" in manifest
    assert not [
        d for d in yaml.safe_load_all(manifest) if d and d["kind"] == "PersistentVolumeClaim"
    ]


def test_a_placeholder_does_not_keep_outputs_from_being_mounted(tmp_path: Path) -> None:
    # churn-model: data/churn.csv is in the image; outputs/ holds only a tracked .gitkeep
    plan = _rendered("churn-model", tmp_path)[1]
    assert plan.cluster_kept == (("data", ("data/churn.csv",)),)
    assert [(m.host, m.container, m.read_only) for m in plan.cluster_mounts] == [
        ("outputs", "/app/outputs", False)
    ]


def test_a_data_folder_the_image_leaves_out_is_mounted(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "trainer",
        {
            "requirements.txt": "numpy==2.1.1\n",
            "train.py": "import numpy\nif __name__ == '__main__':\n    pass\n",
            "data/big.csv": "a\n",
            "outputs/.gitkeep": "",
        },
    )
    plan = make_plan(inspect_project(root), Settings(k8s=True))
    (pod,) = _pod_specs(render(plan)["k8s/trainer.yaml"])
    mounts = {
        m["mountPath"]: m.get("readOnly", False) for m in pod["containers"][0]["volumeMounts"]
    }
    assert mounts == {"/app/data": True, "/app/outputs": False, "/home/app/.cache": False}


def test_a_console_script_that_runs_uvicorn_keeps_the_apps_health_route(tmp_path: Path) -> None:
    # poetry-fastapi: `churn-api = "app.main:run"` wins over `app = FastAPI()`; the app
    # defines /health, and / answers 404.
    root = _project("poetry-fastapi", tmp_path)
    profile = inspect_project(root)
    assert profile.entrypoint is not None and profile.entrypoint.kind == "console-script"
    plan = make_plan(profile, Settings(k8s=True))
    assert (plan.smoke.kind, plan.smoke.port, plan.smoke.path) == ("server", 8000, "/health")


def test_a_console_script_in_another_file_keeps_the_apps_health_route(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "scorer",
        {
            "pyproject.toml": '[project]\nname = "scorer"\nversion = "1"\n'
            'dependencies = ["fastapi==0.115.0", "uvicorn==0.30.6"]\n'
            '[project.scripts]\nscorer = "scorer.cli:main"\n'
            '[build-system]\nrequires = ["setuptools>=61"]\n'
            'build-backend = "setuptools.build_meta"\n',
            "scorer/__init__.py": "",
            "scorer/api.py": "from fastapi import FastAPI\napp = FastAPI()\n\n\n"
            "@app.get('/healthz')\ndef healthz():\n    return {}\n",
            "scorer/cli.py": "import uvicorn\n\n\ndef main():\n"
            "    uvicorn.run('scorer.api:app', host='0.0.0.0', port=9000)\n",
        },
    )
    profile = inspect_project(root)
    assert profile.entrypoint is not None and profile.entrypoint.command == ("scorer",)
    plan = make_plan(profile, Settings(k8s=True))
    assert (plan.smoke.kind, plan.smoke.port, plan.smoke.path) == ("server", 9000, "/healthz")


def test_the_import_probe_exits_non_zero_and_says_which(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, "pyyaml", "no-such-distribution"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 1
    assert "smoke: FAIL: no-such-distribution: not installed" in ran.stderr
    assert (
        ran.stdout.strip().splitlines()[-1]
        == '{"pyyaml": "", "no-such-distribution": "not installed"}'
    )
    ok = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, "pyyaml"], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0 and "smoke: 1 distributions import" in ok.stderr


def test_the_import_probe_reads_metadata_without_importlib_metadata(tmp_path: Path) -> None:
    """Python 3.7 has no importlib.metadata (pplonski/my_ml_service's image): the probe
    reads the dist-info folders itself, top_level.txt or else RECORD."""
    site = write_tree(
        tmp_path / "site",
        {
            "Foo_Bar-1.0.dist-info/RECORD": "foo_bar/__init__.py,,\nfoo_bar-1.0.dist-info/RECORD,,\n",
            "foo_bar/__init__.py": "",
            "broken-2.0.dist-info/top_level.txt": "broken\n",
            # mlflow 1.x: its own module, and its linters' plugins (they need astroid)
            "mlflow-1.26.dist-info/top_level.txt": "mlflow\npylint_plugins\n",
            "mlflow/__init__.py": "",
            "pylint_plugins/__init__.py": "import astroid\n",
            "broken/__init__.py": "raise ImportError('no libfoo.so')\n",
        },
    )
    code = "import sys; sys.modules['importlib.metadata'] = None; " + "exec(sys.argv.pop(1))"
    ran = subprocess.run(
        [sys.executable, "-c", code, IMPORT_PROBE, "foo-bar", "broken", "absent", "mlflow"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(site)},
    )
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["foo-bar"] == ""
    assert "no libfoo.so" in result["broken"]
    assert result["absent"] == "not installed"
    assert result["mlflow"] == ""  # its own module imports; pylint_plugins is not tried
    assert ran.returncode == 1


@pytest.mark.docker
def test_the_import_probe_runs_on_python_3_7(engine: Any) -> None:
    out = engine.containers.run(
        "python:3.7-slim", ["python", "-c", IMPORT_PROBE, "pip"], remove=True
    )
    assert json.loads(out.decode().strip().splitlines()[-1]) == {"pip": ""}


class _Container:
    """What `_http_probe` asks of a running container: its state and its published port."""

    def __init__(self, host_port: int) -> None:
        self.status = "running"
        self.ports = {"8000/tcp": [{"HostPort": str(host_port)}]}

    def reload(self) -> None:
        pass

    def logs(self) -> bytes:
        return b"Uvicorn running on http://0.0.0.0:8000"

    def remove(self, force: bool = False) -> None:
        pass


class _Engine:
    def __init__(self, host_port: int) -> None:
        self.containers = self
        self.host_port = host_port

    def run(self, image: str, **kwargs: Any) -> _Container:
        return _Container(self.host_port)


@pytest.fixture
def server() -> Iterator[int]:
    """A real HTTP server on a free port: /health answers 200, everything else 404."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def test_a_server_without_get_passes_on_any_http_answer_never_on_a_silent_port(
    server: int,
) -> None:
    """path "": any HTTP status is the server's answer; a port where nothing speaks HTTP
    (Docker's proxy accepting for a server not up yet) is not."""
    tcp = SmokePlan(("flask",), "server", "server", 8000, "")
    ok, detail = _http_probe(_Engine(server), "image", tcp, timeout=10)
    assert ok and "GET / -> 404" in detail and "no route answers GET /" in detail
    import socket

    with socket.socket() as silent:  # accepts (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        ok, detail = _http_probe(_Engine(port), "image", tcp, timeout=4)
    assert not ok and "nothing answered on port 8000" in detail, detail


def test_build_calls_a_404_a_failure(server: int) -> None:
    engine = _Engine(server)
    wrong = SmokePlan(("fastapi",), "server", "server", 8000, "/")
    ok, detail = _http_probe(engine, "image", wrong, timeout=10)
    assert not ok and "GET / -> 404" in detail
    right = SmokePlan(("fastapi",), "server", "server", 8000, "/health")
    assert _http_probe(engine, "image", right, timeout=10) == (True, "GET /health -> 200")

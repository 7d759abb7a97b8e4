"""The generated CI files and docker/push.sh, run for real: the GitLab pipeline with
gitlab-ci-local against this machine's engine and a local registry, the GitHub workflow's
`run:` steps in bash, push.sh pushing and the image pulled back.

What cannot run here: the jobs' images (docker:27.5, docker:27.5-dind) cannot be pulled, so
the pipeline runs with gitlab-ci-local's shell executor (``--shell-executor-no-image``, the
``image``/``services`` keys left out of the copy it reads; every script line is the generated
one). The engine is then this machine's, so SMOKE_HOST is 127.0.0.1 instead of the dind
service's ``docker``. GitHub's ``uses:`` actions need GitHub (act cannot run here).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, REQUIRE_DOCKER, run_cli, write_tree

pytestmark = pytest.mark.docker

#: The registry the tests push to: set by .ci/run (`.ci/engine.sh` serves it); else a
#: registry of the test session's own is started with Debian's docker-registry.
REGISTRY_ENV = "DOCKERIZE_ML_REGISTRY"
GITLAB_CI_LOCAL_ENV = "DOCKERIZE_ML_GITLAB_CI_LOCAL"
DOCKER = "/usr/bin/docker"


def _missing(reason: str) -> None:
    if REQUIRE_DOCKER:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry on 127.0.0.1 the engine pushes to without TLS (a loopback registry)."""
    given = os.environ.get(REGISTRY_ENV)
    if given:
        if not _answers(given):
            _missing(f"{REGISTRY_ENV}={given} does not answer /v2/")
        yield given
        return
    binary = shutil.which("docker-registry")
    if binary is None:
        _missing("docker-registry is not installed (apt-get install docker-registry)")
        return
    root = tmp_path_factory.mktemp("registry")
    address = f"127.0.0.1:{_free_port()}"
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: {address}\n"
    )
    log = (root / "registry.log").open("w")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while not _answers(address):
            if process.poll() is not None or time.monotonic() > deadline:
                _missing(f"docker-registry did not start: {(root / 'registry.log').read_text()}")
            time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def gitlab_ci_local() -> str:
    path = os.environ.get(GITLAB_CI_LOCAL_ENV) or str(
        REPO / ".ci/node/node_modules/.bin/gitlab-ci-local"
    )
    if not Path(path).is_file():
        pytest.fail(
            "gitlab-ci-local (npm) is not installed: "
            "npm install --prefix .ci/node gitlab-ci-local@4.53.0",
            pytrace=False,
        )
    if shutil.which("rsync") is None:  # gitlab-ci-local copies the tracked files with it
        pytest.fail("rsync is not installed (gitlab-ci-local needs it)", pytrace=False)
    return path


def _tags(registry: str, repository: str) -> set[str]:
    with urllib.request.urlopen(f"http://{registry}/v2/{repository}/tags/list", timeout=5) as r:
        return set(json.loads(r.read())["tags"] or [])


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


#: A small server project: one light dependency, the standard library's HTTP server.
SERVER = {
    "requirements.txt": "six==1.16.0\n",
    "serve.py": "import six\n\nif __name__ == '__main__':\n    print(six.PY3)\n",
}


def _project(root: Path, *flags: str) -> Path:
    """A git repository whose default branch is `trunk`, `init` run on a feature branch and
    merged: the CI files must not remember the feature branch."""
    write_tree(root, SERVER)
    _git(root, "init", "-q", "-b", "trunk")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "project")
    _git(root, "checkout", "-qb", "feature/add-docker")
    result = run_cli(
        "init", root, "--python", "3.11", "--entry", "python -m http.server 8000",
        "--port", "8000", *flags,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "docker")
    _git(root, "checkout", "-q", "trunk")
    _git(root, "merge", "-q", "--ff-only", "feature/add-docker")
    _git(root, "remote", "add", "origin", "git@gitlab.example.com:team/app.git")
    return root


def _env() -> dict[str, str]:
    # The first docker on PATH here is a client without buildx; the jobs' `docker` is the
    # engine's own 20.10 CLI, which builds with BuildKit.
    return {**os.environ, "PATH": f"/usr/bin:{os.environ['PATH']}"}


def _remove_images(reference: str) -> None:
    """Every image of ``reference``'s repository, also those pulled by digest (no tag)."""
    listed = subprocess.run(
        [DOCKER, "images", "--quiet", reference],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if listed:
        subprocess.run(
            [DOCKER, "rmi", "--force", *dict.fromkeys(listed)], capture_output=True, check=False
        )


def test_gitlab_pipeline_builds_smoke_tests_pushes_and_the_image_pulls_back(
    engine: Any, buildkit_cli: str, registry: str, gitlab_ci_local: str, tmp_path: Path
) -> None:
    repo = _project(tmp_path / "app", "--ci", "gitlab")
    pipeline = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
    # The jobs' images cannot be pulled here: the shell executor runs the same scripts.
    assert pipeline["default"].pop("image") and pipeline["default"].pop("services")
    (repo / ".gitlab-ci.local.yml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    repository = f"ci/b1-{uuid.uuid4().hex[:8]}"
    image = f"{registry}/{repository}"
    sha = _git(repo, "rev-parse", "--short=8", "HEAD")
    docker_config = tmp_path / "docker-config"  # the jobs' `docker login` writes here
    argv = [
        gitlab_ci_local, "--file", ".gitlab-ci.local.yml", "--shell-executor-no-image",
        "--variable", f"CI_REGISTRY={registry}",
        "--variable", f"CI_REGISTRY_IMAGE={image}",
        "--variable", "CI_REGISTRY_USER=ci",
        "--variable", "CI_REGISTRY_PASSWORD=not-checked-by-a-local-registry",
        "--variable", "CI_DEFAULT_BRANCH=trunk",
        "--variable", "SMOKE_HOST=127.0.0.1",
        "--variable", f"DOCKER_CONFIG={docker_config}",
    ]  # fmt: skip
    try:
        # On the feature branch the push job is left out (only build and smoke-test).
        _git(repo, "checkout", "-q", "feature/add-docker")
        listed = subprocess.run(
            [*argv, "--list"], cwd=repo, capture_output=True, text=True, env=_env(), check=False
        )
        assert listed.returncode == 0, listed.stdout + listed.stderr
        jobs = {line.split()[0] for line in listed.stdout.splitlines()[1:] if line.strip()}
        assert jobs == {"build", "smoke-test"}, listed.stdout
        _git(repo, "checkout", "-q", "trunk")
        run = subprocess.run(
            argv, cwd=repo, capture_output=True, text=True, env=_env(), check=False
        )
        log = run.stdout + run.stderr
        assert run.returncode == 0, log[-6000:]
        for job in ("build", "smoke-test", "push"):
            assert any(line.split()[:2] == ["PASS", job] for line in log.splitlines()), log[-3000:]
        assert "smoke: the server answers on port 8000 at /" in log
        assert "smoke: ok" in log
        assert _tags(registry, repository) == {f"ci-{sha}", sha, "latest"}

        _remove_images(image)
        pulled = subprocess.run(
            [DOCKER, "pull", f"{image}:latest"], capture_output=True, text=True, check=False
        )
        assert pulled.returncode == 0, pulled.stderr
        uid = subprocess.run(
            [DOCKER, "run", "--rm", f"{image}:latest", "id", "-u"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert uid == "1000"
    finally:
        _remove_images(image)


def test_push_script_pushes_prints_the_digest_and_the_image_pulls_back(
    engine: Any, buildkit_cli: str, registry: str, tmp_path: Path
) -> None:
    repo = _project(tmp_path / "app")
    local = f"ci-b1-push-{uuid.uuid4().hex[:8]}:dev"
    target = f"{registry}/ci/b1-push-{uuid.uuid4().hex[:8]}"
    env = {**_env(), "IMAGE": local, "DOCKERIZE_ML_DOCKER": DOCKER}
    push = repo / "docker" / "push.sh"
    try:
        missing = subprocess.run(
            [push, f"{target}:1"], capture_output=True, text=True, env=env, check=False
        )
        assert missing.returncode == 3 and "build it first" in missing.stderr
        usage = subprocess.run([push], capture_output=True, text=True, env=env, check=False)
        assert usage.returncode == 2 and "usage: docker/push.sh" in usage.stderr
        built = subprocess.run(
            [repo / "docker" / "build.sh"], capture_output=True, text=True, env=env, check=False
        )
        assert built.returncode == 0, built.stderr[-3000:]
        pushed = subprocess.run(
            [push, f"{target}:1.0"], capture_output=True, text=True, env=env, check=False
        )
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        digest = pushed.stdout.strip().splitlines()[-1]
        assert digest.startswith(f"{target}@sha256:") and len(digest.split("@sha256:")[1]) == 64
        assert _tags(registry, target.split("/", 1)[1]) == {"1.0"}
        # Without a tag, :latest; the same image, so the same digest.
        again = subprocess.run([push, target], capture_output=True, text=True, env=env, check=True)
        assert again.stdout.strip().splitlines()[-1] == digest
        _remove_images(target)
        subprocess.run([DOCKER, "rmi", "--force", local], capture_output=True, check=False)
        pulled = subprocess.run(
            [DOCKER, "pull", digest], capture_output=True, text=True, check=False
        )
        assert pulled.returncode == 0, pulled.stderr
        uid = subprocess.run(
            [DOCKER, "run", "--rm", digest, "id", "-u"], capture_output=True, text=True, check=True
        )
        assert uid.stdout.strip() != "0"
    finally:
        _remove_images(target)
        subprocess.run([DOCKER, "rmi", "--force", local], capture_output=True, check=False)


@pytest.mark.parametrize("platforms", [(), ("--platform", "linux/amd64,linux/arm64")])
def test_github_workflow_run_steps_run_in_bash(
    engine: Any, buildkit_cli: str, tmp_path: Path, platforms: tuple[str, ...]
) -> None:
    """The workflow's own `run:` steps, in bash with their `env:`, against the image its
    build step would load (smoke-test:TAG there; a unique tag here, parallel runs share the
    engine). The linux/arm64 step needs QEMU's binfmt handlers and an arm64 base image, which
    this machine has not: it is checked for shape, not run."""
    repo = _project(tmp_path / "app", "--ci", "github", *platforms)
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "docker.yml").read_text())
    steps = [s for s in workflow["jobs"]["image"]["steps"] if "run" in s]
    expected = ["./docker/smoke.sh smoke-test:latest"]
    if platforms:
        expected = [f"./docker/smoke.sh smoke-test:linux-{a}" for a in ("amd64", "arm64")]
    assert [s["run"] for s in steps] == expected
    runnable = [
        s for s in steps if s.get("env", {}).get("DOCKER_DEFAULT_PLATFORM") != "linux/arm64"
    ]
    unique = f"ci-b1-gh-{uuid.uuid4().hex[:8]}:latest"
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "docker").write_text(
        "#!/usr/bin/env bash\n"
        f'args=(); for a in "$@"; do [[ "$a" == smoke-test:* ]] && a={unique}; args+=("$a"); done\n'
        f'exec {DOCKER} "${{args[@]}}"\n'
    )
    (shim / "docker").chmod(0o755)
    env = {**_env(), "IMAGE": unique, "DOCKERIZE_ML_DOCKER": DOCKER}
    try:
        built = subprocess.run(
            [repo / "docker" / "build.sh"], capture_output=True, text=True, env=env, check=False
        )
        assert built.returncode == 0, built.stderr[-3000:]
        env = {**env, "PATH": f"{shim}:{env['PATH']}"}
        env.pop("DOCKERIZE_ML_DOCKER")  # the step runs `docker` as the runner has it
        for step in runnable:
            step_env = {**env, **step.get("env", {})}
            ran = subprocess.run(
                ["bash", "-e", "-c", step["run"]],
                cwd=repo,
                capture_output=True,
                text=True,
                env=step_env,
                check=False,
            )
            assert ran.returncode == 0, ran.stdout + ran.stderr
            assert "smoke: ok" in ran.stdout
    finally:
        subprocess.run([DOCKER, "rmi", "--force", unique], capture_output=True, check=False)

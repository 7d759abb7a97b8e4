"""Samples on other bases, built and smoke-tested by `dockerize-ml build` against stand-ins
with the users and the Python layout of the real images (.ci/standins.sh; docs/ml-images.md
says what differs): a Jupyter Docker Stacks image and Ubuntu 24.04.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import _unavailable, run_cli

pytestmark = pytest.mark.docker

JUPYTER = "quay.io/jupyter/scipy-notebook:python-3.12"
UBUNTU = "ubuntu:24.04"


@pytest.fixture
def standin(engine: Any) -> Callable[[str], None]:
    import docker.errors

    def need(image: str) -> None:
        try:
            engine.images.get(image)
        except docker.errors.ImageNotFound:
            _unavailable(f"base image {image} is missing (bash .ci/standins.sh {image})")

    return need


@pytest.fixture
def built(engine: Any, buildkit_cli: str) -> Iterator[Callable[[Path, str], dict[str, Any]]]:
    """`dockerize-ml init` and `dockerize-ml build --json` of a project; the report."""
    tags: list[str] = []

    def build(root: Path, tag: str) -> dict[str, Any]:
        init = run_cli("init", root)
        assert init.returncode == 0, init.stderr
        tags.append(tag)
        result = run_cli("build", root, "--json", "--tag", tag)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        report: dict[str, Any] = json.loads(result.stdout)
        return report

    yield build
    for tag in tags:
        with contextlib.suppress(Exception):  # never built, or gone already
            engine.images.remove(tag, force=True)


def shell(engine: Any, tag: str, script: str) -> str:
    """Run ``script`` in the image as its user; its output (the exit code must be 0)."""
    container = engine.containers.run(tag, ["bash", "-c", script], detach=True)
    try:
        status = container.wait(timeout=300)
        output: str = container.logs(stdout=True, stderr=True).decode()
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, output
    return output


def test_jupyter_stack_sample(
    engine: Any,
    standin: Callable[[str], None],
    built: Callable[[Path, str], dict[str, Any]],
    sample: Callable[[str], Path],
) -> None:
    standin(JUPYTER)
    root = sample("jupyter-stack")
    tag = "bases-test-jupyter-stack:latest"
    report = built(root, tag)
    smoke = {s["name"]: s for s in report["smoke"]}
    assert report["ok"], report["smoke"]
    assert smoke["non-root user"]["detail"] == "runs as uid 1000"
    assert smoke["dependencies import"]["ok"]
    assert smoke["jupyterlab answers on port 8888"]["detail"] == "GET /api -> 200"
    output = shell(
        engine,
        tag,
        "id; python -c 'import sys, pandas, tabulate; print(sys.executable); "
        "print(pandas.__file__); print(tabulate.__file__)'; "
        'stat -c "%U %n" /opt/conda/lib/python3.12/site-packages/pandas; '
        "test ! -e /opt/venv && echo no-venv; "
        "jupyter nbconvert --to notebook --execute notebooks/monthly-sales.ipynb "
        "--output /tmp/run.ipynb 2>&1 | tail -1; grep -c Feb /tmp/run.ipynb",
    )
    lines = output.splitlines()
    # jovyan in users, as the stack runs; one Python, the stack's
    assert lines[0].startswith("uid=1000(jovyan) gid=100(users)"), output
    assert lines[1] == "/opt/conda/bin/python", output
    site = "/opt/conda/lib/python3.12/site-packages/"
    assert lines[2] == f"{site}pandas/__init__.py" and lines[3].startswith(f"{site}tabulate"), (
        output
    )
    # pandas>=2.0 was satisfied by the stack's own copy (jovyan's), not installed again
    assert lines[4] == f"jovyan {site}pandas", output
    assert "no-venv" in lines, output
    # the notebook runs in JupyterLab's kernel, with the project's tabulate beside the stack
    assert int(lines[-1]) >= 1, output


def test_ubuntu_24_04_sample(
    engine: Any,
    standin: Callable[[str], None],
    built: Callable[[Path, str], dict[str, Any]],
    sample: Callable[[str], Path],
) -> None:
    standin(UBUNTU)
    root = sample("ubuntu-api")
    tag = "bases-test-ubuntu-api:latest"
    report = built(root, tag)
    smoke = {s["name"]: s for s in report["smoke"]}
    assert report["ok"], report["smoke"]
    assert smoke["non-root user"]["detail"] == "runs as uid 1000"
    assert smoke["dependencies import"]["ok"]
    server = next(s for name, s in smoke.items() if "answers on port 8000" in name)
    assert server["ok"] and "/health -> 200" in server["detail"], server
    output = shell(
        engine,
        tag,
        "id -un; id -u; getent passwd ubuntu || echo no-ubuntu; "
        "python -c 'import sys; print(sys.executable, sys.version_info[:2])'; "
        "python3 -c 'import sys; print(sys.base_prefix)'",
    )
    # the ubuntu user gave its uid 1000 to the app user; Ubuntu's Python 3.12 in a venv
    assert output.splitlines() == [
        "app",
        "1000",
        "no-ubuntu",
        "/opt/venv/bin/python (3, 12)",
        "/usr",
    ], output

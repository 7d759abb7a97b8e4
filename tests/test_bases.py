"""Other base images: the table of what common bases already have (knowledge/bases.toml),
and the Dockerfile adapting to it (the user, root for apt, the Python, the environment).

The images themselves are built against stand-ins in tests/test_bases_images.py.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import copy_sample, files_for, lint_generated, run_cli, write_tree

from dockerize_ml import knowledge
from dockerize_ml.bases import find_base, image_user

ROWS = knowledge.load("bases")["base"]
FIELDS = {
    "name": str,
    "repositories": list,
    "tag": str,
    "examples": list,
    "user": str,
    "uid_1000": str,
    "gid": int,
    "home": str,
    "python": str,
    "python_version": str,
    "python_tag": str,
    "env": str,
    "prefix": str,
    "package_manager": str,
    "externally_managed": bool,
    "os": str,
}
REQUIREMENTS = {"requirements.txt": "pandas>=2\n", "report.py": "import pandas\nprint(pandas)\n"}


@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_every_row_is_well_formed(row: dict[str, object]) -> None:
    assert set(row) == set(FIELDS), row["name"]
    for key, kind in FIELDS.items():
        assert isinstance(row[key], kind), (row["name"], key)
    assert row["env"] in ("venv", "stack")
    assert (row["env"] == "stack") == bool(row["prefix"]), "a stack names its environment"
    assert row["package_manager"] == "apt" and row["os"] in ("debian", "ubuntu")
    assert row["python"] in ("", "/usr/local/bin/python", f"{row['prefix']}/bin/python")
    assert re.fullmatch(r"(3\.\d+)?", str(row["python_version"]))
    assert not (row["python_version"] and row["python_tag"]), "one source of the version"
    if row["python_tag"]:
        assert re.compile(str(row["python_tag"])).groups == 1
    re.compile(str(row["tag"]))
    # A user that holds uid 1000 has a home and a group of its own (or Jupyter's users).
    if row["uid_1000"]:
        assert row["home"] == f"/home/{row['uid_1000']}" and row["gid"] in (100, 1000)
    if row["user"] != "root":
        assert row["user"] == row["uid_1000"], "a non-root image user is the uid-1000 one"
    assert row["examples"] and all(":" in e for e in row["examples"])  # type: ignore[attr-defined]


@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_every_row_is_the_one_its_examples_find(row: dict[str, object]) -> None:
    """Every row is used: its example images resolve to it, not to a row before it."""
    for example in row["examples"]:  # type: ignore[attr-defined]
        base = find_base(example)
        assert base is not None and base.name == row["name"], example


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("python:3.12-slim", "3.12"),
        ("quay.io/jupyter/scipy-notebook:python-3.11", "3.11"),
        ("quay.io/jupyter/scipy-notebook:2024-12-09", ""),
        ("ubuntu:24.04", "3.12"),
        ("nvidia/cuda:12.4.1-runtime-ubuntu22.04", "3.10"),
        ("debian:bookworm-slim@sha256:" + "a" * 64, "3.11"),
    ],
)
def test_the_python_version_comes_from_the_row_or_the_tag(image: str, version: str) -> None:
    base = find_base(image)
    assert base is not None and base.python_version == version


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/team/ml-base:2.1",
        "localhost:5000/python:3.11",
        "mycompany/python:3.11",
    ],
)
def test_unknown_bases_match_no_row(image: str) -> None:
    assert find_base(image) is None
    user = image_user(image, "/opt/venv", make_venv=True, workdir="/app")
    assert (user.name, user.uid_arg, user.system_python, user.env) == (
        "app",
        True,
        False,
        "/opt/venv",
    )


def test_an_unknown_base_keeps_the_default_dockerfile(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "p", {**REQUIREMENTS, ".python-version": "3.11\n"})
    default = files_for(root)
    other = files_for(root, base_image="registry.example.com/team/ml-base:2.1")
    assert other["Dockerfile"] == default["Dockerfile"].replace(
        "FROM python:3.11-slim", "FROM registry.example.com/team/ml-base:2.1"
    )
    assert other["docker/build.sh"] == default["docker/build.sh"]


def test_jupyter_stack_keeps_jovyan_and_its_conda_environment(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "nb", {**REQUIREMENTS, ".python-version": "3.11\n"})
    files = files_for(root, base_image="quay.io/jupyter/scipy-notebook:python-3.12", k8s=True)
    dockerfile = files["Dockerfile"]
    # apt and the setup as root, then back to jovyan (numeric, for runAsNonRoot)
    assert dockerfile.index("USER 0\n") < dockerfile.index("RUN mkdir -p /home/jovyan/.cache /app")
    assert dockerfile.rstrip().count("\nUSER ") == 2 and "\nUSER 1000:100\n" in dockerfile
    # no second user with uid 1000, no venv shadowing the stack's packages
    assert "useradd" not in dockerfile and "userdel" not in dockerfile
    assert "venv" not in dockerfile
    # uv takes VIRTUAL_ENV for venvs only ("No virtual environment found"): its Python instead
    assert "VIRTUAL_ENV" not in dockerfile and "UV_PYTHON=/opt/conda/bin/python" in dockerfile
    assert "COPY --chown=jovyan:users . ." in dockerfile
    assert "APP_UID" not in dockerfile and "APP_UID" not in files["docker/build.sh"]
    k8s = "".join(text for name, text in files.items() if name.startswith("k8s/"))
    assert "runAsGroup: 100" in k8s and "fsGroup: 100" in k8s


def test_jupyter_stack_python_is_the_tags(tmp_path: Path) -> None:
    from dockerize_ml import inspect_project, make_plan
    from dockerize_ml.plan import Settings

    root = write_tree(tmp_path / "nb", {**REQUIREMENTS, ".python-version": "3.11\n"})
    plan = make_plan(
        inspect_project(root), Settings(base_image="quay.io/jupyter/scipy-notebook:python-3.12")
    )
    assert plan.python_version == "3.12"
    assert any("Python is 3.12" in note for note in plan.notes)
    assert (plan.user, plan.uid, plan.gid, plan.venv) == ("jovyan", 1000, 100, "/opt/conda")


def test_jupyter_stack_with_a_builder_stage_switches_to_root_there_too(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "src",
        {"requirements.txt": "psycopg2==2.9.10\n", "db.py": "import psycopg2\n"},
    )
    dockerfile = files_for(root, base_image="quay.io/jupyter/minimal-notebook:python-3.12")[
        "Dockerfile"
    ]
    builder = dockerfile[dockerfile.index("AS builder") :]
    assert builder.index("USER 0\n") < builder.index("apt-get install")
    assert dockerfile.count("USER 0\n") == 2 and "python -m venv" not in dockerfile


@pytest.mark.parametrize(
    ("image", "removed"),
    [
        ("ubuntu:24.04", True),
        ("nvidia/cuda:12.6.3-runtime-ubuntu24.04", True),
        ("ubuntu:22.04", False),
        ("debian:bookworm-slim", False),
    ],
)
def test_a_uid_1000_user_of_the_base_is_removed_first(
    tmp_path: Path, image: str, removed: bool
) -> None:
    root = write_tree(tmp_path / "p", {**REQUIREMENTS, ".python-version": "3.11\n"})
    files = files_for(root, base_image=image)
    dockerfile = files["Dockerfile"]
    remove = "if id -u ubuntu >/dev/null 2>&1; then userdel --remove ubuntu; fi"
    assert (remove in dockerfile) == removed
    if removed:
        assert dockerfile.index(remove) < dockerfile.index('groupadd --gid "${APP_UID}" app')
    # no Python of its own: Ubuntu's or Debian's python3, and a venv (PEP 668)
    assert "apt-get install -y --no-install-recommends python3 python3-venv" in dockerfile
    assert "python3 -m venv /opt/venv" in dockerfile and "USER ${APP_UID}:${APP_UID}" in dockerfile


def test_pytorch_image_installs_beside_its_torch(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "t",
        {"requirements.txt": "torch\ntqdm\n", "train.py": "import torch\nimport tqdm\n"},
    )
    dockerfile = files_for(root, base_image="pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime")[
        "Dockerfile"
    ]
    assert "UV_PYTHON=/opt/conda/bin/python" in dockerfile and "venv" not in dockerfile
    # root runs pytorch/pytorch: dockerize-ml's own user, with the host's uid
    assert 'useradd --no-log-init --create-home --uid "${APP_UID}"' in dockerfile
    assert "USER 0" not in dockerfile


def test_samples_on_other_bases_lint_clean(sample: object) -> None:
    for name in ("jupyter-stack", "ubuntu-api"):
        root = sample(name)  # type: ignore[operator]
        result = run_cli("init", root)
        assert result.returncode == 0, result.stderr
        lint_generated(root)


CI = Path(__file__).resolve().parent.parent / ".ci"


def test_standin_scripts_lint_clean() -> None:
    from conftest import tool

    shellcheck = subprocess.run(
        [tool("shellcheck"), "--severity=style", str(CI / "standins.sh"), str(CI / "engine.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shellcheck.returncode == 0, shellcheck.stdout
    hadolint = subprocess.run(
        [tool("hadolint"), "--no-color", str(CI / "jupyter-standin.Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert hadolint.returncode == 0 and not hadolint.stdout.strip(), hadolint.stdout


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("nope:1", "no stand-in for nope:1"),
        ("python:3.6-slim", "no stand-in for python:3.6-slim (3.7 to 3.14)"),
        ("quay.io/jupyter/scipy-notebook:python-3.11", "no stand-in for"),
    ],
)
def test_standins_refuse_what_they_cannot_build(tag: str, message: str) -> None:
    """Without touching an engine (DOCKER=/bin/false: no tag is present)."""
    result = subprocess.run(
        ["bash", str(CI / "standins.sh"), tag],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKER": "/bin/false"},
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_every_standin_the_engine_builds_is_a_row_and_a_tag_the_script_knows() -> None:
    engine = (CI / "engine.sh").read_text().replace("\\\n", " ")  # continuation lines joined
    [line] = [x for x in engine.splitlines() if "standins.sh" in x and "bash" in x]
    tags = line.split('standins.sh" ')[1].split()
    # The two bases of tests/test_bases_images.py, the Python without wheels for the
    # pins of tests/samples/broken-no-wheel (tests/test_build_fix.py), and the Python
    # without importlib.metadata the import probe runs on (tests/test_probes.py).
    assert tags == [
        "ubuntu:24.04",
        "quay.io/jupyter/scipy-notebook:python-3.12",
        "python:3.13-slim",
        "python:3.7-slim",
    ]
    script = (CI / "standins.sh").read_text()
    for tag in tags:
        case = "python:3.*-slim" if tag.startswith("python:") else tag
        assert f"    {case}) " in script, tag
        assert find_base(tag) is not None, tag


def test_a_base_whose_gid_is_not_its_uid_gets_that_gid_everywhere(tmp_path: Path) -> None:
    """jovyan is 1000:100: the distributed jobs' securityContext and compose's one-off
    step that hands a writable folder to the user take the gid, not the uid twice."""
    root = copy_sample("ddp-trainer", tmp_path / "ddp")
    files = files_for(root, base_image="quay.io/jupyter/scipy-notebook:python-3.12", k8s=True)
    jobs = {n: t for n, t in files.items() if n.startswith("k8s/") and "runAsUser" in t}
    assert len(jobs) >= 2, sorted(files)  # the Deployment/Job and the distributed ones
    for name, text in jobs.items():
        assert "runAsUser: 1000" in text, name
        assert "runAsGroup: 100\n" in text and "fsGroup: 100\n" in text, name
        assert "runAsGroup: 1000" not in text and "fsGroup: 1000" not in text, name
    compose = files["compose.yaml"]  # ddp-trainer writes checkpoints/: the prepare step
    assert "chown 1000:100 " in compose and "chown 1000:1000" not in compose

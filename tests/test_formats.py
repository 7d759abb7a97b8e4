"""`detect --json` on a realistic sample of every dependency format, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Sample, run_cli, write_tree

from dockerize_ml import inspect_project, make_plan, render
from dockerize_ml.detect.deps.conda import conda_spec_to_pep440
from dockerize_ml.detect.deps.constraints import ConstraintError, poetry_to_pep440
from dockerize_ml.errors import ExitCode
from dockerize_ml.plan import Settings


def detect_json(root: Path, *flags: str) -> dict[str, Any]:
    result = run_cli("detect", "--json", root, *flags)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def names(data: dict[str, Any]) -> list[str]:
    return [d["name"] for d in data["dependencies"]]


def test_poetry_with_lock(sample: Sample) -> None:
    data = detect_json(sample("poetry-fastapi"))
    assert data["dependency_sources"][0] == {
        "kind": "poetry",
        "path": "poetry.lock",
        "used": True,
        "lock": "poetry.lock",
    }
    assert data["name"] == "churn-api"
    assert names(data) == ["fastapi", "uvicorn", "pydantic", "python-multipart"]
    by_name = {d["name"]: d for d in data["dependencies"]}
    assert by_name["fastapi"]["specifier"] == "<0.116,>=0.115"  # ^0.115
    assert by_name["python-multipart"]["specifier"] == "<0.1,>=0.0.9"  # ~0.0.9
    assert by_name["uvicorn"]["extras"] == ["standard"]
    assert data["extras_available"] == ["fast-json"]
    assert data["groups_available"] == ["dev"]
    assert data["dependency_files"] == ["pyproject.toml", "poetry.lock"]
    # python = "^3.10": the newest supported inside it.
    assert (data["python_version"], data["python_version_source"]) == ("3.12", "pyproject.toml")
    assert data["entrypoint"]["command"] == ["churn-api"]
    assert data["package"]["build_backend"] == "poetry.core.masonry.api"


def test_uv_lock(sample: Sample) -> None:
    data = detect_json(sample("uv-scoring"))
    assert data["dependency_sources"][0]["kind"] == "uv"
    assert data["dependency_sources"][0]["lock"] == "uv.lock"
    assert names(data) == ["numpy", "pyyaml", "rich"]
    assert data["extras_available"] == ["parquet"]
    assert data["groups_available"] == ["dev", "lint"]
    lint = next(o for o in data["optional_dependencies"] if o["name"] == "lint")
    assert [d["name"] for d in lint["dependencies"]] == ["pytest", "ruff", "mypy"]  # include-group
    assert data["package"] is None  # [tool.uv] package = false
    assert (data["python_version"], data["python_version_source"]) == ("3.11", ".python-version")
    assert data["entrypoint"]["command"] == ["python", "score.py"]


def test_pipfile_with_lock(sample: Sample) -> None:
    data = detect_json(sample("pipenv-report"))
    assert data["dependency_sources"][0] == {
        "kind": "pipfile",
        "path": "Pipfile.lock",
        "used": True,
        "lock": "Pipfile.lock",
    }
    assert names(data) == ["requests", "tabulate", "python-dateutil"]
    assert data["dependencies"][2]["markers"] == 'python_version >= "3.8"'
    assert (data["python_version"], data["python_version_source"]) == ("3.11", "Pipfile")


def test_pdm_with_lock(sample: Sample) -> None:
    root = sample("pdm-features")
    data = detect_json(root)
    assert data["dependency_sources"][0]["kind"] == "pdm"
    assert names(data) == ["pandas", "pyarrow"]
    assert data["dependencies"][1]["markers"] == 'platform_machine != "armv7l"'
    assert data["extras_available"] == ["s3"] and data["groups_available"] == ["test"]
    assert data["entrypoint"]["command"] == ["build-features"]
    dockerfile = render(make_plan(inspect_project(root), Settings()))["Dockerfile"]
    assert "FROM python:3.12-slim AS pdm-export" in dockerfile
    assert "pdm export --prod --format requirements --output /requirements.txt" in dockerfile
    assert "'hishel<2'" in dockerfile


def test_setup_py_with_empty_install_requires_and_extras(sample: Sample) -> None:
    data = detect_json(sample("setuptools-extras"))
    assert data["dependency_sources"][0]["kind"] == "setuptools"
    assert data["dependencies"] == []
    assert data["extras_available"] == ["fast", "plot", "dev", "all"]
    all_extra = next(o for o in data["optional_dependencies"] if o["name"] == "all")
    assert [d["name"] for d in all_extra["dependencies"]] == ["numpy", "matplotlib"]
    assert data["python_version_source"] == "setup.py"
    assert data["entrypoint"]["command"] == ["imgstats"]
    assert data["entrypoint"]["evidence"][0]["path"] == "setup.py"


def test_requirements_with_editable_project(sample: Sample) -> None:
    data = detect_json(sample("requirements-editable"))
    assert data["dependency_files"] == [
        "requirements.txt",
        "requirements/base.txt",
        "requirements/constraints.txt",
    ]
    assert names(data) == ["regex", "tabulate", "click"]
    assert data["local_installs"] == [
        {
            "path": ".",
            "editable": True,
            "evidence": {"path": "requirements.txt", "line": 7, "detail": "-e ."},
        }
    ]
    assert "requirements/dev.txt" not in data["dependency_files"]


def test_conda_that_pip_can_install(sample: Sample) -> None:
    data = detect_json(sample("conda-pip"))
    conda = data["conda"]
    assert conda["pip_installable"] is True
    assert conda["pypi_requirements"] == ["numpy>=1.26", "pandas==2.2.*", "scikit-learn"]
    assert conda["pip"] == ["tabulate==0.9.0"]
    assert (data["python_version"], data["python_version_source"]) == ("3.11", "environment.yml")
    assert data["local_installs"][0]["path"] == "."


def test_conda_that_needs_micromamba(sample: Sample) -> None:
    """No conda channel is reachable from these machines: this image is not built here.

    The generated files are asserted and linted (tests/test_render.py) instead.
    """
    root = sample("conda-geo")
    data = detect_json(root)
    conda = data["conda"]
    assert conda["pip_installable"] is False
    assert "gdal" in conda["reason"]
    assert conda["cuda"] == "11.8"
    assert data["needs_git"] is True  # git+ URL in the pip section
    assert data["python_version"] == "3.10"
    files = render(make_plan(inspect_project(root), Settings()))
    dockerfile = files["Dockerfile"]
    assert "FROM mambaorg/micromamba:2.0.5 AS micromamba" in dockerfile
    assert "FROM debian:bookworm-slim" in dockerfile
    assert (
        "micromamba create --yes --prefix /opt/venv --file /tmp/env/environment.yml" in dockerfile
    )
    assert "apt-get install -y --no-install-recommends git" in dockerfile
    assert "python -m pip install --no-cache-dir --no-deps -e ." in dockerfile


@pytest.mark.parametrize(
    ("poetry", "pep440"),
    [
        ("^1.2.3", ">=1.2.3,<2.0.0"),
        ("^0.2.3", ">=0.2.3,<0.3.0"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("^1.2", ">=1.2,<2.0"),
        ("~1.2.3", ">=1.2.3,<1.3"),
        ("~1", ">=1,<2"),
        ("*", ""),
        ("1.2.3", "==1.2.3"),
        (">=1.2 <2", ">=1.2,<2"),
        ("~=1.4", "~=1.4"),
        # bare versions with a pre- or post-release part are exact pins too
        ("2.7.4.post1", "==2.7.4.post1"),
        ("1.0rc1", "==1.0rc1"),
        ("^2.0.0b3", ">=2.0.0b3,<3.0.0"),
        ("1.2.*", "==1.2.*"),
    ],
)
def test_poetry_constraints(poetry: str, pep440: str) -> None:
    assert poetry_to_pep440(poetry) == pep440


def test_poetry_alternatives_have_no_pep440_form() -> None:
    with pytest.raises(ConstraintError):
        poetry_to_pep440("^1.0 || ^2.0")


@pytest.mark.parametrize(
    ("conda", "pep440"),
    [
        ("=1.26", "==1.26.*"),
        ("==1.26.4", "==1.26.4"),
        ("=1.26.4=py311h_0", "==1.26.4.*"),
        (">=1.2,<2", ">=1.2,<2"),
        ("", ""),
    ],
)
def test_conda_specs(conda: str, pep440: str) -> None:
    assert conda_spec_to_pep440(conda) == pep440


def test_several_sources_are_reported_and_a_flag_chooses(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "main.py": "",
            "requirements.txt": "numpy\n",
            "environment.yml": "dependencies:\n  - python=3.11\n  - pandas\n",
        },
    )
    data = detect_json(tmp_path)
    assert [(s["kind"], s["used"]) for s in data["dependency_sources"]] == [
        ("requirements", True),
        ("conda", False),
    ]
    assert any("several dependency sources" in w and "--deps-from" in w for w in data["warnings"])
    chosen = detect_json(tmp_path, "--deps-from", "conda")
    first = chosen["dependency_sources"][0]
    assert (first["kind"], first["used"]) == ("conda", True)
    assert names(chosen) == ["pandas"]
    missing = run_cli("detect", tmp_path, "--deps-from", "poetry")
    assert missing.returncode == ExitCode.USAGE
    assert "sources found: conda, requirements" in missing.stderr


def test_a_lockfile_wins_over_requirements(tmp_path: Path, sample: Sample) -> None:
    root = sample("uv-scoring")
    (root / "requirements.txt").write_text("numpy\n")
    data = detect_json(root)
    assert data["dependency_sources"][0]["kind"] == "uv"
    assert data["dependency_sources"][1] == {
        "kind": "requirements",
        "path": "requirements.txt",
        "used": False,
        "lock": "",
    }


def test_credentials_in_an_index_url_are_a_warning_never_echoed(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "main.py": "",
            "requirements.txt": (
                "--extra-index-url https://deploy:s3cr3t-t0ken@pkgs.example.com/simple\n"
                "--extra-index-url https://${PRIVATE_INDEX_TOKEN}@pkgs.example.com/simple\n"
                "acme-models==1.2\n"
            ),
        },
    )
    data = detect_json(tmp_path)
    assert data["build_secrets"] == ["PRIVATE_INDEX_TOKEN"]
    [warning] = [w for w in data["warnings"] if "user and password" in w]
    assert "requirements.txt:1" in warning
    assert "s3cr3t" not in json.dumps(data["warnings"])
    # The credential itself would reach a layer: init refuses it (issue 13), exit 5.
    refused_credential = run_cli("init", tmp_path)
    assert refused_credential.returncode == ExitCode.INVALID_PROJECT_FILE
    assert "s3cr3t" not in refused_credential.stderr
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("".join(requirements.read_text().splitlines(True)[1:]))
    files = render(make_plan(inspect_project(tmp_path), Settings()))
    assert "--mount=type=secret,id=PRIVATE_INDEX_TOKEN" in files["Dockerfile"]
    assert 'PRIVATE_INDEX_TOKEN="$(cat /run/secrets/PRIVATE_INDEX_TOKEN)"' in files["Dockerfile"]
    assert '--secret "id=PRIVATE_INDEX_TOKEN,env=PRIVATE_INDEX_TOKEN"' in files["docker/build.sh"]
    refused = run_cli("init", tmp_path, "--no-buildkit")
    assert refused.returncode == ExitCode.USAGE and "BuildKit secret" in refused.stderr


@pytest.mark.parametrize(
    ("files", "where"),
    [
        ({"environment.yml": "dependencies:\n  - numpy\n  - [broken\n"}, "environment.yml:4"),
        ({"Pipfile": "[packages]\nnumpy = \n"}, "Pipfile:2"),
        ({"Pipfile": "[packages]\n", "Pipfile.lock": '{"default": {,}}'}, "Pipfile.lock:1"),
        ({"pyproject.toml": "[tool.poetry\n"}, "pyproject.toml:1"),
    ],
)
def test_malformed_files_name_file_and_line(
    tmp_path: Path, files: dict[str, str], where: str
) -> None:
    write_tree(tmp_path, {"main.py": "", **files})
    for command in ("detect", "init"):
        result = run_cli(command, tmp_path)
        assert result.returncode == ExitCode.INVALID_PROJECT_FILE, result.stderr
        assert result.stderr.startswith(f"error: {where}: not valid")
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "Dockerfile").exists(), "nothing is written when detection fails"


def test_unknown_requirements_option_is_a_warning(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.py": "", "requirements.txt": "--frobnicate\nnumpy\n"})
    data = detect_json(tmp_path)
    assert names(data) == ["numpy"]
    assert any("requirements.txt:1: unknown option --frobnicate" in w for w in data["warnings"])


def test_unknown_extra_is_a_usage_error(sample: Sample) -> None:
    result = run_cli("init", sample("setuptools-extras"), "--extra", "gpu")
    assert result.returncode == ExitCode.USAGE
    assert "no extra or group named 'gpu'" in result.stderr and "fast" in result.stderr


def test_local_folders_outside_the_project_are_left_out(tmp_path: Path) -> None:
    """A service that installs a library from a folder outside any git repository that holds
    both: no build context can, so it is left out with a warning that says what to do, and
    never reaches the Dockerfile. (Inside one repository, the image is built from its root:
    tests/test_deploy.py.)"""
    root = tmp_path / "services" / "scorer"
    write_tree(
        tmp_path,
        {
            "libs/common/pyproject.toml": '[project]\nname = "common"\nversion = "0.1"\n',
            "libs/common/common/__init__.py": "",
            "services/scorer/requirements.txt": "fastapi\nuvicorn\n-e ../../libs/common\n",
            "services/scorer/scorer/__init__.py": "",
            "services/scorer/scorer/main.py": "import common\nfrom fastapi import FastAPI\n"
            "app = FastAPI()\n",
        },
    )
    profile = inspect_project(root)
    assert profile.local_installs == ()
    assert any(
        w.startswith(
            "requirements.txt:3: ../../libs/common is outside the project's git repository"
        )
        for w in profile.warnings
    )
    assert not any("`common` is not a known distribution" in w for w in profile.warnings)
    assert "libs/common" not in render(make_plan(profile, Settings()))["Dockerfile"]


def test_binder_configuration_folder(tmp_path: Path) -> None:
    """A notebook course configured for Binder keeps its files in binder/ (repo2docker reads
    them there): requirements, runtime.txt and apt.txt all count."""
    root = write_tree(
        tmp_path / "course",
        {
            "binder/requirements.txt": "numpy\npandas\nmatplotlib\n",
            "binder/runtime.txt": "python-3.11\n",
            "binder/apt.txt": "graphviz\n",
            "lectures/01-intro.ipynb": '{"cells": [{"cell_type": "code", "metadata": {}, '
            '"outputs": [], "execution_count": 1, "source": ["import numpy as np"]}], '
            '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
        },
    )
    profile = inspect_project(root)
    assert [s.path for s in profile.dependency_sources if s.used] == ["binder/requirements.txt"]
    assert (profile.python_version, profile.python_version_source) == ("3.11", "binder/runtime.txt")
    assert "graphviz" in {p.name for p in profile.system_packages}
    dockerfile = render(make_plan(profile, Settings()))["Dockerfile"]
    assert "source=binder/requirements.txt,target=/tmp/deps/binder/requirements.txt" in dockerfile
    assert "-r /tmp/deps/binder/requirements.txt" in dockerfile


def test_uv_sources_are_applied_without_a_lock(tmp_path: Path) -> None:
    """[tool.uv.sources]: a git source becomes a URL requirement, a path inside the project a
    local install after the code, a path outside it is left out with a warning; the names
    are never looked up on PyPI."""
    root = write_tree(
        tmp_path / "svc",
        {
            "pyproject.toml": '[project]\nname = "svc"\nversion = "1"\n'
            'dependencies = ["clip", "tools", "shared", "requests>=2"]\n'
            "[tool.uv.sources]\n"
            'clip = { git = "https://github.com/openai/CLIP.git", rev = "dcba3cb" }\n'
            'tools = { path = "libs/tools", editable = true }\n'
            'shared = { path = "../shared" }\n',
            "libs/tools/pyproject.toml": '[project]\nname = "tools"\nversion = "1"\n',
            "main.py": "import requests\nif __name__ == '__main__':\n    pass\n",
        },
    )
    profile = inspect_project(root)
    by_name = {d.name: d for d in profile.dependencies}
    assert by_name["clip"].url == "git+https://github.com/openai/CLIP.git@dcba3cb"
    assert "tools" not in by_name and "shared" not in by_name
    assert [(loc.path, loc.editable) for loc in profile.local_installs] == [("libs/tools", True)]
    assert any("../shared is outside the project's git repository" in w for w in profile.warnings)
    assert profile.needs_git
    dockerfile = render(make_plan(profile, Settings()))["Dockerfile"]
    assert "'clip @ git+https://github.com/openai/CLIP.git@dcba3cb'" in dockerfile
    assert "-r /tmp/deps/pyproject.toml" not in dockerfile  # uv would apply the sources again
    assert "-e ./libs/tools" in dockerfile


def test_local_folders_declare_their_own_dependencies(tmp_path: Path) -> None:
    """Local folders are installed with --no-deps after the code: what their pyproject.toml,
    Poetry table or setup.py declare is installed in the dependency layer."""
    root = write_tree(
        tmp_path / "mono",
        {
            "requirements.txt": "pandas\n-e ./libs/featurizer\n./libs/legacy\n./libs/poet\n",
            "libs/featurizer/pyproject.toml": '[project]\nname = "featurizer"\nversion = "0.1"\n'
            'dependencies = ["scipy>=1.11", "pandas"]\n',
            "libs/legacy/setup.py": "from setuptools import setup\n"
            "setup(name='legacy', install_requires=['requests>=2.31', 'featurizer'])\n",
            "libs/poet/pyproject.toml": '[tool.poetry]\nname = "poet"\nversion = "1"\n'
            '[tool.poetry.dependencies]\npython = "^3.10"\ntabulate = "^0.9"\n'
            'local-thing = { path = "../x" }\n',
            "main.py": "import pandas\nif __name__ == '__main__':\n    pass\n",
        },
    )
    profile = inspect_project(root)
    # pandas is declared already; featurizer is one of the project's own folders
    assert [(d.name, d.specifier, d.source) for d in profile.local_dependencies] == [
        ("scipy", ">=1.11", "libs/featurizer/pyproject.toml"),
        ("requests", ">=2.31", "libs/legacy/setup.py"),
        ("tabulate", "<0.10,>=0.9", "libs/poet/pyproject.toml"),
    ]
    dockerfile = render(make_plan(profile, Settings()))["Dockerfile"]
    step = dockerfile.index("What the project's own folders need")
    assert step < dockerfile.index("COPY --chown=app:app . .")
    assert "'scipy>=1.11'" in dockerfile[step:] and "'tabulate<0.10,>=0.9'" in dockerfile[step:]


def test_utf16_requirements_from_powershell(tmp_path: Path) -> None:
    """PowerShell 5's `pip freeze > requirements.txt` writes UTF-16 with a BOM (pip and uv
    read it): read it too, and say to re-save it as UTF-8."""
    root = tmp_path / "win"
    root.mkdir()
    (root / "requirements.txt").write_bytes("numpy==1.26.4\r\npandas==2.2.2\r\n".encode("utf-16"))
    (root / "main.py").write_text("import numpy\nif __name__ == '__main__':\n    pass\n")
    profile = inspect_project(root)
    assert [(d.name, d.specifier, d.line) for d in profile.dependencies] == [
        ("numpy", "==1.26.4", 1),
        ("pandas", "==2.2.2", 2),
    ]
    assert any(w.startswith("requirements.txt: UTF-16 text") for w in profile.warnings)
    assert "numpy" not in profile.undeclared_imports


def test_old_pins_choose_a_python_they_have_wheels_for(tmp_path: Path) -> None:
    """A requirements file from 2022 with no Python pin: numpy==1.21.6 has wheels for
    3.7-3.10, so the image gets 3.10. A file that pins a Python the wheels lack does not
    win: it is warned about, and the pins decide."""
    files: dict[str, str | bytes] = {
        "requirements.txt": "numpy==1.21.6\npandas==1.3.5\ntorch==1.13.1\nflask\n",
        "main.py": "import numpy\nif __name__ == '__main__':\n    pass\n",
    }
    profile = inspect_project(write_tree(tmp_path / "old", files))
    assert profile.python_version == "3.10"
    assert str(profile.python_version_evidence[0]) == (
        "requirements.txt:1 (numpy==1.21.6 has wheels for Python 3.7-3.10 "
        "(knowledge/python.toml): chose Python 3.10)"
    )
    assert {f.source for f in profile.wheel_facts} == {"knowledge"}
    assert any(
        "torch 1.13 is older than dockerize-ml's compatibility table" in w for w in profile.warnings
    )
    files[".python-version"] = "3.12\n"
    pinned = inspect_project(write_tree(tmp_path / "pinned", files))
    assert pinned.python_version == "3.10"
    assert any(
        "Python 3.12 from .python-version cannot install the exact pins (requirements.txt:1: "
        "numpy==1.21.6 has wheels for Python 3.7-3.10" in w
        for w in pinned.warnings
    )
    recent = {**files, "requirements.txt": "numpy==2.1.3\npandas>=1.3\n"}
    del recent[".python-version"]
    assert inspect_project(write_tree(tmp_path / "recent", recent)).python_version == "3.12"


def test_a_stale_runtime_pin_gives_way_to_what_the_pins_need(tmp_path: Path) -> None:
    """runtime.txt says 3.7, but numpy==2.1.2 has wheels only for 3.10+: the pins win."""
    files: dict[str, str | bytes] = {
        "runtime.txt": "python-3.7\n",
        "requirements.txt": "numpy==2.1.2\npandas==2.2.3\n",
        "main.py": "import numpy\nif __name__ == '__main__':\n    pass\n",
    }
    profile = inspect_project(write_tree(tmp_path, files))
    assert profile.python_version == "3.12"
    assert profile.python_version_source == "requirements.txt"
    assert any(
        w.startswith("Python 3.7 from runtime.txt cannot install the exact pins")
        for w in profile.warnings
    )
    assert not any("no official python:3.7-slim" in w for w in profile.warnings)


def test_pins_without_wheels_past_3_7_get_an_end_of_life_python(tmp_path: Path) -> None:
    """scikit-learn==0.20.3 has wheels up to 3.7 only: python:3.7-slim installs it, 3.8
    would compile it and fail; chosen, with a loud warning."""
    files: dict[str, str | bytes] = {
        "requirements.txt": "Flask==1.0.2\nnumpy==1.16.3\nscikit-learn==0.20.3\n",
        "main.py": "import sklearn\nif __name__ == '__main__':\n    pass\n",
    }
    root = write_tree(tmp_path, files)
    profile = inspect_project(root)
    assert profile.python_version == "3.7"
    assert any(w.startswith("Python 3.7 is end-of-life") for w in profile.warnings)
    dockerfile = render(make_plan(profile, Settings()))["Dockerfile"]
    assert "FROM python:3.7-slim" in dockerfile


def test_the_ci_matrix_states_the_python(tmp_path: Path) -> None:
    """actions/setup-python's python-version (a matrix list or one value) is evidence."""
    workflow = (
        "jobs:\n  test:\n    strategy:\n      matrix:\n        python-version:\n"
        "          - '3.9'\n          - '3.10'\n    steps:\n"
        "      - uses: actions/setup-python@v5\n        with:\n"
        "          python-version: ${{ matrix.python-version }}\n"
    )
    files: dict[str, str | bytes] = {
        ".github/workflows/test.yml": workflow,
        "requirements.txt": "numpy\n",
        "main.py": "import numpy\nif __name__ == '__main__':\n    pass\n",
    }
    profile = inspect_project(write_tree(tmp_path, files))
    assert profile.python_version == "3.10"
    assert profile.python_version_source == ".github/workflows/test.yml"
    assert str(profile.python_version_evidence[0]) == (
        ".github/workflows/test.yml:5 (chose Python 3.10, the newest supported inside <3.11,>=3.9)"
    )


def test_environment_file_that_reads_the_requirements_file_wins(tmp_path: Path) -> None:
    """binder/environment.yml's pip: section reads `-r requirements.txt` (relative to the
    environment file, as conda runs pip): the environment is the whole, so it is installed,
    the requirements file with it."""
    root = write_tree(
        tmp_path / "course",
        {
            "binder/environment.yml": "dependencies:\n  - python=3.11\n  - numpy\n  - pip\n"
            "  - pip:\n    - -r requirements.txt\n",
            "binder/requirements.txt": "tabulate==0.9.0\n",
            "main.py": "import numpy\nimport tabulate\nif __name__ == '__main__':\n    pass\n",
        },
    )
    profile = inspect_project(root)
    assert [s.path for s in profile.dependency_sources if s.used] == ["binder/environment.yml"]
    assert not any("several dependency sources" in w for w in profile.warnings)
    dockerfile = render(make_plan(profile, Settings()))["Dockerfile"]
    assert "source=binder/requirements.txt,target=/tmp/deps/binder/requirements.txt" in dockerfile
    assert "-r /tmp/deps/binder/requirements.txt" in dockerfile and "numpy" in dockerfile


def test_uv_workspace_member_found_through_the_workspace(tmp_path: Path) -> None:
    """`core = { workspace = true }`: the member's folder comes from the enclosing
    [tool.uv.workspace], and the workspace's lock is recorded for the export; outside a git
    repository (no context can hold the workspace) the lock is not used, and that is said."""
    repo = write_tree(
        tmp_path / "platform",
        {
            "pyproject.toml": '[project]\nname = "platform"\nversion = "0"\n'
            '[tool.uv.workspace]\nmembers = ["packages/*", "services/*"]\n',
            "uv.lock": "version = 1\n",
            "packages/core/pyproject.toml": '[project]\nname = "Core"\nversion = "0.1"\n',
            "services/api/pyproject.toml": '[project]\nname = "api"\nversion = "0.1"\n'
            'dependencies = ["core", "six"]\n[tool.uv.sources]\ncore = { workspace = true }\n',
            "services/api/main.py": "import core\nif __name__ == '__main__':\n    pass\n",
        },
    )
    outside = inspect_project(repo / "services" / "api")
    assert any("the workspace's ../../uv.lock is not used" in w for w in outside.warnings)
    (repo / ".git").mkdir()
    profile = inspect_project(repo / "services" / "api")
    assert [(loc.path, loc.editable) for loc in profile.local_installs] == [
        ("../../packages/core", True)
    ]
    assert [d.name for d in profile.dependencies] == ["six"]
    assert profile.uv_workspace is not None
    assert (profile.uv_workspace.lock, profile.uv_workspace.package) == ("../../uv.lock", "api")
    assert not any("is not used" in w or "`core`" in w for w in profile.warnings)


def test_setuptools_dynamic_dependencies_from_a_file(tmp_path: Path) -> None:
    """`dynamic = ["dependencies"]` read from requirements.in by setuptools: that file is the
    dependency source (installed before the code), the package after it."""
    root = write_tree(
        tmp_path / "dyn",
        {
            "pyproject.toml": '[project]\nname = "dynpkg"\nversion = "0.1"\n'
            'dynamic = ["dependencies"]\n[tool.setuptools.dynamic]\n'
            'dependencies = {file = ["requirements.in"]}\n[build-system]\n'
            'requires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n',
            "requirements.in": "pandas>=2\nrequests\n",
            "src/dynpkg/__init__.py": "",
        },
    )
    profile = inspect_project(root)
    assert [s.path for s in profile.dependency_sources if s.used] == ["requirements.in"]
    assert [d.name for d in profile.dependencies] == ["pandas", "requests"]
    dockerfile = render(make_plan(profile, Settings()))["Dockerfile"]
    assert "uv pip install -r /tmp/deps/requirements.in" in dockerfile
    assert dockerfile.index("-r /tmp/deps/requirements.in") < dockerfile.index("-e .")

"""Regression samples for the classes of wrong answers the real-world corpus found
(benchmarks/realworld, docs/realworld.md): each is a small project written here that has the
shape of the real repository, not a copy of it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_and_lint, write_tree
from packaging.version import Version

from dockerize_ml import dockerignore, inspect_project, knowledge, make_plan, render
from dockerize_ml.detect.apis import pythons_up_to
from dockerize_ml.detect.imports import provided
from dockerize_ml.plan import Settings

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _commit(root: Path) -> None:
    env = {**os.environ, **_GIT_ENV}
    for args in (["init", "-q"], ["add", "-A", "-f", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env, capture_output=True)


def _files(root: Path) -> dict[str, str]:
    return render(make_plan(inspect_project(root), Settings()))


# --- 1. imports nothing declares are installed -------------------------------------------


def test_undeclared_imports_are_installed_heavy_ones_in_their_layer(tmp_path: Path) -> None:
    """minGPT / Pytorch-UNet / improved-diffusion: setup.py declares torch and tqdm, the code
    imports numpy, torchvision and PIL too. What a declared one brings (numpy with pandas,
    starlette with fastapi) and the project's own modules are not undeclared."""
    root = write_tree(
        tmp_path / "p",
        {
            "setup.py": (
                "from setuptools import setup\n"
                "setup(name='p', install_requires=['torch', 'pandas', 'fastapi'])\n"
            ),
            "train.py": (
                "import numpy as np\nimport torchvision\nfrom PIL import Image\n"
                "import starlette\nimport pandas\nimport mylib.util\nimport helper\n"
                "if __name__ == '__main__':\n    pass\n"
            ),
            "mylib/__init__.py": "",
            "mylib/util.py": "",
            "helper.py": "",
        },
    )
    profile = inspect_project(root)
    assert profile.undeclared_imports == ("pillow", "torchvision")
    warning = next(w for w in profile.warnings if "declared nowhere" in w)
    assert "Pillow (train.py:3" in warning and "installed anyway, unpinned" in warning
    files = _files(root)
    write_and_lint(root, files)  # hadolint and shellcheck clean
    dockerfile = files["Dockerfile"]
    heavy = dockerfile.index("Heavy frameworks first")
    assert "torchvision" in dockerfile[heavy : dockerfile.index("RUN", heavy) + 400]
    step = dockerfile.index("Imported by the code, declared by no dependency file: pillow.")
    assert "pip install" in dockerfile[step:] and "numpy" not in dockerfile[step : step + 300]


def test_a_lockfile_is_the_environment(tmp_path: Path) -> None:
    """Against a lock, an import the lock lists is declared; one it lacks is warned about,
    not installed behind the lock's back."""
    root = write_tree(
        tmp_path / "p",
        {
            "pyproject.toml": (
                '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.11"\n'
                'dependencies = ["requests"]\n'
            ),
            "uv.lock": (
                'version = 1\n\n[[package]]\nname = "p"\nversion = "0"\n\n'
                '[[package]]\nname = "requests"\nversion = "2.32.3"\n\n'
                '[[package]]\nname = "urllib3"\nversion = "2.2.3"\n\n'
                '[[package]]\nname = "idna"\nversion = "3.10"\n'
            ),
            "main.py": (
                "import urllib3\nimport idna\nimport yaml\nif __name__ == '__main__':\n    pass\n"
            ),
        },
    )
    profile = inspect_project(root)
    assert profile.undeclared_imports == ("pyyaml",)
    assert any("not installed (the image installs uv.lock" in w for w in profile.warnings)
    assert "PyYAML" not in _files(root)["Dockerfile"]
    assert "pyyaml" not in _files(root)["Dockerfile"].lower().split("uv.lock")[-1]


def test_torch_summary_writer_needs_tensorboard(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "torch\n",
            "train.py": "from torch.utils.tensorboard import SummaryWriter\nSummaryWriter()\n",
        },
    )
    assert inspect_project(root).undeclared_imports == ("tensorboard",)


def test_brings_rows_are_well_formed_and_followed() -> None:
    rows = knowledge.load("imports")["brings"]
    for dist, brought in rows.items():
        assert dist == dist.lower() and " " not in dist, dist
        assert all(b == b.lower() and b != dist for b in brought), dist
    assert {"numpy", "pillow", "torch"} <= provided(["torchvision"])
    # flax -> optax; optax 0.2.8 (PyPI, scripts/check_brings.py) no longer requires chex
    assert "optax" in provided(["flax"]) and "chex" not in provided(["flax"])


def test_a_notebook_pip_comment_is_not_a_package(tmp_path: Path) -> None:
    """mae's demo: `!pip3 install timm==0.4.5  # 0.3.2 does not work in Colab`."""
    cell: dict[str, object] = {
        "cell_type": "code",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
        "source": ["!pip3 install timm==0.4.5  # 0.3.2 does not work in Colab\n"],
    }
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    root = write_tree(tmp_path / "p", {"demo.ipynb": json.dumps(notebook)})
    names = [d.name for d in inspect_project(root).dependencies]
    assert set(names) - {"jupyterlab"} == {"timm"}, names


def test_mpi4py_gets_an_mpi_library(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {"requirements.txt": "mpi4py\n", "train.py": "from mpi4py import MPI\nMPI.COMM_WORLD\n"},
    )
    packages = {p.name for p in inspect_project(root).system_packages}
    assert {"libopenmpi3", "openmpi-bin"} <= packages


# --- 2. the source that is the whole environment wins ------------------------------------


def test_a_conda_environment_that_installs_the_project_wins_over_its_setup_py(
    tmp_path: Path,
) -> None:
    """CompVis/stable-diffusion: environment.yaml's pip: section ends with `-e .`; setup.py
    lists three packages."""
    root = write_tree(
        tmp_path / "p",
        {
            "environment.yaml": (
                "name: ldm\ndependencies:\n  - python=3.10\n  - pip\n  - pip:\n"
                "    - omegaconf==2.1.1\n    - opencv-python==4.8.0.76\n"
                "    - -e git+https://github.com/CompVis/taming-transformers.git@master"
                "#egg=taming-transformers\n    - -e .\n"
            ),
            "setup.py": "from setuptools import setup\nsetup(name='ldm', install_requires=['tqdm'])\n",
            "ldm/__init__.py": "",
            "main.py": "import omegaconf\nif __name__ == '__main__':\n    pass\n",
        },
    )
    profile = inspect_project(root)
    used = next(s for s in profile.dependency_sources if s.used)
    assert used.path == "environment.yaml"
    assert {"omegaconf", "opencv-python"} <= {d.name for d in profile.dependencies}
    assert {"git", "libgl1"} <= {p.name for p in profile.system_packages} | (
        {"git"} if profile.needs_git else set()
    )


def test_an_environment_reading_requirements_declares_them(tmp_path: Path) -> None:
    """jakevdp's handbook: environment.yml says `pip: [-r requirements.txt]`."""
    root = write_tree(
        tmp_path / "p",
        {
            "environment.yml": "name: x\ndependencies:\n  - python=3.11\n  - pip:\n"
            "    - -r requirements.txt\n",
            "requirements.txt": "numpy\nscipy\n",
            "a.py": "import numpy\n",
        },
    )
    assert {"numpy", "scipy"} <= {d.name for d in inspect_project(root).dependencies}


def test_requirements_base_beside_requirements_is_run_time(tmp_path: Path) -> None:
    """label-studio-ml-backend's examples: requirements-base.txt (gunicorn, the SDK) and
    requirements.txt (the model's own); requirements-test.txt is not run time."""
    root = write_tree(
        tmp_path / "p",
        {
            "requirements-base.txt": "gunicorn==22.0.0\n",
            "requirements.txt": "scikit-learn\n",
            "requirements-test.txt": "pytest\n",
            "model.py": "import sklearn\n",
        },
    )
    profile = inspect_project(root)
    assert profile.dependency_entry_files == ("requirements-base.txt", "requirements.txt")
    names = {d.name for d in profile.dependencies}
    assert {"gunicorn", "scikit-learn"} <= names and "pytest" not in names


def test_src_requirements_of_a_src_layout(tmp_path: Path) -> None:
    """iterative/example-get-started keeps src/requirements.txt beside its stages."""
    root = write_tree(
        tmp_path / "p", {"src/requirements.txt": "dvclive\n", "src/train.py": "import dvclive\n"}
    )
    profile = inspect_project(root)
    assert profile.dependency_entry_files == ("src/requirements.txt",)
    assert profile.undeclared_imports == ()


# --- 3 and 4. the build context: .dvc/config in, pip's VCS clones out --------------------


def test_pips_clone_of_an_editable_vcs_requirement_stays_out(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "-e git+https://github.com/openai/CLIP.git@main#egg=clip\n",
            "src/clip/setup.py": "from setuptools import setup\nsetup(name='clip')\n",
            "src/other/keep.py": "",
            "main.py": "if __name__ == '__main__':\n    pass\n",
        },
    )
    rules = dockerignore.parse(_files(root)[".dockerignore"])
    assert dockerignore.excluded(rules, "src/clip/setup.py")
    assert not dockerignore.excluded(rules, "src/other/keep.py")


# --- 5. Python from API use ------------------------------------------------------------


def test_removed_apis_bound_the_python_and_the_inferred_versions(tmp_path: Path) -> None:
    """facebookresearch/mae: torch._six (gone in torch 2.0), np.float (gone in numpy 1.24)."""
    root = write_tree(
        tmp_path / "p",
        {
            "util.py": "import numpy as np\nfrom torch._six import inf\nx = np.float(1)\n",
            "main.py": "import util\nif __name__ == '__main__':\n    pass\n",
        },
    )
    profile = inspect_project(root)
    assert profile.python_version == "3.11"  # numpy 1.23 and torch 1.13 have no cp312
    assert profile.python_version_evidence[0].path == "util.py"
    specs = {d.name: d.specifier for d in profile.dependencies}
    assert specs == {"numpy": "<1.24", "torch": "<2.0"}
    assert "numpy<1.24" in _files(root)["requirements.txt"]


def test_tf_contrib_means_tensorflow_1_and_its_pythons(tmp_path: Path) -> None:
    """google-research/bert: tf.contrib and tf.flags; requirements.txt says >=1.11."""
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "tensorflow >= 1.11.0\n",
            "run.py": "import tensorflow as tf\nflags = tf.flags\ntf.contrib.tpu.RunConfig()\n",
        },
    )
    profile = inspect_project(root)
    assert profile.python_version == "3.7"
    assert any("allows tensorflow>=1.11.0" in w and "`<2.0`" in w for w in profile.warnings)


def test_a_dataclass_instance_default_means_python_3_10(tmp_path: Path) -> None:
    """SeanNaren/deepspeech.pytorch's configs; a frozen dataclass default is fine."""
    code = (
        "from dataclasses import dataclass, field\n"
        "@dataclass\nclass Spect:\n    rate: int = 16000\n"
        "@dataclass(frozen=True)\nclass Frozen:\n    x: int = 0\n"
        "@dataclass\nclass Train:\n    f: Frozen = Frozen()\n"
    )
    root = write_tree(tmp_path / "p", {"requirements.txt": "numpy\n", "cfg.py": code})
    assert inspect_project(root).python_version == "3.12"
    write_tree(root, {"cfg2.py": code + "@dataclass\nclass Bad:\n    s: Spect = Spect()\n"})
    assert inspect_project(root).python_version == "3.10"


def test_api_rows_are_well_formed_and_have_wheel_rows() -> None:
    rows = knowledge.load("apis")["removed"]
    imports = knowledge.load("imports")["imports"]
    for row in rows:
        assert set(row) == {"use", "dist", "removed", "last"}, row
        top = row["use"].split(".")[0]
        assert imports.get(top, "").lower() == row["dist"] or top == row["dist"], row
        # the Pythons of its wheels bound the image's; a pure-Python distribution (setuptools)
        # has no wheels row, and its row bounds the distribution alone
        wheels = knowledge.load("python")["wheels"]
        assert row["dist"] not in wheels or pythons_up_to(row["dist"], row["last"]), row


# --- 6. loose results nothing names -----------------------------------------------------


def test_untracked_results_named_nowhere_stay_out(tmp_path: Path) -> None:
    """whisper's interview.srt + interview.json, locust_stats.csv, research/adult.csv; an
    untracked config, script or a CSV the code reads stay in (a user's uncommitted work)."""
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "pandas\n",
            "main.py": "import pandas\npandas.read_csv('inputs.csv')\n",
            "README.md": "Run `python main.py --config local.yaml`; see notes.csv\n",
        },
    )
    _commit(root)
    write_tree(
        root,
        {
            "interview.srt": "1\n",
            "interview.json": "{}",
            "locust_stats.csv": "a,b\n",
            "research/adult.csv": "a,b\n",
            "inputs.csv": "a,b\n",
            "notes.csv": "a,b\n",
            "local.yaml": "lr: 1\n",
            "settings.json": "{}",
            "new_script.py": "",
        },
    )
    rules = dockerignore.parse(_files(root)[".dockerignore"])
    for rel in ("interview.srt", "interview.json", "locust_stats.csv", "research/adult.csv"):
        assert dockerignore.excluded(rules, rel), rel
    for rel in ("notes.csv", "local.yaml", "settings.json", "new_script.py"):
        assert not dockerignore.excluded(rules, rel), rel


@pytest.mark.parametrize("suffix", knowledge.load("layout")["context"]["output_suffixes"])
def test_output_suffixes_are_not_code_or_configuration(suffix: str) -> None:
    assert suffix.startswith(".") and suffix not in (".py", ".ipynb", ".yaml", ".toml", ".json")


@pytest.mark.docker
def test_the_image_has_the_undeclared_import_and_an_mpi_library(
    engine: Any, buildkit_cli: str, tmp_path: Path
) -> None:
    """Built for real: tqdm is imported and declared nowhere, mpi4py's wheel loads the
    system's libmpi at import; the smoke test imports the entry script in the image."""
    root = write_tree(
        tmp_path / "mpi",
        {
            "requirements.txt": "mpi4py\n",
            "train.py": (
                "from mpi4py import MPI\nimport tqdm\n"
                "if __name__ == '__main__':\n    print(MPI.COMM_WORLD.Get_size(), tqdm.__name__)\n"
            ),
        },
    )
    assert run_cli("init", root).returncode == 0
    tag = "corpus-test-undeclared-mpi:latest"
    result = run_cli("build", root, "--json", "--tag", tag)
    try:
        assert result.returncode == 0, result.stderr[-2000:]
        smoke = {s["name"]: s for s in json.loads(result.stdout)["smoke"]}
        assert smoke["entry script imports"]["ok"], smoke
    finally:
        if result.returncode == 0:
            engine.images.remove(tag, force=True)


def test_a_manifest_wins_over_its_development_superset(tmp_path: Path) -> None:
    """requirements.txt = setup.py's install_requires + pytest and black: the manifest's
    run-time set is the image's; with anything else beyond it, the requirements file wins."""
    root = write_tree(
        tmp_path / "p",
        {
            "setup.py": "from setuptools import setup\nsetup(name='p', install_requires=['numpy'])\n",
            "requirements.txt": "numpy==1.26.4\npytest\nblack\n",
            "p/__init__.py": "import numpy\n",
        },
    )
    used = next(s for s in inspect_project(root).dependency_sources if s.used)
    assert used.kind == "setuptools"
    write_tree(root, {"requirements.txt": "numpy==1.26.4\npytest\nrequests\n"})
    used = next(s for s in inspect_project(root).dependency_sources if s.used)
    assert used.kind == "requirements"


# ---------------------------------------------------------------- partial pins, resolved as of then
# Sven-Bo/streamlit-sales-dashboard pins pandas 2.0.1 and streamlit 1.25.0 and leaves pyarrow
# open: today's pyarrow needs NumPy 2, which pandas 2.0.1 forbids, so `import streamlit` fails.

_PYARROW = (
    '  File "/opt/venv/lib/python3.11/site-packages/pyarrow/__init__.py", line 59, in <module>\n'
    "    from pyarrow.lib import (BuildInfo, CppBuildInfo, RuntimeInfo, set_timezone_db_path,\n"
    '  File "pyarrow/lib.pyx", line 42, in init pyarrow.lib\n'
    "ImportError: pyarrow requires NumPy 2.0 or newer, found 1.26.4\n"
)
_NUMPY2 = (
    "A module that was compiled using NumPy 1.x cannot be run in\n"
    "NumPy 2.1.3 as it may crash. To support both 1.x and 2.x\n"
)
_DTYPE = "ValueError: numpy.dtype size changed, may indicate binary incompatibility. Expected 96"
_GONE = (
    '  File "/opt/venv/lib/python3.8/site-packages/jinja2/filters.py", line 13, in <module>\n'
    "    from markupsafe import soft_unicode\n"
    "ImportError: cannot import name 'soft_unicode' from 'markupsafe' "
    "(/opt/venv/lib/python3.8/site-packages/markupsafe/__init__.py)\n"
)
_OWN_CODE = (
    '  File "/app/report.py", line 3, in <module>\n'
    "    from helpers import load\n"
    "ImportError: cannot import name 'load' from 'helpers' (/app/helpers.py)\n"
)


@pytest.mark.parametrize("log", [_PYARROW, _NUMPY2, _DTYPE, _GONE])
def test_todays_releases_that_break_the_pins_are_resolved_as_of_the_pins(log: str) -> None:
    from dockerize_ml.diagnose import Facts, diagnose

    asked: list[bool] = []

    def day() -> str:
        asked.append(True)
        return "2023-07-21"

    findings = diagnose(log, Facts(python="3.11", as_of=day))
    assert [f.kind for f in findings] == ["newer-release"]
    assert findings[0].settings == {"exclude-newer": "2023-07-21"}
    assert "exclude-newer = '2023-07-21'" in findings[0].change and asked


def test_no_date_or_the_projects_own_code_is_not_that_cause() -> None:
    from dockerize_ml.diagnose import Facts, diagnose

    assert diagnose(_PYARROW, Facts(as_of=lambda: None)) == []  # nothing pinned to date by
    assert diagnose(_OWN_CODE, Facts(as_of=lambda: "2023-07-21")) == []


def _dated_commit(root: Path, when: str, *, shallow_clone_to: Path | None = None) -> Path:
    env = {**os.environ, **_GIT_ENV, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    for args in (["init", "-q"], ["add", "-A", "-f", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env, capture_output=True)
    if shallow_clone_to is None:
        return root
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{root}", str(shallow_clone_to)],
        check=True,
        env=env,
        capture_output=True,
    )
    return shallow_clone_to


def test_the_day_is_the_newest_pins_upload_or_the_dependency_files_last_commit(
    tmp_path: Path,
) -> None:
    from dockerize_ml.asof import as_of

    uploads = {
        ("pandas", "2.0.1"): "2023-04-24T10:15:00Z",
        ("streamlit", "1.25.0"): "2023-07-20T23:30:00Z",
    }
    files = {
        "requirements.txt": "openpyxl\npandas==2.0.1\nstreamlit==1.25.0\n",
        "app.py": "import streamlit\n",
    }

    def uploaded(name: str, version: str) -> str | None:
        return uploads.get((name, version))

    plain = write_tree(tmp_path / "plain", files)
    assert as_of(plain, inspect_project(plain), uploaded) == "2023-07-21"  # no git
    # the requirements changed later than the pins' releases: the author installed then
    older = _dated_commit(write_tree(tmp_path / "old", files), "2023-09-03T20:02:19+02:00")
    assert as_of(older, inspect_project(older), uploaded) == "2023-09-04"
    assert as_of(older, inspect_project(older), lambda n, v: None) == "2023-09-04"  # offline
    # a git date before the pins' releases (a re-exported tree) does not move it earlier
    reexported = _dated_commit(write_tree(tmp_path / "re", files), "2000-01-01T00:00:00Z")
    assert as_of(reexported, inspect_project(reexported), uploaded) == "2023-07-21"
    # a shallow clone's one commit says nothing about when the file changed
    shallow = _dated_commit(
        write_tree(tmp_path / "deep", files),
        "2026-08-01T12:00:00Z",
        shallow_clone_to=tmp_path / "s",
    )
    assert as_of(shallow, inspect_project(shallow), uploaded) == "2023-07-21"
    # nothing pinned exactly, no git: nothing to date
    loose = write_tree(tmp_path / "loose", {**files, "requirements.txt": "pandas>=2\n"})
    assert as_of(loose, inspect_project(loose), uploaded) is None
    # names without versions in git (hwchase17/chat-your-data's langchain): the file's date
    names = {**files, "requirements.txt": "langchain\ngradio\n"}
    dated = _dated_commit(write_tree(tmp_path / "names", names), "2023-08-03T19:24:55-07:00")
    assert as_of(dated, inspect_project(dated), uploaded) == "2023-08-05"


def test_exclude_newer_is_a_setting_the_dockerfile_shows_and_drops(tmp_path: Path) -> None:
    from dockerize_ml.choices import Choices
    from dockerize_ml.settings import load, to_settings

    root = write_tree(tmp_path / "p", {"requirements.txt": "numpy==1.26.4\npyarrow\n"})
    write_tree(root, {"report.py": "import numpy, pyarrow\n"})
    (root / "dockerize-ml.toml").write_text('exclude-newer = "2024-02-06"\n')
    dated = render(make_plan(inspect_project(root), to_settings(load(root), Choices())))[
        "Dockerfile"
    ]
    assert "UV_EXCLUDE_NEWER=2024-02-06T00:00:00Z" in dated
    assert "UV_EXCLUDE_NEWER" not in _files(root)["Dockerfile"]
    pip = make_plan(inspect_project(root), Settings(installer="pip", exclude_newer="2024-02-06"))
    assert "UV_EXCLUDE_NEWER" not in render(pip)["Dockerfile"]
    assert any("applies to uv only" in n for n in pip.notes)
    # iainwo/kaggle: `-e .` with exclude-newer 2020-07-22: setuptools>=64 (an editable
    # install) has no release before 2022, and today's one breaks under 2020's packaging:
    # the project is built in isolation with today's backend, its pins as of the day
    write_tree(root, {"requirements.txt": "-e .\nnumpy==1.26.4\n", "setup.py": "setup()\n"})
    plan = make_plan(inspect_project(root), Settings(exclude_newer="2020-07-22"))
    dockerfile = render(plan)["Dockerfile"]
    assert "env -u UV_EXCLUDE_NEWER uv pip install --no-cache --no-deps -e ." in dockerfile
    assert dockerfile.count("env -u UV_EXCLUDE_NEWER") == 1
    assert "--no-build-isolation" not in dockerfile and "'setuptools>=61'" not in dockerfile
    assert "env -u" not in render(make_plan(inspect_project(root), Settings()))["Dockerfile"]
    write_and_lint(tmp_path / "lint", render(plan))  # hadolint and the rest accept it
    for bad in ("2024-02-30", "yesterday", "2024-02-06T00:00:00Z"):
        (root / "dockerize-ml.toml").write_text(f'exclude-newer = "{bad}"\n')
        done = run_cli("init", root, "--dry-run")
        assert done.returncode == 5 and "not a day YYYY-MM-DD" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.docker
def test_partial_pins_break_today_and_build_fix_resolves_as_of_the_pins(
    engine: Any, buildkit_cli: str, sample: Any
) -> None:
    import uuid

    from dockerize_ml.settings import load

    # offline (conftest): the day comes from git, the requirements' commit
    root = _dated_commit(sample("broken-partial-pins"), "2024-03-01T12:00:00Z")
    tag = f"h5-partial-pins-{uuid.uuid4().hex[:8]}:latest"
    try:
        assert run_cli("init", root).returncode == 0
        plain = run_cli("build", root, "--tag", tag, "--timeout", "30")
        assert plain.returncode == 12, plain.stderr[-2000:]
        assert "pyarrow requires NumPy 2" in plain.stderr or "NumPy 1.x" in plain.stderr
        assert "cause: today's releases" in plain.stderr, plain.stderr[-2000:]
        fixed = run_cli("build", root, "--fix", "--json", "--tag", tag, "--timeout", "30")
        assert fixed.returncode == 0, fixed.stderr[-3000:]
        report = json.loads(fixed.stdout)
        assert [f["kind"] for f in report["rounds"][0]["findings"]] == ["newer-release"]
        assert report["rounds"][-1]["ok"] and load(root).table() == {"exclude-newer": "2024-03-02"}
        assert "UV_EXCLUDE_NEWER=2024-03-02T00:00:00Z" in (root / "Dockerfile").read_text()
        run = engine.containers.run(tag, ["python", "report.py"], remove=True)
        assert b"7 readings written" in run
    finally:
        with contextlib.suppress(Exception):
            engine.images.remove(tag, force=True)


# ---------------------------------------------------------------- tools on the image's Python
# DataTalksClub/mlops-zoomcamp 04-deployment/batch: a Pipfile.lock for Python 3.9; the pinned
# pipenv (like pdm, poetry) needs 3.10, so `pip install pipenv==...` failed in a 3.9 stage.
# The export does not depend on the Python that runs it: poetry 2.5.1 on 3.11 exports this
# ~3.8 project's lock as `six==1.16.0 ; python_version == "3.8"` with its hashes (checked).
_POETRY_38 = '[tool.poetry]\nname = "old"\nversion = "0.1.0"\ndescription = ""\nauthors = ["x <x@example.invalid>"]\n\n[tool.poetry.dependencies]\npython = "~3.8"\nsix = "1.16.0"\n\n[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n'
_POETRY_38_LOCK = '# This file is automatically @generated by Poetry 1.8.3 and should not be changed by hand.\n\n[[package]]\nname = "six"\nversion = "1.16.0"\ndescription = "Python 2 and 3 compatibility utilities"\noptional = false\npython-versions = ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*"\nfiles = [\n    {file = "six-1.16.0-py2.py3-none-any.whl", hash = "sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e3254"},\n    {file = "six-1.16.0.tar.gz", hash = "sha256:1e61c37477a1626458e36f7b1d82aa5c9b094fa4ab8ea8c6ab7f6e2e2b1a3f2f"},\n]\n\n[metadata]\nlock-version = "2.0"\npython-versions = "~3.8"\ncontent-hash = "eade1b120d1502d3e78d97d0282f2dc701c9fec5a521f2a22d21be4a42471a91"\n'


@pytest.mark.parametrize(
    ("files", "stage", "tool"),
    [
        (
            {
                "Pipfile": '[packages]\nsix = "==1.16.0"\n\n[requires]\npython_version = "3.9"\n',
                "Pipfile.lock": json.dumps(
                    {
                        "_meta": {"requires": {"python_version": "3.9"}},
                        "default": {"six": {"version": "==1.16.0"}},
                        "develop": {},
                    }
                ),
            },
            "pipenv-export",
            "pipenv",
        ),
        ({"pyproject.toml": _POETRY_38, "poetry.lock": _POETRY_38_LOCK}, "poetry-export", "poetry"),
    ],
)
def test_a_tool_stage_runs_on_a_python_the_tool_installs_on(
    tmp_path: Path, files: dict[str, str], stage: str, tool: str
) -> None:
    root = write_tree(tmp_path / "p", {**files, "score.py": "import six\n"})
    floor = knowledge.load("tools")[tool]["python"]
    dockerfile = _files(root)["Dockerfile"]
    python = "3.8" if tool == "poetry" else "3.9"
    assert f"FROM python:{python}-slim\n" in dockerfile  # the image keeps the project's Python
    assert f"FROM python:{floor}-slim AS {stage}" in dockerfile
    assert f"FROM python:{python}-slim AS uv" in dockerfile  # uv installs on it: unchanged
    new = render(make_plan(inspect_project(root), Settings(python="3.12")))["Dockerfile"]
    assert f"FROM python:3.12-slim AS {stage}" in new  # a newer Python: the image's own


def test_the_uv_stage_of_a_python_37_image_runs_on_the_oldest_python_uv_installs_on(
    tmp_path: Path,
) -> None:
    root = write_tree(
        tmp_path / "p", {"requirements.txt": "six==1.16.0\n", "app.py": "import six\n"}
    )
    dockerfile = render(make_plan(inspect_project(root), Settings(python="3.7")))["Dockerfile"]
    uv_python = knowledge.load("tools")["uv"]["python"]
    assert f"FROM python:{uv_python}-slim AS uv" in dockerfile
    assert "FROM python:3.7-slim\n" in dockerfile


def test_tool_pythons_are_well_formed() -> None:
    tools = knowledge.load("tools")
    for name in ("uv", "poetry", "pdm", "pipenv"):
        assert re.fullmatch(r"3\.\d+", tools[name]["python"]), name


def test_an_old_release_whose_metadata_uv_refuses_is_installed_with_pip() -> None:
    # amirziai/sklearnflask pins pandas==0.24.2 (2019) on Python 3.7
    from dockerize_ml.diagnose import Facts, diagnose

    log = (
        "#10 4.074 error: No solution found when resolving dependencies\n"
        "#10 4.076   cause: Because pandas==0.24.2 has invalid metadata and you require "
        "pandas==0.24.2, we can conclude that your requirements are unsatisfiable.\n"
        "#10 4.080 hint: Metadata for `pandas` (v0.24.2) could not be parsed:\n"
    )
    findings = diagnose(log, Facts(python="3.7"))
    assert [(f.kind, f.settings) for f in findings] == [("invalid-metadata", {"installer": "pip"})]


# --- a dependency's own use of a removed API; a version the code asserts -------------------


def test_an_asserted_version_pins_and_its_release_bounds_torch_and_the_python(
    tmp_path: Path,
) -> None:
    """facebookresearch/mae: no dependency file, `assert timm.__version__ == "0.3.2"`, and
    timm 0.3.2 imports torch._six.container_abcs (gone in torch 1.9): timm==0.3.2,
    torch<1.9, and a Python torch 1.8 has wheels for (3.9 at most)."""
    root = write_tree(
        tmp_path / "p",
        {
            "main.py": "import timm\nimport torch\nassert timm.__version__ == '0.3.2'  # check\n",
        },
    )
    profile = inspect_project(root)
    deps = {d.name: d for d in profile.dependencies}
    assert deps["timm"].specifier == "==0.3.2", deps["timm"]
    assert deps["torch"].specifier == "<1.9", deps["torch"]
    assert profile.python_version == "3.9"
    # an aliased module, the constant on the left; a release not in the rows bounds nothing
    write_tree(
        root, {"main.py": "import timm as t\nimport torch\nassert '0.9.2' == t.__version__\n"}
    )
    profile = inspect_project(root)
    deps = {d.name: d for d in profile.dependencies}
    assert deps["timm"].specifier == "==0.9.2"
    assert deps["torch"].specifier == ""
    assert profile.python_version != "3.9"


def test_inside_rows_are_well_formed_and_name_a_removed_api() -> None:
    removed = {row["use"] for row in knowledge.load("apis")["removed"]}
    rows = knowledge.load("apis")["inside"]
    assert rows
    for row in rows:
        assert set(row) == {"dist", "first", "last", "uses", "file"}, row
        assert row["uses"] in removed, row
        assert Version(row["first"]) <= Version(row["last"]), row
        assert row["file"].endswith(".py"), row


# --- a server that needs its .env, or a Host its settings allow (pplonski, eightBEC) --------

_DJANGO_SETTINGS = """import os
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = [".api.example.com"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "mysite.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/db.sqlite3"}}
STATIC_URL = "static/"
"""


def _django_site(root: Path, hosts: str = '[".api.example.com"]', urls: str = "") -> Path:
    settings = _DJANGO_SETTINGS.replace('[".api.example.com"]', hosts)
    return write_tree(
        root,
        {
            ".python-version": "3.11\n",
            "requirements.txt": "django>=4.2,<6\n",
            ".env.example": "DJANGO_SECRET_KEY=placeholder-not-a-secret\n",
            "mysite/manage.py": "import os, sys\nfrom django.core.management import "
            "execute_from_command_line\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', "
            "'mysite.settings')\nexecute_from_command_line(sys.argv)\n",
            "mysite/mysite/__init__.py": "",
            "mysite/mysite/settings.py": settings,
            "mysite/mysite/urls.py": urls
            or "from django.contrib import admin\nfrom django.urls import path\n"
            "urlpatterns = [path('admin/', admin.site.urls)]\n",
            "mysite/mysite/wsgi.py": "import os\nfrom django.core.wsgi import "
            "get_wsgi_application\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', "
            "'mysite.settings')\napplication = get_wsgi_application()\n",
        },
    )


def test_django_allowed_hosts_give_the_probes_their_host_and_the_admin_their_path(
    tmp_path: Path,
) -> None:
    profile = inspect_project(_django_site(tmp_path / "p"))
    entry = profile.entrypoint
    assert entry is not None and entry.kind == "django"
    assert (entry.host, entry.health) == ("api.example.com", "/admin/")
    assert profile.env_example == ".env.example"
    assert any("ALLOWED_HOSTS" in w and "Host: api.example.com" in w for w in profile.warnings)
    files = render(make_plan(profile, Settings(k8s=True)))
    assert "--header 'Host: api.example.com'" in files["docker/smoke.sh"]
    assert "'Host': sys.argv[2]" in files["compose.yaml"]
    assert files["k8s/p.yaml"].count("value: api.example.com") == 3
    # any host, localhost, or a list from the environment: no header; a root URL: "/"
    for hosts in ('["*"]', '["localhost", "api.example.com"]', 'os.environ["HOSTS"].split()'):
        root = _django_site(tmp_path / f"h{len(hosts)}", hosts=hosts)
        assert inspect_project(root).entrypoint.host == "", hosts  # type: ignore[union-attr]
    root = _django_site(
        tmp_path / "r", urls="from django.urls import path\nurlpatterns = [path('', print)]\n"
    )
    assert inspect_project(root).entrypoint.health == "/"  # type: ignore[union-attr]


def test_the_smoke_tests_read_the_env_file_as_docker_run_does(tmp_path: Path) -> None:
    from dockerize_ml.plan.types import SmokePlan
    from dockerize_ml.smoke import dotenv, smoke_env_file

    root = write_tree(
        tmp_path / "p",
        {
            ".env.example": "# comment\nexport A=1\nB='quoted' \nC\n\n  D=x=y\n",
        },
    )
    plan = SmokePlan((), env=".env.example")
    assert smoke_env_file(root, plan) == root / ".env.example"
    assert dotenv(smoke_env_file(root, plan)) == {"A": "1", "B": "'quoted' ", "D": "x=y"}
    write_tree(root, {".env": "A=2\n"})
    assert smoke_env_file(root, plan) == root / ".env"  # the local .env first, as run.sh
    assert smoke_env_file(root, SmokePlan(())) == root / ".env"
    (root / ".env").unlink()
    assert smoke_env_file(root, SmokePlan(())) is None


@pytest.mark.docker
def test_a_django_site_that_needs_its_env_and_its_host_passes_every_smoke_test(
    engine: Any, buildkit_cli: str, tmp_path: Path
) -> None:
    """Built, smoke-tested by `build` and by docker/smoke.sh with the real engine, and
    compose's healthcheck run in the container: all three send the Host the settings
    allow, with the placeholders of .env.example (there is no .env)."""
    root = _django_site(tmp_path / "site")
    assert run_cli("init", root).returncode == 0
    tag = "dockerize-ml-test-django-host:latest"
    result = run_cli("build", root, "--tag", tag, "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   django answers on port 8000" in result.stdout
    smoke = subprocess.run(
        ["bash", str(root / "docker/smoke.sh"), tag],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKERIZE_ML_DOCKER": buildkit_cli},
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    import yaml

    service = next(iter(yaml.safe_load((root / "compose.yaml").read_text())["services"].values()))
    check = service["healthcheck"]["test"][1:]
    container = engine.containers.run(tag, detach=True, environment={"DJANGO_SECRET_KEY": "x"})
    try:
        deadline = time.monotonic() + 60
        code, output = 1, b""
        while time.monotonic() < deadline and code != 0:
            code, output = container.exec_run(check)
            time.sleep(1)
        assert code == 0, output
        # the probe without the Host: the settings refuse it
        plain = [
            "python",
            "-c",
            "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/admin/')",
        ]
        assert container.exec_run(plain)[0] != 0
    finally:
        container.remove(force=True)
        engine.images.remove(tag, force=True)


def test_a_variants_imports_are_left_to_its_own_requirements_file(tmp_path: Path) -> None:
    """bhimrazy/litserve-embedding-api: server.py runs on requirements.txt; the variant
    server-openai-transformers.py imports torch, which requirements-transformers.txt
    declares. torch is not installed (6 GB for a file the image does not run), with a
    warning; an import the entry file makes itself is installed as before."""
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "litserve\n",
            "requirements-transformers.txt": "torch\ntransformers\n",
            "server.py": "import litserve as ls\nimport yaml\n"
            "class A(ls.LitAPI):\n    pass\n"
            "if __name__ == '__main__':\n    ls.LitServer(A()).run(port=8000)\n",
            "server-openai-transformers.py": "import torch\nimport transformers\n",
        },
    )
    profile = inspect_project(root)
    assert profile.entrypoint is not None and "server.py" in profile.entrypoint.command
    assert "torch" not in profile.undeclared_imports
    assert "pyyaml" in profile.undeclared_imports  # the entry imports it: installed
    warning = next(w for w in profile.warnings if "never imports" in w)
    assert "torch" in warning and "requirements-transformers.txt" in warning
    assert "pip install" in (df := render(make_plan(profile, Settings()))["Dockerfile"])
    assert " torch" not in df and "download.pytorch.org" not in df
    # graviraja/MLOps-Basics: the entry imports a module of the project that imports it
    # (app.py -> inference_onnx -> onnxruntime): installed
    entry = (root / "server.py").read_text()
    write_tree(root, {"helpers/__init__.py": "", "helpers/embed.py": "import torch\n"})
    write_tree(root, {"server.py": "from helpers import embed\n" + entry})
    assert "torch" in inspect_project(root).undeclared_imports
    # the entry imports torch itself: installed, declared elsewhere or not
    write_tree(root, {"server.py": "import torch\n" + entry})
    assert "torch" in inspect_project(root).undeclared_imports


_POST_ONLY = (
    "from flask import Flask, jsonify, request\n"
    "app = Flask('duration-prediction')\n\n"
    "@app.route('/predict', methods=['POST'])\n"
    "def predict():\n    return jsonify(request.get_json())\n"
)


def test_a_flask_app_that_serves_no_get_is_probed_at_its_port(tmp_path: Path) -> None:
    """DataTalksClub/mlops-zoomcamp web-service: POST /predict is the only route, so GET /
    is a 404 and no health path exists: the probes connect to the port (Kubernetes'
    tcpSocket, compose's socket), and the smoke tests take any HTTP answer."""
    root = write_tree(
        tmp_path / "p", {"requirements.txt": "flask\ngunicorn\n", "predict.py": _POST_ONLY}
    )
    profile = inspect_project(root)
    assert profile.entrypoint is not None and profile.entrypoint.health == "tcp"
    plan = make_plan(profile, Settings(k8s=True))
    assert (plan.smoke.kind, plan.smoke.path) == ("server", "")
    files = render(plan)
    k8s = files["k8s/p.yaml"]
    assert k8s.count("tcpSocket:") == 3 and "httpGet" not in k8s
    assert "socket.create_connection" in files["compose.yaml"]
    assert "--write-out '%{http_code}'" in files["docker/smoke.sh"]
    # GET at / (the default of route(), app.get, methods with GET), or a variable rule that
    # may match it: the path
    for route in (
        "@app.route('/')",
        "@app.get('/')",
        "@app.route('/', methods=['GET', 'POST'])",
        "@app.route('/<page>')",
        "@app.route(ROOT)",
    ):
        write_tree(root, {"predict.py": _POST_ONLY + f"\n{route}\ndef other():\n    return 'ok'\n"})
        assert inspect_project(root).entrypoint.health != "tcp", route  # type: ignore[union-attr]
    # amirziai/sklearnflask: GET /train and GET /wipe, nothing at / (a probe must not train
    # nor wipe): the port
    for route in ("@app.get('/x')", "@app.route('/wipe', methods=['GET'])", "@app.route('/train')"):
        write_tree(root, {"predict.py": _POST_ONLY + f"\n{route}\ndef other():\n    return 'ok'\n"})
        assert inspect_project(root).entrypoint.health == "tcp", route  # type: ignore[union-attr]
    # methods the reader cannot see: not assumed
    write_tree(root, {"predict.py": _POST_ONLY.replace("['POST']", "METHODS")})
    assert inspect_project(root).entrypoint.health != "tcp"  # type: ignore[union-attr]


@pytest.mark.docker
def test_a_post_only_flask_app_passes_every_smoke_test(
    engine: Any, buildkit_cli: str, tmp_path: Path
) -> None:
    root = write_tree(
        tmp_path / "svc",
        {
            ".python-version": "3.11\n",
            "requirements.txt": "flask\ngunicorn\n",
            "predict.py": _POST_ONLY,
        },
    )
    assert run_cli("init", root).returncode == 0
    tag = "dockerize-ml-test-post-only:latest"
    result = run_cli("build", root, "--tag", tag, "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the server answers (no route answers GET /)" in result.stdout
    smoke = subprocess.run(
        ["bash", str(root / "docker/smoke.sh"), tag],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKERIZE_ML_DOCKER": buildkit_cli},
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    import yaml

    service = next(iter(yaml.safe_load((root / "compose.yaml").read_text())["services"].values()))
    check = service["healthcheck"]["test"][1:]
    container = engine.containers.run(tag, detach=True)
    try:
        deadline = time.monotonic() + 60
        code, output = 1, b""
        while time.monotonic() < deadline and code != 0:
            code, output = container.exec_run(check)
            time.sleep(1)
        assert code == 0, output
    finally:
        container.remove(force=True)
        engine.images.remove(tag, force=True)


def test_an_undeclared_import_of_a_removed_module_is_installed_with_its_bound(
    tmp_path: Path,
) -> None:
    """ydataai/ydata-profiling: `import pkg_resources`, setuptools declared nowhere: the
    image installs setuptools<82.0 (82 removed pkg_resources), not today's."""
    root = write_tree(
        tmp_path / "p",
        {"requirements.txt": "pandas\n", "report.py": "import pandas\nimport pkg_resources\n"},
    )
    profile = inspect_project(root)
    assert "setuptools" in profile.undeclared_imports
    assert ("setuptools", "<82.0") in profile.undeclared_bounds
    assert "'setuptools<82.0'" in render(make_plan(profile, Settings()))["Dockerfile"]


def test_a_pinned_old_flask_brings_the_pallets_releases_it_still_runs_with(
    tmp_path: Path,
) -> None:
    """amirziai/sklearnflask pins Flask==1.0.2 and nothing else of Pallets: today's Jinja2,
    itsdangerous and Werkzeug lack what its own code imports (`cannot import name 'Markup'
    from 'jinja2'`). The dependencies' install bounds them, in the same resolver run."""
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "Flask==1.0.2\n",
            "app.py": "from flask import Flask\napp = Flask(__name__)\n",
        },
    )
    profile = inspect_project(root)
    bounds = {d.name: d.specifier for d in profile.release_bounds}
    assert bounds == {"itsdangerous": "<2.1", "jinja2": "<3.1", "werkzeug": "<3.0"}
    jinja = next(d for d in profile.release_bounds if d.name == "jinja2")
    assert (jinja.source, jinja.line) == ("requirements.txt", 1)
    assert "flask==1.0.2 uses jinja2.Markup" in jinja.detail
    dockerfile = render(make_plan(profile, Settings()))["Dockerfile"]
    step = next(s for s in dockerfile.split("\n\n") if "-r /tmp/deps/requirements.txt" in s)
    for bound in ("'itsdangerous<2.1'", "'jinja2<3.1'", "'werkzeug<3.0'"):
        assert bound in step, step  # with the requirements: one resolution, not a downgrade
    # Pure Python: the bounds put no limit on the Python (Flask 1.0.2 alone, any Python).
    assert (
        profile.python_version
        == inspect_project(
            write_tree(tmp_path / "q", {"requirements.txt": "Flask\n", "app.py": "import flask\n"})
        ).python_version
    )
    # Flask 1.1 also imports werkzeug.wrappers.BaseResponse, gone in 2.1: the tightest wins.
    write_tree(root, {"requirements.txt": "Flask==1.1.4\n"})
    bounds = {d.name: d.specifier for d in inspect_project(root).release_bounds}
    assert bounds["werkzeug"] == "<2.1"
    # A release that imports none of them: no bound. Flask 2.3 neither.
    write_tree(root, {"requirements.txt": "Flask==2.3.3\n"})
    assert inspect_project(root).release_bounds == ()


def test_a_declared_pallets_library_is_warned_about_not_bounded(tmp_path: Path) -> None:
    """Jinja2 declared unpinned beside Flask==1.0.2: the user's line stays as written and
    `detect` says which bound to add; the others are still bounded."""
    root = write_tree(
        tmp_path / "p",
        {"requirements.txt": "Flask==1.0.2\nJinja2\n", "app.py": "import flask\n"},
    )
    profile = inspect_project(root)
    assert "jinja2" not in {d.name for d in profile.release_bounds}
    assert any("add `<3.1`" in w and "jinja2" in w for w in profile.warnings), profile.warnings


def test_a_pyproject_with_an_old_flask_gets_the_bounds_through_uv(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "pyproject.toml": '[project]\nname = "p"\nversion = "0"\ndependencies = ["flask==2.2.2"]\n',
            "app.py": "import flask\n",
        },
    )
    profile = inspect_project(root)
    assert [(d.name, d.specifier) for d in profile.release_bounds] == [("werkzeug", "<3.0")]
    dockerfile = render(make_plan(profile, Settings(installer="uv")))["Dockerfile"]
    step = next(s for s in dockerfile.split("\n\n") if "-r /tmp/deps/pyproject.toml" in s)
    assert "'werkzeug<3.0'" in step and "flask==2.2.2 uses werkzeug.urls.url_quote" in step


def test_streamlit_releases_that_call_sudo_get_an_empty_machine_id(tmp_path: Path) -> None:
    """iainwo/kaggle: streamlit 0.64 (an unpinned streamlit resolved as of July 2020 by
    `build --fix`) runs `sudo dbus-uuidgen` at import when the image has no machine id, and
    the slim images have none: the setup layer writes an empty /etc/machine-id."""
    root = write_tree(tmp_path / "p", {"app.py": "import streamlit as st\nst.write('hi')\n"})
    cases = [
        ("streamlit==0.64.0", Settings(), True),
        ("streamlit==0.68.0", Settings(), False),
        ("streamlit==0.51.0", Settings(), False),
        ("streamlit", Settings(), False),  # today's release
        ("streamlit", Settings(exclude_newer="2020-07-22"), True),
        ("streamlit", Settings(exclude_newer="2021-01-01"), False),
        ("streamlit<0.60", Settings(), True),
    ]
    for requirement, settings, needed in cases:
        write_tree(root, {"requirements.txt": requirement + "\n"})
        plan = make_plan(inspect_project(root), settings)
        dockerfile = render(plan)["Dockerfile"]
        assert ("touch /etc/machine-id" in dockerfile) is needed, (requirement, settings)
        assert ("calls sudo at import" in dockerfile) is needed, requirement

"""The test of a Dockerfile generator is the image: build, run, and rebuild after a code edit.

Needs a Docker engine with the base image python:3.11-slim (.ci/engine.sh makes one where no
registry is reachable). BuildKit builds go through the docker CLI (``DOCKERIZE_ML_DOCKER``),
classic builds through the Docker SDK, exactly as dockerize-ml itself builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_tree

from dockerize_ml.engine import BuildResult, build_with_cli, build_with_sdk
from dockerize_ml.errors import ExitCode

pytestmark = pytest.mark.docker


def run(
    engine: Any, image: str, command: list[str] | None = None, **kwargs: Any
) -> tuple[int, str]:
    """Run a container to completion; return its exit code and output. Always removed."""
    container = engine.containers.run(image, command, detach=True, **kwargs)
    try:
        status = container.wait(timeout=300)
        output = container.logs(stdout=True, stderr=True).decode()
        return int(status["StatusCode"]), output
    finally:
        container.remove(force=True)


def init(root: Path, *flags: str) -> None:
    result = run_cli("init", root, *flags)
    assert result.returncode == 0, result.stderr


def build(root: Path, tag: str, buildkit: bool) -> BuildResult:
    # BuildKit needs the CLI (the SDK cannot build `RUN --mount`); classic builds use the SDK.
    return build_with_cli(root, tag) if buildkit else build_with_sdk(root, tag)


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` with ``new`` and tag the file with a comment never seen before.

    The builder's cache outlives a test run; without the unique comment, the edited file of
    an earlier run would already be in the cache.
    """
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1) + f"# edit {uuid.uuid4().hex}\n")


@pytest.mark.parametrize(
    ("flags", "buildkit"),
    [((), True), (("--no-buildkit", "--installer", "pip"), False)],
    ids=["uv-buildkit-cli", "pip-classic-sdk"],
)
def test_requirements_training_project(
    request: pytest.FixtureRequest,
    engine: Any,
    sample: Callable[[str], Path],
    tag: str,
    flags: tuple[str, ...],
    buildkit: bool,
) -> None:
    if buildkit:
        request.getfixturevalue("buildkit_cli")
    root = sample("churn-model")
    init(root, *flags)
    first = build(root, tag, buildkit)
    assert first.steps, "the builder's step report was parsed"

    # The entry point runs and trains on the CSV that stays in the image as a runtime file.
    code, output = run(engine, tag)
    assert code == 0, output
    assert "trained on 600 rows" in output

    # Not root; the working folder is writable; data and secrets stayed out of the image.
    probe = (
        "import os, pathlib; print(os.getuid());"
        "pathlib.Path('written-by-run.txt').write_text('ok');"
        "print(sorted(p for p in ('data/churn.csv', 'data/raw', '.env', 'outputs/.gitkeep',"
        " 'notebooks/exploration.ipynb', 'train.py') if os.path.exists(p)));"
        "print(os.listdir(os.environ['XDG_CACHE_HOME']))"
    )
    code, output = run(engine, tag, ["python", "-c", probe])
    assert code == 0, output
    uid, present, caches = output.strip().splitlines()
    assert uid == "1000"
    assert present == str(["data/churn.csv", "notebooks/exploration.ipynb", "train.py"])
    assert caches == "[]", "no installer cache is left in the image (XDG_CACHE_HOME)"

    # A one-line code edit: the builder reuses the dependency layer and re-runs the code copy.
    edit(root / "churn" / "features.py", 'TARGET = "churned"', 'TARGET = "churned"  # label')
    second = build(root, tag, buildkit)
    install = "uv pip install -r" if buildkit else "pip install --no-cache-dir -r"
    assert second.step(install).cached, second.log[-3000:]
    assert not second.step("COPY --chown=app:app . .").cached
    if buildkit:
        _assert_lean_image_and_stable_layer(engine, root, tag)


def _assert_lean_image_and_stable_layer(engine: Any, root: Path, tag: str) -> None:
    """uv stayed in its stage (mounted, never copied), the venv has no pip, the big
    libraries carry their bytecode, and a new small dependency leaves their layer alone."""
    probe = (
        "import importlib.util, pathlib, shutil, pandas, sklearn;"
        "print(shutil.which('uv'), importlib.util.find_spec('pip') is not None);"
        "print(len(list(pathlib.Path(pandas.__file__).parent.rglob('*.pyc'))) > 500,"
        " len(list(pathlib.Path(sklearn.__file__).parent.rglob('*.pyc'))) > 300)"
    )
    code, output = run(engine, tag, ["python", "-c", probe])
    assert code == 0, output
    assert output.split() == ["None", "False", "True", "True"], output

    requirements = root / "requirements.txt"
    requirements.write_text(requirements.read_text() + f"tabulate  # {uuid.uuid4().hex}\n")
    third = build(root, tag, True)
    assert third.step("'pandas<3,>=2.1'").cached, third.log[-3000:]  # the stable layer
    assert not third.step("uv pip install -r").cached
    code, output = run(engine, tag, ["python", "-c", "import tabulate, sklearn"])
    assert code == 0, output


def test_run_script_mounts_outputs_passes_env_and_runs_as_the_app_user(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("churn-model")
    init(root)
    build_with_cli(root, tag)
    shutil.rmtree(root / "outputs")  # run.sh creates it, writable by the container's user
    env = {**os.environ, "IMAGE": tag, "DOCKERIZE_ML_DOCKER": buildkit_cli}
    result = subprocess.run(
        [str(root / "docker" / "run.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "trained on 600 rows" in result.stdout
    assert (root / "outputs" / "model.joblib").stat().st_size > 0

    check = subprocess.run(
        [
            str(root / "docker" / "run.sh"),
            "python",
            "-c",
            "import os; print(os.environ['CHURN_THRESHOLD'], os.access('/app/data', os.W_OK))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == ["0.5", "False"]  # .env passed; data mounted read-only


@pytest.mark.parametrize(
    ("flags", "buildkit"),
    [((), True), (("--no-buildkit",), False)],
    ids=["uv-buildkit-cli", "uv-classic-sdk"],
)
def test_pep621_package_with_console_script(
    request: pytest.FixtureRequest,
    engine: Any,
    sample: Callable[[str], Path],
    tag: str,
    flags: tuple[str, ...],
    buildkit: bool,
) -> None:
    if buildkit:
        request.getfixturevalue("buildkit_cli")
    root = sample("sentiment-cli")
    init(root, *flags)
    build(root, tag, buildkit)

    code, output = run(engine, tag, ["sentiment-cli", "I love it, great value"])
    assert code == 0, output
    assert output.startswith("+0.")
    code, output = run(engine, tag, ["sentiment-cli", "--help"])
    assert code == 0 and "Print the sentiment score" in output
    code, output = run(engine, tag, ["id", "-un"])
    assert output.strip() == "app"

    # Edit the package: only the code copy and the --no-deps project install run again, and
    # the new code is what the console script runs.
    edit(
        root / "src" / "sentiment" / "cli.py",
        'f"{score(review):+.2f}',
        'f"score={score(review):+.2f}',
    )
    second = build(root, tag, buildkit)
    assert second.step("-r /tmp/deps/pyproject.toml").cached, second.log[-3000:]
    assert not second.step("COPY --chown=app:app . .").cached
    assert not second.step("--no-deps").cached
    code, output = run(engine, tag, ["sentiment-cli", "terrible support"])
    assert code == 0 and output.startswith("score=-0."), output


def serve(engine: Any, image: str, port: int, path: str) -> tuple[int, str]:
    """Start the image, publish ``port`` on a free host port, GET ``path`` from outside."""
    container = engine.containers.run(image, detach=True, ports={f"{port}/tcp": None})
    try:
        deadline = time.monotonic() + 60
        last = ""
        while time.monotonic() < deadline:
            container.reload()
            if container.status == "exited":
                break
            bindings = (container.ports or {}).get(f"{port}/tcp") or []
            if bindings:
                url = f"http://127.0.0.1:{bindings[0]['HostPort']}{path}"
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        return response.status, response.read().decode()
                except OSError as exc:
                    last = str(exc)
            time.sleep(0.5)
        logs = container.logs().decode()[-2000:]
        raise AssertionError(f"{image} never answered on {path}: {last}\n{logs}")
    finally:
        container.remove(force=True)


def test_poetry_fastapi_service_answers_and_poetry_stays_out(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("poetry-fastapi")
    init(root, "--python", "3.11", "--port", "8000")
    build_with_cli(root, tag)
    status, body = serve(engine, tag, 8000, "/health")
    assert status == 200 and '"status":"ok"' in body
    # The exporter ran in its own stage: no Poetry in the image.
    probe = (
        "import importlib.metadata as m;"
        "print(sorted(d.metadata['Name'] for d in m.distributions()"
        " if d.metadata['Name'].lower().startswith('poetry')))"
    )
    code, output = run(engine, tag, ["python", "-c", probe])
    assert (code, output.strip()) == (0, "['poetry-core']"), output  # the build backend only

    edit(root / "app" / "main.py", '"status": "ok"', '"status": "ok", "edited": "yes"')
    second = build_with_cli(root, tag)
    assert second.step("poetry export").cached
    assert second.step("uv pip install -r /tmp/deps/requirements.txt").cached, second.log[-3000:]
    assert not second.step("COPY --chown=app:app . .").cached
    status, body = serve(engine, tag, 8000, "/health")
    assert '"edited":"yes"' in body


def test_uv_lock_project_synced_with_uv(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("uv-scoring")
    init(root)
    first = build_with_cli(root, tag)
    assert "uv sync --locked --no-dev --no-install-project" in first.step("uv sync").instruction
    code, output = run(engine, tag)
    assert code == 0, output
    assert "scored 250 customers" in output
    # Exactly what uv.lock pins, and no dev group.
    probe = "import importlib.metadata as m; print(m.version('numpy'), m.version('pyyaml'))"
    code, output = run(engine, tag, ["python", "-c", probe])
    lock = (root / "uv.lock").read_text()
    numpy, pyyaml = output.split()
    assert f'name = "numpy"\nversion = "{numpy}"' in lock
    assert f'name = "pyyaml"\nversion = "{pyyaml}"' in lock
    code, _ = run(engine, tag, ["python", "-c", "import pytest"])
    assert code != 0, "the dev group is not installed"

    edit(root / "scoring" / "model.py", "def score(", "def score(  ")
    second = build_with_cli(root, tag)
    assert second.step("uv sync").cached, second.log[-3000:]
    assert not second.step("COPY --chown=app:app . .").cached


def test_pipfile_lock_exported_with_the_classic_builder(
    engine: Any, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("pipenv-report")
    init(root, "--no-buildkit")
    build_with_sdk(root, tag)
    code, output = run(engine, tag)
    assert code == 0, output
    assert "month" in output and "login" in output
    code, output = run(engine, tag, ["python", "-c", "import tabulate, dateutil, requests"])
    assert code == 0, output

    edit(root / "report" / "build.py", "def summarise(", "def summarise(  ")
    second = build_with_sdk(root, tag)
    assert second.step("pipenv requirements").cached
    assert second.step("uv pip install --no-cache -r /tmp/deps/requirements.txt").cached
    assert not second.step("COPY --chown=app:app . .").cached


def test_setup_py_package_with_an_extra(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("setuptools-extras")
    init(root, "--python", "3.11", "--extra", "fast")
    build_with_cli(root, tag)
    code, output = run(engine, tag, ["imgstats", "images/sample_0.pgm"])
    assert code == 0, output
    assert "(numpy)" in output, "the [fast] extra was installed"
    edit(root / "imgstats" / "cli.py", "({backend})", "[{backend}]")
    second = build_with_cli(root, tag)
    assert second.step("'numpy>=1.26'").cached, second.log[-3000:]
    assert not second.step("--no-deps").cached
    code, output = run(engine, tag, ["imgstats", "images/sample_0.pgm"])
    assert "[numpy]" in output, "the console script runs the edited code"


def test_requirements_with_includes_and_editable_project(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("requirements-editable")
    init(root, "--python", "3.11", "--installer", "pip")
    build_with_cli(root, tag)
    code, output = run(engine, tag, ["textstats", "corpus/sample.txt"])
    assert code == 0, output
    assert "reviews" in output
    code, output = run(engine, tag, ["python", "-c", "import textstats; print(textstats.__file__)"])
    assert output.strip() == "/app/src/textstats/__init__.py", "installed editable, as -e . asks"

    edit(root / "src" / "textstats" / "cli.py", '"top words"', '"most common"')
    second = build_with_cli(root, tag)
    assert second.step("pip install -r /tmp/requirements/requirements.txt").cached
    assert not second.step("--no-deps").cached
    code, output = run(engine, tag, ["textstats", "corpus/sample.txt"])
    assert "most common" in output


def test_conda_environment_that_pip_can_install(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("conda-pip")
    init(root)
    dockerfile = (root / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile  # python=3.11 from environment.yml
    assert "micromamba" not in dockerfile
    build_with_cli(root, tag)
    code, output = run(engine, tag, ["python", "main.py"])
    assert code == 0, output
    assert "forecast" in output


def test_pdm_lock_exported_by_pdm(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("pdm-features")
    (root / "events.csv").write_text("customer_id,event\nC1,login\nC1,ticket\nC2,login\n")
    init(root, "--python", "3.11")
    build_with_cli(root, tag)
    code, output = run(engine, tag, ["build-features", "events.csv", "/tmp/features.parquet"])
    assert (code, output.strip()) == (0, "2 customers"), output
    probe = "import importlib.metadata as m; print(m.version('pandas'))"
    code, output = run(engine, tag, ["python", "-c", probe])
    assert f'name = "pandas"\nversion = "{output.strip()}"' in (root / "pdm.lock").read_text()


def test_streamlit_app_answers_its_health_check_from_outside(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("streamlit-csv")
    init(root, "--python", "3.11")
    build_with_cli(root, tag)
    status, body = serve(engine, tag, 8501, "/_stcore/health")
    assert (status, body) == (200, "ok")
    # The CSV the app reads at start is in the image; the raw export next to it is not.
    probe = "import os; print(os.path.exists('data/sales.csv'), os.path.exists('data/raw'))"
    code, output = run(engine, tag, ["python", "-c", probe])
    assert (code, output.split()) == (0, ["True", "False"])


def test_repository_without_requirements_builds_from_its_imports(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("no-requirements")
    init(root, "--python", "3.11")
    assert (root / "requirements.txt").is_file()
    build_with_cli(root, tag)
    code, output = run(engine, tag)
    assert code == 0, output
    assert "features (64, 24) from 64 images (opencv" in output
    code, output = run(
        engine, tag, ["python", "-c", "import os; print(os.path.exists('checkpoints'))"]
    )
    assert output.strip() == "False", "weights stay out of the image"


def test_regenerate_after_a_dependency_change_keeps_the_hand_edit(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("churn-model")
    init(root)
    dockerfile = root / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace("WORKDIR /app\n", "WORKDIR /app\nENV TEAM_SETTING=kept\n")
    )
    with (root / "requirements.txt").open("a") as handle:
        handle.write("opencv-python-headless>=4.9\n")
    check = run_cli("check", root)
    assert check.returncode == ExitCode.STALE and "requirements.txt" in check.stderr
    init(root)
    assert "ENV TEAM_SETTING=kept" in dockerfile.read_text()
    build_with_cli(root, tag)
    probe = "import os, cv2; print(os.environ['TEAM_SETTING'], cv2.__version__ > '4')"
    code, output = run(engine, tag, ["python", "-c", probe])
    assert (code, output.split()) == (0, ["kept", "True"]), output
    assert run_cli("check", root).returncode == 0


def test_source_build_happens_in_a_builder_stage_without_compilers_in_the_image(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("source-build")
    init(root)
    dockerfile = (root / "Dockerfile").read_text()
    assert "AS builder" in dockerfile and "COPY --from=builder /opt/venv /opt/venv" in dockerfile
    build_with_cli(root, tag)
    probe = "command -v gcc cc c++ make || echo no-compiler; python main.py"
    code, output = run(engine, tag, ["sh", "-c", probe])
    assert code == 0, output
    assert output.startswith("no-compiler"), output
    assert "&lt;Churn&gt; model" in output and "_speedups.cpython" in output
    # A wheel built here is tagged for this platform alone; PyPI's is manylinux.
    wheel = "import importlib.metadata as m; print(m.distribution('markupsafe').read_text('WHEEL'))"
    code, output = run(engine, tag, ["python", "-c", wheel])
    assert "Tag: cp311-cp311-linux_x86_64" in output, output

    edit(root / "report" / "render.py", "<p>AUC", "<p>ROC AUC")
    second = build_with_cli(root, tag)
    assert second.step("uv pip install -r /tmp/deps/requirements.txt").cached
    assert second.step("COPY --from=builder /opt/venv /opt/venv").cached, second.log[-2000:]
    assert not second.step("COPY --chown=app:app . .").cached


#: A stand-in for a base image without Python (nvidia/cuda runtime and cudnn images,
#: ubuntu): the base image with its Python taken out, wherever it came from.
_NO_PYTHON_BASE = "debian:bookworm-nopython-standin"
_NO_PYTHON_DOCKERFILE = """FROM python:3.11-slim
RUN (apt-get purge -y --auto-remove python3 python3-minimal python3.11 python3.11-minimal \\
      python-is-python3 python3-pip python3-venv python3-dev || true) \\
 && rm -rf /usr/local/bin/python* /usr/local/bin/pip* /usr/local/lib/python3* \\
      /usr/local/lib/libpython* /var/lib/apt/lists/* \\
 && if command -v python3 || command -v python; then exit 1; fi
"""


@pytest.fixture(scope="session")
def base_without_python(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("no-python-base")
    (folder / "Dockerfile").write_text(_NO_PYTHON_DOCKERFILE)
    engine.images.build(path=str(folder), tag=_NO_PYTHON_BASE, rm=True)
    return _NO_PYTHON_BASE


def test_base_image_without_python_gets_the_system_python(
    engine: Any, buildkit_cli: str, base_without_python: str, tmp_path: Path, tag: str
) -> None:
    """What a TensorFlow 2.13 image on nvidia/cuda:11.8.0-cudnn8-runtime gets, on a base that
    can be built here: Python from the distribution, the venv made with it, uv inside."""
    root = tmp_path / "sysplay"
    root.mkdir()
    (root / "requirements.txt").write_text("six==1.16.0\n")
    (root / "main.py").write_text(
        "import os, sys\nimport six\n\nif __name__ == '__main__':\n"
        "    print(sys.executable, sys.version_info[:2], six.__version__, os.getuid())\n"
    )
    init(root, "--base-image", base_without_python)
    dockerfile = (root / "Dockerfile").read_text()
    assert "python3 -m venv /opt/venv" in dockerfile
    build_with_cli(root, tag)
    code, output = run(engine, tag)
    assert code == 0, output
    assert output.strip() == "/opt/venv/bin/python (3, 11) 1.16.0 1000", output
    code, output = run(engine, tag, ["sh", "-c", "command -v uv && uv --version"])
    assert code == 0 and output.startswith("/opt/venv/bin/uv"), output


def test_uv_workspace_member(engine: Any, buildkit_cli: str, tmp_path: Path, tag: str) -> None:
    """A service in a uv workspace outside any git repository: no context holds the member it
    depends on, so it is left out with a warning (never installed from PyPI by name), and the
    service itself installs (uv would refuse its workspace source without --no-sources)."""
    workspace = tmp_path / "platform"
    files = {
        "pyproject.toml": '[project]\nname = "platform"\nversion = "0.1.0"\n'
        'requires-python = ">=3.11"\n[tool.uv.workspace]\nmembers = ["packages/*", "services/*"]\n',
        "packages/core/pyproject.toml": '[project]\nname = "core"\nversion = "0.1.0"\n',
        "packages/core/src/core/__init__.py": "",
        "services/api/pyproject.toml": '[project]\nname = "api"\nversion = "0.1.0"\n'
        'requires-python = ">=3.11"\ndependencies = ["core", "six==1.16.0"]\n'
        '[project.scripts]\napi = "api.main:main"\n'
        "[tool.uv.sources]\ncore = { workspace = true }\n"
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        "services/api/src/api/__init__.py": "",
        "services/api/src/api/main.py": "import six\n\n\ndef main():\n"
        "    print('api ok', six.__version__)\n",
    }
    write_tree(workspace, files)
    root = workspace / "services" / "api"
    result = run_cli("init", root, "--python", "3.11")
    assert result.returncode == 0, result.stderr
    assert "../../packages/core is outside the project's git repository" in result.stderr
    build_with_cli(root, tag)
    code, output = run(engine, tag, ["sh", "-c", "api; pip show core || echo no-core"])
    assert code == 0, output
    assert output.startswith("api ok 1.16.0"), output
    assert "no-core" in output


def test_local_folder_dependencies_are_installed(
    engine: Any, buildkit_cli: str, tmp_path: Path, tag: str
) -> None:
    """`-e ./libs/featurizer` is installed after the code without dependencies; what the
    folder itself declares (six) must be in the image all the same."""
    root = tmp_path / "features"
    files = {
        "requirements.txt": "-e ./libs/featurizer\n",
        "libs/featurizer/pyproject.toml": '[project]\nname = "featurizer"\nversion = "0.1"\n'
        'dependencies = ["six==1.16.0"]\n[build-system]\nrequires = ["setuptools>=61"]\n'
        'build-backend = "setuptools.build_meta"\n',
        "libs/featurizer/featurizer/__init__.py": "import six\nVERSION = six.__version__\n",
        "main.py": "import featurizer\n\nif __name__ == '__main__':\n"
        "    print('featurizer ok', featurizer.VERSION)\n",
    }
    write_tree(root, files)
    init(root, "--python", "3.11")
    build_with_cli(root, tag)
    code, output = run(engine, tag)
    assert code == 0, output
    assert output.strip() == "featurizer ok 1.16.0", output


def test_uv_workspace_member_in_a_repository(
    engine: Any, buildkit_cli: str, tmp_path: Path, tag: str
) -> None:
    """The same workspace in a git repository: the member it depends on is built with it,
    from the repository root, and its own dependency (six) comes along."""
    workspace = tmp_path / "platform"
    (workspace / ".git").mkdir(parents=True)
    files = {
        "pyproject.toml": '[project]\nname = "platform"\nversion = "0.1.0"\n'
        'requires-python = ">=3.11"\n[tool.uv.workspace]\nmembers = ["packages/*", "services/*"]\n',
        "packages/core/pyproject.toml": '[project]\nname = "core"\nversion = "0.1.0"\n'
        'dependencies = ["six==1.16.0"]\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        "packages/core/src/core/__init__.py": "import six\nNAME = 'core ' + six.__version__\n",
        "services/api/pyproject.toml": '[project]\nname = "api"\nversion = "0.1.0"\n'
        'requires-python = ">=3.11"\ndependencies = ["core"]\n'
        '[project.scripts]\napi = "api.main:main"\n'
        "[tool.uv.sources]\ncore = { workspace = true }\n"
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        "services/api/src/api/__init__.py": "",
        "services/api/src/api/main.py": "import core\n\n\ndef main():\n    print('api', core.NAME)\n",
    }
    write_tree(workspace, files)
    root = workspace / "services" / "api"
    init(root, "--python", "3.11")
    dockerfile = (root / "Dockerfile").read_text()
    assert "COPY --chown=app:app packages/core/ /opt/src/packages/core/" in dockerfile
    build_with_cli(root / "../..", tag, dockerfile=root / "Dockerfile")
    code, output = run(engine, tag, ["api"])
    assert code == 0, output
    assert output.strip() == "api core 1.16.0", output


def test_pip_freeze_of_a_conda_environment(
    engine: Any, buildkit_cli: str, tmp_path: Path, tag: str
) -> None:
    """`pip freeze` in a conda environment writes `six @ file:///croot/...`: a folder of the
    machine that ran it. The image installs six from the index instead, and says so."""
    root = write_tree(
        tmp_path / "frozen",
        {
            "requirements.txt": "six @ file:///croot/six_1644875935023/work\r\ntabulate==0.9.0\r\n",
            "main.py": "import six\nimport tabulate\n\nif __name__ == '__main__':\n"
            "    print('frozen ok', tabulate.__version__)\n",
        },
    )
    result = run_cli("init", root, "--python", "3.11")
    assert result.returncode == 0, result.stderr
    assert "requirements.txt:1: six @ file:///croot/" in result.stderr
    build_with_cli(root, tag)
    code, output = run(engine, tag)
    assert code == 0, output
    assert output.strip() == "frozen ok 0.9.0", output

"""Detectors on small inline projects: each fact, with its evidence."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from conftest import run_cli, write_tree

from dockerize_ml.detect import detect, inspect_project
from dockerize_ml.errors import BadPathError, InvalidProjectFileError, NotAProjectError
from dockerize_ml.profile import ProjectProfile
from dockerize_ml.scan import scan


def profile_of(root: Path, files: Mapping[str, str | bytes]) -> ProjectProfile:
    write_tree(root, files)
    return detect(scan(root))


# --- Python version -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "version", "source"),
    [
        ({".python-version": "3.10.14\n"}, "3.10", ".python-version"),
        ({".python-version": "# pinned\n3.9\n"}, "3.9", ".python-version"),
        ({"runtime.txt": "python-3.11.4\n"}, "3.11", "runtime.txt"),
        (
            {"pyproject.toml": '[project]\nname="x"\nrequires-python=">=3.9"\n'},
            "3.12",
            "pyproject.toml",
        ),
        (
            {"pyproject.toml": '[project]\nname="x"\nrequires-python=">=3.9,<3.11"\n'},
            "3.10",
            "pyproject.toml",
        ),
        (
            {"pyproject.toml": '[project]\nname="x"\nrequires-python="==3.11.*"\n'},
            "3.11",
            "pyproject.toml",
        ),
        (
            {"pyproject.toml": '[project]\nname="x"\nrequires-python=">=3.13"\n'},
            "3.13",
            "pyproject.toml",
        ),
        (
            {"pyproject.toml": '[project]\nname="x"\nrequires-python="~=3.10.2"\n'},
            "3.10",
            "pyproject.toml",
        ),
        ({}, "3.12", "default"),
    ],
)
def test_python_version(tmp_path: Path, files: dict[str, str], version: str, source: str) -> None:
    profile = profile_of(tmp_path, {"main.py": "", **files})
    assert (profile.python_version, profile.python_version_source) == (version, source)
    if source != "default":
        assert profile.python_version_evidence[0].path == source
        assert profile.python_version_evidence[0].line >= 1


def test_python_sources_that_disagree_are_named_in_a_warning(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "main.py": "",
            ".python-version": "3.10\n",
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.11"\n',
        },
    )
    assert profile.python_version == "3.10"
    [warning] = [w for w in profile.warnings if "disagree" in w]
    assert ".python-version" in warning and "pyproject.toml" in warning


def test_python_sources_that_agree_do_not_warn(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "main.py": "",
            ".python-version": "3.11\n",
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.10"\n',
        },
    )
    assert not [w for w in profile.warnings if "disagree" in w]


# --- Dependencies ---------------------------------------------------------------------------

REQUIREMENTS = """\
# core
-r requirements/base.txt
-c constraints.txt
--extra-index-url https://download.pytorch.org/whl/cpu
numpy>=1.26  # arrays
scikit-learn==1.5.* ; python_version >= "3.9"
requests[socks] \\
    >=2.31
mypkg @ git+https://github.com/acme/mypkg@v1.2
Pillow==10.3.0 \\
    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000
this is not a requirement
"""


def test_requirements_with_includes_options_and_odd_lines(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "train.py": "",
            "requirements.txt": REQUIREMENTS,
            "requirements/base.txt": "pandas>=2\n-r ../requirements.txt\n",
            "constraints.txt": "numpy<3\n",
            "requirements-dev.txt": "pytest\n",
        },
    )
    names = [d.name for d in profile.dependencies]
    assert names == ["pandas", "numpy", "scikit-learn", "requests", "mypkg", "pillow"]
    by_name = {d.name: d for d in profile.dependencies}
    assert by_name["pandas"].source == "requirements/base.txt"
    assert by_name["numpy"].line == 5 and by_name["numpy"].specifier == ">=1.26"
    assert by_name["scikit-learn"].markers == 'python_version >= "3.9"'
    assert by_name["requests"].extras == ("socks",) and by_name["requests"].line == 7
    assert by_name["mypkg"].url.startswith("git+https://")
    assert by_name["pillow"].specifier == "==10.3.0"
    assert "pytest" not in names  # requirements-dev.txt is not a runtime dependency
    assert profile.dependency_files == (
        "requirements.txt",
        "requirements/base.txt",
        "constraints.txt",
    )
    assert [(s.kind, s.path) for s in profile.dependency_sources] == [
        ("requirements", "requirements.txt")
    ]
    assert any("includes requirements.txt" in w and "cycle" in w for w in profile.warnings)
    assert any(
        "requirements.txt:12" in w and "not a valid requirement" in w for w in profile.warnings
    )


def test_pep621_dependencies_with_markers_and_lines(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "Demo_Pkg"\nversion = "1"\n'
                'dependencies = [\n  "NumPy>=1.26",\n  "tomli; python_version < \'3.11\'",\n]\n'
            ),
            "demo.py": "",
        },
    )
    assert profile.name == "demo-pkg"
    assert [(d.name, d.line) for d in profile.dependencies] == [("numpy", 5), ("tomli", 6)]
    assert profile.dependency_files == ("pyproject.toml",)
    assert profile.package is None  # no [build-system]: not installed as a package


def test_requirements_preferred_over_pep621_with_a_warning(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "requirements.txt": "numpy==2.0.0\n",
            "pyproject.toml": (
                '[build-system]\nrequires = ["setuptools>=61"]\n'
                'build-backend = "setuptools.build_meta"\n'
                '[project]\nname = "x"\nversion = "1"\ndependencies = ["numpy"]\n'
            ),
            "x.py": "",
        },
    )
    assert [(s.kind, s.used) for s in profile.dependency_sources] == [
        ("requirements", True),
        ("pep621", False),
    ]
    [warning] = [w for w in profile.warnings if "several dependency sources" in w]
    assert "installing from requirements.txt" in warning and "pyproject.toml (pep621)" in warning
    assert profile.package is not None
    assert profile.package.build_requires == ("setuptools>=61",)


def test_invalid_pyproject_names_file_and_line(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nversion = 1.0.0\n'})
    with pytest.raises(InvalidProjectFileError) as info:
        detect(scan(tmp_path))
    assert info.value.message.startswith("pyproject.toml:3: not valid TOML")


# --- Entry points ---------------------------------------------------------------------------


def test_entry_point_ranking(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "train.py": 'def main():\n    pass\n\nif __name__ == "__main__":\n    main()\n',
            "main.py": "print('no guard')\n",
            "predict.py": "if __name__ == '__main__':\n    pass\n",
        },
    )
    assert profile.entrypoint is not None
    assert profile.entrypoint.command == ("python", "train.py")
    assert str(profile.entrypoint.evidence[0]).startswith("train.py:4")
    # A script of top-level code is one too (issue 12), after the guarded ones.
    assert [e.command for e in profile.entrypoint_alternatives] == [
        ("python", "predict.py"),
        ("python", "main.py"),
    ]


def test_console_script_wins_over_scripts(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "x"\nversion = "1"\n[project.scripts]\nserve-it = "x.cli:main"\n'
            ),
            "src/x/__init__.py": "",
            "src/x/__main__.py": "",
            "main.py": "if __name__ == '__main__':\n    pass\n",
        },
    )
    assert profile.entrypoint is not None
    assert profile.entrypoint.command == ("serve-it",)
    assert profile.entrypoint.evidence[0].line == 5
    assert [e.command for e in profile.entrypoint_alternatives] == [
        ("python", "-m", "x"),
        ("python", "main.py"),
    ]


def test_no_entry_point_is_a_warning(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, {"lib.py": "x = 1\n"})
    assert profile.entrypoint is None
    assert any("no entry point" in w and "--entry" in w for w in profile.warnings)


# --- Build context --------------------------------------------------------------------------


def test_data_outputs_secrets_and_runtime_files(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "app.py": (
                "import pandas as pd\n"
                "LABELS = pd.read_csv('data/labels.csv')\n"
                "MODEL = 'models/classifier.onnx'\n"
                "open('.env')\n"
            ),
            "data/labels.csv": "a\n",
            "data/train/huge.csv": "b\n",
            "outputs/.gitkeep": "",
            "checkpoints/epoch1.ckpt": "w",
            "models/classifier.onnx": "weights",
            "models/unused.onnx": "weights",
            "runs/__init__.py": "",  # a package that happens to be called runs/
            ".env": "A=1\n",
            ".env.example": "A=\n",
        },
    )
    assert profile.data_dirs == ("data",)
    assert profile.output_dirs == ("outputs", "checkpoints")
    assert profile.env_files == (".env",)
    assert profile.runtime_files == ("data/labels.csv", "models/classifier.onnx")
    assert str(profile.runtime_file_evidence[0]) == "app.py:2 (names 'data/labels.csv')"
    excludes = profile.context_excludes
    assert "data" in excludes and "outputs" in excludes and "**/*.onnx" in excludes
    assert "runs" not in excludes, "a folder holding code is never excluded"
    assert "**/.env" in excludes and "!**/.env.example" in excludes
    # Re-inclusions come last, so they win over the exclusions above them.
    assert excludes[-2:] == ("!data/labels.csv", "!models/classifier.onnx")
    assert any(".env" in w and "secret" in w for w in profile.warnings)


def test_data_folder_with_code_is_not_excluded(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, {"main.py": "", "data/loader.py": "", "data/x.csv": ""})
    assert profile.data_dirs == ()
    assert "data" not in profile.context_excludes


def test_syntax_error_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, {"main.py": "def broken(:\n", "ok.py": "x = 'a.csv'\n"})
    assert any("main.py:1: syntax error" in w for w in profile.warnings)


def test_gpu_use_with_evidence(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "train.py": "import torch\n# model.cuda() in a comment\nmodel = Net().cuda()\n",
            "cpu.py": "import torch\nprint(torch.cuda.is_available())\n",
        },
    )
    assert profile.gpu.uses_cuda
    assert [str(e) for e in profile.gpu.evidence] == ["train.py:3 (.cuda())"]


def test_check_for_cuda_alone_is_not_cuda_use(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, {"cpu.py": "import torch\nprint(torch.cuda.is_available())\n"})
    assert not profile.gpu.uses_cuda


# --- Errors ---------------------------------------------------------------------------------


def test_not_a_project(tmp_path: Path) -> None:
    write_tree(tmp_path, {"notes.md": "hello", "data/x.csv": "1"})
    with pytest.raises(NotAProjectError):
        detect(scan(tmp_path))


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(BadPathError, match="does not exist"):
        inspect_project(tmp_path / "missing")
    (tmp_path / "file.py").write_text("")
    with pytest.raises(BadPathError, match="not a folder"):
        inspect_project(tmp_path / "file.py")


def test_virtualenvs_with_any_name_stay_out_of_the_context(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "main.py": "",
            "py311/pyvenv.cfg": "home = /usr/bin\n",
            "services/api/.env-api/pyvenv.cfg": "home = /usr/bin\n",
        },
    )
    assert "py311" in profile.context_excludes
    assert "services/api/.env-api" in profile.context_excludes
    assert "**/.venv" in profile.context_excludes


def test_scripts_outrank_notebooks(tmp_path: Path) -> None:
    """nanoGPT's shape: a train.py of top-level code, no guard, next to notebooks; and MAE's:
    main_*.py scripts that parse arguments. Neither is a JupyterLab repository (issue 12)."""
    nb = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    nano = profile_of(
        tmp_path / "nano",
        {
            "train.py": "import os\nbatch_size = 12\nexec(open('configurator.py').read())\n",
            "configurator.py": "import sys\nfor arg in sys.argv[1:]:\n    pass\n",
            "scaling_laws.ipynb": nb,
        },
    )
    assert nano.entrypoint is not None and nano.entrypoint.command == ("python", "train.py")
    mae = profile_of(
        tmp_path / "mae",
        {
            "main_pretrain.py": "import argparse\ndef main(a):\n    pass\n"
            "if __name__ == '__main__':\n    main(argparse.ArgumentParser().parse_args())\n",
            "models_mae.py": "import torch\nclass MAE:\n    pass\n",
            "demo.ipynb": nb,
        },
    )
    assert mae.entrypoint is not None and mae.entrypoint.command == ("python", "main_pretrain.py")
    assert ("python", "models_mae.py") not in [e.command for e in mae.entrypoint_alternatives]


def test_a_console_script_name_no_installer_accepts_is_not_an_entry_point(
    tmp_path: Path,
) -> None:
    """`[project.scripts]` with a control character or a space in a name (found by the
    bad-input property test): no script of that name can exist, so it is not the entry
    point, and nothing written holds it."""
    root = write_tree(
        tmp_path / "p",
        {
            "pyproject.toml": '[project]\nname = "p"\nversion = "1"\n'
            '[project.scripts]\n"\\u001f" = "p:main"\n"two words" = "p:main"\nok = "p:main"\n',
            "p.py": "def main():\n    pass\n",
        },
    )
    profile = inspect_project(root)
    assert profile.entrypoint is not None and profile.entrypoint.command == ("ok",)
    assert all(e.command != ("\x1f",) for e in profile.entrypoint_alternatives)
    assert run_cli("init", root).returncode == 0

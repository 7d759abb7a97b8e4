"""Debian packages only where something needs them, each with why."""

from __future__ import annotations

from pathlib import Path

from conftest import write_tree

from dockerize_ml import inspect_project

_MAIN = "if __name__ == '__main__':\n    pass\n"


def _packages(root: Path) -> dict[str, list[str]]:
    return {p.name: [e.detail for e in p.evidence] for p in inspect_project(root).system_packages}


def test_pysox_and_phonemizer_need_their_programs(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "requirements.txt": "sox\nphonemizer==3.2.1\n",
        "main.py": "import sox\nimport phonemizer\n" + _MAIN,
    }
    found = _packages(write_tree(tmp_path, files))
    assert found["sox"] == ["sox needs sox"]
    assert found["espeak-ng"] == ["phonemizer needs espeak-ng"]


def test_a_program_run_through_getoutput(tmp_path: Path) -> None:
    code = "import subprocess\nv = subprocess.getoutput('espeak --version')\n"
    found = _packages(write_tree(tmp_path, {"tts.py": code, "main.py": _MAIN}))
    assert found["espeak-ng"] == ["runs espeak"]


def test_a_git_url_in_setup_py_needs_git(tmp_path: Path) -> None:
    setup = (
        "from setuptools import setup\n"
        "setup(name='vit', install_requires=['flax', "
        "'flaxformer @ git+https://github.com/google/flaxformer'])\n"
    )
    profile = inspect_project(write_tree(tmp_path, {"setup.py": setup, "main.py": _MAIN}))
    assert profile.needs_git
    assert [(p.name, p.stage) for p in profile.system_packages] == [("git", "build")]


def test_a_conda_pip_section_with_opencv_and_a_git_url(tmp_path: Path) -> None:
    env = (
        "name: ldm\ndependencies:\n  - python=3.8.5\n  - pip\n  - pip:\n"
        "    - opencv-python==4.1.2.30\n"
        "    - -e git+https://github.com/CompVis/taming-transformers.git@master#egg=taming\n"
    )
    files: dict[str, str | bytes] = {"environment.yaml": env, "main.py": "import cv2\n" + _MAIN}
    found = _packages(write_tree(tmp_path, files))
    assert {"libgl1", "libglib2.0-0", "git"} <= set(found)
    assert found["libgl1"] == ["opencv-python needs libgl1"]

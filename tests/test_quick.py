"""The fast path of `check` and of a repeated `init` (dockerize_ml/quick.py): it answers
without loading the pipeline when nothing moved, and never when anything did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_sample, run_cli, write_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerize_ml import quick
from dockerize_ml.errors import ExitCode


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def _project(tmp_path: Path, name: str = "sentiment-cli") -> Path:
    root = copy_sample(name, tmp_path / "project")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "start")
    assert run_cli("init", root).returncode == 0
    return root


def _pipeline_modules(*args: str | Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the CLI with -X importtime; the dockerize_ml modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dockerize_ml", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )
    loaded = [
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "dockerize_ml" in line
    ]
    return done, loaded


def test_check_and_init_answer_without_the_pipeline_when_nothing_moved(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done, loaded = _pipeline_modules("check", root)
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout
    assert not [m for m in loaded if m.startswith(("dockerize_ml.detect", "dockerize_ml.plan"))]
    done, loaded = _pipeline_modules("init", root)
    assert done.returncode == 0, done.stderr
    assert f"unchanged       {root / 'Dockerfile'}" in done.stdout
    assert "dockerize_ml.detect" not in loaded
    # The state that teammates commit does not churn; the fingerprint is git-ignored.
    assert (root / ".dockerize-ml/.gitignore").read_text().split() == ["lock", "fingerprint.json"]


def test_the_answer_replays_the_warnings_of_the_full_run(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "two-sources",
        {
            "train.py": "import numpy\n",
            "requirements.txt": "numpy==1.26.4\n",
            "environment.yml": "name: x\ndependencies:\n  - python=3.11\n  - numpy\n",
        },
    )
    first = run_cli("init", root)
    again = run_cli("init", root)
    warnings = [line for line in first.stderr.splitlines() if line.startswith("warning:")]
    assert warnings, "the sample should warn about something for this test to mean anything"
    assert [line for line in again.stderr.splitlines() if line.startswith("warning:")] == warnings


@pytest.mark.parametrize("name", ["sentiment-cli", "streamlit-csv", "conda-geo", "uv-scoring"])
def test_what_init_wrote_does_not_change_what_init_writes(tmp_path: Path, name: str) -> None:
    """The fast path replays the last answer, so the full path must give it too: the files
    init writes (untracked in a git checkout) do not change the next render."""
    root = _project(tmp_path, name)
    (root / quick.FINGERPRINT_FILE).unlink()
    done = run_cli("check", "--diff", root)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_dependency_change_is_never_masked(tmp_path: Path) -> None:
    root = _project(tmp_path)
    with (root / "requirements.txt").open("a") as handle:
        handle.write("tabulate==0.9.0\n")
    done = run_cli("check", root)
    assert done.returncode == int(ExitCode.STALE), done.stdout + done.stderr
    assert "requirements.txt" in done.stderr


def test_a_flag_always_takes_the_full_path(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = run_cli("init", root, "--device", "cuda")
    assert done.returncode == 0, done.stderr
    assert "updated" in done.stdout
    assert (
        "nvidia" in (root / "Dockerfile").read_text() or "cu" in (root / "Dockerfile").read_text()
    )


def test_inside_a_larger_repository_there_is_no_fast_path(tmp_path: Path) -> None:
    outer = tmp_path / "mono"
    root = copy_sample("sentiment-cli", outer / "apps" / "cli")
    _git(outer, "init", "-q")
    assert run_cli("init", root).returncode == 0
    assert quick.fingerprint(root) is None
    assert not (root / quick.FINGERPRINT_FILE).exists()


def test_a_conflict_is_not_remembered(tmp_path: Path) -> None:
    root = _project(tmp_path)
    dockerfile = root / "Dockerfile"
    lines = dockerfile.read_text().splitlines(keepends=True)
    # Edit every line that names uv, then render for pip: the edit and the regeneration collide.
    dockerfile.write_text("".join("# mine\n" if "uv" in line else line for line in lines))
    done = run_cli("init", root, "--installer", "pip")
    assert done.returncode == int(ExitCode.CONFLICT), done.stdout + done.stderr
    assert not (root / quick.FINGERPRINT_FILE).exists()
    assert run_cli("check", root).returncode == int(ExitCode.STALE)


_TOUCHES = st.sampled_from(["edit", "touch", "add", "delete", "chmod"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(touch=_TOUCHES, pick=st.integers(min_value=0, max_value=10_000))
def test_any_change_to_any_file_changes_the_fingerprint(
    tmp_path_factory: pytest.TempPathFactory, touch: str, pick: int
) -> None:
    root = tmp_path_factory.mktemp("fp")
    write_tree(
        root,
        {
            "train.py": "import numpy\n",
            "requirements.txt": "numpy==1.26.4\n",
            "data/raw/a.csv": "x\n",
            ".dockerize-ml/state.json": "{}\n",
            "docker/run.sh": "#!/bin/sh\n",
        },
    )
    _git(root, "init", "-q")
    _git(root, "add", "train.py")
    before = quick.fingerprint(root)
    assert before is not None
    files = sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
    files.append(root / ".git" / "index")
    target = files[pick % len(files)]
    if touch == "chmod" and ".git" in target.relative_to(root).parts:
        touch = "touch"  # git's mode bits on its own index say nothing about the project
    if touch == "edit":
        target.write_bytes(target.read_bytes() + b"#")
    elif touch == "touch":
        stat = target.stat()
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000))
    elif touch == "add":  # beside the file (inside .git only git's own files are inputs)
        folder = root if ".git" in target.relative_to(root).parts else target.parent
        (folder / "new-file.txt").write_text("new\n")
    elif touch == "delete":
        target.unlink()
    else:
        target.chmod(target.stat().st_mode ^ 0o100)
    assert quick.fingerprint(root) != before


def test_the_environment_and_the_version_are_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tree(tmp_path / "p", {"train.py": "print(1)\n"})
    before = quick.fingerprint(root)
    monkeypatch.setenv("DOCKERIZE_ML_SOMETHING", "1")
    assert quick.fingerprint(root) != before
    monkeypatch.delenv("DOCKERIZE_ML_SOMETHING")
    monkeypatch.setattr(quick, "__version__", "9.9.9")
    assert quick.fingerprint(root) != before


def test_a_broken_record_means_the_full_path(tmp_path: Path) -> None:
    root = _project(tmp_path)
    for text in ("not json", json.dumps({"fingerprint": 1}), json.dumps([1, 2])):
        (root / quick.FINGERPRINT_FILE).write_text(text)
        assert quick.unchanged(root) is None
        done = run_cli("check", root)
        assert done.returncode == 0, done.stderr


def _loaded(*args: str | Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dockerize_ml", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )
    names = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    return done, names


def test_the_fast_answers_load_no_command_line_parser(tmp_path: Path) -> None:
    """`--version`, and `check`/`init` when nothing moved, answer before typer (and the
    pydantic it loads) is imported: dockerize_ml/entry.py."""
    root = _project(tmp_path)
    for args in (["--version"], ["check", root], ["init", root]):
        done, names = _loaded(*args)
        assert done.returncode == 0, done.stderr
        assert not names & {"typer", "click", "pydantic", "jinja2"}, args
    # A moved project takes the CLI's path, and gives its answer.
    (root / "README.md").write_text((root / "README.md").read_text() + "\nEdited.\n")
    done, names = _loaded("check", root)
    assert "typer" in names
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["check", "--diff"],
        ["check", "-h"],
        ["check", ""],
        ["init", "--force"],
        ["init", ".", "--force"],
        ["check", "--", "."],
        ["detect"],
        ["--help"],
        ["--version", "check"],
    ],
)
def test_anything_but_the_exact_fast_shapes_goes_to_the_cli(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dockerize_ml import entry

    root = _project(tmp_path)
    monkeypatch.chdir(root)  # a project where nothing moved: the fast path would answer
    assert entry.answer(["check"]) == 0
    assert entry.answer(args) is None


def test_an_edit_to_the_tool_itself_changes_the_fingerprint(tmp_path: Path) -> None:
    """A source checkout's template or knowledge table edited, the version the same: the
    generated files may differ, so the last answer is not replayed."""
    root = write_tree(
        tmp_path / "p", {"requirements.txt": "pandas\n", "main.py": "import pandas\n"}
    )
    before = quick.fingerprint(root)
    template = Path(quick.__file__).resolve().parent.parent / "templates" / "Dockerfile.j2"
    if not template.is_file():
        template = Path(quick.__file__).resolve().parent / "templates" / "Dockerfile.j2"
    stat = template.stat()
    try:
        os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert quick.fingerprint(root) != before
    finally:
        os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert quick.fingerprint(root) == before

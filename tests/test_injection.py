"""Values that reach a generated script or CI file run nothing: folder and file names, entry
commands and paths with spaces, quotes, ``$(...)``, backticks and globs are passed as the very
words they are, and control characters are refused.

The scripts and the CI steps are executed for real with a stub ``docker`` that records the
words it was given and creates nothing; a canary file that any injected ``touch`` would create
must not exist afterwards.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import run_cli, write_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerize_ml.errors import DockerizeError
from dockerize_ml.jobs import run_init

#: The stub: every argument NUL-terminated, one call per line; answers what the scripts ask.
STUB = """#!/usr/bin/env bash
for a in "$@"; do printf '%s\\0' "$a"; done >> "$STUB_LOG"
printf '\\n' >> "$STUB_LOG"
case "$*" in
  *" id -u"*) echo 1000 ;;
  *"run --detach"*) echo cafe0123 ;;
  port*) echo "127.0.0.1:40000" ;;
esac
exit 0
"""

#: Pieces an attacker (or an unlucky user) puts in names; the canary path is filled in.
PIECES = [
    " ",
    "'",
    '"',
    "$(touch {canary})",
    "`touch {canary}`",
    "; touch {canary}",
    "&& touch {canary}",
    "\\",
    "$HOME",
    "*",
    "?",
    "#",
    ": ",
    "{{",
    "%",
    "!",
    "${PATH}",
    "é",
    "-x",
    "|",
    ">",
]


def _calls(log: Path) -> list[list[str]]:
    if not log.is_file():
        return []
    calls = []
    for line in log.read_bytes().split(b"\n"):
        if line:
            calls.append([w.decode() for w in line.split(b"\0")[:-1]])
    return calls


def _stub(tmp: Path) -> tuple[Path, dict[str, str]]:
    bin_dir = tmp / "stub-bin"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "docker"
    stub.write_text(STUB)
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    for name in ("curl",):  # the smoke test's probe answers at once
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / name).chmod(0o755)
    log = tmp / "stub.log"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "DOCKERIZE_ML_DOCKER": str(stub),
        "STUB_LOG": str(log),
    }
    return log, env


def _hostile(canary: Path) -> st.SearchStrategy[str]:
    pieces = [p.replace("{canary}", str(canary)) for p in PIECES]
    word = st.lists(st.sampled_from([*pieces, "a", "x1", "ml", "-"]), min_size=1, max_size=5)
    return word.map("".join).filter(lambda s: s.strip() not in ("", ".", "..") and "/" not in s)


def _project(tmp: Path, folder: str, script: str) -> Path:
    repo = tmp / "repo"
    (repo / ".git").mkdir(parents=True, exist_ok=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    root = repo / folder
    write_tree(
        root,
        {
            "requirements.txt": "six\n",
            f"{script}.py": "import six\nif __name__ == '__main__':\n    print(six.__version__)\n",
            "data/train.csv": "a,b\n1,2\n",
        },
    )
    (root / "outputs").mkdir()
    return root


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _ci_steps(root: Path) -> list[str]:
    """The shell lines of the GitLab jobs and the GitHub workflow that name the project."""
    repo = root.parent
    gitlab = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
    lines = [*gitlab["build"]["script"], *gitlab["smoke-test"]["script"][1:]]
    workflow = next((repo / ".github" / "workflows").glob("*.yml"))
    steps = yaml.safe_load(workflow.read_text())["jobs"]["image"]["steps"]
    lines += [s["run"] for s in steps if "run" in s and "smoke.sh" in s["run"]]
    return lines


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_names_and_commands_run_nothing(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    tmp = tmp_path_factory.mktemp("attack")
    canary = tmp / "canary"
    hostile = _hostile(canary)
    folder, script, argument = data.draw(hostile), data.draw(hostile), data.draw(hostile)
    root = _project(tmp, folder, script)
    entry = ["python", f"{script}.py", "--name", argument]
    run_init(root, {"entry": shlex.join(entry), "ci": ["github", "gitlab"]})
    log, env = _stub(tmp)

    for name, args in (("run.sh", ["--flag", argument]), ("build.sh", []), ("smoke.sh", [])):
        done = _run(["bash", str(root / "docker" / name), *args], root, env)
        assert done.returncode == 0, (name, done.stdout, done.stderr)
    calls = _calls(log)
    run_call = next(c for c in calls if c[0] == "run" and "--init" in c)
    assert run_call[-2:] == ["--flag", argument]
    assert f"{root}/data:/app/data:ro" in run_call
    assert f"{root}/outputs:/app/outputs" in run_call
    assert any(c[0] == "build" and c[-1] == "." for c in calls)

    log.unlink(missing_ok=True)
    ci_env = {**env, "IMAGE": "registry/x", "CANDIDATE": "registry/x:ci-1"}
    for line in _ci_steps(root):
        done = _run(["bash", "-c", line], root.parent, ci_env)
        assert done.returncode == 0, (line, done.stderr)
    builds = [c for c in _calls(log) if c[0] == "build"]
    assert builds and builds[0][-1] in (folder, f"./{folder}"), builds
    assert not canary.exists(), "a generated file ran an injected command"


@pytest.mark.parametrize(
    "flags",
    [
        {"entry": "python 'train.py\ntouch /tmp/pwned'"},
        {"entry": "python 'train\rx.py'"},
        {"base-image": "python:3.11-slim\nRUN curl evil"},
    ],
)
def test_control_characters_are_refused(tmp_path: Path, flags: dict[str, str]) -> None:
    root = write_tree(tmp_path / "p", {"requirements.txt": "six\n", "train.py": "import six\n"})
    with pytest.raises(DockerizeError) as caught:
        run_init(root, flags)
    assert caught.value.exit_code == 2
    # The message shows the value escaped, so the user sees the character.
    assert "\\n" in caught.value.message or "\\r" in caught.value.message
    assert not (root / "Dockerfile").exists()


def test_a_newline_between_words_of_entry_only_separates_them(tmp_path: Path) -> None:
    """Unquoted, a newline is whitespace to the shell splitting of --entry: two arguments,
    and no generated line starts with the second command."""
    root = write_tree(tmp_path / "p", {"requirements.txt": "six\n", "train.py": "import six\n"})
    result = run_init(root, {"entry": "python train.py\ntouch /tmp/pwned"})
    for rel, text in result.files.items():
        assert not any(line.startswith("touch") for line in text.splitlines()), rel


def test_a_newline_in_an_mlproject_command_is_not_written(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "six\n",
            "train.py": "import six\nif __name__ == '__main__':\n    pass\n",
            "MLproject": 'name: p\nentry_points:\n  main:\n    command: "python train.py\\ntouch x"\n',
        },
    )
    result = run_cli("init", root)
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr
    for path in root.rglob("*"):
        if path.is_file() and path.name != "MLproject":
            lines = path.read_text(errors="replace").splitlines()
            assert not any(line.lstrip().startswith("touch") for line in lines), path

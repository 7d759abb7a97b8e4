"""The CI files parsed back: every job's script lines pass `sh -n`/`bash -n` and shellcheck
for the shell that runs them; and nothing in them depends on the branch `init` ran on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import SAMPLE_DIRS, copy_sample, run_cli, tool, write_tree

from dockerize_ml import inspect_project, make_plan, render
from dockerize_ml.plan import Settings

CI = Settings(ci=("github", "gitlab"))


def _shellcheck(script: str, shell: str, where: str) -> None:
    syntax = subprocess.run(
        [shell, "-n"], input=script, capture_output=True, text=True, check=False
    )
    assert syntax.returncode == 0, f"{where}: {syntax.stderr}\n{script}"
    lint = subprocess.run(
        [tool("shellcheck"), f"--shell={shell}", "--severity=style", "-"],
        input=script,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, f"{where}: {lint.stdout}\n{script}"


def _gitlab_scripts(text: str) -> dict[str, str]:
    """Each job's script as the runner runs it: the default before_script, then its own."""
    data = yaml.safe_load(text)
    before = data.get("default", {}).get("before_script", [])
    jobs = {k: v for k, v in data.items() if isinstance(v, dict) and "script" in v}
    return {name: "\n".join([*before, *job["script"]]) + "\n" for name, job in jobs.items()}


def _github_scripts(text: str) -> dict[str, str]:
    data = yaml.safe_load(text)
    steps = data["jobs"]["image"]["steps"]
    return {s.get("name", s["run"]): s["run"] + "\n" for s in steps if "run" in s}


@pytest.mark.parametrize("name", sorted(SAMPLE_DIRS))
def test_every_ci_script_line_passes_shellcheck(name: str, tmp_path: Path) -> None:
    root = copy_sample(name, tmp_path / name)
    files = render(make_plan(inspect_project(root), CI))
    gitlab = next(text for rel, text in files.items() if rel.endswith(".gitlab-ci.yml"))
    scripts = _gitlab_scripts(gitlab)
    assert set(scripts) == {"build", "smoke-test", "push"}
    for job, script in scripts.items():
        # docker:27's shell is BusyBox sh: POSIX, no bash.
        _shellcheck(script, "sh", f".gitlab-ci.yml {job}")
    github = next(text for rel, text in files.items() if "/workflows/" in rel)
    runs = _github_scripts(github)
    assert any("smoke.sh" in s for s in runs.values())
    for step, script in runs.items():
        _shellcheck(script, "bash", f"workflow step {step}")  # GitHub runs `bash -e {0}`


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        check=True,
    )


def test_check_passes_on_every_branch_and_a_detached_head_after_init_on_a_feature_branch(
    tmp_path: Path,
) -> None:
    repo = write_tree(
        tmp_path / "repo",
        {"requirements.txt": "numpy\n", "main.py": "if __name__ == '__main__':\n    pass\n"},
    )
    _git(repo, "init", "-q", "-b", "trunk")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "project")
    _git(repo, "checkout", "-qb", "feature/add-docker")
    result = run_cli("init", repo, "--ci", "github", "--ci", "gitlab", "--python", "3.11")
    assert result.returncode == 0, result.stderr
    for path in (repo / ".github" / "workflows" / "docker.yml", repo / ".gitlab-ci.yml"):
        text = path.read_text()
        assert "add-docker" not in text and "trunk" not in text, path
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "docker")
    _git(repo, "checkout", "-q", "trunk")
    _git(repo, "merge", "-q", "--ff-only", "feature/add-docker")
    places = [
        ("feature/add-docker",),
        ("trunk",),
        ("-b", "release/2.0"),
        ("--detach", "HEAD~0"),  # what CI checks out
    ]
    for place in places:
        _git(repo, "checkout", "-q", *place)
        check = run_cli("check", repo)
        assert check.returncode == 0, f"{place}: {check.stdout}{check.stderr}"
    # And check still fails for a real reason (a new dependency), so the 0s above mean something.
    (repo / "requirements.txt").write_text("numpy\npandas\n")
    assert run_cli("check", repo).returncode != 0

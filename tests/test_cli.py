"""The command line as a user meets it: output, exit codes, and files never lost."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_cli, write_tree

from dockerize_ml.errors import ExitCode

CONTRACT_FIELDS = {
    "schema_version",
    "root",
    "python_version",
    "python_version_source",
    "dependency_sources",
    "dependencies",
    "undeclared_imports",
    "frameworks",
    "gpu",
    "entrypoint",
    "ports",
    "system_packages",
    "notebooks",
    "context_excludes",
    "runtime_files",
    "warnings",
}
GENERATED = ("Dockerfile", ".dockerignore", "docker/build.sh", "docker/run.sh")


def test_detect_json_is_the_profile_contract(sample) -> None:
    root = sample("churn-model")
    result = run_cli("detect", "--json", root)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= CONTRACT_FIELDS
    assert data["schema_version"] == 1
    assert data["root"] == str(root)
    assert (data["python_version"], data["python_version_source"]) == ("3.11", ".python-version")
    assert data["dependency_sources"] == [
        {"kind": "requirements", "path": "requirements.txt", "used": True, "lock": ""}
    ]
    assert [d["name"] for d in data["dependencies"]] == [
        "pandas",
        "scikit-learn",
        "joblib",
        "python-dotenv",
        "tomli",
    ]
    assert data["dependencies"][0] == {
        "name": "pandas",
        "specifier": "<3,>=2.1",
        "source": "requirements.txt",
        "markers": "",
        "extras": [],
        "url": "",
        "line": 5,
        "detail": "",
    }
    assert data["frameworks"] == ["scikit-learn"]
    assert data["gpu"] == {"uses_cuda": False, "evidence": []}
    assert data["entrypoint"]["kind"] == "script"
    assert data["entrypoint"]["command"] == ["python", "train.py"]
    assert data["entrypoint"]["evidence"][0]["path"] == "train.py"
    assert data["notebooks"] == ["notebooks/exploration.ipynb"]
    assert data["runtime_files"] == ["data/churn.csv"]
    assert "data" in data["context_excludes"] and "**/.env" in data["context_excludes"]
    assert data["env_files"] == [".env"]


def test_detect_human_report_shows_evidence(sample) -> None:
    result = run_cli("detect", sample("churn-model"))
    assert result.returncode == 0, result.stderr
    assert "Python        3.11  (.python-version:1" in result.stdout
    assert "python train.py  (train.py:" in result.stdout
    assert "requirements.txt:5" in result.stdout


def test_init_writes_the_files_and_scripts_are_executable(sample) -> None:
    root = sample("churn-model")
    result = run_cli("init", root)
    assert result.returncode == 0, result.stderr
    for rel in GENERATED:
        assert (root / rel).is_file(), rel
    assert os.access(root / "docker/build.sh", os.X_OK)
    assert os.access(root / "docker/run.sh", os.X_OK)
    assert "FROM python:3.11-slim" in (root / "Dockerfile").read_text()
    # Again with nothing changed: nothing to overwrite, exit 0.
    again = run_cli("init", root)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("unchanged") == 4


def test_init_never_overwrites_a_users_file(sample) -> None:
    root = sample("churn-model")
    mine = "FROM python:3.11-slim\n# my own careful Dockerfile\n"
    (root / "Dockerfile").write_text(mine)
    result = run_cli("init", root)
    assert result.returncode == ExitCode.WOULD_OVERWRITE
    assert result.stderr.count("\n") == 1, "one line"
    assert "Dockerfile" in result.stderr and "--force" in result.stderr
    assert (root / "Dockerfile").read_text() == mine
    # Nothing at all is written when one file would be overwritten.
    assert not (root / ".dockerignore").exists()
    assert not (root / "docker").exists()

    forced = run_cli("init", "--force", root)
    assert forced.returncode == 0, forced.stderr
    assert "replaced" in forced.stdout
    assert "my own careful" not in (root / "Dockerfile").read_text()


def test_dry_run_writes_nothing_and_shows_the_files(sample) -> None:
    root = sample("churn-model")
    result = run_cli("init", "--dry-run", root)
    assert result.returncode == 0, result.stderr
    assert "would create" in result.stdout
    assert "--- Dockerfile" in result.stdout and "CMD [" in result.stdout
    assert not any((root / rel).exists() for rel in GENERATED)


def test_flags_reach_the_files(sample) -> None:
    root = sample("churn-model")
    result = run_cli(
        "init",
        root,
        "--python",
        "3.10",
        "--entry",
        "python train.py --seed 7",
        "--port",
        "8080",
        "--installer",
        "pip",
        "--no-buildkit",
    )
    assert result.returncode == 0, result.stderr
    dockerfile = (root / "Dockerfile").read_text()
    assert "FROM python:3.10-slim" in dockerfile
    assert 'CMD ["python", "train.py", "--seed", "7"]' in dockerfile
    assert "EXPOSE 8080" in dockerfile
    assert "--mount" not in dockerfile and "uv" not in dockerfile
    assert '"${HOST_IP:-127.0.0.1}:8080:8080"' in (root / "docker/run.sh").read_text()


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--python", "three"], ExitCode.USAGE, "--python"),
        (["--installer", "conda"], ExitCode.USAGE, "--installer"),
        (["--base-image", "python:latest"], ExitCode.USAGE, "never :latest"),
        (["--port", "70000"], ExitCode.USAGE, "--port 70000"),
        (["--entry", "python 'unclosed"], ExitCode.USAGE, "--entry"),
    ],
)
def test_bad_flags(sample, args: list[str], code: int, needle: str) -> None:
    result = run_cli("init", sample("churn-model"), *args)
    assert result.returncode == code
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_error_exit_codes_are_one_line_with_a_hint(tmp_path: Path) -> None:
    cases = {
        ExitCode.BAD_PATH: tmp_path / "missing",
        ExitCode.NOT_A_PROJECT: write_tree(tmp_path / "empty", {"notes.txt": "x"}),
        ExitCode.INVALID_PROJECT_FILE: write_tree(
            tmp_path / "broken", {"pyproject.toml": "[project\nname = 'x'\n"}
        ),
    }
    (tmp_path / "file.txt").write_text("")
    for command in ("detect", "init"):
        for code, path in cases.items():
            result = run_cli(command, path)
            assert result.returncode == code, (command, path, result.stderr)
            assert result.stderr.startswith("error: ")
            assert "(hint: " in result.stderr
            assert result.stderr.count("\n") == 1
            assert "Traceback" not in result.stderr
        assert run_cli(command, tmp_path / "file.txt").returncode == ExitCode.BAD_PATH
    broken = run_cli("detect", tmp_path / "broken")
    assert "pyproject.toml:1: not valid TOML" in broken.stderr
    assert not (tmp_path / "broken" / "Dockerfile").exists()


def test_version_and_module_entry() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("dockerize-ml ")

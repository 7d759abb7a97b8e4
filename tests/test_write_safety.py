"""What `init` writes never escapes the project, never replaces a link silently, and a
resolved conflict stays resolved (issue 13, items 4, 5 and the write half of 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli, write_tree

from dockerize_ml.errors import ExitCode
from dockerize_ml.names import NEW_SUFFIX, STATE_FILE


def _project(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "six\n",
            "train.py": "import six\nif __name__ == '__main__':\n    print(1)\n",
        },
    )


def test_a_resolved_conflict_is_not_offered_again(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert run_cli("init", root).returncode == 0
    dockerfile = root / "Dockerfile"
    mine = (
        "\n".join(
            "FROM my.registry/python:3.11-slim" if line.startswith("FROM ") else line
            for line in dockerfile.read_text().splitlines()
        )
        + "\n"
    )
    dockerfile.write_text(mine)
    first = run_cli("init", root, "--python", "3.10")
    assert first.returncode == ExitCode.CONFLICT, first.stderr
    # Resolved as the message says: the user keeps their FROM line, deletes the offered file.
    (root / f"Dockerfile{NEW_SUFFIX}").unlink()
    again = run_cli("init", root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert dockerfile.read_text() == mine
    assert run_cli("check", root).returncode == 0
    # And an unresolved conflict (the offered file still there) is still a conflict.
    dockerfile.write_text(mine.replace("my.registry", "other.registry"))
    assert run_cli("init", root, "--python", "3.11").returncode == ExitCode.CONFLICT
    assert run_cli("init", root, "--python", "3.11").returncode == ExitCode.CONFLICT


def test_no_write_through_a_link_out_of_the_project(tmp_path: Path) -> None:
    root = _project(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "docker").symlink_to(outside, target_is_directory=True)
    result = run_cli("init", root)
    assert result.returncode == ExitCode.WRITE_FAILED, result.stderr
    assert "docker is a link to" in result.stderr and "Traceback" not in result.stderr
    assert list(outside.iterdir()) == []
    assert not (root / "Dockerfile").exists()  # nothing half-done


def test_a_link_inside_the_project_is_written_through(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "ops").mkdir()
    assert run_cli("init", root).returncode == 0
    (root / "ops" / "Dockerfile").write_text((root / "Dockerfile").read_text())
    (root / "Dockerfile").unlink()
    (root / "Dockerfile").symlink_to("ops/Dockerfile")
    edited = (
        (root / "ops" / "Dockerfile")
        .read_text()
        .replace("WORKDIR /app\n", "WORKDIR /app\nENV MINE=1\n")
    )
    (root / "ops" / "Dockerfile").write_text(edited)
    assert run_cli("init", root, "--port", "9000").returncode == 0
    assert (root / "Dockerfile").is_symlink()
    text = (root / "ops" / "Dockerfile").read_text()
    assert "ENV MINE=1" in text and "EXPOSE 9000" in text


def test_a_dangling_link_is_never_replaced(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "Dockerfile").symlink_to("missing/Dockerfile")
    result = run_cli("init", root)
    assert result.returncode == ExitCode.WOULD_OVERWRITE, result.stderr
    assert (root / "Dockerfile").is_symlink()
    assert (root / f"Dockerfile{NEW_SUFFIX}").is_file()


def test_a_dependency_file_linked_out_of_the_project_is_not_read(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "p", {"train.py": "import six\n"})
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\nsecret-line-xyz\n")
    (root / "requirements.txt").symlink_to(secret)
    result = run_cli("detect", root)
    assert "secret-line-xyz" not in result.stdout + result.stderr
    assert "root:x:0:0" not in result.stdout + result.stderr


@pytest.mark.parametrize("content", ["[1, 2]", '"x"', "null", "{"])
def test_a_state_file_of_the_wrong_shape_is_not_an_internal_error(
    tmp_path: Path, content: str
) -> None:
    root = _project(tmp_path)
    (root / STATE_FILE).parent.mkdir()
    (root / STATE_FILE).write_text(content)
    result = run_cli("init", root)
    assert result.returncode in (0, ExitCode.WOULD_OVERWRITE), result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_where_the_state_folder_goes_is_exit_7_naming_it(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / ".dockerize-ml").write_text("not a folder\n")
    result = run_cli("init", root)
    assert result.returncode == ExitCode.WRITE_FAILED, result.stderr
    assert ".dockerize-ml" in result.stderr and "Traceback" not in result.stderr

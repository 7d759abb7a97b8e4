"""The project walk: what it reads, what it skips, and that it never stops on one bad file."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_tree

from dockerize_ml.scan import result as scan_result
from dockerize_ml.scan import scan
from dockerize_ml.scan import walk as scan_walk


def test_gitignore_files_are_recorded_not_walked(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".gitignore": "data/\n*.log\n.env\n",
            "train.py": "print(1)\n",
            "data/big.csv": "a,b\n",
            "data/more/deeper.csv": "a\n",
            "run.log": "x",
            ".env": "TOKEN=1\n",
            "src/keep.py": "",
        },
    )
    result = scan(tmp_path)
    assert "train.py" in result.files
    assert "src/keep.py" in result.files
    assert result.skipped["data"].reason == "gitignored"
    assert "data/big.csv" not in result.files and "data/more" not in result.dirs
    assert result.skipped[".env"].reason == "gitignored"
    assert result.exists(".env") and result.is_dir("data")
    assert "run.log" in result.skipped


def test_nested_gitignore_applies_below_its_folder(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a/.gitignore": "*.csv\n",
            "a/x.csv": "1",
            "b/x.csv": "1",
            "a/code.py": "",
        },
    )
    result = scan(tmp_path)
    assert "a/x.csv" in result.skipped
    assert "b/x.csv" in result.files
    assert "a/code.py" in result.files


def test_monorepo_subfolder_honours_the_repository_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write_tree(
        tmp_path,
        {
            ".gitignore": "*.ckpt\nservices/model/cache/\n",
            "services/model/train.py": "",
            "services/model/best.ckpt": "w",
            "services/model/cache/x.py": "",
        },
    )
    result = scan(tmp_path / "services" / "model")
    assert "train.py" in result.files
    assert result.skipped["best.ckpt"].reason == "gitignored"
    assert result.skipped["cache"].reason == "gitignored"


def test_folders_above_a_non_repository_are_ignored(tmp_path: Path) -> None:
    write_tree(tmp_path, {".gitignore": "*.py\n", "proj/main.py": ""})
    assert "main.py" in scan(tmp_path / "proj").files


def test_virtualenv_found_by_pyvenv_cfg_whatever_its_name(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "my-env-3.11/pyvenv.cfg": "home = /usr/bin\n",
            "my-env-3.11/lib/site.py": "",
            "conda_env/conda-meta/history": "",
            "node_modules/pkg/index.js": "",
            ".git/HEAD": "ref",
            "pkg/__pycache__/x.pyc": b"\x00",
            "pkg/mod.py": "",
        },
    )
    result = scan(tmp_path)
    assert result.skipped["my-env-3.11"].reason == "virtualenv"
    assert result.skipped["conda_env"].reason == "virtualenv"
    assert result.skipped["node_modules"].reason == "tooling"
    assert result.skipped[".git"].reason == "vcs"
    assert result.skipped["pkg/__pycache__"].reason == "caches"
    assert list(result.files) == ["pkg/mod.py"]


def test_huge_folders_are_not_walked_file_by_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_walk, "LARGE_DIR_ENTRIES", 50)
    images = tmp_path / "images"
    images.mkdir()
    for i in range(120):
        (images / f"{i}.png").write_bytes(b"")
    write_tree(tmp_path, {"main.py": ""})
    result = scan(tmp_path)
    assert result.skipped["images"].reason.startswith("large:")
    assert not any(p.startswith("images/") for p in result.files)


def test_a_huge_folder_of_modules_is_code_and_walked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generated package of thousands of modules is the project's code, not data; a folder
    of as many files of which most are not code is still left unwalked."""
    monkeypatch.setattr(scan_walk, "LARGE_DIR_ENTRIES", 50)
    files = {f"proto/m{i}_pb2.py": "import os\n" for i in range(120)}
    files |= {f"mixed/m{i}.py": "" for i in range(30)} | {f"mixed/{i}.npy": "" for i in range(90)}
    write_tree(tmp_path, {**files, "main.py": ""})
    result = scan(tmp_path)
    assert "proto" not in result.skipped
    assert sum(p.startswith("proto/") for p in result.files) == 120
    assert result.skipped["mixed"].reason.startswith("large:")


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pkg/mod.py": ""})
    (tmp_path / "pkg" / "loop").symlink_to(tmp_path)
    result = scan(tmp_path)
    assert result.skipped["pkg/loop"].reason == "symlink"
    assert "pkg/mod.py" in result.files


def test_unreadable_text_warns_and_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_result, "MAX_READ_BYTES", 100)
    write_tree(
        tmp_path,
        {"latin1.py": "caf\xe9".encode("latin-1"), "big.py": "x" * 500, "ok.py": "x = 1\n"},
    )
    result = scan(tmp_path)
    assert result.read_text("latin1.py") is None
    assert result.read_text("big.py") is None
    assert result.read_text("ok.py") == "x = 1\n"
    assert any("latin1.py" in w and "UTF-8" in w for w in result.warnings)
    assert any("big.py" in w and "larger" in w for w in result.warnings)
    # Read once: asking again adds no second warning.
    result.read_text("latin1.py")
    assert sum("latin1.py" in w for w in result.warnings) == 1


def test_dataset_folders_are_recorded_not_walked(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"train.py": "open('data/labels/train.csv')\n"}
    for shard in range(3):
        for i in range(5):
            files[f"data/images/{shard}/{i}.png"] = b"\x89PNG"
    files["data/labels/train.csv"] = "a\n"
    for i in range(250):
        files[f"frames/{i:04d}.jpg"] = b"\xff\xd8"
    files["frames/sub/deep.jpg"] = b"\xff\xd8"
    write_tree(tmp_path, files)
    result = scan(tmp_path)
    assert result.skipped["data"].reason.startswith("data:")
    assert result.skipped["frames"].reason == "data:251"
    assert not any(p.startswith(("data/", "frames/")) for p in result.files)
    # A file the code names inside a dataset folder is still found.
    assert result.is_file("data/labels/train.csv")
    assert not result.is_file("data/labels/missing.csv")


def test_a_data_named_folder_with_code_is_walked(tmp_path: Path) -> None:
    write_tree(tmp_path, {"data/__init__.py": "", "data/loaders.py": "", "main.py": ""})
    result = scan(tmp_path)
    assert "data/loaders.py" in result.files

"""The help texts as a user reads them, and shell completion."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

from dockerize_ml.errors import DOCS_URL, docs

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ("detect", "init", "check", "build")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_plain_and_has_a_short_flag(command: str) -> None:
    short = run_cli(command, "-h")
    assert short.returncode == 0, short.stderr
    assert short.stdout == run_cli(command, "--help").stdout
    assert "-h, --help" in short.stdout
    assert "<bool>" not in short.stdout  # a flag takes no value
    assert not re.search(r"<(str|int|float|list\[\w+\])>", short.stdout), short.stdout


def test_init_help_names_the_settings_table() -> None:
    text = " ".join(run_cli("init", "-h").stdout.split())
    assert "saved ([tool.dockerize-ml] in pyproject.toml, else dockerize-ml.toml)" in text
    for flag, metavar in (("--python", "X.Y"), ("--port", "PORT"), ("--ci", "github|gitlab")):
        assert f"{flag} {metavar}" in text


def test_shell_completion() -> None:
    shown = run_cli("--show-completion", "bash")
    assert shown.returncode == 0 and "_DOCKERIZE_ML_COMPLETE=complete_bash" in shown.stdout
    env = {
        **os.environ,
        "_DOCKERIZE_ML_COMPLETE": "complete_bash",
        "COMP_WORDS": "dockerize-ml in",
        "COMP_CWORD": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "dockerize_ml"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0 and done.stdout.split() == ["init"]


def test_docs_links_point_at_published_pages_that_exist() -> None:
    # pyproject.toml's Documentation URL names the same folder
    pyproject = (REPO / "pyproject.toml").read_text()
    assert f'Documentation = "{DOCS_URL.replace("/blob/", "/tree/")}"' in pyproject
    pages: set[str] = set()
    bare = re.compile(r"\bdocs/[\w-]+\.md")
    for path in (REPO / "dockerize_ml").rglob("*.py"):
        text = path.read_text()
        pages.update(re.findall(r"""docs\(["']([\w.-]+)["']\)""", text))
        # what a user reads (a message) never names our docs/ folder bare; docstrings may
        tree = ast.parse(text)
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if id(node) not in docstrings and bare.search(node.value):
                raise AssertionError(f"{path.name}:{node.lineno}: {node.value!r}")
    for path in (REPO / "templates").glob("*.j2"):  # generated files: every line
        text = path.read_text()
        pages.update(re.findall(r"\{\{ docs_url \}\}/([\w.-]+)", text))
        assert not bare.search(text), f"{path.name}: {bare.search(text)}"
    assert {"settings.md", "private-indexes.md", "deploy.md", "dependencies.md"} <= pages
    for page in pages:
        assert (REPO / "docs" / page).is_file(), page
    assert docs("settings.md") == f"{DOCS_URL}/settings.md"


def test_the_settings_file_comment_links_the_published_docs(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "train.py").write_text("import numpy\nif __name__ == '__main__':\n    pass\n")
    (root / "requirements.txt").write_text("numpy==2.1.1\n")
    assert run_cli("init", root, "--port", "8080").returncode == 0
    text = (root / "dockerize-ml.toml").read_text()
    assert docs("settings.md") in text and "see docs/settings.md" not in text

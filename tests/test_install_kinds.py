"""The table of dependency-source kinds (profile.SOURCE_KINDS) and its install column
(install.kinds.STRATEGIES): every row well-formed and used by detection, the settings, the
CLI's help and the install."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli, write_tree

from dockerize_ml import inspect_project
from dockerize_ml.install.kinds import STRATEGIES, strategy
from dockerize_ml.profile import SOURCE_KINDS
from dockerize_ml.settings import DEPS_FROM

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_kind_has_exactly_one_strategy() -> None:
    assert set(STRATEGIES) == set(SOURCE_KINDS)
    assert all(callable(f) for f in STRATEGIES.values())
    # a kind with no row (no dependency source at all) installs nothing but the project
    assert strategy("") is not strategy("requirements")


def test_rows_are_well_formed() -> None:
    ranks = [r.rank for r in SOURCE_KINDS.values() if r.rank is not None]
    locks = [r.lock_rank for r in SOURCE_KINDS.values() if r.lock_rank is not None]
    assert len(set(ranks)) == len(ranks) and len(set(locks)) == len(locks), "ties"
    # every lockfile wins over every source without one (docs/dependencies.md)
    assert max(locks) < min(ranks)
    for name, row in SOURCE_KINDS.items():
        assert row.name == name and name == name.lower()
        assert row.rank is not None or row.lock_rank is not None or name == "inferred"
        assert row.rank_of(False) == (99 if row.rank is None else row.rank)


def test_locked_kinds_are_the_lockfile_managers() -> None:
    assert {n for n, r in SOURCE_KINDS.items() if r.locked} == {"uv", "poetry", "pdm", "pipfile"}


def test_settings_and_cli_name_every_kind() -> None:
    assert tuple(SOURCE_KINDS) == DEPS_FROM
    result = run_cli("init", "--help")
    assert result.returncode == 0, result.stderr
    flat = " ".join(result.stdout.split())
    listed = ", ".join(list(SOURCE_KINDS)[:-1]) + f", or {list(SOURCE_KINDS)[-1]}."
    assert listed in flat


@pytest.mark.parametrize(
    ("files", "kind"),
    [
        # a lockfile over a requirements file
        (
            {
                "requirements.txt": "numpy\n",
                "uv.lock": "version = 1\n",
                "pyproject.toml": (
                    '[project]\nname = "p"\nversion = "0"\ndependencies = ["numpy"]\n'
                ),
            },
            "uv",
        ),
        # a requirements file over a PEP 621 manifest without a lock
        (
            {
                "requirements.txt": "numpy\n",
                "pyproject.toml": (
                    '[project]\nname = "p"\nversion = "0"\ndependencies = ["pandas"]\n'
                ),
            },
            "requirements",
        ),
        # a setuptools manifest over a conda environment file
        (
            {
                "setup.py": "from setuptools import setup\nsetup(install_requires=['numpy'])\n",
                "environment.yml": "dependencies:\n  - numpy\n",
            },
            "setuptools",
        ),
    ],
)
def test_detection_ranks_by_the_table(tmp_path: Path, files: dict[str, str], kind: str) -> None:
    write_tree(tmp_path, {"main.py": "import numpy\n", **files})
    used = [s for s in inspect_project(tmp_path).dependency_sources if s.used]
    assert [s.kind for s in used] == [kind]


def test_the_guide_names_the_table() -> None:
    guide = (DOCS / "architecture.md").read_text()
    assert "SOURCE_KINDS" in guide and "install/kinds.py" in guide
    assert "_LOCKED_KINDS" not in guide and "DEPENDENCY_KINDS" not in guide

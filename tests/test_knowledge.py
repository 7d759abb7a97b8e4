"""Every knowledge table is well-formed and used by the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from dockerize_ml import knowledge

PACKAGE = Path(knowledge.__file__).resolve().parent.parent


@pytest.mark.parametrize("name", knowledge.TABLES)
def test_every_table_is_used_by_the_code(name: str) -> None:
    sources = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py") if "knowledge" not in p.parts)
    assert f'knowledge.load("{name}")' in sources


def test_every_toml_file_is_a_declared_table() -> None:
    files = {p.stem for p in (PACKAGE / "knowledge").glob("*.toml")}
    assert files == set(knowledge.TABLES)


def test_python_versions() -> None:
    table = knowledge.load("python")
    versions = table["versions"]
    assert all(re.fullmatch(r"3\.\d+", v) for v in versions)
    assert versions == sorted(versions, key=Version), "versions are listed oldest first"
    assert len(set(versions)) == len(versions)
    assert table["preferred_max"] in versions
    assert table["default"] in versions
    assert Version(table["default"]) <= Version(table["preferred_max"])


def test_layout_lists() -> None:
    table = knowledge.load("layout")
    lists = [*table["skip"].values(), table["entrypoints"]["scripts"], *table["context"].values()]
    for items in lists:
        assert items, "no empty lists"
        assert all(isinstance(i, str) and i and i == i.strip() for i in items)
        assert len(set(items)) == len(items), f"duplicates in {items}"
    assert all(s.endswith(".py") for s in table["entrypoints"]["scripts"])
    for pattern in table["context"]["weight_patterns"]:
        assert re.fullmatch(r"\*\.[a-z0-9]+", pattern), pattern
    for folder in (*table["context"]["data_dirs"], *table["context"]["output_dirs"]):
        assert "/" not in folder and "*" not in folder


def test_frameworks_rows() -> None:
    rows = knowledge.load("frameworks")["frameworks"]
    assert len(rows) >= 15
    for name, row in rows.items():
        assert name == canonicalize_name(name), f"{name} is not a PEP 503 name"
        assert set(row) == {"heavy", "gpu"}, name
        assert isinstance(row["heavy"], bool) and isinstance(row["gpu"], bool)


def test_tools_pins() -> None:
    uv = knowledge.load("tools")["uv"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", uv["version"])


def test_unknown_table() -> None:
    with pytest.raises(KeyError):
        knowledge.load("nope")

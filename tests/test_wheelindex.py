"""The package-index lookup: wheel tags to Pythons, the cache, the offline switch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_tree

from dockerize_ml import wheelindex
from dockerize_ml.jobs import inspect
from dockerize_ml.profile import Dependency


def _files(*names: str, requires: str = "") -> list[dict[str, object]]:
    return [{"filename": n, "requires_python": requires or None} for n in names]


def test_release_pythons_reads_linux_wheel_tags() -> None:
    cp = _files(
        "scikit_learn-0.20.3-cp36-cp36m-manylinux1_x86_64.whl",
        "scikit_learn-0.20.3-cp37-cp37m-manylinux1_x86_64.whl",
        "scikit_learn-0.20.3-cp38-cp38-win_amd64.whl",  # not Linux: no help in an image
        "scikit-learn-0.20.3.tar.gz",
    )
    assert wheelindex.release_pythons(cp) == ["3.6", "3.7"]
    abi3 = _files("x-1.0-cp311-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    assert (wheelindex.release_pythons(abi3) or [""])[0] == "3.11"
    pure = _files("y-2.0-py3-none-any.whl", requires=">=3.10")
    assert (wheelindex.release_pythons(pure) or [""])[0] == "3.10"
    assert wheelindex.release_pythons(_files("z-1.0.tar.gz")) is None


def _index(root: Path, name: str, releases: dict[str, list[dict[str, object]]]) -> str:
    (root / name).mkdir(parents=True)
    (root / name / "json").write_text(json.dumps({"releases": releases}), encoding="utf-8")
    return root.as_uri()


def test_lookup_asks_the_index_then_answers_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(wheelindex.OFFLINE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    files = _files("numpy-1.16.3-cp37-cp37m-manylinux1_x86_64.whl")
    monkeypatch.setenv(wheelindex.INDEX_ENV, _index(tmp_path / "index", "numpy", {"1.16.3": files}))
    dep = Dependency("numpy", "==1.16.3", "requirements.txt", line=2)
    facts, notes = wheelindex.lookup([dep])
    assert [(f.name, f.pythons, f.source, str(f.evidence)) for f in facts] == [
        ("numpy", ("3.7",), "pypi", "requirements.txt:2")
    ]
    assert notes == []
    assert (tmp_path / "cache" / "dockerize-ml" / "pypi" / "numpy.json").is_file()
    monkeypatch.setenv(wheelindex.INDEX_ENV, (tmp_path / "nowhere").as_uri())
    again, notes = wheelindex.lookup([dep])
    assert again == facts and notes == []  # the cache answered; the index was not needed


def test_an_index_that_does_not_answer_falls_back_to_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(wheelindex.OFFLINE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(wheelindex.INDEX_ENV, (tmp_path / "nowhere").as_uri())
    facts, notes = wheelindex.lookup([Dependency("numpy", "==1.21.6", "requirements.txt", line=1)])
    assert [(f.source, f.pythons[0], f.pythons[-1]) for f in facts] == [
        ("knowledge", "3.7", "3.10")
    ]
    assert notes and notes[0].startswith("the package index did not answer")


def test_offline_never_asks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DOCKERIZE_ML_OFFLINE=1 (set for every test) keeps `detect` off the network."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(wheelindex.INDEX_ENV, "http://192.0.2.1:9")  # would time out
    root = write_tree(tmp_path / "p", {"requirements.txt": "scikit-learn==0.21.3\n", "m.py": ""})
    profile = inspect(root)
    assert profile.python_version == "3.7"
    assert [f.source for f in profile.wheel_facts] == ["knowledge"]
    assert not (tmp_path / "cache").exists()

"""The files the code names: the quick check by file name answers as trying every literal."""

from __future__ import annotations

import tempfile
from pathlib import Path

from conftest import write_tree
from hypothesis import given, settings
from hypothesis import strategies as st

from dockerize_ml.detect.code import HERE, build_index
from dockerize_ml.detect.context.runtime import named_paths, referenced_files
from dockerize_ml.scan import Scan, scan

_PARTS = st.sampled_from(["data", "src", "models", "x.csv", "m.pkl", "cfg.yaml", "..", ".", "a.b"])
_LITERALS = st.lists(
    st.builds(
        lambda head, parts, slash: head + "/".join(parts) + slash,
        st.sampled_from(["", "./", f"{HERE}/", f"{HERE}/../"]),
        st.lists(_PARTS, min_size=1, max_size=4),
        st.sampled_from(["", "/"]),
    ),
    min_size=1,
    max_size=8,
)
_FILES = st.lists(
    st.builds(
        lambda folders, name: "/".join([*folders, name]),
        st.lists(st.sampled_from(["src", "models"]), max_size=2),
        st.sampled_from(["x.csv", "m.pkl", "cfg.yaml"]),
    ),
    max_size=6,
)


def _every_literal(project: Scan, literals: list[tuple[str, str]]) -> set[str]:
    """What the code names, every path each literal may name tried (no shortcut)."""
    return {
        path
        for where, value in literals
        for path in named_paths(value, where)
        if project.is_file(path)
    }


@settings(max_examples=100, deadline=None)
@given(
    files=_FILES,
    data_files=_FILES,
    free=_LITERALS,
    where=st.sampled_from(["", "src/"]),
    draw=st.data(),
)
def test_names_of_no_file_are_passed_over_and_nothing_else(
    files: list[str], data_files: list[str], free: list[str], where: str, draw: st.DataObject
) -> None:
    inside = [f"data/{rel}" for rel in data_files]  # data/ holds no code: it is not walked
    literals = list(free)
    if files or inside:  # and literals that name the files, as written from here or there
        named = st.sampled_from([*files, *inside])
        heads = st.sampled_from(["", "./", "../", f"{HERE}/", f"{HERE}/../"])
        literals += draw.draw(st.lists(st.builds(str.__add__, heads, named), max_size=4))
    with tempfile.TemporaryDirectory() as tmp:
        tree = dict.fromkeys([*files, *inside], "x")
        code = "\n".join(f"PATH_{n} = {value!r}" for n, value in enumerate(literals))
        tree[f"{where}run.py"] = code + "\n"
        project = scan(write_tree(Path(tmp), tree))
        index = build_index(project)
        pairs = [(lit.path, lit.value) for lit in index.literals()]
        assert set(referenced_files(project, index)) == _every_literal(project, pairs)

"""The .dockerignore: Docker's matching rules, what ours keeps out and in, and a user's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SAMPLE_DIRS, run_cli, write_tree
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dockerize_ml import dockerignore, inspect_project, make_plan, render
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.plan import Settings


@pytest.mark.parametrize(
    ("patterns", "path", "out"),
    [
        ("data", "data/x.csv", True),
        ("data", "src/data/x.csv", False),  # anchored at the context root
        ("**/data", "src/data/x.csv", True),
        ("**/*.pt", "model.pt", True),
        ("**/*.pt", "a/b/model.pt", True),
        ("*.md", "README.md", True),
        ("*.md", "docs/guide.md", False),
        ("data\n!data/churn.csv", "data/churn.csv", False),
        ("data\n!data/churn.csv", "data/raw/x.csv", True),
        ("**/.env\n!**/.env.example", ".env.example", False),
        ("**/.env", "sub/.env", True),
        ("/build/", "build/lib/x.py", True),
        ("*.py[cod]", "x.pyc", True),
        ("# comment\n\n", "anything", False),
    ],
)
def test_docker_matching_rules(patterns: str, path: str, out: bool) -> None:
    assert dockerignore.excluded(dockerignore.parse(patterns), path) is out


@pytest.mark.parametrize("sample", sorted(SAMPLE_DIRS))
def test_generated_dockerignore_keeps_what_the_build_and_code_need(sample: str) -> None:
    profile = inspect_project(SAMPLE_DIRS[sample])
    rules = dockerignore.parse(render(make_plan(profile, Settings()))[".dockerignore"])
    needed = [*profile.dependency_files, *profile.runtime_files]
    if profile.entrypoint is not None and profile.entrypoint.kind == "script":
        needed.append(profile.entrypoint.command[1])
    needed += [
        rel
        for rel in ("README.md", "pyproject.toml", "setup.py")
        if (SAMPLE_DIRS[sample] / rel).exists()
    ]
    for rel in needed:
        assert not dockerignore.excluded(rules, rel), f"{sample}: {rel} would be left out"
    for rel in (".env", ".git/config", ".venv/bin/python", "x/__pycache__/m.pyc", "m.ckpt"):
        assert dockerignore.excluded(rules, rel), f"{sample}: {rel} would be sent"
    for folder in (*profile.data_dirs, *profile.output_dirs):
        assert dockerignore.excluded(rules, f"{folder}/unreferenced.bin")


def test_a_users_own_dockerignore_is_checked_and_kept(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "pyproject.toml": (
                '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
                '[project]\nname = "p"\nversion = "1"\nreadme = "README.md"\ndependencies = ["numpy"]\n'
            ),
            "README.md": "# p\n",
            "p/__init__.py": "",
            "main.py": "if __name__ == '__main__':\n    pass\n",
            ".dockerignore": "# ours\n*.md\n*.toml\n.git\n",
        },
    )
    data = inspect_project(root)
    warnings = [w for w in data.warnings if w.startswith(".dockerignore keeps")]
    assert any("pyproject.toml" in w and "dependency install" in w for w in warnings)
    assert any("README.md" in w and "building the package" in w for w in warnings)
    result = run_cli("init", root)
    assert result.returncode == 6  # theirs stays; ours is written beside it
    assert (root / ".dockerignore").read_text().startswith("# ours")
    assert (root / ".dockerignore.dockerize-ml-new").is_file()


def test_dvc_cache_stays_out(tmp_path: Path) -> None:
    """DVC keeps every version of the data in .dvc/cache: never in the build context; its
    config (the remotes `dvc pull` reads) stays in, its config.local (credentials) out."""
    root = write_tree(
        tmp_path / "dvc",
        {
            ".dvc/config": "[core]\n    remote = storage\n",
            ".dvc/config.local": "['remote \"storage\"']\n    password = hunter2\n",
            ".dvc/tmp/lock": "",
            ".dvc/cache/files/md5/ab/cdef0123": b"\0" * 4096,
            "data.dvc": "outs:\n- md5: abcdef\n  path: data\n",
            "requirements.txt": "numpy\n",
            "main.py": "if __name__ == '__main__':\n    pass\n",
        },
    )
    text = render(make_plan(inspect_project(root), Settings()))[".dockerignore"]
    rules = dockerignore.parse(text)
    assert dockerignore.excluded(rules, ".dvc/cache/files/md5/ab/cdef0123")
    assert dockerignore.excluded(rules, ".dvc/tmp/lock")
    assert dockerignore.excluded(rules, ".dvc/config.local")
    assert not dockerignore.excluded(rules, ".dvc/config")
    assert not dockerignore.excluded(rules, "data.dvc")


_PART = st.sampled_from(["a", "b", ".env", "x.py", "*", "*.py", "?", "[ab]", "**", "a.b", "ä"])
_NAME = st.sampled_from(["a", "b", ".env", "x.py", "a.b", "ä", ".py", "py", "b.c"])
#: The shapes the quick check takes apart (`**/NAME`, `**/*SUFFIX`) and near misses of them.
_PATTERN = st.one_of(
    st.lists(_PART, min_size=1, max_size=4).map("/".join),
    _NAME.map(lambda n: "**/" + n),
    _NAME.map(lambda n: "**/*" + n),
    _NAME.map(lambda n: "**/**/" + n),
    _NAME.map(lambda n: "*" + n),
    # one element with wildcards (`**/id_rsa*`, `**/*.py[cod]`), and what is not one
    st.lists(
        st.sampled_from(["a", "b", "*", "?", ".py", "[ab]", "[!a]", "[^b]", "\\*", "/", "**"]),
        min_size=1,
        max_size=4,
    ).map(lambda parts: "**/" + "".join(parts)),
)
_PATH = st.lists(
    st.sampled_from(["a", "b", ".env", "x.py", "y.pyc", "a.b", "ä", "ab", "py", "b.c.d", "x.py.b"]),
    min_size=1,
    max_size=5,
).map("/".join)


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.tuples(_PATTERN, st.booleans()), max_size=6), _PATH)
@example([("**/a[^b]b", False)], "a/b")  # a class that matches "/": not one element
@example([("**/a\\*", False)], "a*")  # an escaped wildcard
def test_the_quick_any_rule_check_answers_as_every_rules_expression(
    rules: list[tuple[str, bool]], path: str
) -> None:
    """`**/NAME`, `**/*SUFFIX` and `**/ELEMENT` are checked by the path's parts, plain paths
    by their folders: the same answer as the expression of each rule, for patterns and paths
    of every shape drawn."""
    rules = [(p, n) for p, n in rules if _valid(p)]
    slow = any(dockerignore._regex(p).match(path) for p, _ in rules)
    assert dockerignore._any_rule(tuple(rules)).matches(path) == slow, (rules, path)


def _valid(pattern: str) -> bool:
    try:
        dockerignore.parse(pattern)
    except InvalidProjectFileError:
        return False
    return True

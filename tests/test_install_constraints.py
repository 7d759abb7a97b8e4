"""A requirements file's constraints (``-c constraints.txt``) bind the layers installed
before it too: the heavy frameworks and the stable libraries (pandas, scikit-learn, ...).

Without them, those layers install the newest versions the project's own specifiers allow,
and the requirements step then replaces them with the constrained ones: two copies in the
image, and the layer meant to be reused rebuilt for nothing (or a conflict with a pin).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_tree

from dockerize_ml import inspect_project, make_plan, render
from dockerize_ml.engine import build_with_cli
from dockerize_ml.plan import Settings
from dockerize_ml.steps import Step

MAIN = "import pandas, sklearn, torch\nprint(pandas, sklearn, torch)\n"


def _first_steps(root: Path, **settings: Any) -> list[Step]:
    plan = make_plan(inspect_project(root), Settings(**settings))
    return list(plan.install.before_code)


def _step(steps: list[Step], words: str) -> Step:
    (step,) = [s for s in steps if any(words in " ".join(c) for c in s.commands)]
    return step


def test_the_stable_and_heavy_layers_honour_the_constraints(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "main.py": MAIN,
            "requirements.txt": "-r requirements/base.txt\ntorch>=2.1\n",
            "requirements/base.txt": "--constraint constraints.txt\npandas>=2\nscikit-learn\n",
            "requirements/constraints.txt": "pandas==2.2.2\ntorch==2.3.1\n",
        },
    )
    assert inspect_project(tmp_path).constraint_files == ("requirements/constraints.txt",)
    steps = _first_steps(tmp_path)
    for words in ("'pandas>=2'", "torch"):
        step = _step(steps, words)
        assert "requirements/constraints.txt" in step.files, words  # mounted for it
        flat = [a for c in step.commands for a in c]
        assert "-c /tmp/deps/requirements/constraints.txt" in flat, flat
        assert any("constraints of requirements/constraints.txt" in c for c in step.comment)


def test_classic_builds_copy_the_constraints_before_the_stable_layer(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "main.py": "import pandas\n",
            "requirements.txt": "-c constraints.txt\npandas>=2\n",
            "constraints.txt": "pandas==2.2.2\n",
        },
    )
    plan = make_plan(inspect_project(tmp_path), Settings(buildkit=False))
    dockerfile = render(plan)["Dockerfile"]
    copy = dockerfile.index("COPY constraints.txt /tmp/deps/constraints.txt")
    assert copy < dockerfile.index("-c /tmp/deps/constraints.txt") < dockerfile.index("-r /tmp/")


def test_without_constraints_the_layers_mount_nothing(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.py": MAIN, "requirements.txt": "pandas>=2\ntorch\n"})
    assert inspect_project(tmp_path).constraint_files == ()
    steps = _first_steps(tmp_path)
    assert _step(steps, "'pandas>=2'").files == ()
    assert not any("-c " in a for s in steps for c in s.commands for a in c)


def test_a_conda_pip_section_constraint_binds_the_stable_layer(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "main.py": "import pandas\n",
            "environment.yml": (
                "name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
                "    - -c constraints.txt\n    - pandas>=2\n"
            ),
            "constraints.txt": "pandas==2.2.2\n",
        },
    )
    profile = inspect_project(tmp_path)
    assert profile.conda is not None and profile.conda.pip_installable
    assert profile.constraint_files == ("constraints.txt",)
    (step,) = [s for s in _first_steps(tmp_path) if "The big libraries" in s.comment[0]]
    assert step.files == ("constraints.txt",)
    assert "-c /tmp/deps/constraints.txt" in step.commands[0]


@pytest.mark.docker
def test_the_image_installs_the_constrained_versions_once(
    engine: Any, buildkit_cli: str, sample: Callable[[str], Path], tag: str
) -> None:
    root = sample("constrained-stack")
    result = run_cli("init", root, "--python", "3.11")
    assert result.returncode == 0, result.stderr
    assert "-c /tmp/deps/constraints.txt" in (root / "Dockerfile").read_text()
    build_with_cli(root, tag)
    container = engine.containers.run(tag, detach=True)
    try:
        assert container.wait(timeout=300)["StatusCode"] == 0
        output = container.logs().decode()
    finally:
        container.remove(force=True)
    for line in ("numpy         1.26.4", "pandas        2.2.2", "scikit-learn  1.5.1"):
        assert line in output, output
    # The stable layer installed the constrained versions, so the requirements step found
    # them in place and added only tabulate: its layer is small (it would hold a second
    # numpy, pandas, scipy and scikit-learn, >100 MB, if the stable layer had chosen alone).
    history = engine.images.get(tag).history()
    sizes = {h["CreatedBy"]: h["Size"] for h in history}
    requirements = [s for by, s in sizes.items() if "-r /tmp/deps/requirements.txt" in by]
    stable = [s for by, s in sizes.items() if "scikit-learn>=1.3" in by]
    assert len(requirements) == 1 and len(stable) == 1, list(sizes)
    assert stable[0] > 50_000_000, stable
    assert requirements[0] < 2_000_000, requirements

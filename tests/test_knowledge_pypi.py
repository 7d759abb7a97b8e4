"""Knowledge rows checked against PyPI itself (its JSON API), skipped without a network.

The scripts under scripts/ do the checking; these tests run them, so a row that PyPI's
current release contradicts fails here, and ``python scripts/check_brings.py`` says which.
"""

from __future__ import annotations

import importlib.util
import sys
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"

pytestmark = pytest.mark.network


def _script(name: str) -> ModuleType:
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pypi(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    try:
        urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=15).close()  # noqa: S310
    except OSError as error:
        pytest.skip(f"PyPI not reachable: {error}")
    meta = _script("pypi_meta")
    meta.CACHE = tmp_path_factory.mktemp("pypi")
    return meta


def test_every_brings_row_is_in_pypi_requires_dist(pypi: ModuleType) -> None:
    check = _script("check_brings")
    table = check.rows()
    assert len(table) >= 60
    problems = [line for name, claims in table.items() for line in check.check(name, claims)]
    assert problems == [], "\n".join(problems)


def test_the_brings_check_finds_a_wrong_claim(pypi: ModuleType) -> None:
    """The check can fail: a claim PyPI does not have (pandas 3 dropped pytz) is reported,
    and a claim only reachable through a chain is accepted."""
    check = _script("check_brings")
    wrong = check.check("pandas", ["numpy", "pytz"])
    assert len(wrong) == 1 and "does not bring pytz" in wrong[0], wrong
    assert check.check("notebook", ["ipykernel"]) == []  # notebook -> jupyterlab -> ipykernel
    assert check.check("requests", ["torch"]) != []

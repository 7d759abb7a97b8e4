"""Knowledge rows checked against PyPI itself (its JSON API), skipped without a network.

The scripts under scripts/ do the checking; these tests run them, so a row that PyPI's
current release contradicts fails here, and ``python scripts/check_brings.py`` says which.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from dockerize_ml import knowledge

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
        urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=15).close()
    except OSError as error:
        pytest.skip(f"PyPI not reachable: {error}")
    meta = _script("pypi_meta")
    meta.__dict__["CACHE"] = tmp_path_factory.mktemp("pypi")  # this run's own cache
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


#: Wheels above this many bytes are checked only with DOCKERIZE_ML_WHEELS=all (the OpenCV,
#: CatBoost, PyAV and pyarrow wheels are 30-90 MB each; all of them took ~2 minutes here).
SMALL_WHEEL = 25_000_000


def _wheel_rows() -> list[str]:
    check = _script("check_wheels")
    system, _ = check.tables()
    return [*system, *check.NO_ROW]


@pytest.mark.parametrize("name", _wheel_rows())
def test_system_rows_match_the_real_wheel(
    pypi: ModuleType, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each system.toml row (and each distribution that must have none) against the ELF
    NEEDED and the vendored files of the current release's wheel; sdist-only ones and
    program packages are what the script lists as not checked."""
    import os

    check = _script("check_wheels")
    url = check.best_wheel(name)
    if (
        url is not None
        and url["size"] > SMALL_WHEEL
        and os.environ.get("DOCKERIZE_ML_WHEELS") != "all"
    ):
        pytest.skip(f"{url['filename']} is {url['size'] // 1_000_000} MB: DOCKERIZE_ML_WHEELS=all")
    system, _ = check.tables()
    result = check.check(name, system.get(name, {}), tmp_path)
    assert result.problems == [], "\n".join(result.problems)
    if name in check.NO_ROW:
        assert name not in system and result.linked == {}, (name, result.linked)


def test_the_wheel_check_finds_a_stale_row(pypi: ModuleType, tmp_path: Path) -> None:
    """The check can fail: the old soundfile -> libsndfile1 row (the wheel vendors it) and
    a LightGBM row without libgomp1 (its wheel links the system's) are both wrong."""
    check = _script("check_wheels")
    stale = check.check("soundfile", {"run": ["libsndfile1"]}, tmp_path)
    assert any("vendors libsndfile" in line for line in stale.problems), stale.problems
    missing = check.check("lightgbm", {}, tmp_path)
    assert any("libgomp.so.1 (libgomp1)" in line for line in missing.problems), missing.problems


def test_every_pipreqs_mapping_row_is_covered(pypi: ModuleType) -> None:
    """Issue 12: the imports table covers pipreqs' public mapping (the pinned release, its
    sha256 checked), each line a row with that distribution or a difference with a reason;
    and no difference is stale."""
    script = _script("pipreqs_rows")
    data = script.table()
    pin = data["pipreqs"]
    rows = script.mapping(pin["version"], pin["sha256"])
    assert len(rows) > 1000
    assert script.uncovered(rows, data) == []
    modules = {module for module, _ in rows}
    assert set(pin["differences"]) <= modules, set(pin["differences"]) - modules
    # a difference is a real one: the table does not already agree with pipreqs there
    plain = {**data, "pipreqs": {**pin, "differences": {}}}
    for module in pin["differences"]:
        assert script.uncovered([(m, d) for m, d in rows if m == module], plain), module


def test_every_apis_row_checkable_by_file_agrees_with_the_wheels() -> None:
    """The ``inside`` rows (timm 0.1.18-0.3.4 use torch._six.container_abcs; 0.4.5 does not)
    and the ``removed`` rows of a module or a name a module binds (torch 1.8.1 has
    torch._six.container_abcs, 1.9.0 not), read from the wheels by range requests."""
    try:
        urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=15).close()
    except OSError as error:
        pytest.skip(f"PyPI not reachable: {error}")
    check = _script("check_apis")
    table = check.tomllib.loads(check.TABLE.read_text())
    problems = [line for row in table["inside"] for line in check.check_inside(row)]
    checked = 0
    for row in table["removed"]:
        found = check.check_removed(row)
        checked += found is not None
        problems += found or []
    assert problems == [], "\n".join(problems)
    assert checked >= 3  # torch._six, its container_abcs, torchaudio.set_audio_backend


def test_the_apis_check_finds_a_wrong_row() -> None:
    """The check can fail: torchaudio 2.2 still has set_audio_backend (the row said 2.2
    removed it; 2.9 did), and timm 0.4.5 no longer uses container_abcs."""
    try:
        urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=15).close()
    except OSError as error:
        pytest.skip(f"PyPI not reachable: {error}")
    check = _script("check_apis")
    wrong = {"use": "torchaudio.set_audio_backend", "dist": "torchaudio"}
    assert check.check_removed({**wrong, "removed": "2.2", "last": "2.1.2"})
    late = {"dist": "timm", "first": "0.3.2", "last": "0.4.5"}
    found = check.check_inside(
        {**late, "uses": "torch._six.container_abcs", "file": "timm/models/layers/helpers.py"}
    )
    assert any("0.4.5" in line for line in found), found
    # A same-named other thing is not a use: Flask 2.0 imports `Response as BaseResponse`.
    flask = check.releases("flask")
    app = check.wheel("flask", "2.0.0", flask["2.0.0"])
    assert not check.uses(app, "flask/app.py", "werkzeug.wrappers.BaseResponse")
    old = check.wheel("flask", "1.1.4", flask["1.1.4"])
    assert check.uses(old, "flask/app.py", "werkzeug.wrappers.BaseResponse")


def _has_sign(check: ModuleType, dist: str, row: dict[str, str], files: list[Any]) -> bool:
    """Whether the row's ``file`` in the release's wheel holds its ``sign``."""
    return row["sign"] in check.wheel(dist, "", files).read(row["file"]).decode()


def test_the_machine_id_rows_agree_with_the_wheels() -> None:
    """streamlit: the first and last release of `versions` have `sign` (they call
    dbus-uuidgen), the releases around them do not, and `fixed_on` is the upload day of the
    one after."""
    try:
        urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=15).close()
    except OSError as error:
        pytest.skip(f"PyPI not reachable: {error}")
    check = _script("check_apis")
    for dist, row in knowledge.load("system")["machine_id"].items():
        with urllib.request.urlopen(f"https://pypi.org/pypi/{dist}/json", timeout=60) as answer:
            files = json.load(answer)["releases"]
        spec = SpecifierSet(row["versions"])
        ordered = sorted(
            (v for v in files if files[v] and not Version(v).is_prerelease), key=Version
        )
        inside = [v for v in ordered if v in spec]
        before = [v for v in ordered if Version(v) < Version(inside[0])]
        after = [v for v in ordered if Version(v) > Version(inside[-1])]

        signs = {
            v: _has_sign(check, dist, row, files[v])
            for v in (before[-1], *inside[:: len(inside) - 1], after[0])
        }
        assert signs == {before[-1]: False, inside[0]: True, inside[-1]: True, after[0]: False}
        assert files[after[0]][0]["upload_time"][:10] == row["fixed_on"], after[0]

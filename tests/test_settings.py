"""The settings: one row per key (settings.KEYS), typed records for each layer (Choices) and
for the plan (Settings), layered once, and a misspelled key an error wherever it is given."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from dockerize_ml import settings
from dockerize_ml.choices import Choices
from dockerize_ml.errors import ExitCode, InvalidProjectFileError
from dockerize_ml.install import InvalidSettingError
from dockerize_ml.jobs import plan_project, run_init
from dockerize_ml.plan import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "settings.md"

#: key -> (a value its row accepts, a value of the right type its row refuses). Every key
#: with a check has a refused value: a row whose check refused nothing would show here.
VALUES: dict[str, tuple[Any, Any]] = {
    "python": ("3.11", "3.x"),
    "entry": ("python serve.py", "python 'serve.py"),
    "ports": ([8000], [0]),
    "base-image": ("python:3.12-slim", "python:latest"),
    "installer": ("pip", "conda"),
    "buildkit": (False, None),
    "deps-from": ("poetry", "setup.py"),
    "extras": (["fast"], [""]),
    "groups": (["serve"], [""]),
    "smoke": ("python -c 'import app'", None),
    "ci": (["gitlab"], ["jenkins"]),
    "k8s": (True, None),
    "devcontainer": (True, None),
    "device": ("cuda", "tpu"),
    "platforms": (["linux/arm64"], ["linux/s390x"]),
    "dev-tools": (True, None),
    "system-packages": (["libodbc2"], ["libodbc2; rm -rf /"]),
    "build-packages": (["libldap-dev"], ["$(curl evil)"]),
    "dependencies": (["python-dateutil"], ["pkg @ https://example.com/pkg.whl"]),
    "targets": (["sagemaker"], ["lambda"]),
    "predict-route": ("/predict", "predict"),
    "exclude-newer": ("2023-07-21", "2023-02-30"),
}


def _project(root: Path, extra: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "requirements.txt").write_text("six\n")
    (root / "train.py").write_text("import six\n")
    for name, text in (extra or {}).items():
        (root / name).write_text(text)
    return root


def test_every_row_is_well_formed_and_fills_one_field_of_each_record() -> None:
    names = [key.name for key in settings.KEYS]
    assert len(names) == len(set(names))
    for key in settings.KEYS:
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", key.name), key.name
        assert key.description.strip(), key.name
        kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
        assert all(k in (str, bool, list) for k in kinds), key.name
    attrs = {key.attr for key in settings.KEYS}
    assert {f.name for f in dataclasses.fields(Choices)} == attrs
    assert {f.name for f in dataclasses.fields(Settings)} == attrs


def test_the_documented_keys_are_the_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("```toml\n[tool.dockerize-ml]\n", 1)[1].split("```", 1)[0]
    documented = [line.split("=", 1)[0].strip() for line in block.splitlines() if "=" in line]
    assert sorted(documented) == sorted(key.name for key in settings.KEYS)


@pytest.mark.parametrize("key", [key.name for key in settings.KEYS])
def test_each_row_accepts_a_good_value_and_refuses_a_bad_one(key: str) -> None:
    good, bad = VALUES[key]
    assert settings.value_problem(key, good, {key: good}) is None
    checked = next(k for k in settings.KEYS if k.name == key).check is not None
    assert (bad is not None) == checked, "a refused value for exactly the checked keys"
    if bad is not None:
        problem = settings.value_problem(key, bad, {key: bad})
        assert problem is not None and problem[0] and problem[1]
    wrong_type = 3.5
    problem = settings.value_problem(key, wrong_type, {key: wrong_type})
    assert problem is not None and "must be" in problem[0]


def test_the_table_of_a_record_round_trips() -> None:
    chosen = Choices(python="3.11", ports=(8000,), base_image="python:3.11-slim", k8s=False)
    assert chosen.table() == {
        "python": "3.11",
        "ports": [8000],
        "base-image": "python:3.11-slim",
        "k8s": False,
    }
    assert settings.choices_from(chosen.table()) == chosen


def test_layered_once_flags_over_the_file_over_the_defaults() -> None:
    saved = Choices(python="3.11", k8s=True, ci=("github",), buildkit=False)
    flags = Choices(python="3.12", ci=("gitlab",))
    result = settings.to_settings(saved, flags)
    assert (result.python, result.k8s, result.ci, result.buildkit) == (
        "3.12",
        True,
        ("gitlab",),
        False,
    )
    assert (result.installer, result.device, result.base_image) == ("uv", "auto", None)
    # An explicit false flag overrides a saved true: None alone means "not chosen".
    assert settings.to_settings(Choices(k8s=True), Choices(k8s=False)).k8s is False


def test_a_record_field_cannot_be_misspelled() -> None:
    with pytest.raises(TypeError):
        Choices(base_imag="python:3.12-slim")  # type: ignore[call-arg]


def test_run_init_takes_the_record_and_saves_it(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    result = run_init(root, Choices(base_image="python:3.12-slim", ports=(8000,)))
    assert result.files["Dockerfile"].count("FROM python:3.12-slim") >= 1
    saved = (root / "dockerize-ml.toml").read_text(encoding="utf-8")
    assert 'base-image = "python:3.12-slim"' in saved and "ports = [8000]" in saved
    # Replayed: the next run without flags plans with the saved choices.
    _, plan, chosen = plan_project(root)
    assert plan.base_image == "python:3.12-slim" and chosen.ports == (8000,)


@pytest.mark.parametrize(
    ("flags", "said", "hint"),
    [
        ({"base_image": "python:3.12-slim"}, "unknown setting 'base_image'", "'base-image'"),
        ({"prots": [8000]}, "unknown setting 'prots'", "'ports'"),
        ({"ports": "8000"}, "setting 'ports' is a string", "ports:"),
    ],
)
def test_a_mapping_with_a_misspelled_key_is_an_error_with_a_hint(
    tmp_path: Path, flags: dict[str, Any], said: str, hint: str
) -> None:
    root = _project(tmp_path / "p")
    with pytest.raises(InvalidSettingError) as caught:
        run_init(root, flags)
    assert caught.value.exit_code == ExitCode.USAGE
    assert said in caught.value.message and hint in caught.value.hint
    assert not (root / "Dockerfile").exists() and not (root / "dockerize-ml.toml").exists()


def test_a_misspelled_key_in_the_file_is_an_error_with_a_hint(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", {"dockerize-ml.toml": 'base_image = "python:3.12-slim"\n'})
    with pytest.raises(InvalidProjectFileError) as caught:
        settings.load(root)
    assert caught.value.exit_code == ExitCode.INVALID_PROJECT_FILE
    assert "unknown setting 'base_image'" in caught.value.message
    assert "did you mean 'base-image'?" in caught.value.hint
    assert "docs/settings.md" in caught.value.hint


def test_a_bad_value_in_the_file_names_the_line(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", {"dockerize-ml.toml": 'k8s = true\ndevice = "tpu"\n'})
    with pytest.raises(InvalidProjectFileError) as caught:
        settings.load(root)
    assert caught.value.message.startswith("dockerize-ml.toml:2: setting 'device' is 'tpu'")

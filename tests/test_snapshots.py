"""Golden snapshots: every generated file of every sample, in every variant that renders
differently, is stored under ``tests/snapshots/`` and compared here byte for byte.

A change to the output is then a diff in the commit, not a claim in a message. After an
intended change, rewrite the snapshots and review the diff:

    python -m pytest tests/test_snapshots.py --update-snapshots

Layout: ``tests/snapshots/<sample>/default/`` holds the whole render; each other variant's
folder holds only the files that render differently from the default, and every file it does
not hold must render exactly as the default does (so a variant cannot drift unseen).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLE_DIRS, copy_sample

from dockerize_ml import inspect_project, make_plan, render
from dockerize_ml.errors import DockerizeError
from dockerize_ml.settings import Choices, load, to_settings

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"

#: The variants that change what is rendered. "device" is the device the sample does not get
#: by default (CUDA for a CPU project, CPU for a CUDA one).
VARIANTS: dict[str, dict[str, object]] = {
    "default": {},
    "classic": {"buildkit": False},
    "device": {},
    "deploy": {"ci": ("github", "gitlab"), "k8s": True, "devcontainer": True},
    "targets": {"targets": ("sagemaker", "vertex", "cloudrun", "spaces")},
}
#: Variants rendered for some samples only, each kind of project once (the platform entry
#: points are the same file everywhere): an ASGI app with a training script, a gunicorn app,
#: a training script alone, a server that is no ASGI/WSGI app.
SOME_SAMPLES = {"targets": {"sklearn-api", "flask-scores", "churn-model", "streamlit-csv"}}

#: Samples whose project is a folder inside the sample's repository.
PROJECT_FOLDER = {"uv-workspace": "services/tagger"}


def _project(name: str, tmp: Path) -> Path:
    root = copy_sample(name, tmp / name)
    if name in PROJECT_FOLDER:
        (root / ".git").mkdir()
        return root / PROJECT_FOLDER[name]
    return root


def _render(root: Path, variant: str) -> dict[str, str] | str:
    """The files of one variant, or the one-line error that refuses it."""
    profile = inspect_project(root)
    settings = dict(VARIANTS[variant])
    if variant == "device":
        settings["device"] = "cpu" if profile.gpu.uses_cuda else "cuda"
    try:
        # The sample's own saved settings (its base image), under the variant's.
        saved = dataclasses.replace(to_settings(load(root), Choices()), **settings)  # type: ignore[arg-type]
        return render(make_plan(profile, saved))
    except DockerizeError as exc:
        return f"refused: {exc.message}\n"


def _stored_name(rel: str) -> str:
    # Files written above the project (CI of a project in a monorepo) stay inside the folder.
    return rel.replace("../", "_up/")


def _read_folder(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _expected_layout(renders: dict[str, dict[str, str] | str]) -> dict[str, dict[str, str]]:
    """Variant -> {stored name: text}, as the folders hold them."""
    default = renders["default"]
    assert isinstance(default, dict), default
    layout: dict[str, dict[str, str]] = {
        "default": {_stored_name(k): v for k, v in default.items()}
    }
    for variant, files in renders.items():
        if variant == "default":
            continue
        if isinstance(files, str):
            layout[variant] = {"REFUSED": files}
            continue
        differs = {_stored_name(k): v for k, v in files.items() if default.get(k) != v}
        missing = sorted(set(default) - set(files))
        if missing:
            differs["ABSENT"] = "".join(f"{_stored_name(m)}\n" for m in missing)
        layout[variant] = differs
    return layout


@pytest.mark.parametrize("name", sorted(SAMPLE_DIRS))
def test_generated_files_match_snapshots(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    variants = [v for v in VARIANTS if name in SOME_SAMPLES.get(v, {name})]
    renders = {v: _render(_project(name, tmp_path / v), v) for v in variants}
    layout = _expected_layout(renders)
    folder = SNAPSHOTS / name
    if request.config.getoption("--update-snapshots"):
        shutil.rmtree(folder, ignore_errors=True)
        for variant, files in layout.items():
            for rel, text in files.items():
                path = folder / variant / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
        return
    for variant, files in layout.items():
        stored = _read_folder(folder / variant)
        assert sorted(stored) == sorted(files), (
            f"{name}/{variant}: the files rendered differ from the snapshot's "
            "(python -m pytest tests/test_snapshots.py --update-snapshots, then review the diff)"
        )
        for rel, text in files.items():
            assert stored[rel] == text, (
                f"{name}/{variant}/{rel} differs from its snapshot "
                "(python -m pytest tests/test_snapshots.py --update-snapshots, then review the diff)"
            )


def test_render_does_not_depend_on_where_the_project_lies(tmp_path: Path) -> None:
    """Snapshots are only meaningful when a render is a function of the project alone."""
    first = _render(_project("poetry-fastapi", tmp_path / "a"), "deploy")
    second = _render(_project("poetry-fastapi", tmp_path / "b" / "deeper path"), "deploy")
    assert first == second

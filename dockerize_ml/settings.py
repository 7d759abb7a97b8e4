"""Settings that last: the choices given as flags, saved and replayed on every regeneration.

They live in ``[tool.dockerize-ml]`` of ``pyproject.toml`` when the project has one, else in
``dockerize-ml.toml``, and are edited with tomlkit so the rest of the file (comments, order,
formatting) stays exactly as it was. Layering: detected < saved < flags of this run.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import tomlkit

from dockerize_ml.detect.files import parse_toml
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.plan import Settings
from dockerize_ml.write import atomic_write

PYPROJECT = "pyproject.toml"
OWN_FILE = "dockerize-ml.toml"
TABLE = "dockerize-ml"

#: key -> (type check, description); the documented, hand-editable keys (docs/settings.md).
KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "python": (str, "Python version X.Y"),
    "entry": ((str, list), "the command the container runs"),
    "ports": (list, "ports the app listens on"),
    "base-image": (str, "base image of the final stage"),
    "installer": (str, "uv or pip"),
    "buildkit": (bool, "false for a Dockerfile the classic builder accepts"),
    "deps-from": (str, "the dependency source to install from"),
    "extras": (list, "extras to install"),
    "groups": (list, "dependency groups to install"),
    "smoke": (str, "a command `dockerize-ml build` runs inside the image as a smoke test"),
    "ci": (list, "CI templates to write: github, gitlab"),
    "k8s": (bool, "write Kubernetes manifests"),
    "device": (str, "auto, cpu or cuda"),
}


def settings_file(root: Path) -> Path:
    """Where the settings of the project at ``root`` live (existing or to be created)."""
    pyproject = root / PYPROJECT
    return pyproject if pyproject.is_file() else root / OWN_FILE


def load(root: Path) -> dict[str, Any]:
    """The saved settings, checked: an unknown key or a wrong type is an error naming it."""
    path = settings_file(root)
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidProjectFileError(
            f"{path.name}: cannot be read ({exc})", f"fix {path.name}, then run again"
        ) from None
    doc = parse_toml(path.name, text)
    table = doc.get("tool", {}).get(TABLE, {}) if path.name == PYPROJECT else doc
    where = f"[tool.{TABLE}] in {PYPROJECT}" if path.name == PYPROJECT else OWN_FILE
    for key, value in table.items():
        if key not in KEYS:
            raise InvalidProjectFileError(
                f"{where}: unknown setting {key!r}",
                f"known settings: {', '.join(KEYS)} (docs/settings.md)",
            )
        kind, _ = KEYS[key]
        if not isinstance(value, kind):
            raise InvalidProjectFileError(
                f"{where}: setting {key!r} has the wrong type ({type(value).__name__})",
                f"{key} is {KEYS[key][1]} (docs/settings.md)",
            )
    return dict(table)


def save(root: Path, changes: dict[str, Any]) -> Path | None:
    """Merge ``changes`` into the saved settings, keeping the rest of the file as it is."""
    if not changes:
        return None
    path = settings_file(root)
    if path.is_file():
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    else:
        doc = tomlkit.document()
        doc.add(tomlkit.comment("dockerize-ml settings, replayed by `dockerize-ml init`"))
        doc.add(tomlkit.comment("and `dockerize-ml check`; see docs/settings.md."))
    table: Any = doc
    if path.name == PYPROJECT:
        tool = doc.setdefault("tool", tomlkit.table())
        if TABLE not in tool:
            tool[TABLE] = tomlkit.table()
        table = tool[TABLE]
    for key, value in changes.items():
        table[key] = value
    atomic_write(path, tomlkit.dumps(doc))
    return path


def to_settings(saved: dict[str, Any], flags: dict[str, Any]) -> Settings:
    """The settings of this run: what was saved, overridden by this run's flags."""
    merged = {**saved, **flags}
    entry = merged.get("entry")
    if isinstance(entry, str):
        entry = shlex.split(entry)
    return Settings(
        python=merged.get("python"),
        entry=tuple(entry) if entry else None,
        ports=tuple(int(p) for p in merged.get("ports", ())),
        base_image=merged.get("base-image"),
        buildkit=bool(merged.get("buildkit", True)),
        installer=str(merged.get("installer", "uv")),
        extras=tuple(merged.get("extras", ())),
        groups=tuple(merged.get("groups", ())),
        ci=tuple(merged.get("ci", ())),
        k8s=bool(merged.get("k8s", False)),
        device=str(merged.get("device", "auto")),
    )

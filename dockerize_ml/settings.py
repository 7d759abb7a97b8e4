"""Settings that last: the choices given as flags, saved and replayed on every regeneration.

They live in ``[tool.dockerize-ml]`` of ``pyproject.toml`` when the project has one, else in
``dockerize-ml.toml``, and are edited with tomlkit so the rest of the file (comments, order,
formatting) stays exactly as it was. Layering: detected < saved < flags of this run.
"""

from __future__ import annotations

import re
import shlex
from datetime import date
from pathlib import Path
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from tomlkit.exceptions import TOMLKitError

from dockerize_ml import knowledge
from dockerize_ml.choices import CI_SYSTEMS, DEVICES, INSTALLERS
from dockerize_ml.detect import shapes
from dockerize_ml.detect.files import line_of, parse_toml
from dockerize_ml.errors import InvalidProjectFileError, WriteFailedError, docs
from dockerize_ml.install import InvalidSettingError
from dockerize_ml.names import CONTROL, SETTINGS_FILE
from dockerize_ml.plan import Settings
from dockerize_ml.platforms import known as known_platforms
from dockerize_ml.profile import DEPENDENCY_KINDS
from dockerize_ml.scan import MAX_READ_BYTES, UndecodableError, decode
from dockerize_ml.targets import TARGETS
from dockerize_ml.write import atomic_write

PYPROJECT = "pyproject.toml"
OWN_FILE = SETTINGS_FILE
TABLE = "dockerize-ml"

#: What --deps-from (and the deps-from setting) names: the profile's dependency kinds
#: (docs/dependencies.md).
DEPS_FROM = DEPENDENCY_KINDS
_IMAGE_REF = re.compile(r"[a-z0-9][a-z0-9._/:@-]*", re.IGNORECASE)

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
    "devcontainer": (bool, "write .devcontainer/devcontainer.json"),
    "device": (str, "auto, cpu or cuda"),
    "platforms": (list, "platforms CI builds: linux/amd64, linux/arm64"),
    "dev-tools": (bool, "true keeps a requirements file's test, lint and docs tools in the image"),
    "system-packages": (list, "Debian packages the final image needs (build --fix saves them)"),
    "build-packages": (list, "Debian packages the builder stage compiles with"),
    "dependencies": (list, "requirements installed besides the project's dependency files"),
    "targets": (list, "platforms the image runs on: sagemaker, vertex, cloudrun, spaces"),
    "predict-route": (str, "the app's prediction route that /invocations serves"),
    "exclude-newer": (str, "YYYY-MM-DD: install releases uploaded before this day (UTC) only"),
}
#: What Debian policy allows in a package name (and nothing a shell would act on).
_DEBIAN_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


#: List settings whose values are names from a fixed set: the set, and an example.


def settings_file(root: Path) -> Path:
    """Where the settings of the project at ``root`` live (existing or to be created)."""
    pyproject = root / PYPROJECT
    return pyproject if pyproject.is_file() else root / OWN_FILE


def python_problem(version: str, base_image: str | None) -> tuple[str, str] | None:
    """Why ``version`` cannot be the image's Python, as a predicate ("is not of the form
    X.Y"), and what to do; None when it can.

    An X.Y with no official ``python:X.Y-slim`` image is refused rather than warned about:
    the Dockerfile's ``FROM`` would name an image that does not exist, and the build would
    fail. A release newer than the knowledge table works with a base image that has it.
    """
    match = re.fullmatch(r"(\d+)\.(\d+)", version)
    known = list(knowledge.load("python")["versions"])
    if match is None:
        return "is not of the form X.Y", f"for example {knowledge.load('python')['default']}"
    if match.group(1) != "3":
        return (
            f"is Python {match.group(1)}: dockerize-ml writes images for Python 3 only",
            f"use one of {known[0]} to {known[-1]}",
        )
    if version not in known and not base_image:
        return (
            f"has no official python:{version}-slim image that dockerize-ml knows of "
            f"(it knows {known[0]} to {known[-1]})",
            f"use one of those, or give a base image that has Python {version} too (--base-image)",
        )
    return None


def _has_type(value: Any, kind: type | tuple[type, ...]) -> bool:
    """isinstance, except that true and false are no numbers (TOML's booleans)."""
    return isinstance(value, kind) and (not isinstance(value, bool) or kind is bool)


def _list_choices(key: str) -> tuple[tuple[str, ...], str] | None:
    """The names a list setting may hold, and an example; None for other settings."""
    if key == "ci":
        return CI_SYSTEMS, 'ci = ["github"]'
    if key == "platforms":
        return tuple(known_platforms()), 'platforms = ["linux/amd64", "linux/arm64"]'
    if key == "targets":
        return TARGETS, 'targets = ["sagemaker"]'
    return None


def _value_problem(key: str, value: Any, table: dict[str, Any]) -> tuple[str, str] | None:
    """Why a saved setting's value cannot be used, as a clause after "setting 'key'", and
    what to do; None when it can be used."""
    kind, description = KEYS[key]
    if not _has_type(value, kind):
        hint = f"{key}: {description}"
        if key == "python" and isinstance(value, float):
            hint = 'quote it: python = "3.10" (unquoted, 3.10 is the number 3.1)'
        return f"is {shapes.describe(type(value))}, but must be {shapes.describe(kind)}", hint
    words = value if isinstance(value, list) else [value]
    control = next((w for w in words if isinstance(w, str) and CONTROL.search(w)), None)
    if control is not None:
        return (
            f"holds a control character ({control!r}), which would break the scripts written "
            "from it",
            "remove it",
        )
    if key == "python":
        problem = python_problem(value, table.get("base-image"))
        return None if problem is None else (f"is {value!r}, which {problem[0]}", problem[1])
    if key == "entry":
        if isinstance(value, list):
            if value and all(isinstance(w, str) and w for w in value):
                return None
            return f"is {value!r}, which is not a list of arguments", 'entry = ["python", "x.py"]'
        try:
            words = shlex.split(value)
        except ValueError as exc:
            return f"is {value!r}, which cannot be split into arguments ({exc})", "close the quote"
        return None if words else ("is empty", 'entry = "python train.py"')
    if key == "ports":
        bad = next((p for p in value if isinstance(p, bool) or not isinstance(p, int)), None)
        if bad is not None:
            return f"holds {bad!r}, which is not a port number", "ports = [8000]"
        bad = next((p for p in value if not 0 < p < 65536), None)
        if bad is not None:
            return f"holds {bad}, which is not a TCP port", "use 1-65535"
        return None
    if key in ("extras", "groups", "ci", "platforms", "targets"):
        bad = next((v for v in value if not isinstance(v, str) or not v), None)
        if bad is not None:
            return f"holds {bad!r}, which is not a name", f"{key} is a list of strings"
    if key in _LEARNT:
        return _learnt_problem(key, value)
    listed = _list_choices(key)
    if listed is not None:
        names, example = listed
        unknown = next((v for v in value if v not in names), None)
        if unknown is not None:
            return f"holds {unknown!r}, which is not one of {', '.join(names)}", example
    if key == "exclude-newer" and not _is_day(value):
        return f"is {value!r}, which is not a day YYYY-MM-DD", 'exclude-newer = "2023-07-21"'
    if key == "predict-route" and not value.startswith("/"):
        return f"is {value!r}, which is not an HTTP path", 'predict-route = "/predict"'
    choices = {"installer": INSTALLERS, "device": DEVICES, "deps-from": DEPS_FROM}.get(key)
    if choices is not None and value not in choices:
        return f"is {value!r}, which is not one of {', '.join(choices)}", f"{key}: {description}"
    if key == "base-image" and (
        not _IMAGE_REF.fullmatch(value) or value.endswith(":latest") or ":" not in value
    ):
        return (
            f"is {value!r}, which is not a pinned image reference",
            "give a tagged image such as python:3.11-slim (never :latest)",
        )
    return None


def _is_day(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


#: The settings `build --fix` saves: lists of Debian packages or of requirements.
_LEARNT = ("system-packages", "build-packages", "dependencies")


def _learnt_problem(key: str, value: list[Any]) -> tuple[str, str] | None:
    """Why a list `build --fix` saves cannot be used (a name a shell would act on, a URL)."""
    if key == "dependencies":
        bad = next((v for v in value if not _requirement(v)), None)
        if bad is not None:
            return f"holds {bad!r}, which is not a requirement", 'dependencies = ["humanize"]'
        return None
    bad = next((v for v in value if not isinstance(v, str) or not _DEBIAN_NAME.fullmatch(v)), None)
    if bad is not None:
        return f"holds {bad!r}, which is not a Debian package name", f'{key} = ["libodbc2"]'
    return None


def _requirement(value: Any) -> bool:
    """A PEP 508 requirement naming a distribution (no URL, no local path)."""
    if not isinstance(value, str):
        return False
    try:
        requirement = Requirement(value)
    except InvalidRequirement:
        return False
    return requirement.url is None


def load(root: Path) -> dict[str, Any]:
    """The saved settings, checked: an unknown key, a wrong type or a value that cannot be
    used is an error naming the file and the key (exit 5), never the flag that the user did
    not pass."""
    path = settings_file(root)
    if not path.is_file():
        return {}
    try:
        if path.stat().st_size > MAX_READ_BYTES:
            raise InvalidProjectFileError(
                f"{path.name}: larger than {MAX_READ_BYTES // 1024} KiB", f"trim {path.name}"
            )
        text, _ = decode(path.read_bytes())
    except OSError as exc:
        raise InvalidProjectFileError(
            f"{path.name}: cannot be read ({exc.strerror or exc})",
            f"fix {path.name}, then run again",
        ) from None
    except UndecodableError as exc:
        raise InvalidProjectFileError(
            f"{path.name}: {exc.reason}", f"save {path.name} as UTF-8 text, then run again"
        ) from None
    if path.name == PYPROJECT:
        doc = parse_toml(path.name, text, shapes.PYPROJECT)
        table = doc.get("tool", {}).get(TABLE, {})
    else:
        table = parse_toml(path.name, text)
    where = f"[tool.{TABLE}] in {PYPROJECT}" if path.name == PYPROJECT else OWN_FILE
    for key, value in table.items():
        if key not in KEYS:
            raise InvalidProjectFileError(
                f"{where}: unknown setting {key!r}",
                f"known settings: {', '.join(KEYS)} ({docs('settings.md')})",
            )
        problem = _value_problem(key, value, table)
        if problem is not None:
            message, hint = problem
            found = line_of("\n" + text, f"\n{key}")
            at = f":{found}" if found and path.name == OWN_FILE else ""
            raise InvalidProjectFileError(
                f"{where}{at}: setting {key!r} {message}", f"{hint}; see {docs('settings.md')}"
            )
    return dict(table)


def save(root: Path, changes: dict[str, Any]) -> Path | None:
    """Merge ``changes`` into the saved settings, keeping the rest of the file as it is."""
    if not changes:
        return None
    path = settings_file(root)
    if path.is_file():
        try:
            doc = tomlkit.parse(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, TOMLKitError) as exc:
            raise InvalidProjectFileError(
                f"{path.name}: cannot be edited to save the settings ({exc})",
                f"fix {path.name}, or pass the flags on every run",
            ) from None
    else:
        doc = tomlkit.document()
        doc.add(tomlkit.comment("dockerize-ml settings, replayed by `dockerize-ml init`"))
        doc.add(tomlkit.comment("and `dockerize-ml check`. The keys and their values:"))
        doc.add(tomlkit.comment(docs("settings.md")))
    table: Any = doc
    if path.name == PYPROJECT:
        tool = doc.setdefault("tool", tomlkit.table())
        if TABLE not in tool:
            tool[TABLE] = tomlkit.table()
        table = tool[TABLE]
    for key, value in changes.items():
        table[key] = value
    try:
        atomic_write(path, tomlkit.dumps(doc))
    except OSError as exc:
        raise WriteFailedError(
            f"{path}: the settings cannot be saved ({exc.strerror or exc})",
            f"make {path.parent} writable",
        ) from None
    return path


def to_settings(saved: dict[str, Any], flags: dict[str, Any]) -> Settings:
    """The settings of this run: what was saved, overridden by this run's flags."""
    merged = {**saved, **flags}
    python = flags.get("python")
    problem = python_problem(str(python), merged.get("base-image")) if python else None
    if problem is not None:
        raise InvalidSettingError(f"--python {python} {problem[0]}", problem[1])
    entry = merged.get("entry")
    if isinstance(entry, str):
        try:
            entry = shlex.split(entry)
        except ValueError as exc:  # the CLI checks its flag; a library caller may not
            raise InvalidSettingError(f"--entry {entry!r} cannot be split ({exc})", "") from None
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
        devcontainer=bool(merged.get("devcontainer", False)),
        device=str(merged.get("device", "auto")),
        dev_tools=bool(merged.get("dev-tools", False)),
        platforms=tuple(merged.get("platforms", ())),
        system_packages=tuple(merged.get("system-packages", ())),
        build_packages=tuple(merged.get("build-packages", ())),
        dependencies=tuple(merged.get("dependencies", ())),
        targets=tuple(merged.get("targets", ())),
        predict_route=merged.get("predict-route"),
        exclude_newer=str(merged.get("exclude-newer") or ""),
    )

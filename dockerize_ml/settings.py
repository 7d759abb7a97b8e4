"""Settings that last: the choices given as flags, saved and replayed on every regeneration.

They live in ``[tool.dockerize-ml]`` of ``pyproject.toml`` when the project has one, else in
``dockerize-ml.toml``, and are edited with tomlkit so the rest of the file (comments, order,
formatting) stays exactly as it was. Layering: detected < saved < flags of this run.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from tomlkit.exceptions import TOMLKitError

from dockerize_ml import knowledge
from dockerize_ml.choices import CI_SYSTEMS, DEVICES, INSTALLERS, Choices
from dockerize_ml.detect import shapes
from dockerize_ml.detect.files import line_of, parse_toml
from dockerize_ml.errors import InvalidProjectFileError, WriteFailedError, docs
from dockerize_ml.install import InvalidSettingError
from dockerize_ml.names import CONTROL, SETTINGS_FILE
from dockerize_ml.plan import Settings
from dockerize_ml.platforms import known as known_platforms
from dockerize_ml.profile import SOURCE_KINDS
from dockerize_ml.scan import MAX_READ_BYTES, UndecodableError, decode
from dockerize_ml.targets import TARGETS
from dockerize_ml.write import atomic_write

__all__ = ["KEYS", "Choices", "Key", "choices_from", "load", "save", "settings_file", "to_settings"]

PYPROJECT = "pyproject.toml"
OWN_FILE = SETTINGS_FILE
TABLE = "dockerize-ml"

#: What --deps-from (and the deps-from setting) names: the profile's dependency kinds
#: (docs/dependencies.md).
DEPS_FROM = tuple(SOURCE_KINDS)
_IMAGE_REF = re.compile(r"[a-z0-9][a-z0-9._/:@-]*", re.IGNORECASE)

#: A setting's problem: a clause after "setting 'key'", and what to do; None: none.
Problem = tuple[str, str] | None
#: A check of a value of the right type: (key, value, the whole table) -> problem.
Check = Callable[[str, Any, Mapping[str, Any]], Problem]


@dataclass(frozen=True)
class Key:
    """One documented, hand-editable key of the settings (docs/settings.md): its name in the
    file, its TOML type, what it means, and the check of its value."""

    name: str
    kind: type | tuple[type, ...]
    description: str
    check: Check | None = None

    @property
    def attr(self) -> str:
        """The field of :class:`Choices` and of the plan's ``Settings`` it fills."""
        return self.name.replace("-", "_")


def _python_check(key: str, value: Any, table: Mapping[str, Any]) -> Problem:
    problem = python_problem(value, table.get("base-image"))
    return None if problem is None else (f"is {value!r}, which {problem[0]}", problem[1])


def _entry_check(key: str, value: Any, table: Mapping[str, Any]) -> Problem:
    if isinstance(value, list):
        if value and all(isinstance(w, str) and w for w in value):
            return None
        return f"is {value!r}, which is not a list of arguments", 'entry = ["python", "x.py"]'
    try:
        words = shlex.split(value)
    except ValueError as exc:
        return f"is {value!r}, which cannot be split into arguments ({exc})", "close the quote"
    return None if words else ("is empty", 'entry = "python train.py"')


def _ports_check(key: str, value: Any, table: Mapping[str, Any]) -> Problem:
    bad = next((p for p in value if isinstance(p, bool) or not isinstance(p, int)), None)
    if bad is not None:
        return f"holds {bad!r}, which is not a port number", "ports = [8000]"
    bad = next((p for p in value if not 0 < p < 65536), None)
    if bad is not None:
        return f"holds {bad}, which is not a TCP port", "use 1-65535"
    return None


def _names(choices: Callable[[], Iterable[str]] | None = None, example: str = "") -> Check:
    """A list of names (strings), from ``choices`` when given (with an example)."""

    def check(key: str, value: Any, table: Mapping[str, Any]) -> Problem:
        bad = next((v for v in value if not isinstance(v, str) or not v), None)
        if bad is not None:
            return f"holds {bad!r}, which is not a name", f"{key} is a list of strings"
        names = tuple(choices()) if choices is not None else ()
        unknown = next((v for v in value if v not in names), None) if names else None
        if unknown is not None:
            return f"holds {unknown!r}, which is not one of {', '.join(names)}", example
        return None

    return check


def _one_of(choices: Sequence[str]) -> Check:
    """One name from a fixed set."""

    def check(key: str, value: Any, table: Mapping[str, Any]) -> Problem:
        if value in choices:
            return None
        return (
            f"is {value!r}, which is not one of {', '.join(choices)}",
            f"{key}: {_BY_NAME[key].description}",
        )

    return check


def _image_check(key: str, value: Any, table: Mapping[str, Any]) -> Problem:
    if _IMAGE_REF.fullmatch(value) and not value.endswith(":latest") and ":" in value:
        return None
    return (
        f"is {value!r}, which is not a pinned image reference",
        "give a tagged image such as python:3.11-slim (never :latest)",
    )


def _route_check(key: str, value: Any, table: Mapping[str, Any]) -> Problem:
    if value.startswith("/"):
        return None
    return f"is {value!r}, which is not an HTTP path", 'predict-route = "/predict"'


def _day_check(key: str, value: Any, table: Mapping[str, Any]) -> Problem:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return None
    return f"is {value!r}, which is not a day YYYY-MM-DD", 'exclude-newer = "2023-07-21"'


def _debian_check(key: str, value: Any, table: Mapping[str, Any]) -> Problem:
    """A list `build --fix` saves: Debian package names (nothing a shell would act on)."""
    bad = next((v for v in value if not isinstance(v, str) or not _DEBIAN_NAME.fullmatch(v)), None)
    if bad is not None:
        return f"holds {bad!r}, which is not a Debian package name", f'{key} = ["libodbc2"]'
    return None


def _requirements_check(key: str, value: Any, table: Mapping[str, Any]) -> Problem:
    """Requirements `build --fix` saves: PEP 508, naming a distribution (no URL, no path)."""
    bad = next((v for v in value if not _requirement(v)), None)
    if bad is not None:
        return f"holds {bad!r}, which is not a requirement", 'dependencies = ["humanize"]'
    return None


#: The settings, one row per key (docs/settings.md lists the same keys, in this order).
KEYS: tuple[Key, ...] = (
    Key("python", str, "Python version X.Y", _python_check),
    Key("entry", (str, list), "the command the container runs", _entry_check),
    Key("ports", list, "ports the app listens on", _ports_check),
    Key("base-image", str, "base image of the final stage", _image_check),
    Key("installer", str, "uv or pip", _one_of(INSTALLERS)),
    Key("buildkit", bool, "false for a Dockerfile the classic builder accepts"),
    Key("deps-from", str, "the dependency source to install from", _one_of(DEPS_FROM)),
    Key("extras", list, "extras to install", _names()),
    Key("groups", list, "dependency groups to install", _names()),
    Key("smoke", str, "a command `dockerize-ml build` runs inside the image as a smoke test"),
    Key(
        "ci",
        list,
        "CI templates to write: github, gitlab",
        _names(lambda: CI_SYSTEMS, 'ci = ["github"]'),
    ),
    Key("k8s", bool, "write Kubernetes manifests"),
    Key("devcontainer", bool, "write .devcontainer/devcontainer.json"),
    Key("device", str, "auto, cpu or cuda", _one_of(DEVICES)),
    Key(
        "platforms",
        list,
        "platforms CI builds: linux/amd64, linux/arm64",
        _names(known_platforms, 'platforms = ["linux/amd64", "linux/arm64"]'),
    ),
    Key(
        "dev-tools", bool, "true keeps a requirements file's test, lint and docs tools in the image"
    ),
    Key(
        "system-packages",
        list,
        "Debian packages the final image needs (build --fix saves them)",
        _debian_check,
    ),
    Key("build-packages", list, "Debian packages the builder stage compiles with", _debian_check),
    Key(
        "dependencies",
        list,
        "requirements installed besides the project's dependency files",
        _requirements_check,
    ),
    Key(
        "targets",
        list,
        "platforms the image runs on: sagemaker, vertex, cloudrun, spaces",
        _names(lambda: TARGETS, 'targets = ["sagemaker"]'),
    ),
    Key("predict-route", str, "the app's prediction route that /invocations serves", _route_check),
    Key(
        "exclude-newer",
        str,
        "YYYY-MM-DD: install releases uploaded before this day (UTC) only",
        _day_check,
    ),
)
_BY_NAME = {key.name: key for key in KEYS}
#: What Debian policy allows in a package name (and nothing a shell would act on).
_DEBIAN_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


def _has_type(value: Any, kind: type | tuple[type, ...]) -> bool:
    """isinstance, except that true and false are no numbers (TOML's booleans)."""
    return isinstance(value, kind) and (not isinstance(value, bool) or kind is bool)


def value_problem(key: str, value: Any, table: Mapping[str, Any]) -> Problem:
    """Why a setting's value cannot be used, as a clause after "setting 'key'", and what to
    do; None when it can be used: its type, control characters, then the row's check."""
    row = _BY_NAME[key]
    if not _has_type(value, row.kind):
        hint = f"{key}: {row.description}"
        if key == "python" and isinstance(value, float):
            hint = 'quote it: python = "3.10" (unquoted, 3.10 is the number 3.1)'
        return f"is {shapes.describe(type(value))}, but must be {shapes.describe(row.kind)}", hint
    words = value if isinstance(value, list) else [value]
    control = next((w for w in words if isinstance(w, str) and CONTROL.search(w)), None)
    if control is not None:
        return (
            f"holds a control character ({control!r}), which would break the scripts written "
            "from it",
            "remove it",
        )
    return row.check(key, value, table) if row.check is not None else None


def _unknown_hint(key: str) -> str:
    """The known keys, with the one ``key`` was probably meant to be first."""
    close = get_close_matches(key.replace("_", "-"), list(_BY_NAME), n=1)
    known = f"known settings: {', '.join(_BY_NAME)} ({docs('settings.md')})"
    return f"did you mean {close[0]!r}? {known}" if close else known


def choices_from(mapping: Mapping[str, Any], where: str = "run_init") -> Choices:
    """A library caller's choices given by key (as the settings file names them), checked:
    an unknown key or a value of the wrong type is an error with a hint, never ignored."""
    for key, value in mapping.items():
        if key not in _BY_NAME:
            raise InvalidSettingError(f"{where}: unknown setting {key!r}", _unknown_hint(key))
        row = _BY_NAME[key]
        if not _has_type(value, row.kind):
            raise InvalidSettingError(
                f"{where}: setting {key!r} is {shapes.describe(type(value))}, but must be "
                f"{shapes.describe(row.kind)}",
                f"{key}: {row.description}",
            )
    return _to_choices(mapping)


def _to_choices(table: Mapping[str, Any]) -> Choices:
    """The record of a checked table: lists become tuples."""
    values: dict[str, Any] = {
        _BY_NAME[key].attr: tuple(value) if isinstance(value, list) else value
        for key, value in table.items()
    }
    return Choices(**values)


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


def _requirement(value: Any) -> bool:
    """A PEP 508 requirement naming a distribution (no URL, no local path)."""
    if not isinstance(value, str):
        return False
    try:
        requirement = Requirement(value)
    except InvalidRequirement:
        return False
    return requirement.url is None


def load(root: Path) -> Choices:
    """The saved settings, checked: an unknown key, a wrong type or a value that cannot be
    used is an error naming the file and the key (exit 5), never the flag that the user did
    not pass."""
    path = settings_file(root)
    if not path.is_file():
        return Choices()
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
        if key not in _BY_NAME:
            raise InvalidProjectFileError(f"{where}: unknown setting {key!r}", _unknown_hint(key))
        problem = value_problem(key, value, table)
        if problem is not None:
            message, hint = problem
            found = line_of("\n" + text, f"\n{key}")
            at = f":{found}" if found and path.name == OWN_FILE else ""
            raise InvalidProjectFileError(
                f"{where}{at}: setting {key!r} {message}", f"{hint}; see {docs('settings.md')}"
            )
    return _to_choices(table)


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


def to_settings(saved: Choices, flags: Choices) -> Settings:
    """The settings of this run, layered once: what was saved, overridden by this run's
    flags (what detection found is the plan's, where a setting is None or empty)."""
    merged = flags.over(saved)
    python = flags.python
    problem = python_problem(str(python), merged.base_image) if python else None
    if problem is not None:
        raise InvalidSettingError(f"--python {python} {problem[0]}", problem[1])
    entry = merged.entry
    if isinstance(entry, str):
        try:
            entry = tuple(shlex.split(entry))
        except ValueError as exc:  # the CLI checks its flag; a library caller may not
            raise InvalidSettingError(f"--entry {entry!r} cannot be split ({exc})", "") from None
    return Settings(
        python=merged.python,
        entry=tuple(entry) if entry else None,
        ports=tuple(int(p) for p in merged.ports or ()),
        base_image=merged.base_image,
        buildkit=bool(merged.buildkit if merged.buildkit is not None else True),
        installer=str(merged.installer or "uv"),
        extras=tuple(merged.extras or ()),
        groups=tuple(merged.groups or ()),
        ci=tuple(merged.ci or ()),
        k8s=bool(merged.k8s),
        devcontainer=bool(merged.devcontainer),
        device=str(merged.device or "auto"),
        dev_tools=bool(merged.dev_tools),
        platforms=tuple(merged.platforms or ()),
        system_packages=tuple(merged.system_packages or ()),
        build_packages=tuple(merged.build_packages or ()),
        dependencies=tuple(merged.dependencies or ()),
        targets=tuple(merged.targets or ()),
        predict_route=merged.predict_route,
        exclude_newer=merged.exclude_newer or "",
        deps_from=merged.deps_from,
        smoke=merged.smoke,
    )

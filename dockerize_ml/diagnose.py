"""What a failed build or smoke test teaches, as changes to the saved settings.

Pure: a log (the build's, or a smoke test's output) and facts of the plan in, causes out. Each
:class:`Finding` names the cause and the change in one line each, and carries the change as
settings (``system-packages``, ``build-packages``, ``dependencies``, ``python``, ``entry``,
``ports``) that ``build --fix`` saves and the next ``init`` replays: a fix is never a patch to a
generated file. Recognised:

- a shared library missing at import (``libodbc.so.2: cannot open shared object file``, a
  package's own "failed to find libmagic") -> the Debian package of the base image's release
  that ships it (``knowledge/debian.toml``, made from Debian's own archive index);
- a C header or tool missing while a source distribution compiles (``lber.h: No such file``,
  ``pg_config``, ``gcc``) -> the ``-dev`` packages, in the builder stage (no compiler reaches
  the final image), and the library the final image then needs;
- no distribution for this Python (pip's ``No matching distribution``, uv's wheel-tag and
  ``requires-python`` messages) -> the nearest Python for which the pin has wheels;
- ``ModuleNotFoundError`` -> the distribution that provides the module;
- a server that does not answer from outside (it listens on 127.0.0.1) -> host/port arguments;
- an entry point that exits at once asking for an argument -> the README's example command;
- uv refusing an old release's metadata (``pandas==0.24.2 has invalid metadata``) -> pip;
- today's release of an unpinned dependency that breaks a pinned one (``pyarrow requires NumPy
  2.0 or newer``, a module compiled for NumPy 1.x, a dependency importing a name another one
  no longer has) -> resolve as of the day the pins were written (``exclude-newer``, asof.py).
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from dockerize_ml import knowledge

#: Settings whose values are lists that a fix extends (the others it replaces).
LIST_KEYS = ("system-packages", "build-packages", "dependencies", "ports")
COMPILER = "build-essential"
#: Programs whose absence means there is no C compiler or make.
_COMPILERS = {"gcc", "cc", "g++", "c++", "x86_64-linux-gnu-gcc", "x86_64-linux-gnu-g++", "make"}
#: Server programs and how each is told where to listen.
_LISTEN_ARGS: dict[str, Callable[[int], list[str]]] = {
    "uvicorn": lambda port: ["--host", "0.0.0.0", "--port", str(port)],
    "flask": lambda port: ["--host", "0.0.0.0", "--port", str(port)],
    "gunicorn": lambda port: ["--bind", f"0.0.0.0:{port}"],
    "streamlit": lambda port: ["--server.address", "0.0.0.0", "--server.port", str(port)],
}


@dataclass(frozen=True)
class Facts:
    """What the plan knows that a diagnosis needs; the look-ups are the caller's (the
    package index), so that this module stays pure."""

    python: str = ""
    command: tuple[str, ...] = ()
    port: int = 0
    #: The entry script's source, to see the options it takes (``--host``, ``--port``).
    entry_source: str = ""
    #: Commands the README runs, as argv.
    readme_commands: tuple[tuple[str, ...], ...] = ()
    #: The project's own top-level modules: a missing one is no distribution's.
    local_modules: frozenset[str] = frozenset()
    #: Pythons X.Y the release ``name==version`` has wheels for (None: unknown).
    wheel_pythons: Callable[[str, str], tuple[str, ...] | None] = lambda name, version: None
    #: The distribution that provides an import name, its longest known dotted prefix
    #: deciding (``google.cloud.storage``: google-cloud-storage; None: unknown).
    distribution_of: Callable[[str], str | None] = lambda module: None
    #: Pythons an image can be made of, oldest first.
    known_pythons: tuple[str, ...] = ()
    #: The day (YYYY-MM-DD) the project's pins were written (asof.py), asked only when a
    #: log shows releases that do not work together; None: nothing pinned to date it by.
    as_of: Callable[[], str | None] = lambda: None


@dataclass(frozen=True)
class Finding:
    """One recognised cause: what went wrong, what to change, and the change as settings."""

    kind: str
    cause: str
    change: str
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON data."""
        return {
            "kind": self.kind,
            "cause": self.cause,
            "change": self.change,
            "settings": self.settings,
        }


def _table(name: str) -> dict[str, str]:
    rows: dict[str, str] = knowledge.load("debian")[name]
    return rows


def library_package(library: str) -> str | None:
    """The Debian package that ships ``library`` (``libodbc.so.2``, or a bare ``libmagic``
    whose soname the log does not give)."""
    libraries = _table("libraries")
    if library in libraries:
        return libraries[library]
    stem = library.split(".so", maxsplit=1)[0]
    found = sorted(k for k in libraries if k.startswith(stem + ".so."))
    return libraries[found[-1]] if found else None


def header_package(header: str) -> str | None:
    """The ``-dev`` package that ships ``header`` as it was included (``lber.h``,
    ``openssl/ssl.h``, ``libxml/xmlversion.h`` under ``libxml2/``)."""
    headers = _table("headers")
    header = header.lstrip("./")
    if header in headers:
        return headers[header]
    folder = header.rpartition("/")[0]
    while folder:
        if folder + "/" in headers:
            return headers[folder + "/"]
        under = sorted(k for k in headers if k.endswith("/" + folder + "/"))
        if under:
            return headers[under[0]]
        folder = folder.rpartition("/")[0]
    return None


def _dev_packages(dev: str) -> dict[str, Any]:
    """The builder's packages for a ``-dev`` package, and the library the final image needs."""
    change: dict[str, Any] = {"build-packages": [dev, COMPILER]}
    runtime = _table("runtime").get(dev)
    if runtime:
        change["system-packages"] = [runtime]
    return change


def _dev_change(dev: str) -> str:
    runtime = _table("runtime").get(dev)
    final = (
        f", and {runtime} in the final image (build --fix saves system-packages)" if runtime else ""
    )
    return f"install {dev} in the builder stage (build-packages){final}"


_SHARED = re.compile(r"(lib[\w.+-]*?\.so(?:\.\d+)*): cannot open shared object file")
_FIND_LIB = re.compile(
    r"(?:failed to find|could not find|cannot find|unable to find|unable to load|"
    r"no library called) (?:the )?(lib[a-z0-9_+-]+)",
    re.IGNORECASE,
)
#: ctypes users name the library without its prefix: "Unable to find dmtx shared library".
_FIND_SHARED = re.compile(
    r"(?:unable|failed) to (?:find|load) (?:the )?([\w+-]+) shared library", re.I
)


def _missing_library(log: str) -> tuple[str, str] | None:
    """The library a log says is missing (``libodbc.so.2``, ``libmagic``, ``libdmtx``), and
    the words that said so."""
    found = _SHARED.search(log) or _FIND_LIB.search(log)
    if found is not None:
        return found.group(1), found.group(0)
    bare = _FIND_SHARED.search(log)
    if bare is not None:
        return "lib" + bare.group(1).removeprefix("lib"), bare.group(0)
    return None


def _shared_library(log: str, facts: Facts) -> Finding | None:
    missing = _missing_library(log)
    if missing is None:
        return None
    library, said = missing
    package = library_package(library)
    if package is None:
        return None
    return Finding(
        "shared-library",
        f"the image lacks the shared library {library} ({said.strip()[:120]})",
        f"install the Debian package {package} in the final image (system-packages)",
        {"system-packages": [package]},
    )


_HEADER = re.compile(r"fatal error: ([\w./+-]+\.h): No such file or directory")
_TOOL = re.compile(
    r"(?:error: command '(?:/usr/bin/)?([\w+.-]+)' failed: No such file or directory"
    r"|unable to execute '([\w+.-]+)': No such file or directory"
    r"|\[Errno 2\] No such file or directory: '([\w+.-]+)'"
    r"|(?:/bin/sh: \d+: )?([\w+.-]+): (?:command )?not found"
    r"|([\w+.-]+_config|[\w+.-]+-config) executable not found"
    r"|Could not find ([\w+.-]+-config|[\w+.-]+_config))"
)


def _compile_header(log: str, facts: Facts) -> Finding | None:
    found = _HEADER.search(log)
    if found is None:
        return None
    header = found.group(1)
    if header == "Python.h":
        dev: str | None = "python3-dev"
    else:
        dev = header_package(header)
    if dev is None:
        return None
    return Finding(
        "missing-header",
        f"a source distribution compiles and needs the header {header}",
        _dev_change(dev),
        _dev_packages(dev),
    )


def _compile_tool(log: str, facts: Facts) -> Finding | None:
    for found in _TOOL.finditer(log):
        tool = next(g for g in found.groups() if g)
        if tool in _COMPILERS:
            return Finding(
                "no-compiler",
                f"a source distribution compiles, and the builder has no {tool}",
                f"install {COMPILER} in the builder stage (build-packages); the final image "
                "gets the built packages, not the compiler",
                {"build-packages": [COMPILER]},
            )
        dev = _table("tools").get(tool) or ("pkg-config" if tool == "pkg-config" else None)
        if dev is not None:
            return Finding(
                "missing-tool",
                f"a source distribution runs {tool} to build, and the builder has none",
                _dev_change(dev),
                _dev_packages(dev) if dev != "pkg-config" else {"build-packages": [dev]},
            )
    return None


_NO_DISTRIBUTION = (
    # uv: "Because onnxruntime==1.16.3 has no wheels with a matching Python ABI tag"
    re.compile(r"Because ([\w.-]+)==([\w.+!-]+) has no wheels with a matching Python"),
    # uv: "... and django==6.0 depends on Python>=3.12"
    re.compile(r"([\w.-]+)==([\w.+!-]+) depends on Python[<>=!~]"),
    # pip: "No matching distribution found for onnxruntime==1.16.3"
    re.compile(r"No matching distribution found for ([\w.-]+)==([\w.+!-]+)"),
)
_ABI_TAGS = re.compile(r"following Python ABI tags?: ([^\n]+)")


def _pythons_from_tags(log: str) -> tuple[str, ...]:
    """uv's hint lists the CPython tags the release has wheels for (`cp38`, `cp311`)."""
    found = _ABI_TAGS.search(log)
    if found is None:
        return ()
    tags = re.findall(r"cp(\d)(\d+)", found.group(1))
    return tuple(f"{major}.{minor}" for major, minor in tags)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def nearest_python(current: str, options: Iterable[str]) -> str | None:
    """The Python of ``options`` nearest ``current`` (the older one on a tie: it has more
    wheels), never ``current`` itself."""
    if not current:
        return None
    now = _key(current)
    choices = [o for o in dict.fromkeys(options) if o != current]
    if not choices:
        return None
    return min(choices, key=lambda o: (abs(_key(o)[1] - now[1]), _key(o)))


def _no_distribution(log: str, facts: Facts) -> Finding | None:
    for pattern in _NO_DISTRIBUTION:
        found = pattern.search(log)
        if found is None:
            continue
        name, version = found.group(1), found.group(2)
        pythons = facts.wheel_pythons(name, version) or _pythons_from_tags(log)
        known = [p for p in pythons if not facts.known_pythons or p in facts.known_pythons]
        target = nearest_python(facts.python, known)
        if target is None:
            return None
        return Finding(
            "no-wheel",
            f"{name}=={version} has no distribution for Python {facts.python} "
            f"(it has wheels for Python {', '.join(pythons)})",
            f"build on Python {target} (python = {target!r})",
            {"python": target},
        )
    return None


_NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


def _missing_module(log: str, facts: Facts) -> Finding | None:
    found = _NO_MODULE.search(log)
    if found is None:
        return None
    name = found.group(1)
    module = name.split(".")[0]
    if module in facts.local_modules:
        return None
    distribution = facts.distribution_of(module)
    if distribution is None:
        return None
    # The distribution of the whole dotted name (google.cloud.storage is
    # google-cloud-storage's, not the distribution of the `google` namespace)
    own = facts.distribution_of(name)
    if own is not None and own != distribution:
        distribution = own
    elif "." in name:
        # Python imported the parent package, then missed the submodule: the distribution
        # is installed, and its release no longer has it (`langchain.chains` is gone from
        # langchain 1.0). Not a missing distribution: an unpinned one too new.
        return _removed_submodule(name, distribution, facts)
    requirement = distribution + _removed_bound(module, distribution)
    return Finding(
        "missing-module",
        f"the code imports {module}, which no installed distribution provides"
        + (f" (today's {distribution} no longer has it)" if requirement != distribution else ""),
        f"install the distribution {requirement} (dependencies; better: declare it in the "
        "project's dependency file)",
        {"dependencies": [requirement]},
    )


def _removed_bound(module: str, distribution: str) -> str:
    """``<82.0`` when the module is one the distribution removed (``pkg_resources`` from
    setuptools: the apis table), so that installing it brings the module back."""
    for row in knowledge.load("apis")["removed"]:
        if row["use"] == module and row["dist"] == distribution:
            return f"<{row['removed']}"
    return ""


def _removed_submodule(name: str, distribution: str, facts: Facts) -> Finding | None:
    day = facts.as_of()
    if day is None:
        return None
    older, settings = _of_the_day(day, facts)
    return Finding(
        "newer-release",
        f"the installed release of {distribution} has no module {name} (today's release "
        "removed it; the code was written against an older one)",
        f"resolve as of {day}{older}, after the newest pin and the dependency files' last "
        f"change (exclude-newer = {day!r}; delete it to resolve as of today; better: pin "
        f"{distribution} to the release you use)",
        settings,
    )


def python_of_the_day(day: str) -> str | None:
    """The newest Python released by ``day``, from the ``released`` rows; None for a day
    before them all."""
    when = dt.date.fromisoformat(day)
    released: dict[str, str] = knowledge.load("python")["released"]
    ready = [v for v, on in released.items() if dt.date.fromisoformat(on) <= when]
    return max(ready, key=_key, default=None)


def _of_the_day(day: str, facts: Facts) -> tuple[str, dict[str, Any]]:
    """The settings that resolve as of ``day``: with a Python of that day too when the
    image's is newer (it did not exist yet: nothing had wheels for it)."""
    settings: dict[str, Any] = {"exclude-newer": day}
    python = python_of_the_day(day)
    if python and facts.python and _key(facts.python) > _key(python):
        settings["python"] = python
        return f" on Python {python} (Python {facts.python} was not released then)", settings
    return "", settings


_LOOPBACK = re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\]):(\d{2,5})")


def _listen_args(facts: Facts, port: int) -> list[str] | None:
    program = facts.command[0] if facts.command else ""
    if program in _LISTEN_ARGS:
        return _LISTEN_ARGS[program](port)
    options = set(re.findall(r"""add_argument\(\s*["'](--[\w-]+)""", facts.entry_source))
    options |= set(re.findall(r"""@click\.option\(\s*["'](--[\w-]+)""", facts.entry_source))
    if "--host" not in options:
        return None
    return ["--host", "0.0.0.0", *(["--port", str(port)] if "--port" in options else [])]


def _strip_listen(command: tuple[str, ...]) -> list[str]:
    """The command without the host/port arguments it already has."""
    out: list[str] = []
    skip = False
    for word in command:
        if skip:
            skip = False
            continue
        if word in ("--host", "--port", "--bind", "-b", "--server.address", "--server.port"):
            skip = True
            continue
        if word.startswith(("--host=", "--port=", "--bind=")):
            continue
        out.append(word)
    return out


def _loopback_server(log: str, facts: Facts) -> Finding | None:
    if "nothing answered on port" not in log and "answers on port" not in log:
        return None
    found = _LOOPBACK.search(log)
    if found is None:
        return None
    port = int(found.group(1))
    args = _listen_args(facts, port)
    if args is None:
        return None
    entry = [*_strip_listen(facts.command), *args]
    return Finding(
        "loopback-server",
        f"the server listens on {found.group(0)}, a loopback address that nothing outside the "
        "container reaches",
        f"run it listening on 0.0.0.0:{port}: entry = {shlex.join(entry)!r}",
        {"entry": shlex.join(entry), "ports": [port]},
    )


_NEEDS_ARGUMENT = re.compile(
    r"error: the following arguments are required: ([^\n]+)"
    r"|Error: Missing (?:argument|option) '?([^\n'.]+)"
    r"|usage: [^\n]+\n[^\n]*error: ([^\n]+)"
)


def _script_of(command: Iterable[str]) -> str:
    words = list(command)
    if words[:2] == ["python", "-m"] and len(words) > 2:
        return words[2]
    return next((w for w in words if w.endswith(".py")), words[0] if words else "")


def _needs_argument(log: str, facts: Facts) -> Finding | None:
    found = _NEEDS_ARGUMENT.search(log)
    if found is None or not facts.command:
        return None
    missing = next(g for g in found.groups() if g).strip()
    script = _script_of(facts.command)
    example = next(
        (
            c
            for c in facts.readme_commands
            if _script_of(c) == script and tuple(c) != facts.command and len(c) > 1
        ),
        None,
    )
    if example is None:
        return None
    entry = shlex.join(example)
    return Finding(
        "entry-argument",
        f"`{shlex.join(facts.command)}` exits at once asking for an argument ({missing[:80]})",
        f"run the README's example: entry = {entry!r}",
        {"entry": entry},
    )


_INVALID_METADATA = re.compile(r"Because ([\w.-]+)==([\w.!+-]+) has invalid metadata")


def _invalid_metadata(log: str, facts: Facts) -> Finding | None:
    """uv refuses a release whose metadata it cannot parse (old releases: pandas 0.24.2);
    pip installs it."""
    found = _INVALID_METADATA.search(log)
    if found is None:
        return None
    return Finding(
        "invalid-metadata",
        f"uv cannot parse the metadata of {found.group(1)}=={found.group(2)} (an old "
        "release's); pip installs it",
        "install with pip (installer = 'pip')",
        {"installer": "pip"},
    )


#: Releases that do not work together, as they fail at import.
_INCOMPATIBLE = (
    re.compile(r"ImportError: ([\w.-]+ requires [\w.-]+ [\d.]+ or newer, found [\w.]+)"),
    re.compile(r"(A module that was compiled using NumPy 1\.x cannot be run in\s+NumPy 2)"),
    re.compile(r"(numpy\.dtype size changed, may indicate binary incompatibility)"),
)
#: A dependency that imports what another dependency no longer has: the traceback's last
#: frame and the module named are both installed packages, not the project's code.
_GONE_NAME = re.compile(
    r'File "[^"\n]*site-packages/[^"\n]+", line \d+, in [^\n]+\n(?:[^\n]*\n){0,3}?'
    r"(?:ImportError: (cannot import name '\w+' from '[\w.]+') \([^)\n]*site-packages"
    r"|AttributeError: (module '[\w.]+' has no attribute '\w+'))"
)


#: The import probe's line for a distribution whose own import fails on a name another
#: distribution no longer has (pandas 1.0 under NumPy 1.24: `np.bool` is gone).
_PROBE_GONE = re.compile(
    r"[\w.-]+: import [\w.]+: (?:AttributeError: (module '[\w.]+' has no attribute '\w+')"
    r"|ImportError: (cannot import name '\w+' from '[\w.]+'))"
)


def _newer_release(log: str, facts: Facts) -> Finding | None:
    found = next((m for m in (p.search(log) for p in _INCOMPATIBLE) if m), None)
    found = found or _GONE_NAME.search(log) or _PROBE_GONE.search(log)
    if found is None:
        return None
    day = facts.as_of()
    if day is None:
        return None
    what = next(g for g in found.groups() if g)
    older, settings = _of_the_day(day, facts)
    return Finding(
        "newer-release",
        f"today's releases of the dependencies left unpinned do not work with the pinned ones "
        f"({what})",
        f"resolve as of {day}{older}, after the newest pin and the dependency files' last "
        f"change (exclude-newer = {day!r}; delete it to resolve as of today)",
        settings,
    )


#: In the order tried: the first that recognises the log names the cause.
RULES: tuple[Callable[[str, Facts], Finding | None], ...] = (
    _no_distribution,
    _invalid_metadata,
    _compile_tool,
    _compile_header,
    _shared_library,
    _missing_module,
    _needs_argument,
    _loopback_server,
    _newer_release,
)


def diagnose(log: str, facts: Facts) -> list[Finding]:
    """The recognised causes in ``log`` (each rule at most once), most specific first."""
    found: list[Finding] = []
    for rule in RULES:
        finding = rule(log, facts)
        if finding is not None:
            found.append(finding)
    return found


def merge(saved: dict[str, Any], findings: Iterable[Finding]) -> dict[str, Any]:
    """The settings changes the findings make to ``saved``: list settings extended (in
    order, without repeats), the others replaced; only keys whose value changes."""
    changes: dict[str, Any] = {}
    for finding in findings:
        for key, value in finding.settings.items():
            current = changes.get(key, saved.get(key))
            if key in LIST_KEYS:
                merged = list(dict.fromkeys([*(current or []), *value]))
                if merged != list(saved.get(key) or []):
                    changes[key] = merged
            elif value != saved.get(key):
                changes[key] = value
    return changes

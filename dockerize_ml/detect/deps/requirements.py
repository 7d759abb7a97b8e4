"""requirements files: includes, options, local paths, VCS URLs, hashes, markers, ``${VAR}``."""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace

from dockerize_ml.detect.deps.model import Candidate, checkout_name, parse_dependency, url_name
from dockerize_ml.detect.files import require_text
from dockerize_ml.errors import InvalidProjectFileError, docs
from dockerize_ml.profile import Evidence, LocalInstall
from dockerize_ml.scan import Scan

#: Runtime requirements files, best first. Variants such as requirements-dev.txt or
#: requirements/test.txt are not runtime dependencies.
RUNTIME_FILES = (
    "requirements.txt",
    "requirements/prod.txt",
    "requirements/production.txt",
    "requirements/main.txt",
    "requirements/base.txt",
    "requirements/common.txt",
    "requirements/requirements.txt",
    # a src/ layout whose code folder keeps its requirements beside it
    "src/requirements.txt",
    # repo2docker/Binder's configuration folders
    "binder/requirements.txt",
    ".binder/requirements.txt",
)

#: Base requirements beside a runtime file: part of the run-time set, installed first.
BASE_FILES = ("requirements-base.txt", "requirements_base.txt", "base-requirements.txt")

_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s+|=)\s*(\S+)")
_EDITABLE = re.compile(r"^(-e|--editable)(?:\s+|=)\s*(\S+)")
_COMMENT = re.compile(r"(^|\s)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CREDENTIALS = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
#: Options pip and uv understand inside a requirements file (global and per-requirement).
#: A file URL of an absolute path (``file:///croot/...``, ``file:///C:/b/...``): what `pip
#: freeze` writes for packages conda installed; the path exists only where it ran.
_FROZEN_PATH = re.compile(r"^file://(/|[A-Za-z]:)")

#: Options that say where packages come from, by their long names.
_INDEX_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
}


def index_option(line: str) -> str:
    """``--find-links URL`` for a line that says where packages come from (``-f URL``,
    ``--extra-index-url=URL``, ...), else ""."""
    option, *value = re.split(r"[\s=]+", line.strip(), maxsplit=1)
    if option not in _INDEX_OPTIONS or not value or not value[0].strip():
        return ""
    return f"{_INDEX_OPTIONS[option]} {value[0].strip()}"


KNOWN_OPTIONS = frozenset(
    {
        "-i",
        "--index-url",
        "--extra-index-url",
        "--no-index",
        "-f",
        "--find-links",
        "--pre",
        "--prefer-binary",
        "--only-binary",
        "--no-binary",
        "--trusted-host",
        "--require-hashes",
        "--use-feature",
        "--config-settings",
        "--hash",
        "--global-option",
    }
)
_LOCAL_PATH = re.compile(r"^\.{1,2}(/\S*)?$")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with comments removed and backslash continuations joined, with line numbers."""
    result: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            result.append((start, line))
    if pending.strip():
        result.append((start, pending.strip()))
    return result


def find_runtime_file(scan: Scan) -> str | None:
    """The runtime requirements file of the project, if it has one."""
    return next((rel for rel in RUNTIME_FILES if rel in scan.files), None)


def read_requirements(scan: Scan, rel: str, cand: Candidate) -> None:
    """Read a requirements file and what it includes into ``cand`` (cycles reported)."""
    seen: set[str] = set()

    def visit(path: str, constraint: bool, chain: tuple[str, ...]) -> None:
        if path in chain:
            cand.warnings.append(
                f"{chain[-1]}: includes {path}, which includes it back "
                f"({' -> '.join((*chain, path))}); the cycle is not followed"
            )
            return
        if path in seen:
            return
        seen.add(path)
        if path in scan.files:
            # pip reads it in the image: one it cannot read (not UTF-8, NUL bytes, UTF-16
            # without a byte-order mark) fails the build, so it fails here, naming it.
            text = require_text(scan, path)
        else:
            cand.warnings.append(
                f"{chain[-1] if chain else path}: requirements file {path} is missing or unreadable"
            )
            return
        cand.files.append(path)
        if constraint:
            cand.constraint_files.append(path)
        folder = posixpath.dirname(path)
        for number, line in logical_lines(text):
            include = _INCLUDE.match(line)
            if include:
                target = posixpath.normpath(posixpath.join(folder, include.group(2)))
                visit(target, include.group(1) in ("-c", "--constraint"), (*chain, path))
                continue
            _line(scan, path, folder, number, line, constraint, cand)

    visit(rel, False, ())


#: Control characters but the tab, which pip reads as a space. None belongs in a
#: requirements line, and each would break the scripts and YAML written from one.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _line(
    scan: Scan, path: str, folder: str, number: int, line: str, constraint: bool, cand: Candidate
) -> None:
    _check_line(path, number, line, cand)
    if constraint:
        return  # a constraint narrows versions; it declares nothing
    evidence = Evidence(path, number, line)
    editable = _EDITABLE.match(line)
    target = editable.group(2) if editable else line
    if _LOCAL_PATH.match(target):
        local = posixpath.normpath(posixpath.join(folder, target))
        if local != "." and not local.startswith("../") and not scan.is_dir(local):
            cand.warnings.append(f"{path}:{number}: {target} is not a folder of the project")
        cand.local.append(LocalInstall(local, editable is not None, evidence))
        return
    if editable:
        if target.startswith(("git+", "hg+", "svn+", "bzr+")):
            cand.vcs = cand.vcs or target.startswith("git+")
            cand.vcs_checkouts.append(checkout_name(target))
        return
    if line.startswith("-"):
        _option(path, number, line, cand)
        return
    requirement = line.split(" --", 1)[0].strip()  # per-requirement options follow it
    if requirement.startswith(("git+", "http://", "https://", "file:")) or requirement.endswith(
        (".whl", ".tar.gz", ".zip")
    ):
        _url_requirement(path, number, requirement, cand)
        return  # a bare URL or archive: the installer reads it from the file
    if "${" in requirement:
        return  # resolved by the installer from the environment
    _requirement(path, number, requirement, cand)


def _check_line(path: str, number: int, line: str, cand: Candidate) -> None:
    """What any line may hold that matters: a control character (an error), ``${VAR}``
    references (build secrets), a URL with a password (a warning)."""
    control = _CONTROL.search(line)
    if control is not None:
        raise InvalidProjectFileError(
            f"{path}:{number}: a control character ({control.group()!r}) in {line!r}, which "
            "pip cannot read as a requirement or an option",
            f"remove it from line {number} of {path}",
        )
    for var in _ENV_VAR.findall(line):
        if var not in cand.secrets:
            cand.secrets.append(var)
    if _CREDENTIALS.search(line):
        cand.warnings.append(
            f"{path}:{number}: a URL with a user and password; it would be baked into the image "
            "and the build log. Use ${VAR} in its place and pass VAR as a build secret "
            f"({docs('private-indexes.md')})"
        )


def _option(path: str, number: int, line: str, cand: Candidate) -> None:
    """An option line: ``--no-binary`` (a source build), an index option, or one pip knows
    that dockerize-ml does not (a warning)."""
    option = re.split(r"[\s=]", line, maxsplit=1)[0]
    if option == "--no-binary":
        cand.source_builds.append(Evidence(path, number, line))
    index = index_option(line)
    if index:
        cand.index_options.append(index)
    if option not in KNOWN_OPTIONS:
        cand.warnings.append(f"{path}:{number}: unknown option {option}; left to the installer")


def _url_requirement(path: str, number: int, requirement: str, cand: Candidate) -> None:
    """A URL or an archive: the installer reads it from the file; the distribution its
    ``#egg=`` names is declared."""
    cand.vcs = cand.vcs or requirement.startswith("git+")
    cand.url_names.append(url_name(requirement))
    egg = re.search(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if egg:  # the distribution named by the URL: declared, though the file installs it
        dep = parse_dependency(f"{egg.group(1)} @ {requirement}", path, number, [])
        if dep is not None:
            cand.dependencies.append(dep)


def _requirement(path: str, number: int, requirement: str, cand: Candidate) -> None:
    """A requirement by name; a ``pip freeze`` path of a conda build becomes unpinned."""
    dep = parse_dependency(requirement, path, number, cand.warnings)
    if dep is not None and _FROZEN_PATH.match(dep.url):
        # `pip freeze` in a conda environment: a folder of the machine that froze it.
        cand.frozen_paths.append(Evidence(path, number, dep.url))
        cand.warnings.append(
            f"{path}:{number}: {dep.name} @ {dep.url[:48]}... is a folder on the machine that "
            f"ran `pip freeze` (a conda build path); the image installs {dep.name} from the "
            "index instead, unpinned: pin it (name==version)"
        )
        dep = replace(dep, url="")
    if dep is not None:
        cand.dependencies.append(dep)
        cand.vcs = cand.vcs or dep.url.startswith("git+")


def requirements_candidate(scan: Scan) -> Candidate | None:
    """The requirements-file source of the project, if any."""
    rel = find_runtime_file(scan)
    if rel is None:
        return None
    cand = Candidate("requirements", rel, entry_files=[rel])
    read_requirements(scan, rel, cand)
    # A base file beside it that it does not include (requirements-base.txt with the
    # framework, requirements.txt with the model's own): the run-time set is both.
    folder = posixpath.dirname(rel)
    for name in BASE_FILES:
        base = posixpath.join(folder, name)
        if base in scan.files and base not in cand.files:
            cand.entry_files.insert(0, base)
            read_requirements(scan, base, cand)
    return cand

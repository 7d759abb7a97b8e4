"""What a dependency reader finds in one source: a manifest, with its lockfile if any."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from dockerize_ml.profile import CondaEnv, Dependency, Evidence, LocalInstall, UvWorkspace


@dataclass(frozen=True)
class PythonHint:
    """A Python version (``X.Y``) or range a dependency file states."""

    version: str  # "X.Y" when exact, "" for a range
    spec: SpecifierSet | None
    evidence: Evidence


@dataclass
class Candidate:
    """One dependency source found in the project."""

    kind: str
    path: str  # the file that names the source (the lockfile when there is one)
    lock: str = ""
    dependencies: list[Dependency] = field(default_factory=list)
    #: Files the install step reads; only these reach the dependency layer.
    files: list[str] = field(default_factory=list)
    #: The requirements files given to the installer's ``-r`` (the rest are includes).
    entry_files: list[str] = field(default_factory=list)
    extras: dict[str, list[Dependency]] = field(default_factory=dict)
    groups: dict[str, list[Dependency]] = field(default_factory=dict)
    local: list[LocalInstall] = field(default_factory=list)
    python: list[PythonHint] = field(default_factory=list)
    #: Environment variables the files reference (``${TOKEN}``): passed as build secrets.
    secrets: list[str] = field(default_factory=list)
    vcs: bool = False
    #: ``--no-binary`` options: distributions (or :all:) built from source, with where.
    source_builds: list[Evidence] = field(default_factory=list)
    #: Where the requirements files say packages come from (--index-url, --find-links, ...).
    index_options: list[str] = field(default_factory=list)
    #: The constraints files (``-c FILE``) the requirements files name.
    constraint_files: list[str] = field(default_factory=list)
    #: Distributions that bare URL requirements most likely install (their ``#egg=`` name
    #: or the repository's name): counted as declared when the code imports them.
    url_names: list[str] = field(default_factory=list)
    #: Dependencies whose [tool.uv.sources] entry was applied (git, URL, path, workspace).
    uv_sources: list[str] = field(default_factory=list)
    #: The uv workspace (with its lock) that the project's workspace sources point into.
    uv_workspace: UvWorkspace | None = None
    #: ``name @ file:///abs/path`` lines of `pip freeze` in a conda environment.
    frozen_paths: list[Evidence] = field(default_factory=list)
    conda: CondaEnv | None = None
    #: Names of editable VCS requirements (``-e git+...#egg=NAME``): pip clones each into
    #: ``src/NAME`` of the working copy when it installs outside a virtualenv.
    vcs_checkouts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def to_dependency(req: Requirement, source: str, line: int) -> Dependency:
    """A :class:`Dependency` from a parsed requirement, its name canonicalised (PEP 503)."""
    return Dependency(
        name=canonicalize_name(req.name),
        specifier=str(req.specifier),
        source=source,
        markers=str(req.marker) if req.marker else "",
        extras=tuple(sorted(req.extras)),
        url=req.url or "",
        line=line,
    )


def parse_dependency(text: str, source: str, line: int, warnings: list[str]) -> Dependency | None:
    """Parse a PEP 508 string; a malformed one becomes a warning naming file and line."""
    try:
        return to_dependency(Requirement(text), source, line)
    except InvalidRequirement as exc:
        where = f"{source}:{line}" if line else source
        reason = str(exc).splitlines()[0] if str(exc).strip() else "unparsable"
        warnings.append(f"{where}: {text!r} is not a valid requirement ({reason}); skipped")
        return None


def checkout_name(url: str) -> str:
    """The folder pip clones an editable VCS requirement into (under ``src/``): its
    ``#egg=`` name as written, else the repository's name."""
    egg = re.search(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)", url)
    return egg.group(1) if egg else url_name(url)


def url_name(url: str) -> str:
    """The distribution a bare URL requirement most likely installs: its ``#egg=`` name, or
    the last part of its path (``git+https://github.com/openai/CLIP.git@main`` -> ``clip``)."""
    egg = re.search(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)", url)
    if egg:
        return canonicalize_name(egg.group(1))
    path = url.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    last = path.rsplit("/", 1)[-1].split("@", 1)[0]
    for suffix in (".git", ".zip", ".tar.gz", ".whl"):
        last = last.removesuffix(suffix)
    return canonicalize_name(last.split("-")[0] if url.endswith(".whl") else last)

"""pyproject.toml sources: PEP 621 (with extras and dependency groups), Poetry, uv and PDM."""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from dockerize_ml.detect import shapes
from dockerize_ml.detect.deps.constraints import ConstraintError, poetry_to_pep440
from dockerize_ml.detect.deps.model import Candidate, PythonHint, parse_dependency
from dockerize_ml.detect.deps.requirements import RUNTIME_FILES, read_requirements
from dockerize_ml.detect.files import (
    line_of,
    parse_toml,
    read_toml_file,
    repository_root,
    require_text,
)
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.profile import Dependency, Evidence, LocalInstall, UvWorkspace
from dockerize_ml.scan import MAX_READ_BYTES, Scan

PYPROJECT = "pyproject.toml"
#: Lockfiles of large projects run to megabytes (every wheel's hash); larger ones are used
#: as they are, unchecked.
MAX_LOCK_BYTES = 16 * 1024 * 1024
#: lockfile -> (a top-level key every lockfile of that tool has, its type, the command that
#: writes it). Poetry writes [metadata] last: a poetry.lock without it was cut short.
_LOCKS: dict[str, tuple[str, type, str]] = {
    "uv.lock": ("version", int, "uv lock"),
    "poetry.lock": ("metadata", dict, "poetry lock"),
    "pdm.lock": ("metadata", dict, "pdm lock"),
}


def check_lock(scan: Scan, rel: str, cand: Candidate) -> None:
    """Refuse a lockfile that its tool would refuse: binary, not UTF-8, not valid TOML,
    cut short, or with packages of the wrong shape (the image installs from it as it is)."""
    key, kind, command = _LOCKS[rel]
    hint = f"regenerate it with `{command}`"
    if scan.size_of(rel) > MAX_LOCK_BYTES:
        cand.warnings.append(
            f"{rel}: larger than {MAX_LOCK_BYTES // (1024 * 1024)} MiB; not checked, "
            "installed as it is"
        )
        return
    try:
        text = require_text(scan, rel, MAX_LOCK_BYTES)
        if len(text) > MAX_READ_BYTES:
            # Parsing megabytes of TOML takes seconds: a big lock gets a cheaper look (its
            # encoding above, and the key its tool writes, as a line of its own).
            line = rf"^{key}[ \t]*=[ \t]*\d" if kind is int else rf"^\[{key}\][ \t]*$"
            doc = {key: kind()} if re.search(line, text, re.MULTILINE) else {}
        else:
            doc = parse_toml(rel, text, shapes.LOCK)
    except InvalidProjectFileError as exc:
        raise InvalidProjectFileError(exc.message, hint) from None
    if not isinstance(doc.get(key), kind):
        what = "table" if kind is dict else "key"
        raise InvalidProjectFileError(
            f"{rel}: no `{key}` {what}, which {command.split()[0]} always writes: the file is "
            "cut short, or not a lockfile",
            hint,
        )


def _line(text: str, item: str) -> int:
    return line_of(text, f'"{item}"') or line_of(text, f"'{item}'") or line_of(text, item)


def _pep508_list(items: Any, text: str, cand: Candidate) -> list[Dependency]:
    found: list[Dependency] = []
    if not isinstance(items, list):
        return found
    for item in items:
        if not isinstance(item, str):
            continue  # {include-group = ...} is resolved by the caller
        dep = parse_dependency(item, PYPROJECT, _line(text, item), cand.warnings)
        if dep is not None:
            found.append(dep)
    return found


def _groups(doc: dict[str, Any], text: str, cand: Candidate) -> dict[str, list[Dependency]]:
    """PEP 735 ``[dependency-groups]``, with ``include-group`` resolved (cycles stop)."""
    raw = doc.get("dependency-groups", {})
    if not isinstance(raw, dict):
        return {}

    def resolve(name: str, stack: tuple[str, ...]) -> list[Dependency]:
        if name in stack or name not in raw:
            cand.warnings.append(f"{PYPROJECT}: dependency group {name!r} cannot be resolved")
            return []
        deps: list[Dependency] = []
        for item in raw[name]:
            if isinstance(item, dict) and "include-group" in item:
                deps += resolve(str(item["include-group"]), (*stack, name))
        return deps + _pep508_list(raw[name], text, cand)

    return {str(name): resolve(str(name), ()) for name in raw}


def _requires_python(doc: dict[str, Any], text: str, cand: Candidate) -> None:
    requires = doc.get("project", {}).get("requires-python")
    if not isinstance(requires, str):
        return
    evidence = Evidence(PYPROJECT, line_of(text, "requires-python"), f"requires-python {requires}")
    try:
        cand.python.append(PythonHint("", SpecifierSet(requires), evidence))
    except InvalidSpecifier:
        cand.warnings.append(f"{PYPROJECT}: requires-python {requires!r} is not a valid range")


def _pep621(doc: dict[str, Any], text: str, cand: Candidate) -> None:
    project = doc.get("project", {})
    if "dependencies" in project.get("dynamic", []):
        cand.warnings.append(
            f"{PYPROJECT}: [project] dependencies are dynamic; dockerize-ml reads only "
            "static dependencies"
        )
    cand.dependencies += _pep508_list(project.get("dependencies"), text, cand)
    optional = project.get("optional-dependencies", {})
    if isinstance(optional, dict):
        for name, items in optional.items():
            cand.extras[str(name)] = _pep508_list(items, text, cand)
    cand.groups.update(_groups(doc, text, cand))
    _requires_python(doc, text, cand)


def _workspace(root: Path) -> tuple[Path, dict[str, Path]] | None:
    """The uv workspace that holds the project at ``root``: its folder, and each member's
    folder by canonical name (the nearest enclosing ``[tool.uv.workspace]``)."""
    for folder in root.resolve().parents:
        doc = read_toml_file(folder / "pyproject.toml", shapes.PYPROJECT)
        workspace = (doc or {}).get("tool", {}).get("uv", {}).get("workspace")
        if not isinstance(workspace, dict):
            continue
        members: dict[str, Path] = {}
        for pattern in workspace.get("members", []) or []:
            try:
                found = sorted(folder.glob(str(pattern)))
            except (ValueError, NotImplementedError, OSError):
                continue  # "", "/abs", "../x": not a member pattern uv accepts either
            for member in found:
                member_doc = read_toml_file(member / "pyproject.toml", shapes.PYPROJECT)
                if member_doc is not None:
                    name = str(member_doc.get("project", {}).get("name", ""))
                    members[canonicalize_name(name)] = member
        return folder, members
    return None


def _relative(path: Path, root: Path) -> str:
    return os.path.relpath(path, root.resolve()).replace(os.sep, "/")


def _record_workspace(root: Path, folder: Path, members: dict[str, Path], cand: Candidate) -> None:
    """Where the workspace's lock and members' pyproject.toml files are, relative to the
    project: the image exports the project's dependencies from that lock."""
    if not (folder / "uv.lock").is_file():
        return
    here = root.resolve()
    package = next((n for n, m in members.items() if m.resolve() == here), here.name)
    cand.uv_workspace = UvWorkspace(
        root=_relative(folder, root),
        lock=_relative(folder / "uv.lock", root),
        pyprojects=tuple(_relative(m / "pyproject.toml", root) for m in members.values()),
        package=canonicalize_name(package),
    )


def _uv_sources(doc: dict[str, Any], text: str, cand: Candidate, root: Path | None = None) -> None:
    """Apply ``[tool.uv.sources]`` to the dependencies read from ``[project]``.

    Without a lockfile, the image installs the dependencies by name; a source says the name
    is not to be looked up on the index: a git or URL source becomes a URL requirement, a path
    a local folder (installed after the code, or left out with a warning when it is outside
    the project), a workspace member is left out with a warning. Never the PyPI package that
    happens to have the same name. Index sources are left to uv, which reads them.
    """
    sources = doc.get("tool", {}).get("uv", {}).get("sources", {})
    if not isinstance(sources, dict):
        return
    uses_workspace = any(isinstance(s, dict) and s.get("workspace") for s in sources.values())
    workspace = _workspace(root) if root is not None and uses_workspace else None
    members = workspace[1] if workspace else {}
    rewritten: dict[str, Dependency | None] = {}
    for raw_name, source in sources.items():
        if not isinstance(source, dict):
            continue
        name = canonicalize_name(str(raw_name))
        line = line_of(text, f"\n{raw_name} =") + 1 if line_of(text, f"\n{raw_name} =") else 0
        handled, dep = _source_rewrite(str(raw_name), source, line, cand, root, members)
        if handled:
            rewritten[name] = dep
    if not rewritten:
        return
    cand.uv_sources = sorted(rewritten)
    if workspace is not None and root is not None:
        folder = workspace[0]
        _record_workspace(root, folder, members, cand)
        in_git = repository_root(root.resolve()) is not None
        if not in_git and (folder / "uv.lock").is_file() and any(n in members for n in rewritten):
            cand.warnings.append(
                f"{PYPROJECT}: the workspace's {_relative(folder / 'uv.lock', root)} is not "
                "used (outside a git repository the image cannot be built from the "
                "workspace's root): this project's dependencies are resolved when the image "
                "is built"
            )
    cand.dependencies = _apply_sources(cand.dependencies, rewritten)
    for table in (cand.extras, cand.groups):
        for key in table:
            table[key] = _apply_sources(table[key], rewritten)


def _source_rewrite(
    raw_name: str,
    source: dict[str, Any],
    line: int,
    cand: Candidate,
    root: Path | None,
    members: dict[str, Path],
) -> tuple[bool, Dependency | None]:
    """What one ``[tool.uv.sources]`` entry makes of its dependency: (True, a URL
    requirement) for git and URL sources, (True, None) for one left out (a path or a
    workspace member, installed as a local folder or with a warning), (False, None) for one
    uv reads itself (an index)."""
    name = canonicalize_name(raw_name)
    evidence = Evidence(PYPROJECT, line, f"{raw_name} = {source}")
    if "git" in source:
        ref = source.get("tag") or source.get("rev") or source.get("branch")
        url = f"git+{source['git']}" + (f"@{ref}" if ref else "")
        if source.get("subdirectory"):
            url += f"#subdirectory={source['subdirectory']}"
        cand.vcs = True
        return True, parse_dependency(f"{raw_name} @ {url}", PYPROJECT, line, [])
    if "url" in source:
        return True, parse_dependency(f"{raw_name} @ {source['url']}", PYPROJECT, line, [])
    if "path" in source:
        path = str(source["path"]).rstrip("/") or "."
        cand.local.append(LocalInstall(path, bool(source.get("editable")), evidence))
        return True, None
    if source.get("workspace") and root is not None and name in members:
        # uv installs workspace members editable
        cand.local.append(LocalInstall(_relative(members[name], root), True, evidence))
        return True, None
    if source.get("workspace"):
        cand.warnings.append(
            f"{PYPROJECT}:{line}: {raw_name} is a member of the uv workspace, outside this "
            "folder (the build context): the image cannot install it and leaves it out. "
            "Publish it to a package index, or move it into the project"
        )
        cand.url_names.append(name)  # declared, for the import check
        return True, None
    return False, None


def _apply_sources(
    deps: list[Dependency], rewritten: dict[str, Dependency | None]
) -> list[Dependency]:
    """``deps`` with the rewritten ones replaced (keeping their extras, markers and line)
    and those left out dropped."""
    kept: list[Dependency] = []
    for dep in deps:
        if dep.name not in rewritten:
            kept.append(dep)
            continue
        new = rewritten[dep.name]
        if new is not None:
            kept.append(replace(new, extras=dep.extras, markers=dep.markers, line=dep.line))
    return kept


def _poetry_dependency(
    name: str, value: Any, text: str, cand: Candidate
) -> tuple[Dependency | None, bool]:
    """One ``[tool.poetry.dependencies]`` entry as PEP 508, and whether it is optional."""
    found_at = line_of(text, f"\n{name} =")
    line = found_at + 1 if found_at else 0
    if isinstance(value, list):  # multiple-constraint entries: take the first
        value = value[0] if value else "*"
    spec = value if isinstance(value, str) else value.get("version", "*")
    optional = isinstance(value, dict) and bool(value.get("optional"))
    if isinstance(value, dict) and "path" in value:
        cand.local.append(
            LocalInstall(
                str(value["path"]).rstrip("/") or ".",
                bool(value.get("develop")),
                Evidence(PYPROJECT, line, f"{name} = path dependency"),
            )
        )
        return None, optional
    if isinstance(value, dict) and "git" in value:
        ref = value.get("tag") or value.get("rev") or value.get("branch")
        url = f"git+{value['git']}" + (f"@{ref}" if ref else "")
        cand.vcs = True
        return parse_dependency(f"{name} @ {url}", PYPROJECT, line, cand.warnings), optional
    try:
        pep440 = poetry_to_pep440(str(spec))
    except ConstraintError as exc:
        cand.warnings.append(f"{PYPROJECT}:{line}: {name}: {exc}; installing any version")
        pep440 = ""
    extras = value.get("extras", []) if isinstance(value, dict) else []
    text_req = name + (f"[{','.join(extras)}]" if extras else "") + pep440
    markers = value.get("markers") if isinstance(value, dict) else None
    if isinstance(value, dict) and "python" in value:
        try:
            python = SpecifierSet(poetry_to_pep440(str(value["python"])))
        except (ConstraintError, InvalidSpecifier):
            cand.warnings.append(
                f"{PYPROJECT}:{line}: {name}: python = {value['python']!r} ignored"
            )
        else:
            clauses = [f'python_version {s.operator} "{s.version}"' for s in python]
            markers = " and ".join(filter(None, [markers, *clauses]))
    if markers:
        text_req += f"; {markers}"
    return parse_dependency(text_req, PYPROJECT, line, cand.warnings), optional


def _poetry(doc: dict[str, Any], text: str, cand: Candidate) -> None:
    poetry = doc.get("tool", {}).get("poetry", {})
    if "dependencies" in doc.get("project", {}):
        _pep621(doc, text, cand)  # Poetry 2 reads [project] first
    else:
        _requires_python(doc, text, cand)
    optional: dict[str, Dependency] = {}
    for name, value in poetry.get("dependencies", {}).items():
        if name.lower() == "python":
            line = line_of(text, "\npython =") + 1
            try:
                spec = SpecifierSet(poetry_to_pep440(str(value)))
            except (ConstraintError, InvalidSpecifier):
                cand.warnings.append(f"{PYPROJECT}:{line}: python = {value!r} not understood")
                continue
            cand.python.append(PythonHint("", spec, Evidence(PYPROJECT, line, f"python = {value}")))
            continue
        if "dependencies" in doc.get("project", {}):
            continue  # Poetry 2: [tool.poetry.dependencies] only refines [project]
        dep, is_optional = _poetry_dependency(name, value, text, cand)
        if dep is None:
            continue
        if is_optional:
            optional[dep.name] = dep
        else:
            cand.dependencies.append(dep)
    for extra, names in poetry.get("extras", {}).items():
        cand.extras[str(extra)] = [optional[n] for n in map(str.lower, names) if n in optional]
    for group, body in poetry.get("group", {}).items():
        deps = []
        for name, value in body.get("dependencies", {}).items():
            dep, _ = _poetry_dependency(name, value, text, cand)
            if dep is not None:
                deps.append(dep)
        cand.groups[str(group)] = deps


def pyproject_candidates(scan: Scan, doc: dict[str, Any] | None) -> list[Candidate]:
    """Every source that pyproject.toml and the lockfiles beside it make."""
    if doc is None:
        return []
    text = scan.read_text(PYPROJECT) or ""
    tool = doc.get("tool", {})
    project = doc.get("project", {})
    found: list[Candidate] = []
    if "uv.lock" in scan.files:
        cand = Candidate("uv", "uv.lock", lock="uv.lock", files=[PYPROJECT, "uv.lock"])
        check_lock(scan, "uv.lock", cand)
        _pep621(doc, text, cand)
        if "workspace" in tool.get("uv", {}):
            cand.warnings.append(
                f"{PYPROJECT}: a uv workspace; only the root project's dependencies are read"
            )
        found.append(cand)
    if "poetry.lock" in scan.files or "poetry" in tool:
        lock = "poetry.lock" if "poetry.lock" in scan.files else ""
        cand = Candidate("poetry", lock or PYPROJECT, lock=lock, files=[PYPROJECT])
        if lock:
            check_lock(scan, lock, cand)
            cand.files.append(lock)
        _poetry(doc, text, cand)
        found.append(cand)
    if "pdm.lock" in scan.files:
        cand = Candidate("pdm", "pdm.lock", lock="pdm.lock", files=[PYPROJECT, "pdm.lock"])
        check_lock(scan, "pdm.lock", cand)
        _pep621(doc, text, cand)
        found.append(cand)
    if not found and ("dependencies" in project or "dependency-groups" in doc):
        cand = Candidate("pep621", PYPROJECT, files=[PYPROJECT])
        _pep621(doc, text, cand)
        _uv_sources(doc, text, cand, scan.root)
        found.append(cand)
    dynamic = tool.get("setuptools", {}).get("dynamic", {}).get("dependencies", {})
    listed = dynamic.get("file") if isinstance(dynamic, dict) else None
    listed = [listed] if isinstance(listed, str) else listed
    if (
        not found
        and "dependencies" in project.get("dynamic", [])
        and isinstance(listed, list)
        and listed
        and all(isinstance(f, str) for f in listed)
        and str(listed[0]) not in RUNTIME_FILES  # that one is a requirements source already
    ):
        # [tool.setuptools.dynamic] dependencies = {file = [...]}: requirements files.
        files = [posixpath.normpath(str(f)) for f in listed]
        cand = Candidate("requirements", files[0], entry_files=files)
        for rel in files:
            read_requirements(scan, rel, cand)
        _requires_python(doc, text, cand)
        found.append(cand)
    if not found and "requires-python" in project:
        # No dependencies, but the Python range still counts.
        cand = Candidate("pep621", PYPROJECT)
        _requires_python(doc, text, cand)
        found.append(cand)
    return found

"""Imports from code and notebooks -> distributions: what is used but declared nowhere.

Relative imports and the project's own modules are local; the standard library is
recognised for the target Python version; imports under ``try/except ImportError`` or
``if TYPE_CHECKING`` are optional. An import name that is neither known (the
``imports`` knowledge table) nor declared is reported as unknown, never guessed.

An import is *undeclared* when no source declares its distribution, no declared
distribution brings it (the ``brings`` table, followed through), and the chosen lockfile
does not list it: ``import starlette`` in a FastAPI app is declared enough.
"""

from __future__ import annotations

import json
import posixpath
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name
from packaging.version import Version

from dockerize_ml import knowledge
from dockerize_ml.detect.code import CodeIndex, Import, SourceFile, dev_file
from dockerize_ml.detect.deps.model import Candidate
from dockerize_ml.detect.deps.requirements import logical_lines
from dockerize_ml.profile import Evidence
from dockerize_ml.scan import Scan


@dataclass
class ImportFacts:
    """Distributions the code imports, and how they relate to what is declared."""

    #: distribution (as the table spells it) -> where it is first imported (non-optional)
    used: dict[str, Evidence] = field(default_factory=dict)
    optional: dict[str, Evidence] = field(default_factory=dict)
    #: not declared by name (what an inferred requirements file lists)
    undeclared: dict[str, Evidence] = field(default_factory=dict)
    #: undeclared, and no declared distribution (nor the lockfile) brings it: installed
    #: only if the image installs it on purpose
    missing: dict[str, Evidence] = field(default_factory=dict)
    unknown: dict[str, Evidence] = field(default_factory=dict)
    #: `!pip install x` lines of notebooks: declarations in their own right.
    notebook_installs: dict[str, Evidence] = field(default_factory=dict)


def _evidence(imp: Import) -> Evidence:
    detail = f"import {imp.module}" + (f" (cell {imp.cell})" if imp.cell else "")
    return Evidence(imp.path, imp.line, detail)


def stdlib_names(python: str) -> set[str]:
    """Top-level standard-library module names for Python ``X.Y``."""
    table = knowledge.load("python")
    names = set(getattr(sys, "stdlib_module_names", ()))
    target = Version(python)
    for name, since in table["stdlib_added"].items():
        (names.add if target >= Version(since) else names.discard)(name)
    for name, gone in table["stdlib_removed"].items():
        (names.discard if target >= Version(gone) else names.add)(name)
    return names | {"__future__"}


def local_modules(scan: Scan) -> set[str]:
    """Top-level names of the project's own modules and packages (flat and src/ layouts)."""
    names: set[str] = set()
    for rel in scan.files:
        if not rel.endswith(".py"):
            continue
        parts = rel.split("/")
        if parts[0] == "src" and len(parts) > 1:
            parts = parts[1:]
        names.add(parts[0].removesuffix(".py"))
    return names


def _modules_by_folder(scan: Scan) -> dict[str, set[str]]:
    """For each folder, the modules and packages directly in it: scripts in a subfolder
    import their neighbours."""
    found: dict[str, set[str]] = {}
    for rel in scan.files:
        if not rel.endswith(".py"):
            continue
        parts = rel.split("/")
        for depth in range(len(parts)):
            folder = "/".join(parts[:depth])
            found.setdefault(folder, set()).add(parts[depth].removesuffix(".py"))
    return found


def provided(declared: Iterable[str]) -> set[str]:
    """The declared distributions and everything they bring (the ``brings`` table,
    followed through), as PEP 503 names."""
    brings: dict[str, list[str]] = knowledge.load("imports")["brings"]
    seen: set[str] = set()
    todo: list[str] = [canonicalize_name(d) for d in declared]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += brings.get(name, [])
    return seen


def lock_names(scan: Scan, lock: str) -> set[str]:
    """Every distribution a lockfile pins (uv, Poetry, PDM: ``name = "..."``; Pipenv: the
    keys of its sections)."""
    text = scan.read_text(lock) if lock in scan.files else None
    if not text:
        return set()
    if lock.endswith(".json") or posixpath.basename(lock) == "Pipfile.lock":
        try:
            data = json.loads(text)
        except ValueError:
            return set()
        sections = [v for k, v in data.items() if k != "_meta" and isinstance(v, dict)]
        return {canonicalize_name(n) for section in sections for n in section}
    return {canonicalize_name(n) for n in re.findall(r'^name = "([^"]+)"', text, re.M)}


def resolve(module: str, table: dict[str, str | list[str]]) -> str | list[str] | None:
    """The distribution for a dotted import name: the longest known prefix wins."""
    parts = module.split(".")
    for size in range(len(parts), 0, -1):
        hit = table.get(".".join(parts[:size]))
        if hit is not None:
            return hit
    return None


def distributions(module: str, table: dict[str, str | list[str]]) -> list[str]:
    """The distributions that may provide an import (the first is the usual one); [] when
    the table does not know it."""
    hit = resolve(module, table)
    return [hit] if isinstance(hit, str) else list(hit or [])


def _notebook_installs(index: CodeIndex) -> dict[str, Evidence]:
    """What notebooks install themselves (``!pip install x``), by requirement name."""
    found: dict[str, Evidence] = {}
    for source in index.files.values():
        for name, line, cell in source.pip_installs:
            detail = f"!pip install {name}" + (f" (cell {cell})" if cell else "")
            requirement = name.split(";")[0].split("[")[0]
            for op in "=<>!~":
                requirement = requirement.split(op)[0]
            found.setdefault(requirement, Evidence(source.path, line, detail))
    return found


def detect_imports(
    scan: Scan, index: CodeIndex, declared: set[str], python: str, locked: set[str] | None = None
) -> ImportFacts:
    """Map every import to a distribution and compare with the declared names (and what
    they bring, and the ``locked`` names of the chosen lockfile)."""
    table: dict[str, str | list[str]] = knowledge.load("imports")["imports"]
    stdlib = stdlib_names(python)
    local = local_modules(scan)
    facts = ImportFacts()
    declared_canon = {canonicalize_name(d) for d in declared}
    facts.notebook_installs = _notebook_installs(index)
    declared_canon |= {canonicalize_name(n) for n in facts.notebook_installs}
    installed = provided(declared_canon) | (locked or set())
    siblings = _modules_by_folder(scan)
    # Tests, docs and setup.py import what the build or CI needs, not what the app runs.
    dev_files = {path for path in index.files if dev_file(path)}
    # What follows depends on the module and whether it is optional, and keeps the first
    # evidence: a module imported again (numpy in every file) is already answered.
    answered: set[tuple[str, bool]] = set()
    for imp in index.imports():
        if imp.path in dev_files:
            continue
        top = imp.module.split(".")[0]
        if imp.level or not top or top in stdlib or top in local:
            continue
        if top in siblings.get(posixpath.dirname(imp.path), ()):
            continue
        if (imp.module, imp.optional) in answered:
            continue
        answered.add((imp.module, imp.optional))
        candidates = distributions(imp.module, table)
        evidence = _evidence(imp)
        if not candidates:
            if canonicalize_name(top) in declared_canon:
                continue  # declared under the import's own name
            facts.unknown.setdefault(top, evidence)
            continue
        dist = candidates[0]
        (facts.optional if imp.optional else facts.used).setdefault(dist, evidence)
        if imp.optional:
            continue
        if not any(canonicalize_name(c) in declared_canon for c in candidates):
            facts.undeclared.setdefault(dist, evidence)
            if not any(canonicalize_name(c) in installed for c in candidates):
                facts.missing.setdefault(dist, evidence)
    for dist in list(facts.optional):
        if dist in facts.used:
            del facts.optional[dist]
    return facts


def undeclared_warning(imports: ImportFacts, chosen: Candidate | None) -> str:
    """What happens to the imports nothing declares: installed, unpinned, after the declared
    dependencies (heavy frameworks in their own layer), except against a lockfile or a
    conda environment that micromamba installs."""
    listed = ", ".join(f"{d} ({e})" for d, e in list(imports.missing.items())[:6])
    more = len(imports.missing) - 6
    listed += f" and {more} more" if more > 0 else ""
    if chosen is not None and (chosen.lock or (chosen.conda and not chosen.conda.pip_installable)):
        where = chosen.lock or chosen.path
        return (
            f"imported but declared nowhere: {listed}; not installed (the image installs "
            f"{where} as it is): add them to it"
        )
    return (
        f"imported but declared nowhere: {listed}; installed anyway, unpinned, after the "
        "declared dependencies: declare them (with the versions you use)"
    )


#: A requirements file by its name: requirements-gpu.txt, requirements/serve.txt.
_REQUIREMENTS_NAME = re.compile(r"(^|/)(requirements[^/]*\.txt|requirements/[^/]+\.txt)$")


def declared_elsewhere(scan: Scan, installed_files: set[str]) -> dict[str, str]:
    """Distributions that a requirements file the image does not install declares (a
    variant's own file: ``requirements-transformers.txt`` beside ``requirements.txt``):
    canonical name -> the first such file, by path."""
    found: dict[str, str] = {}
    for rel in sorted(scan.files):
        if rel in installed_files or not _REQUIREMENTS_NAME.search(rel):
            continue
        for _number, line in logical_lines(scan.read_text(rel) or ""):
            match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)", line)
            if match and not line.startswith("-"):
                found.setdefault(canonicalize_name(match.group(1)), rel)
    return found


def importers(index: CodeIndex, dists: set[str]) -> dict[str, set[str]]:
    """The files that import each of the distributions ``dists`` (canonical names, as the
    imports table maps the imports), in one pass over the imports."""
    table: dict[str, str | list[str]] = knowledge.load("imports")["imports"]
    files: dict[str, set[str]] = {dist: set() for dist in dists}
    for imp in index.imports():
        if imp.level or imp.optional:
            continue
        for name in distributions(imp.module, table):
            if (dist := canonicalize_name(name)) in files:
                files[dist].add(imp.path)
    return files


def _local_files(index: CodeIndex, source: SourceFile) -> set[str]:
    """The project's own modules one file imports (``import inference_onnx``, ``from .data
    import x``, ``from pkg import mod``), as paths of the index."""
    folder = posixpath.dirname(source.path)
    names: list[tuple[str, int]] = [(i.module, i.level) for i in source.imports]
    names += [(name, 0) for name, _line in source.imported]
    found: set[str] = set()
    for module, level in names:
        if level:
            base = folder
            for _ in range(level - 1):
                base = posixpath.dirname(base)
            bases = [base]
        else:
            bases = list(dict.fromkeys([folder, "", "src"]))
        rel = module.replace(".", "/")
        for base in bases:
            stem = posixpath.join(base, rel) if rel else base
            for path in (f"{stem}.py", f"{stem}/__init__.py"):
                if path in index.files:
                    found.add(path)
    return found


def import_closure(index: CodeIndex, start: str) -> set[str]:
    """``start`` and every module of the project it imports, directly or through others."""
    seen = {start}
    todo = [start]
    while todo:
        source = index.files.get(todo.pop())
        for path in _local_files(index, source) - seen if source is not None else ():
            seen.add(path)
            todo.append(path)
    return seen


def leave_to_their_files(
    imports: ImportFacts, index: CodeIndex, elsewhere: dict[str, str], entry_file: str
) -> list[str]:
    """Imports nothing installed declares, that another requirements file declares, and
    that neither the entry file nor a module of the project it imports (its closure) makes
    (server-openai-transformers.py's torch, declared in requirements-transformers.txt, while
    the image runs server.py): a variant's, left to its own file instead of installed; one
    warning says which. Without a known entry file, nothing is left out."""
    if not entry_file or not elsewhere:
        return []
    candidates = {str(canonicalize_name(d)) for d in imports.missing} & set(elsewhere)
    if not candidates:
        return []
    runs = import_closure(index, entry_file)
    by = importers(index, candidates)
    left: dict[str, str] = {}
    for dist in list(imports.missing):
        name = canonicalize_name(dist)
        if name in candidates and not runs & by[name]:
            left[dist] = elsewhere[name]
            del imports.missing[dist]
    if not left:
        return []
    listed = ", ".join(f"{d} ({imports.undeclared[d]}; declared in {f})" for d, f in left.items())
    return [
        f"imported by files the entry point ({entry_file}) never imports, and declared only "
        f"in requirements files the image does not install: {listed}; not installed (add "
        "them to the installed dependency file if the image needs them)"
    ]

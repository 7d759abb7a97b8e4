"""setuptools projects: ``setup.py`` read with ``ast`` (never executed) and ``setup.cfg``."""

from __future__ import annotations

import ast
import configparser
import posixpath
from dataclasses import dataclass, field

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from dockerize_ml.detect import shapes
from dockerize_ml.detect.deps.constraints import ConstraintError, poetry_to_pep440
from dockerize_ml.detect.deps.model import Candidate, PythonHint, parse_dependency
from dockerize_ml.detect.deps.requirements import read_requirements
from dockerize_ml.detect.files import line_of, parse_toml
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.profile import Dependency, Evidence
from dockerize_ml.scan import Scan


@dataclass
class _SetupArgs:
    install_requires: list[tuple[str, int]] | None = None
    install_requires_files: list[str] = field(default_factory=list)
    extras: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    python_requires: tuple[str, int] | None = None
    computed: list[str] = field(default_factory=list)


def _strings(node: ast.expr, names: dict[str, ast.expr]) -> list[tuple[str, int]] | None:
    """A list/tuple of string literals (or a module-level name bound to one, or an item of a
    module-level dict such as ``EXTRAS["fast"]``)."""
    if isinstance(node, ast.Name) and node.id in names:
        node = names[node.id]
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and isinstance(node.slice, ast.Constant)
    ):
        key = f"{node.value.id}[{node.slice.value!r}]"
        if key in names:
            return _strings(names[key], names)
        mapping = names.get(node.value.id)
        if isinstance(mapping, ast.Dict):
            for k, v in zip(mapping.keys, mapping.values, strict=True):
                if isinstance(k, ast.Constant) and k.value == node.slice.value:
                    return _strings(v, names)
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [(e.value, e.lineno) for e in node.elts if isinstance(e, ast.Constant)]
        if len(items) == len(node.elts) and all(isinstance(v, str) for v, _ in items):
            return [(str(v), n) for v, n in items]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _strings(node.left, names), _strings(node.right, names)
        if left is not None and right is not None:
            return left + right
    return None


def _txt_files(node: ast.expr, names: dict[str, ast.expr]) -> list[str]:
    """Requirements files an expression reads (``open("requirements.txt").read()...``)."""
    if isinstance(node, ast.Name) and node.id in names:
        node = names[node.id]
    return [
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.endswith(".txt")
    ]


def _module_names(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level ``NAME = ...`` and ``NAME["key"] = ...`` assignments."""
    names: dict[str, ast.expr] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                names[target.id] = stmt.value
            elif (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and isinstance(target.slice, ast.Constant)
            ):
                names[f"{target.value.id}[{target.slice.value!r}]"] = stmt.value
    return names


def _setup_calls(tree: ast.Module) -> list[ast.Call]:
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called == "setup":
                calls.append(node)
    return calls


def console_scripts(scan: Scan) -> list[tuple[str, str, Evidence]]:
    """``console_scripts`` entry points of setup.py or setup.cfg: (name, target, evidence)."""
    found: list[tuple[str, str, Evidence]] = []
    text = scan.read_text("setup.py")
    if text:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            tree = None
        names = _module_names(tree) if tree else {}
        for call in _setup_calls(tree) if tree else []:
            for kw in call.keywords:
                if kw.arg != "entry_points":
                    continue
                value = (
                    names.get(kw.value.id, kw.value) if isinstance(kw.value, ast.Name) else kw.value
                )
                if not isinstance(value, ast.Dict):
                    continue
                for key, item in zip(value.keys, value.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "console_scripts":
                        for spec, line in _strings(item, names) or []:
                            name, _, target = spec.partition("=")
                            evidence = Evidence("setup.py", line, f"console_scripts {spec}")
                            found.append((name.strip(), target.strip(), evidence))
    text = scan.read_text("setup.cfg")
    if text:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error:
            return found
        if parser.has_option("options.entry_points", "console_scripts"):
            for raw in parser.get("options.entry_points", "console_scripts").splitlines():
                name, _, target = raw.partition("=")
                if name.strip() and target.strip():
                    line = next(
                        (i for i, row in enumerate(text.splitlines(), 1) if raw.strip() in row), 0
                    )
                    evidence = Evidence("setup.cfg", line, f"console_scripts {raw.strip()}")
                    found.append((name.strip(), target.strip(), evidence))
    return found


def _parse_setup_py(text: str, rel: str, warnings: list[str]) -> _SetupArgs | None:
    try:
        tree = ast.parse(text, filename=rel)
    except SyntaxError as exc:
        warnings.append(f"{rel}:{exc.lineno or 0}: syntax error; not read")
        return None
    names = _module_names(tree)
    args = _SetupArgs()
    for call in _setup_calls(tree):
        for kw in call.keywords:
            _keyword(kw, names, args, rel)
    return args


def _keyword(kw: ast.keyword, names: dict[str, ast.expr], args: _SetupArgs, rel: str) -> None:
    if kw.arg == "install_requires":
        args.install_requires = _strings(kw.value, names)
        if args.install_requires is None:
            args.install_requires_files = _txt_files(kw.value, names)
            if not args.install_requires_files:
                args.computed.append(f"{rel}:{kw.value.lineno}: install_requires")
    elif kw.arg == "extras_require":
        value = names.get(kw.value.id, kw.value) if isinstance(kw.value, ast.Name) else kw.value
        if isinstance(value, ast.Dict):
            for key, item in zip(value.keys, value.values, strict=True):
                strings = _strings(item, names) if key is not None else None
                if isinstance(key, ast.Constant) and strings is not None:
                    args.extras[str(key.value)] = strings
            if isinstance(kw.value, ast.Name):  # EXTRAS["all"] = ... after the literal
                prefix = f"{kw.value.id}["
                for name, expr in names.items():
                    strings = _strings(expr, names) if name.startswith(prefix) else None
                    if strings is not None:
                        args.extras[name[len(prefix) : -1].strip("'\"")] = strings
        else:
            args.computed.append(f"{rel}:{kw.value.lineno}: extras_require")
    elif kw.arg == "python_requires" and isinstance(kw.value, ast.Constant):
        args.python_requires = (str(kw.value.value), kw.value.lineno)


def _parse_setup_cfg(text: str, rel: str, warnings: list[str]) -> _SetupArgs | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=rel)
    except configparser.Error as exc:
        warnings.append(f"{rel}: not a valid setup.cfg ({exc.message.splitlines()[0]}); not read")
        return None
    args = _SetupArgs()
    lines = text.splitlines()

    def line_of_value(value: str) -> int:
        return next((i for i, line in enumerate(lines, 1) if value in line), 0)

    def listed(raw: str) -> list[tuple[str, int]]:
        items = [v.strip() for v in raw.replace(";", "\n;").splitlines()]
        return [(v, line_of_value(v)) for v in items if v and not v.startswith(("#", ";"))]

    if parser.has_option("options", "install_requires"):
        args.install_requires = listed(parser.get("options", "install_requires"))
    if parser.has_option("options", "python_requires"):
        value = parser.get("options", "python_requires").strip()
        args.python_requires = (value, line_of_value("python_requires"))
    if parser.has_section("options.extras_require"):
        for key, raw in parser.items("options.extras_require"):
            args.extras[key] = listed(raw)
    return args


def setuptools_candidate(scan: Scan) -> Candidate | None:
    """The setuptools source (``setup.py`` / ``setup.cfg``), if the project has one."""
    files = [f for f in ("setup.py", "setup.cfg") if f in scan.files]
    if not files:
        return None
    cand = Candidate("setuptools", files[0], files=[])
    for rel in files:
        text = scan.read_text(rel) or ""
        parse = _parse_setup_py if rel == "setup.py" else _parse_setup_cfg
        args = parse(text, rel, cand.warnings)
        if args is None:
            continue
        for what in args.computed:
            cand.warnings.append(f"{what} is computed at run time; it is not read (never executed)")
        for req, line in args.install_requires or []:
            dep = parse_dependency(req, rel, line, cand.warnings)
            if dep is not None:
                cand.dependencies.append(dep)
        for path in args.install_requires_files:
            if path in scan.files:
                cand.entry_files.append(path)
                read_requirements(scan, path, cand)
            else:
                cand.warnings.append(f"{rel}: install_requires reads {path}, which is missing")
        for extra, items in args.extras.items():
            deps = [parse_dependency(r, rel, n, cand.warnings) for r, n in items]
            cand.extras[extra] = [d for d in deps if d is not None]
        if args.python_requires is not None:
            value, line = args.python_requires
            try:
                spec = SpecifierSet(value)
            except InvalidSpecifier:
                cand.warnings.append(
                    f"{rel}:{line}: python_requires {value!r} is not a valid range"
                )
            else:
                evidence = Evidence(rel, line, f"python_requires {value}")
                cand.python.append(PythonHint("", spec, evidence))
    return cand


def folder_requirements(scan: Scan, folder: str, warnings: list[str]) -> list[Dependency]:
    """What a local folder the project installs (``-e ./libs/featurizer``) declares it needs:
    its ``[project] dependencies``, Poetry dependencies, or setup.py / setup.cfg
    ``install_requires``, read statically. The folder is installed without dependencies
    after the code, so these go into the dependency layer."""
    found: list[Dependency] = []

    def joined(folder: str, name: str) -> str:
        return name if folder in ("", ".") else posixpath.join(folder, name)

    pyproject = joined(folder, "pyproject.toml")
    if pyproject in scan.files:
        text = scan.read_text(pyproject) or ""
        try:
            doc = parse_toml(pyproject, text, shapes.PYPROJECT)
        except InvalidProjectFileError as exc:
            warnings.append(f"{exc.message}; its dependencies are not read")
            doc = {}
        items = doc.get("project", {}).get("dependencies")
        sources = doc.get("tool", {}).get("uv", {}).get("sources", {})
        sources = sources if isinstance(sources, dict) else {}
        for item in items if isinstance(items, list) else []:
            dep = parse_dependency(str(item), pyproject, line_of(text, str(item)), warnings)
            source = (
                sources.get(dep.name) if dep is not None and isinstance(sources, dict) else None
            )
            if isinstance(source, dict) and ("workspace" in source or "path" in source):
                warnings.append(
                    f"{pyproject}: {dep.name if dep else item} comes from a path or the uv "
                    "workspace; it is not followed from there: install it from the project"
                )
                continue
            if dep is not None:
                found.append(dep)
        poetry = doc.get("tool", {}).get("poetry", {}).get("dependencies", {})
        for name, value in poetry.items() if isinstance(poetry, dict) else []:
            if name.lower() == "python" or not isinstance(value, str):
                continue  # tables (path, git) are not followed here
            try:
                spec = poetry_to_pep440(value)
            except ConstraintError:
                spec = ""
            dep = parse_dependency(f"{name}{spec}", pyproject, line_of(text, name), warnings)
            if dep is not None:
                found.append(dep)
    for name, parse in (("setup.py", _parse_setup_py), ("setup.cfg", _parse_setup_cfg)):
        rel = joined(folder, name)
        if found or rel not in scan.files:
            continue
        args = parse(scan.read_text(rel) or "", rel, warnings)
        for req, line in (args.install_requires or []) if args else []:
            dep = parse_dependency(req, rel, line, warnings)
            if dep is not None:
                found.append(dep)
    return found

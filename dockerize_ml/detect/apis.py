"""Code that runs only on old releases: the APIs it uses bound the versions, and the Python.

A use of an API a distribution removed (``torch._six``, ``np.float``, ``tf.contrib``; the
``apis`` knowledge table) means the releases before its removal: the Pythons those have
wheels for (the ``wheels`` rows of knowledge/python.toml) bound the image's Python like an
exact pin does. A dataclass field whose default is an instance of a dataclass runs only on
Python 3.10 and older. Read from the parsed ``.py`` files, aliases followed.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from dockerize_ml import knowledge
from dockerize_ml.detect.code import CodeIndex, SourceFile, dotted_name
from dockerize_ml.detect.imports import distributions
from dockerize_ml.profile import Dependency, Evidence, WheelFact, pinned


@dataclass(frozen=True)
class OldApi:
    """One use of a removed API: the distribution, the release that removed it, where."""

    dist: str
    use: str
    removed: str
    pythons: tuple[str, ...]
    evidence: Evidence


def _key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def pythons_up_to(dist: str, last: str) -> tuple[str, ...]:
    """Every Python some release of ``dist`` up to ``last`` has wheels for (the candidates
    dockerize-ml can choose), from the ``wheels`` rows."""
    table = knowledge.load("python")
    versions = sorted({*table["end_of_life"], *table["versions"]}, key=_key)
    found: set[str] = set()
    for first, _last, oldest, newest in table["wheels"].get(dist, []):
        try:
            if Version(first) > Version(last):
                continue
        except InvalidVersion:
            continue
        found |= {v for v in versions if _key(oldest) <= _key(v) <= _key(newest)}
    return tuple(sorted(found, key=_key))


def _uses(source: SourceFile, heads: set[str]) -> dict[str, int]:
    """Every dotted name the module reaches (imports and chains of names) under one of the
    top-level packages ``heads``, first line; from the code index's one pass over it."""
    found: dict[str, int] = {}

    def seen(name: str, line: int) -> None:
        if line < found.get(name, line + 1) and name.partition(".")[0] in heads:
            found[name] = line

    for imp in source.imports:
        if not imp.level and not imp.cell:
            seen(imp.module, imp.line)
    for name, line in source.imported:  # `from tensorflow import contrib`
        seen(name, line)
    for dotted, line in source.chains:
        head, _, rest = dotted.partition(".")
        if head in source.aliases and rest:
            seen(f"{source.aliases[head]}.{rest}", line)
    return found


def removed_api_uses(index: CodeIndex) -> list[OldApi]:
    """The first use of each removed API of the ``apis`` table, by file order."""
    rows = {str(row["use"]): row for row in knowledge.load("apis")["removed"]}
    # Every name a module reaches starts with a module it imports (the aliases stand for
    # those too): a module that imports none of the rows' packages uses none of their APIs.
    heads = {use.partition(".")[0] for use in rows}
    hits: dict[str, OldApi] = {}
    for path, source in sorted(index.files.items()):
        if not source.analysed or heads.isdisjoint(source.packages):
            continue
        for name, line in sorted(_uses(source, heads).items(), key=lambda item: item[1]):
            parts = name.split(".")
            # `use` is the name or a prefix of it: torch._six.container_abcs uses torch._six
            for use in (".".join(parts[:n]) for n in range(len(parts), 0, -1)):
                row = rows.get(use)
                if row is not None and use not in hits:
                    detail = f"uses {use}, removed in {row['dist']} {row['removed']}"
                    pythons = pythons_up_to(row["dist"], row["last"])
                    hits[use] = OldApi(
                        row["dist"], use, row["removed"], pythons, Evidence(path, line, detail)
                    )
    return list(hits.values())


def _hashable(cls: ast.ClassDef) -> bool:
    """A dataclass with ``frozen=True``, ``unsafe_hash=True`` or ``eq=False`` keeps a hash."""
    for deco in cls.decorator_list:
        if isinstance(deco, ast.Call):
            for kw in deco.keywords:
                value = kw.value.value if isinstance(kw.value, ast.Constant) else None
                if (kw.arg in ("frozen", "unsafe_hash") and value is True) or (
                    kw.arg == "eq" and value is False
                ):
                    return True
    return False


def dataclass_instance_default(index: CodeIndex) -> Evidence | None:
    """Where a dataclass field defaults to an instance of an (unhashable) dataclass."""
    classes: dict[str, ast.ClassDef] = {}
    for source in index.files.values():
        classes.update(source.dataclasses)
    for path, source in sorted(index.files.items()):
        for cls in source.dataclasses.values():
            for stmt in cls.body:
                value = stmt.value if isinstance(stmt, ast.AnnAssign) else None
                if not isinstance(value, ast.Call):
                    continue
                name = dotted_name(value.func).split(".")[-1]
                if name in classes and not _hashable(classes[name]):
                    detail = f"dataclass field defaults to a {name}() instance"
                    return Evidence(path, stmt.lineno, detail)
    return None


def api_wheel_facts(index: CodeIndex, bounds: list[WheelFact]) -> list[WheelFact]:
    """The bounds the code's API use puts on the Python, as wheel facts of source ``code``
    (``version`` is the range the code needs: ``<2.0``): those of ``bounds`` (the code's
    :func:`code_bounds`) whose distribution has wheels rows, and a dataclass default's."""
    facts = [fact for fact in bounds if fact.pythons]
    where = dataclass_instance_default(index)
    if where is not None:
        before = knowledge.load("apis")["python"]["dataclass_instance_default"]
        pythons = pythons_up_to_python(before)
        detail = f"{where.detail}, refused from Python {before}"
        facts.append(
            WheelFact(
                "python", f"<{before}", pythons, "code", Evidence(where.path, where.line, detail)
            )
        )
    return facts


def pythons_up_to_python(before: str) -> tuple[str, ...]:
    """The candidate Pythons older than ``before``."""
    table = knowledge.load("python")
    versions = sorted({*table["end_of_life"], *table["versions"]}, key=_key)
    return tuple(v for v in versions if _key(v) < _key(before))


def code_bounds(index: CodeIndex) -> list[WheelFact]:
    """The bound each removed API the code uses puts on its distribution, pure-Python ones
    too (``pkg_resources``: ``setuptools<82``; no Pythons to bound), as facts of source
    ``code`` for :func:`bounded`."""
    return [
        WheelFact(u.dist, f"<{u.removed}", u.pythons, "code", u.evidence)
        for u in removed_api_uses(index)
    ]


def bounded(deps: tuple[Dependency, ...], facts: list[WheelFact]) -> tuple[Dependency, ...]:
    """Inferred (unpinned) dependencies with the bound the code's API use needs
    (``torch<2.0`` for ``torch._six``), the tightest when several rows speak."""
    bounds = _tightest(f for f in facts if f.source == "code")
    return tuple(
        dataclasses.replace(
            d,
            specifier=bounds[d.name].version,
            detail=f"{d.detail}; {bounds[d.name].version}: {bounds[d.name].evidence}",
        )
        if d.name in bounds and not d.specifier and not d.url
        else d
        for d in deps
    )


def _tightest(facts: Iterable[WheelFact]) -> dict[str, WheelFact]:
    """Per distribution (not the Python), the fact of the lowest upper bound (``<1.9``
    before ``<2.0``)."""
    found: dict[str, WheelFact] = {}
    for fact in facts:
        now = found.get(fact.name)
        if fact.name != "python" and (
            now is None or Version(fact.version[1:]) < Version(now.version[1:])
        ):
            found[fact.name] = fact
    return found


def api_warnings(declared: list[Dependency], facts: list[WheelFact]) -> list[str]:
    """A declared dependency whose range lets in the releases without an API the code uses."""
    by_name = {d.name: d for d in declared}
    warnings: list[str] = []
    for fact in facts:
        dep = by_name.pop(fact.name, None)  # one warning per dependency: its first use
        if fact.source != "code" or dep is None or dep.source == "inferred" or dep.url:
            continue
        try:
            allows = SpecifierSet(dep.specifier).contains(f"{fact.version[1:]}.999", True)
        except InvalidSpecifier:
            continue
        if allows:
            where = f"{dep.source}:{dep.line}" if dep.line else dep.source
            warnings.append(
                f"{fact.evidence.path}:{fact.evidence.line} {fact.evidence.detail}, but {where} "
                f"allows {dep.name}{dep.specifier or ' (any version)'}: the image gets a "
                f"release without it; add `{fact.version}` to it"
            )
    return warnings


def asserted_versions(index: CodeIndex) -> list[Dependency]:
    """``assert timm.__version__ == "0.3.2"``: the code runs only on that release, an exact
    pin of the distribution the module belongs to (the first assert of each decides)."""
    table: dict[str, str | list[str]] = knowledge.load("imports")["imports"]
    found: dict[str, Dependency] = {}
    for path, source in sorted(index.files.items()):
        if "__version__" not in source.text or source.tree is None:
            continue
        for node in ast.walk(source.tree):
            if not isinstance(node, ast.Assert):
                continue
            pin = _asserted(node, source.aliases)
            if pin is None:
                continue
            module, version = pin
            dist = canonicalize_name(next(iter(distributions(module, table)), module))
            detail = f"{path}:{node.lineno} asserts {module}.__version__ == {version!r}"
            found.setdefault(
                dist, Dependency(dist, f"=={version}", path, line=node.lineno, detail=detail)
            )
    return list(found.values())


def _asserted(node: ast.Assert, aliases: dict[str, str]) -> tuple[str, str] | None:
    """The top-level module and release of an ``assert M.__version__ == "X"``, or None."""
    if not isinstance(node.test, ast.Compare):
        return None
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return None
    sides = (test.left, test.comparators[0])
    attr = next((s for s in sides if isinstance(s, ast.Attribute)), None)
    text = next((s.value for s in sides if isinstance(s, ast.Constant)), None)
    if attr is None or attr.attr != "__version__" or not isinstance(text, str):
        return None
    name = dotted_name(attr.value)
    head = name.split(".")[0]
    module = aliases.get(head, head).split(".")[0] if name else ""
    try:
        Version(text)
    except InvalidVersion:
        return None
    return (module, text) if module else None


def inside_facts(pins: list[Dependency]) -> list[WheelFact]:
    """Exact pins of releases whose own code uses a removed API of another distribution
    (the ``inside`` rows: timm 0.3.2 imports ``torch._six.container_abcs``): the bounds that
    API puts on the other distribution and on the Python, as if the project's code used it."""
    removed = {str(row["use"]): row for row in knowledge.load("apis")["removed"]}
    facts: list[WheelFact] = []
    for dep in pins:
        version = pinned(dep)
        if version is None or dep.url:
            continue
        for row in knowledge.load("apis")["inside"]:
            if row["dist"] != dep.name or not _between(version, row["first"], row["last"]):
                continue
            api = removed[row["uses"]]
            detail = (
                f"{dep.name}=={version} uses {row['uses']}, removed in {api['dist']} "
                f"{api['removed']}"
            )
            pythons = pythons_up_to(api["dist"], api["last"])
            facts.append(
                WheelFact(
                    api["dist"],
                    f"<{api['removed']}",
                    pythons,
                    "code",
                    Evidence(dep.source, dep.line, detail),
                )
            )
    return facts


def release_bounds(inside: list[WheelFact], named: set[str]) -> tuple[Dependency, ...]:
    """The bounds of :func:`inside_facts` on distributions not in ``named`` (declared or
    imported: those are warned about or bounded where they are installed): what a pinned
    release brings, bounded to the releases that still have what it uses (the tightest
    when several rows speak)."""
    tightest = _tightest(f for f in inside if f.name not in named)
    return tuple(
        Dependency(
            name,
            fact.version,
            fact.evidence.path,
            line=fact.evidence.line,
            detail=fact.evidence.detail,
        )
        for name, fact in sorted(tightest.items())
    )


def _between(version: str, first: str, last: str) -> bool:
    try:
        return Version(first) <= Version(version) <= Version(last)
    except InvalidVersion:
        return False

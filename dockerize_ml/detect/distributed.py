"""Code that trains as several processes (torch.distributed, DDP, FSDP, Lightning's DDP
strategies, Accelerate, DeepSpeed, Ray), and the launcher that starts them.

The signs are data (knowledge/distributed.toml). The detector only says which launcher the
code asks for and where; the plan decides the command.
"""

from __future__ import annotations

import re
from typing import Any

from dockerize_ml import knowledge
from dockerize_ml.detect.code import Call, CodeIndex, SourceFile
from dockerize_ml.profile import Distributed, Evidence

#: Code that does not run the project: tests, their fixtures, documentation examples.
_TEST_PATH = re.compile(
    r"(^|/)(tests?|testing|docs?|examples?)/|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$"
)
#: Calls that take Lightning's ``strategy=`` argument.
_STRATEGY_TAKERS = ("Trainer", "Fabric")


def _call_matches(call: Call, names: list[str]) -> str:
    """The name of ``names`` that ``call`` is (``dist.init_process_group`` is
    ``init_process_group``), or ""."""
    tail = call.func.rpartition(".")[2]
    if tail in names:  # the common case, one lookup: `init_process_group`
        return tail
    for name in names:
        if "." in name and (call.func == name or call.func.endswith("." + name)):
            return name
    return ""


def _strategy(call: Call, prefixes: list[str], self_launching: list[str]) -> str:
    """The literal ``strategy=`` of a Trainer or Fabric call, when it starts with one of
    ``prefixes`` and does not start its own processes."""
    if not _call_matches(call, list(_STRATEGY_TAKERS)):
        return ""
    value = call.kwarg("strategy")
    if not isinstance(value, str) or value in self_launching:
        return ""
    return value if value.startswith(tuple(prefixes)) else ""


def _signs(
    sources: list[SourceFile], row: dict[str, Any], self_launching: list[str]
) -> list[Evidence]:
    found: list[Evidence] = []
    for source in sources:
        for imp in source.imports:
            if imp.level == 0 and any(
                imp.module == m or imp.module.startswith(m + ".") for m in row["modules"]
            ):
                found.append(Evidence(source.path, imp.line, f"imports {imp.module}"))
        for call in source.calls:
            name = _call_matches(call, row["calls"])
            strategy = _strategy(call, row["strategies"], self_launching)
            if name:
                found.append(Evidence(source.path, call.line, f"calls {call.func}()"))
            elif strategy:
                found.append(
                    Evidence(source.path, call.line, f"calls {call.func}(strategy={strategy!r})")
                )
    return sorted(found, key=lambda e: (e.path, e.line))


def detect_distributed(index: CodeIndex) -> Distributed:
    """The launcher the code asks for (the first row of the table with a sign), with the
    first lines that say so."""
    table = knowledge.load("distributed")
    self_launching = list(table["lightning"]["self_launching"])
    sources = [s for s in index.files.values() if not _TEST_PATH.search(s.path)]
    # What could be a sign at all: the top-level modules imported, the last names called
    # (one pass; a row none of whose modules and calls appear is not read file by file).
    tops = {imp.module.split(".")[0] for s in sources for imp in s.imports if not imp.level}
    called = {call.func.rsplit(".", 1)[-1] for s in sources for call in s.calls}
    for row in table["launchers"]:
        modules = {str(m).split(".")[0] for m in row["modules"]}
        names = {str(c).rsplit(".", 1)[-1] for c in row["calls"]}
        takers = called & set(_STRATEGY_TAKERS) if row["strategies"] else set()
        if not modules & tops and not names & called and not takers:
            continue
        evidence = _signs(sources, row, self_launching)
        if evidence:
            return Distributed(str(row["name"]), tuple(evidence[:5]))
    return Distributed()

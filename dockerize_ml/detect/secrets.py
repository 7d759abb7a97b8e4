"""Secrets by name and by content: what must never reach the build context or a layer.

The rules are data (``knowledge/secrets.toml``); this module applies them. Names are matched
against every path; contents are read only for small text files that would otherwise enter the
context, so the cost stays with what Docker would send anyway. The same functions check the
files of a built image (``dockerize-ml build``).
"""

from __future__ import annotations

import fnmatch
import json
import math
import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

from dockerize_ml import knowledge

#: Files larger than this are not read for content (keys and tokens live in small files).
MAX_CONTENT_BYTES = 1024 * 1024
#: A value assigned to a secret-sounding name is a secret from this entropy (bits per char).
MIN_ENTROPY = 3.5
_PLACEHOLDER = re.compile(
    r"(?i)xxxx|your|example|changeme|change_me|placeholder|dummy|redacted|secret_here|\*\*\*"
    r"|<|\$\{|\{\{|environ|getenv|none|null|true|false"
)


@dataclass(frozen=True)
class NameRule:
    """A file or folder that holds credentials by its name."""

    pattern: str
    folder: bool
    why: str

    @property
    def dockerignore(self) -> str:
        """The pattern as a .dockerignore line, at any depth."""
        return f"**/{self.pattern}"


@dataclass(frozen=True)
class ContentRule:
    """A credential recognised by its text."""

    id: str
    regex: re.Pattern[str]
    why: str
    #: Lower-case strings one of which every match contains: a cheap test before the regex.
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """A secret found in a file: where, and by which rule."""

    path: str
    line: int
    rule: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@cache
def _table() -> dict[str, Any]:
    return knowledge.load("secrets")


@cache
def name_rules() -> tuple[NameRule, ...]:
    """The ``[[name]]`` rows of the table."""
    return tuple(
        NameRule(row["pattern"], bool(row.get("folder", False)), row["why"])
        for row in _table()["name"]
    )


@cache
def exceptions() -> tuple[str, ...]:
    """Names of shared templates (``.env.example``) that hold no secret by their name."""
    return tuple(_table()["exceptions"]["names"])


@cache
def content_rules() -> tuple[ContentRule, ...]:
    """The ``[[content]]`` rows of the table, compiled."""
    return tuple(
        ContentRule(row["id"], re.compile(row["regex"]), row["why"], tuple(row["hints"]))
        for row in _table()["content"]
    )


@cache
def _hints() -> frozenset[str]:
    """Every content rule's hints: looked for once per text, not once per rule."""
    return frozenset(hint for rule in content_rules() for hint in rule.hints)


def matches(rule: NameRule, path: str) -> bool:
    """Whether the name rule covers ``path`` (a project-relative POSIX path)."""
    parts = path.split("/")
    if rule.folder:
        return rule.pattern in parts[:-1]
    if "/" in rule.pattern:
        return path == rule.pattern or path.endswith("/" + rule.pattern)
    return fnmatch.fnmatchcase(parts[-1], rule.pattern)


def secret_by_name(path: str) -> NameRule | None:
    """The rule that makes ``path`` a secret by its name, if any."""
    name = path.rsplit("/", 1)[-1]
    if is_code(path) or any(fnmatch.fnmatchcase(name, e) for e in exceptions()):
        return None  # code is judged by its content: load_secrets.py is a module
    return next((rule for rule in name_rules() if matches(rule, path)), None)


def entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def assigned_secret(value: str) -> bool:
    """Whether a value assigned to a secret-sounding name looks like a real credential:
    long, mixed (letters and digits), high in entropy, and no placeholder."""
    return (
        len(value) >= 16
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and entropy(value) >= MIN_ENTROPY
        and _PLACEHOLDER.search(value) is None
    )


def secrets_in_text(path: str, text: str) -> list[Finding]:
    """Every credential the content rules find in ``text``, one finding per rule and line."""
    findings: list[Finding] = []
    seen: set[tuple[int, str]] = set()
    lower = text.lower()
    present = {hint for hint in _hints() if hint in lower}
    if not present:
        return findings
    for rule in content_rules():
        if present.isdisjoint(rule.hints):
            continue
        for match in rule.regex.finditer(text):
            if rule.id == "assigned-secret" and not assigned_secret(match.group(1)):
                continue
            line = text.count("\n", 0, match.start()) + 1
            if (line, rule.id) not in seen:
                seen.add((line, rule.id))
                findings.append(Finding(path, line, rule.id, rule.why))
    findings.sort(key=lambda f: (f.line, f.rule))
    return findings


def notebook_text(text: str) -> str:
    """What a notebook shows a reader: its cells' source and text outputs, one line each as
    in the file; image data (base64, often megabytes) is left out."""
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError, RecursionError):
        return text
    parts: list[str] = []

    def add(value: object) -> None:
        if isinstance(value, list):
            parts.append("".join(str(v) for v in value))
        elif isinstance(value, str):
            parts.append(value)

    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict):
            continue
        add(cell.get("source"))
        for output in cell.get("outputs") or []:
            if isinstance(output, dict):
                add(output.get("text"))
                data = output.get("data")
                if isinstance(data, dict):
                    add(data.get("text/plain"))
    return "\n".join(parts)


def is_code(path: str) -> bool:
    """Files whose secrets cannot simply be left out: the code and notebooks themselves."""
    return posixpath.splitext(path)[1] in (".py", ".ipynb")

"""What a ``.dockerignore`` keeps out of the build context, with Docker's own rules.

Patterns are relative to the context root; ``*`` and ``?`` match within one path element,
``**`` any number of them; a pattern that matches a folder excludes everything in it; the last
matching line wins, and ``!`` lines put files back in.
"""

from __future__ import annotations

import re
import warnings
from functools import cache, lru_cache

from dockerize_ml.errors import InvalidProjectFileError


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):  # an escaped character is itself
            parts.append(re.escape(pattern[i + 1]))
            i += 2
        elif pattern.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
            while pattern.startswith("**/", i):  # one is as good as many, and never slow
                i += 3
        elif pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            parts.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i)
            if end == -1:
                parts.append(re.escape(pattern[i]))
                i += 1
            else:
                parts.append(pattern[i : end + 1])
                i = end + 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    with warnings.catch_warnings():  # "[[" is a possible nested set to Python, not an error
        warnings.simplefilter("ignore", FutureWarning)
        return re.compile("".join(parts) + "(?:/.*)?$")


def escape(path: str) -> str:
    """A path of the project as a .dockerignore pattern that matches exactly it: Docker's
    special characters escaped, and a leading ``#`` or ``!`` (a comment, a put-back) too."""
    body = "".join("\\" + c if c in "\\*?[" else c for c in path)
    return "\\" + body if body.startswith(("#", "!")) else body


def parse(text: str, rel: str = ".dockerignore") -> list[tuple[str, bool]]:
    """The patterns of a .dockerignore as (pattern, negated), comments and blanks dropped.

    A pattern Docker refuses (a character range such as ``[z-a]``, an unclosed ``[\\]``)
    makes every ``docker build`` fail: it is an :class:`InvalidProjectFileError` naming
    ``rel`` and the line.
    """
    rules: list[tuple[str, bool]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:].strip() if negated else line
        pattern = pattern.lstrip("/").removeprefix("./").rstrip("/")
        if not pattern:
            continue
        try:
            _regex(pattern)
        except re.error as exc:
            raise InvalidProjectFileError(
                f"{rel}:{number}: {line!r} is not a pattern Docker accepts ({exc.msg}); "
                "every docker build would fail on it",
                f"fix or remove line {number} of {rel}",
            ) from None
        rules.append((pattern, negated))
    return rules


def excluded(rules: list[tuple[str, bool]], path: str) -> bool:
    """Whether ``path`` (relative to the context) is left out of the build context."""
    return matcher(rules).excluded(path)


class Matcher:
    """Some rules, ready to answer for many paths: a loop over a project's files builds one
    (:func:`matcher`) instead of finding the rules' compiled form again for each path."""

    def __init__(self, rules: tuple[tuple[str, bool], ...]) -> None:
        self._any = _any_rule(rules)
        self._each = tuple((_regex(pattern), negated) for pattern, negated in rules)

    def excluded(self, path: str) -> bool:
        """Whether ``path`` (relative to the context) is left out of the build context."""
        if not self._any.matches(path):
            return False  # most paths match no rule: one check instead of one per rule
        verdict = False
        for regex, negated in self._each:
            if regex.match(path):
                verdict = not negated
        return verdict


@lru_cache(maxsize=64)
def _matcher(rules: tuple[tuple[str, bool], ...]) -> Matcher:
    return Matcher(rules)


def matcher(rules: list[tuple[str, bool]] | tuple[tuple[str, bool], ...]) -> Matcher:
    """The :class:`Matcher` of ``rules`` (the last matching rule wins, as in Docker)."""
    return _matcher(tuple(rules))


#: What ``**/NAME`` and ``**/*SUFFIX`` may hold to be matched by a path's parts alone.
_PLAIN = re.compile(r"[^*?\[\]\\/]+")


#: What a pattern of one path element may hold to be matched element by element: no ``/``,
#: no escape, and character classes only of letters, digits, ``_`` and ``.`` (``[^a]`` or
#: ``[+-0]`` would match a ``/``).
_ELEMENT = re.compile(r"(?:[^/\[\]\\]|\[[A-Za-z0-9_.]+\])+")
#: Past this many path elements remembered, a matcher forgets them (a bound on memory).
_REMEMBERED = 1 << 16
#: The end ``_regex`` gives every pattern: the path itself, or anything below it.
_BELOW = "(?:/.*)?$"


class _AnyRule:
    """Whether any of some rules matches a path: ``**/NAME`` (a part of the path is NAME),
    ``**/*SUFFIX`` and any ``**/ELEMENT`` with wildcards (``**/id_rsa*``: a part of the path
    matches it), and a plain ``PATH`` (the path, or a folder above it), the most common
    rules, by the path's parts; the others by one expression. The same answer as matching
    each rule's expression (a property test holds them to it), in a fraction of the time."""

    def __init__(self, rules: tuple[tuple[str, bool], ...]) -> None:
        names: set[str] = set()
        elements: list[str] = []
        paths: set[str] = set()
        others: list[str] = []
        for pattern, _ in rules:
            body = pattern.removeprefix("**/")
            if body != pattern and _PLAIN.fullmatch(body):
                names.add(body)
            elif body != pattern and _ELEMENT.fullmatch(body) and "**" not in body:
                elements.append(_regex(body).pattern.removesuffix(_BELOW))
            elif body == pattern and all(_PLAIN.fullmatch(part) for part in body.split("/")):
                paths.add(body)  # `.git`, `docker/run.sh`: the path or a folder above it
            else:
                others.append(pattern)
        self.names = frozenset(names)
        self.elements = re.compile("|".join(elements)) if elements else None
        #: Each path element seen -> whether a name or element rule matches it: a project's
        #: paths share their folders, so most elements are answered by one lookup.
        self.seen: dict[str, bool] = {}
        self.paths = frozenset(paths)
        self.heads = frozenset(p.partition("/")[0] for p in paths)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            self.others = (
                re.compile("|".join(f"(?:{_regex(p).pattern})" for p in others)) if others else None
            )

    def matches(self, path: str) -> bool:
        parts = path.split("/")
        seen = self.seen
        for part in parts:
            hit = seen.get(part)
            if hit is None:
                if len(seen) >= _REMEMBERED:
                    seen.clear()
                hit = seen[part] = part in self.names or (
                    self.elements is not None and self.elements.fullmatch(part) is not None
                )
            if hit:
                return True
        if parts[0] in self.heads and (
            path in self.paths
            or any("/".join(parts[:n]) in self.paths for n in range(1, len(parts)))
        ):
            return True
        return self.others is not None and self.others.match(path) is not None


@lru_cache(maxsize=64)
def _any_rule(rules: tuple[tuple[str, bool], ...]) -> _AnyRule:
    """What answers whether any of ``rules`` matches a path (never, for no rules)."""
    return _AnyRule(rules)

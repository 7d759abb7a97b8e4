"""Poetry and Pipenv version constraints -> PEP 440 specifiers.

Poetry's caret (``^1.2``) and tilde (``~1.2``) are not PEP 440; pip and uv need them
translated: ``^1.2.3`` is ``>=1.2.3,<2.0.0``, ``^0.2.3`` is ``>=0.2.3,<0.3.0``, ``~1.2`` is
``>=1.2,<1.3``.
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

_CARET = re.compile(r"^\^\s*(\S+)$")
_TILDE = re.compile(r"^~(?!=)\s*(\S+)$")
_WILDCARD = re.compile(r"^\d+(?:\.\d+)*\.\*$")


def _release(version: str) -> list[int] | None:
    """The release numbers of a PEP 440 version (``2.7.4.post1`` -> [2, 7, 4])."""
    try:
        return list(Version(version).release)
    except InvalidVersion:
        return None


class ConstraintError(ValueError):
    """A constraint that has no PEP 440 equivalent (``||`` alternatives)."""


def _caret(version: str, parts: list[int]) -> str:
    # The upper bound bumps the first non-zero part (or the last given one).
    index = next((i for i, p in enumerate(parts) if p != 0), len(parts) - 1)
    upper = [*parts[:index], parts[index] + 1]
    upper += [0] * (max(len(parts), 2) - len(upper))
    return f">={version},<{'.'.join(map(str, upper))}"


def _tilde(version: str, parts: list[int]) -> str:
    if len(parts) == 1:
        return f">={version},<{parts[0] + 1}"
    upper = [parts[0], parts[1] + 1]
    return f">={version},<{'.'.join(map(str, upper))}"


def _one(term: str) -> str:
    term = term.strip()
    if term in ("", "*"):
        return ""
    for pattern, convert in ((_CARET, _caret), (_TILDE, _tilde)):
        match = pattern.match(term)
        parts = _release(match.group(1)) if match else None
        if match and parts:
            return convert(match.group(1), parts)
    if _WILDCARD.match(term) or _release(term) is not None:
        return f"=={term}"  # a bare version: 2.7.4.post1, 1.0rc1, 2.*
    if term.startswith("~="):
        return term.replace(" ", "")
    if term.startswith("="):
        term = "=" + term if not term.startswith("==") else term
    return term.replace(" ", "")


def poetry_to_pep440(constraint: str) -> str:
    """A Poetry constraint as a PEP 440 specifier ("" for any version)."""
    if "||" in constraint:
        raise ConstraintError(f"{constraint!r} has alternatives (||), which PEP 440 cannot express")
    # Poetry separates AND-ed terms by commas or spaces: ">=1.2 <2" or ">=1.2,<2".
    terms = re.split(r",|\s+(?=[<>=!~^])", constraint.strip())
    return ",".join(spec for spec in (_one(t) for t in terms) if spec)

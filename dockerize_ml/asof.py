"""The day a repository's pins were written, to resolve its other dependencies as of then.

An old repository pins some releases (``pandas==2.0.1``) and leaves the rest open
(``openpyxl``, and everything the pins require). Resolved today, the open ones get today's
releases, which can break the pinned ones (today's pyarrow needs NumPy 2, which pandas 2.0.1
does not allow). Resolved as of the day the pins were written, they get the releases the
author had. ``build --fix`` saves that day as the ``exclude-newer`` setting when a build or a
smoke test fails that way (``diagnose.py``); uv then ignores every file uploaded after it
(``UV_EXCLUDE_NEWER``).

The day is the later of (either alone when the other is not known)
- the day after the newest exact pin was uploaded (the pins existed then: an earlier day
  cannot install them), from the package index (``wheelindex.uploaded``), and
- the day after the last commit that changed a dependency file, when the project is a git
  checkout with its history (the author installed no earlier than that); for a file of
  names without versions (``langchain``, ``gradio``), the only date there is.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from dockerize_ml import wheelindex
from dockerize_ml.profile import Dependency, ProjectProfile, pinned

#: Where a dependency comes from that no author pinned (the tool's own inference).
_NOT_PINS = ("inferred", "build log")


def _day_after(stamp: str) -> str | None:
    """The UTC day after an ISO 8601 time (``2023-07-20T15:01:02Z`` -> ``2023-07-21``)."""
    try:
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when.astimezone(dt.UTC).date() + dt.timedelta(days=1)).isoformat()


def newest_pin(
    dependencies: Iterable[Dependency],
    uploaded: Callable[[str, str], str | None] = wheelindex.uploaded,
) -> str | None:
    """The upload time of the newest release the dependencies pin exactly; None when none
    is pinned or the index does not say."""
    times = []
    for dep in dependencies:
        version = pinned(dep)
        if version is None or dep.url or dep.source in _NOT_PINS:
            continue
        stamp = uploaded(dep.name, version)
        if stamp:
            times.append(stamp)
    return max(times, default=None, key=lambda t: _day_after(t) or "")


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def last_change(root: Path, paths: Iterable[str]) -> str | None:
    """The committer time of the last commit that changed one of ``paths``; None outside a
    git checkout, or in a shallow clone (its one commit changed every file, whenever the
    file really changed)."""
    names = [p for p in paths if p]
    if not names or _git(root, "rev-parse", "--is-shallow-repository") != "false":
        return None
    return _git(root, "log", "-1", "--format=%cI", "--", *names) or None


def as_of(
    root: Path,
    profile: ProjectProfile,
    uploaded: Callable[[str, str], str | None] = wheelindex.uploaded,
) -> str | None:
    """The day (``YYYY-MM-DD``, UTC) to resolve the project's dependencies as of, or None
    when it installs from a lockfile, or neither the index (its exact pins) nor git (the
    last change of its dependency files: all a file of open names has to date it by) can
    say when."""
    used = [s for s in profile.dependency_sources if s.used]
    if any(s.lock for s in used):
        return None  # a lockfile pins everything already
    pins = [d for d in profile.dependencies if d.source not in _NOT_PINS and pinned(d)]
    newest = newest_pin(pins, uploaded) if pins else None
    changed = last_change(root, [s.path for s in used if s.kind != "inferred"])
    days = [d for d in (_day_after(t) for t in (newest, changed) if t) if d]
    return max(days, default=None)

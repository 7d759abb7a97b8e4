"""The three jobs as library functions: ``init`` (first time and again) and ``check``.

The CLI is a thin layer over these: it parses flags, calls, prints the result and turns it
into an exit code.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dockerize_ml import quick, wheelindex
from dockerize_ml import settings as saved_settings
from dockerize_ml.detect import detect, pinned_dependencies, scan_project
from dockerize_ml.names import SETTINGS_FILE
from dockerize_ml.plan import BuildPlan, make_plan
from dockerize_ml.profile import ProjectProfile
from dockerize_ml.rendering import render
from dockerize_ml.write import (
    ATTENTION,
    FileAction,
    State,
    apply,
    digest,
    locked,
    plan_writes,
)

#: Project files whose change can change the generated files.
INPUT_FILES = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "apt.txt",
    "Procfile",
    "MLproject",
    SETTINGS_FILE,
    ".python-version",
    "runtime.txt",
)


def dependency_inputs(root: Path, profile: ProjectProfile) -> dict[str, str]:
    """A hash of each dependency input the project has."""
    names = dict.fromkeys([*profile.dependency_files, *INPUT_FILES])
    inputs: dict[str, str] = {}
    for rel in names:
        path = root / rel
        if path.is_file():
            try:
                inputs[rel] = digest(path.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
    return inputs


@dataclass
class InitResult:
    """What ``init`` did (or, with ``dry_run``, would do)."""

    profile: ProjectProfile
    actions: list[FileAction]
    files: dict[str, str]
    notes: list[str] = field(default_factory=list)
    settings_saved: Path | None = None

    @property
    def needs_attention(self) -> list[FileAction]:
        return [a for a in self.actions if a.action in ATTENTION]


def inspect(root: Path, deps_from: str | None = None) -> ProjectProfile:
    """Scan, ask the package index which Pythons the exact pins have wheels for (cached;
    off with ``DOCKERIZE_ML_OFFLINE=1``), then detect with those answers as facts."""
    project = scan_project(root)
    facts, notes = wheelindex.lookup(pinned_dependencies(project, deps_from))
    profile = detect(project, deps_from, tuple(facts))
    if notes:
        profile = replace(profile, warnings=(*profile.warnings, *notes))
    return profile


def plan_project(
    root: Path, flags: dict[str, Any]
) -> tuple[ProjectProfile, BuildPlan, dict[str, Any]]:
    """Detect and plan with the saved settings and this run's flags; the settings too."""
    saved = saved_settings.load(root)
    merged = {**saved, **flags}
    profile = inspect(root, merged.get("deps-from"))
    return profile, make_plan(profile, saved_settings.to_settings(saved, flags)), merged


def _render(root: Path, flags: dict[str, Any]) -> tuple[ProjectProfile, dict[str, str], list[str]]:
    profile, plan, _ = plan_project(root, flags)
    return profile, render(plan), list(plan.notes)


def run_init(
    root: Path,
    flags: dict[str, Any],
    *,
    force: bool = False,
    dry_run: bool = False,
    recreate: bool = False,
) -> InitResult:
    """Detect, plan and render; write the files without losing any edit; save the flags."""
    profile, files, notes = _render(root, flags)
    if dry_run:
        state, why = State.load(root)
        actions = plan_writes(root, files, state, force=force, recreate=recreate)
        return InitResult(profile, actions, files, [*notes, *([why] if why else [])])
    with locked(root):
        saved_to = saved_settings.save(root, flags)
        state, why = State.load(root)
        actions = plan_writes(root, files, state, force=force, recreate=recreate)
        new_state = apply(root, actions, state, dependency_inputs(root, profile))
        result = InitResult(profile, actions, files, [*notes, *([why] if why else [])], saved_to)
        if result.needs_attention or _reads_outside(profile):
            quick.forget(root)
        else:
            written = [rel for rel, record in new_state.files.items() if not record.deleted]
            quick.record(root, [*profile.warnings, *result.notes], written)
    return result


def _reads_outside(profile: ProjectProfile) -> bool:
    """Whether the project's files depend on files outside its folder (installed siblings, a
    workspace root), which the fast path's fingerprint does not cover."""
    outside = any(loc.path.startswith("../") for loc in profile.local_installs)
    return outside or profile.uv_workspace is not None


@dataclass
class CheckResult:
    """Whether the generated files are up to date, and if not, what moved."""

    stale_files: list[str]
    moved_inputs: list[str]
    never_generated: bool
    diff: str

    @property
    def ok(self) -> bool:
        return not (self.stale_files or self.never_generated)


def run_check(root: Path) -> CheckResult:
    """What ``init`` would change now, without writing anything."""
    profile, files, _ = _render(root, {})
    state, _ = State.load(root)
    if state is None:
        return CheckResult(list(files), [], True, "")
    stale: list[str] = []
    diffs: list[str] = []
    for rel, new in files.items():
        record = state.files.get(rel)
        if record is None:
            stale.append(rel)
            diffs += difflib.unified_diff([], new.splitlines(True), "/dev/null", f"b/{rel}")
            continue
        if record.deleted:
            continue
        if record.pristine != new:
            stale.append(rel)
            diffs += difflib.unified_diff(
                record.pristine.splitlines(True), new.splitlines(True), f"a/{rel}", f"b/{rel}"
            )
    inputs = dependency_inputs(root, profile)
    moved = sorted(
        rel for rel in {*inputs, *state.inputs} if inputs.get(rel) != state.inputs.get(rel)
    )
    return CheckResult(stale, moved, False, "".join(diffs))


def diff_actions(root: Path, actions: list[FileAction]) -> str:
    """A unified diff of what ``init`` would write, against the files as they are."""
    out: list[str] = []
    for action in actions:
        text = action.write if action.write is not None else action.beside
        if text is None:
            continue
        target = action.path if action.write is not None else action.path + ".dockerize-ml-new"
        path = root / action.path
        old = (
            path.read_text(encoding="utf-8") if action.write is not None and path.is_file() else ""
        )
        out += difflib.unified_diff(
            old.splitlines(True), text.splitlines(True), f"a/{action.path}", f"b/{target}"
        )
    return "".join(out)

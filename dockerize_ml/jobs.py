"""The three jobs as library functions: ``init`` (first time and again) and ``check``.

The CLI is a thin layer over these: it parses flags, calls, prints the result and turns it
into an exit code.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dockerize_ml import asof, knowledge, quick, wheelindex
from dockerize_ml import settings as saved_settings
from dockerize_ml.choices import FIX_ROUNDS
from dockerize_ml.detect import detect, pinned_dependencies, scan_project
from dockerize_ml.detect.imports import distributions
from dockerize_ml.diagnose import Facts, Finding, diagnose, merge
from dockerize_ml.names import SETTINGS_FILE
from dockerize_ml.plan import BuildPlan, Settings, make_plan
from dockerize_ml.profile import Dependency, ProjectProfile
from dockerize_ml.rendering import render
from dockerize_ml.settings import Choices
from dockerize_ml.write import (
    ATTENTION,
    FileAction,
    State,
    apply,
    digest,
    locked,
    plan_writes,
)

#: No choices: the saved settings alone.
_NONE = Choices()

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
    root: Path, flags: Choices | Mapping[str, Any] = _NONE
) -> tuple[ProjectProfile, BuildPlan, Settings]:
    """Detect and plan with the saved settings and this run's flags; the settings too."""
    settings = saved_settings.to_settings(saved_settings.load(root), _choices(flags))
    profile = inspect(root, settings.deps_from)
    return profile, make_plan(profile, settings), settings


def _choices(flags: Choices | Mapping[str, Any]) -> Choices:
    """This run's choices as the typed record: a mapping (keys as the settings file names
    them) is checked at this edge, so a misspelled key is an error, never ignored."""
    return flags if isinstance(flags, Choices) else saved_settings.choices_from(flags)


def _render(
    root: Path, flags: Choices | Mapping[str, Any]
) -> tuple[ProjectProfile, dict[str, str], list[str]]:
    profile, plan, _ = plan_project(root, flags)
    return profile, render(plan), list(plan.notes)


def run_init(
    root: Path,
    flags: Choices | Mapping[str, Any] = _NONE,
    *,
    force: bool = False,
    dry_run: bool = False,
    recreate: bool = False,
) -> InitResult:
    """Detect, plan and render; write the files without losing any edit; save the flags.

    ``flags`` are this run's choices: a :class:`~dockerize_ml.settings.Choices` record, or
    a mapping keyed as the settings file is (``{"base-image": "python:3.12-slim"}``), where
    an unknown key raises :class:`~dockerize_ml.install.InvalidSettingError`."""
    flags = _choices(flags)
    profile, files, notes = _render(root, flags)
    if dry_run:
        state, why = State.load(root)
        actions = plan_writes(root, files, state, force=force, recreate=recreate)
        return InitResult(profile, actions, files, [*notes, *([why] if why else [])])
    with locked(root):
        saved_to = saved_settings.save(root, flags.table())
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
    profile, files, _ = _render(root, _NONE)
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


# ---------------------------------------------------------------- build --fix

#: Rounds `build --fix` tries before it gives up.

_READMES = ("README.md", "README.rst", "README.txt", "README", "readme.md")


@dataclass
class Failure:
    """Why one build did not pass: the exit code (11 or 12), a one-line summary, and the
    text to diagnose (the build log, or the failed smoke tests' output)."""

    exit_code: int
    summary: str
    log: str


@dataclass
class FixRound:
    """One round of ``build --fix``: what failed, what was recognised, what was saved."""

    number: int
    ok: bool
    failure: str = ""
    findings: list[Finding] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The round as JSON data."""
        return {
            "round": self.number,
            "ok": self.ok,
            "failure": self.failure,
            "findings": [f.to_dict() for f in self.findings],
            "changes": self.changes,
        }


@dataclass
class FixResult:
    """Every round, why the loop stopped, and the last build's outcome."""

    rounds: list[FixRound]
    stopped: str
    exit_code: int
    outcome: Any = None  # the last build's report, when it built

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def readme_commands(root: Path) -> tuple[tuple[str, ...], ...]:
    """Commands a README shows in any format (Markdown fences, reStructuredText literal
    blocks, prompts, inline code): lines whose first word runs Python."""
    found: list[tuple[str, ...]] = []
    for name in _READMES:
        path = root / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            for quoted in re.findall(r"`([^`]+)`", line) or [line]:
                try:
                    words = shlex.split(quoted.strip().removeprefix("$ "))
                except ValueError:
                    continue
                if words and words[0] in ("python", "python3") and len(words) > 1:
                    found.append(tuple(words))
    return tuple(dict.fromkeys(found))


def _local_modules(root: Path) -> frozenset[str]:
    names = {p.stem for p in root.glob("*.py")}
    names |= {p.parent.name for p in root.glob("*/__init__.py")}
    names |= {p.parent.name for p in root.glob("src/*/__init__.py")}
    return frozenset(names)


def _imports_table(module: str) -> str | None:
    """The usual distribution of an import, the longest known dotted prefix deciding."""
    return next(iter(distributions(module, knowledge.load("imports")["imports"])), None)


def fix_facts(root: Path, profile: ProjectProfile, plan: BuildPlan) -> Facts:
    """What a diagnosis of this project's build needs, with the package index (unless
    offline) for the Pythons a pin has wheels for."""
    script = next((w for w in plan.command if w.endswith(".py")), "")
    source = ""
    if script and (root / script).is_file():
        source = (root / script).read_text(encoding="utf-8", errors="replace")

    def wheel_pythons(name: str, version: str) -> tuple[str, ...] | None:
        dep = Dependency(name=name, specifier=f"=={version}", source="build log")
        facts, _ = wheelindex.lookup([dep])
        return facts[0].pythons if facts else None

    return Facts(
        python=plan.python_version,
        command=plan.command,
        port=plan.smoke.port,
        entry_source=source,
        readme_commands=readme_commands(root),
        local_modules=_local_modules(root),
        wheel_pythons=wheel_pythons,
        distribution_of=_imports_table,
        known_pythons=tuple(knowledge.load("python")["versions"]),
        as_of=lambda: asof.as_of(root, profile),
    )


BuildOnce = Callable[[ProjectProfile, BuildPlan, Settings], tuple[Any, Failure | None]]
RoundSink = Callable[[FixRound], None]


def run_fix(
    root: Path,
    build_once: BuildOnce,
    *,
    rounds: int = FIX_ROUNDS,
    on_round: RoundSink | None = None,
) -> FixResult:
    """Build and smoke-test; on a recognised failure save the change in the settings, run
    ``init`` (the merge keeps the user's edits) and build again, for at most ``rounds``
    rounds. Stops when it passes, when a cause is not recognised, or when a round changes
    nothing."""
    done: list[FixRound] = []
    outcome: Any = None
    for number in range(1, rounds + 1):
        profile, plan, settings = plan_project(root)
        outcome, failure = build_once(profile, plan, settings)
        if failure is None:
            done.append(FixRound(number, True))
            if on_round is not None:
                on_round(done[-1])
            return FixResult(done, "", 0, outcome)
        findings = diagnose(failure.log, fix_facts(root, profile, plan))
        current = saved_settings.load(root).table()
        changes = merge(current, findings)
        done.append(FixRound(number, False, failure.summary, findings, changes))
        if on_round is not None:
            on_round(done[-1])
        if not findings:
            return FixResult(
                done, "the cause is not one build --fix recognises", failure.exit_code, outcome
            )
        if not changes:
            return FixResult(
                done,
                "this round's change is saved already and did not help",
                failure.exit_code,
                outcome,
            )
        if number == rounds:
            return FixResult(
                done, f"still failing after {rounds} rounds", failure.exit_code, outcome
            )
        result = run_init(root, changes)
        if result.needs_attention:
            names = ", ".join(a.path for a in result.needs_attention)
            return FixResult(
                done,
                f"init could not merge the new files ({names}): merge by hand",
                failure.exit_code,
                outcome,
            )
    return FixResult(done, f"still failing after {rounds} rounds", 11, outcome)

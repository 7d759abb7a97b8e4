"""``build``: one build and smoke test as the jobs run it, ``build --fix``'s rounds, and the
report printed for both. Imported by the ``build`` command only, so that the other commands
start without it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dockerize_ml.errors import BuildFailedError, ExitCode

if TYPE_CHECKING:
    from dockerize_ml.diagnose import Finding
    from dockerize_ml.jobs import BuildOnce, Failure, FixRound
    from dockerize_ml.plan import BuildPlan, Settings
    from dockerize_ml.profile import ProjectProfile
    from dockerize_ml.smoke import BuildReport


def _progress(line: str) -> None:
    """Build output as it comes, without the digests nobody reads."""
    if line.strip() and "sha256:" not in line:
        typer.echo(line, err=True)


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def _failure_log(report: BuildReport) -> str:
    """The failed smoke tests' output, for the diagnosis."""
    return "\n".join(f"{r.name}: {r.detail}" for r in report.smoke if not r.ok)


def _build_once(
    path: Path, options: dict[str, Any], as_json: bool
) -> Callable[[ProjectProfile, BuildPlan, Settings], tuple[Any, Failure | None]]:
    """One build and smoke test of the project as planned now: the report, and why it
    failed (None when it passed)."""
    from docker.errors import ImageNotFound

    from dockerize_ml.engine import docker_cli
    from dockerize_ml.jobs import Failure
    from dockerize_ml.smoke import build_and_smoke

    def once(
        profile: ProjectProfile, plan: BuildPlan, settings: Settings
    ) -> tuple[Any, Failure | None]:
        image = options["tag"] or plan.image
        try:
            report = build_and_smoke(
                path,
                plan.smoke,
                profile.frameworks,
                tag=image,
                smoke=not options["no_smoke"],
                user_command=options["smoke"] or settings.smoke,
                gpus=options["gpus"],
                timeout=options["timeout"],
                on_line=None if as_json else _progress,
                context=plan.context.root if plan.context else ".",
                base_image=plan.base_image,
                env_files=tuple(path / f for f in profile.env_files),
            )
        except BuildFailedError as exc:
            if not exc.log.strip():
                # Nothing to diagnose: the CLI failed before it built anything.
                raise BuildFailedError(
                    f"the image did not build: `{docker_cli()} build` failed without a word "
                    "of output, so it is not the docker CLI, or it could not start",
                    f"check that `{docker_cli()} version` works, or pass --docker with the "
                    "docker CLI",
                ) from None
            return exc, Failure(int(ExitCode.BUILD_FAILED), exc.message, exc.log)
        except ImageNotFound:
            raise BuildFailedError(
                f"the image did not build: `{docker_cli()} build` reported success, but the "
                f"engine has no image {image}, so it is not the docker CLI of that engine",
                f"check that `{docker_cli()} version` works, or pass --docker with the docker CLI",
            ) from None
        if report.ok:
            return report, None
        failed = ", ".join(r.name for r in report.smoke if not r.ok)
        return report, Failure(
            int(ExitCode.SMOKE_FAILED), f"smoke test failed: {failed}", _failure_log(report)
        )

    return once


def _print_report(report: BuildReport) -> None:
    typer.echo(
        f"built {report.tag} with {report.builder} in {report.build_seconds:.1f}s: "
        f"image {_human_bytes(report.image_bytes)}, build context "
        f"{_human_bytes(report.context_bytes)}"
    )
    for size, created_by in report.largest_layers:
        typer.echo(f"  layer {_human_bytes(size):>9}  {created_by[:90]}")
    for result in report.smoke:
        mark = "ok  " if result.ok else "FAIL"
        typer.echo(f"  {mark} {result.name} ({result.seconds:.1f}s): {result.detail}")


def _print_findings(findings: list[Finding], fix_hint: bool) -> None:
    for finding in findings:
        typer.echo(f"cause: {finding.cause}", err=True)
        typer.echo(f"change: {finding.change}", err=True)
    if findings and fix_hint:
        typer.echo("run `dockerize-ml build --fix` to save the change and build again", err=True)


def _print_round(fix_round: FixRound) -> None:
    if fix_round.ok:
        typer.echo(f"round {fix_round.number}: the image builds and passes its smoke tests")
        return
    typer.echo(f"round {fix_round.number}: {fix_round.failure[:300]}", err=True)
    _print_findings(fix_round.findings, fix_hint=False)
    if fix_round.changes:
        shown = ", ".join(f"{k} = {v!r}" for k, v in fix_round.changes.items())
        typer.echo(f"round {fix_round.number}: saved {shown}", err=True)


def _build_fix(path: Path, once: BuildOnce, rounds: int, as_json: bool) -> None:
    """``build --fix``: rounds of build, diagnose, save, init."""
    from dockerize_ml.jobs import run_fix
    from dockerize_ml.settings import settings_file
    from dockerize_ml.smoke import BuildReport

    result = run_fix(path, once, rounds=rounds, on_round=None if as_json else _print_round)
    outcome = result.outcome
    if as_json:
        data: dict[str, Any] = {
            "ok": result.ok,
            "stopped": result.stopped,
            "rounds": [r.to_dict() for r in result.rounds],
            "settings": str(settings_file(path)),
            "report": outcome.to_dict() if isinstance(outcome, BuildReport) else None,
        }
        typer.echo(json.dumps(data, indent=2))
    elif isinstance(outcome, BuildReport):
        _print_report(outcome)
    if result.ok:
        fixed = len(result.rounds) - 1
        if fixed and not as_json:
            typer.echo(f"fixed in {fixed} round(s); the changes are saved in {settings_file(path)}")
        return
    message = f"build --fix stopped after round {len(result.rounds)}: {result.stopped}"
    if isinstance(outcome, BuildFailedError):
        raise BuildFailedError(f"{message}; {outcome.message}", outcome.hint, outcome.log)
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(result.exit_code)

"""What ``init`` did, file by file, as the CLI prints it; imported once ``init`` has work to do."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dockerize_ml import quick
from dockerize_ml.errors import ExitCode
from dockerize_ml.names import NEW_SUFFIX

if TYPE_CHECKING:
    from dockerize_ml.jobs import InitResult

_VERBS = {
    "create": "created",
    "update": "updated",
    "merge": "merged",
    "keep": "kept",
    "unchanged": "unchanged",
    "conflict": "CONFLICT",
    "deleted": "skipped",
    "beside": "beside",
    "backup": "replaced",
}
_DRY_RUN_VERBS = {
    **_VERBS,
    "create": "would create",
    "update": "would update",
    "merge": "would merge",
    "backup": "would replace",
    "conflict": "would conflict",
    "beside": "would put beside",
}


def _report_init(path: Path, result: InitResult, *, dry_run: bool, diff: bool) -> None:
    """Warnings, the diff, one line per file, and the exit code when a file needs a hand."""
    from dockerize_ml.jobs import diff_actions

    for warning in (*result.profile.warnings, *result.notes):
        typer.echo(f"warning: {warning}", err=True)
    if diff:
        typer.echo(diff_actions(path, result.actions), nl=False)
    verbs = _DRY_RUN_VERBS if dry_run else _VERBS
    for action in result.actions:
        note = f"  ({action.note})" if action.note else ""
        typer.echo(quick.file_line(verbs[action.action], path / action.path) + note)
    if dry_run and not diff:
        for rel, text in result.files.items():
            typer.echo(f"\n--- {rel}\n{text}", nl=False)
    if result.settings_saved is not None:
        typer.echo(f"saved settings in {result.settings_saved}")
    attention = result.needs_attention
    if attention:
        conflicts = [a for a in attention if a.action == "conflict"]
        names = ", ".join(f"{a.path}{NEW_SUFFIX}" for a in attention)
        typer.echo(
            f"merge by hand: {names} holds the new version; bring what you need into the file, "
            "delete the .dockerize-ml-new file, and run init again",
            err=True,
        )
        raise typer.Exit(int(ExitCode.CONFLICT if conflicts else ExitCode.WOULD_OVERWRITE))
    if not dry_run:
        typer.echo(quick.next_line(path))

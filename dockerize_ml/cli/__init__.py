"""The command line: parse, call the library, print, exit. With entry.py (its fast answers), the
only module that prints or exits."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dockerize_ml.choices import FIX_ROUNDS, INSTALLERS, Choices
from dockerize_ml.errors import BuildFailedError, DockerizeError, ExitCode, NoEngineError, docs
from dockerize_ml.names import DOCKER_ENV
from dockerize_ml.profile import SOURCE_KINDS
from dockerize_ml.version import __version__

# The pipeline and the Docker SDK are imported inside the commands that use them, so that
# `--version`, `--help` and the pre-commit hook's `check` start fast (docs/benchmarks.md);
# so are the CLI's own rooms for one command: `describe` (detect's report) and `building`.

PROG = "dockerize-ml"

app = typer.Typer(
    name=PROG,
    help="Turn a Python or ML repository into a Docker image the way an expert would.",
    no_args_is_help=True,
    # typer's --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    # Help texts are shown as written: `[tool.dockerize-ml]` is not Rich markup.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

DepsFrom = Annotated[
    str | None,
    typer.Option(
        "--deps-from",
        metavar="KIND",
        help="Dependency source to install from when there are several: "
        f"{', '.join(list(SOURCE_KINDS)[:-1])}, or {list(SOURCE_KINDS)[-1]}.",
    ),
]
PathArg = Annotated[
    Path,
    typer.Argument(
        help="The project folder (default: the current folder).",
        show_default=False,
        metavar="PATH",
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dockerize-ml {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Turn a Python or ML repository into a Docker image the way an expert would."""


@app.command()
def detect(
    path: PathArg = Path(),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the profile as JSON (a stable contract).")
    ] = False,
    deps_from: DepsFrom = None,
) -> None:
    """Inspect the project and report what was found, with evidence for each fact."""
    from dockerize_ml.cli.describe import _describe
    from dockerize_ml.jobs import inspect

    profile = inspect(path, deps_from)
    if as_json:
        typer.echo(json.dumps(profile.to_dict(), indent=2))
    else:
        typer.echo(_describe(profile))


@app.command()
def init(
    path: PathArg = Path(),
    python: Annotated[
        str | None,
        typer.Option("--python", metavar="X.Y", help="Python version X.Y for the image."),
    ] = None,
    entry: Annotated[
        str | None,
        typer.Option(
            "--entry",
            metavar="COMMAND",
            help='The command the container runs, e.g. "python train.py".',
        ),
    ] = None,
    port: Annotated[
        list[int] | None,
        typer.Option("--port", metavar="PORT", help="A port the app listens on (repeatable)."),
    ] = None,
    base_image: Annotated[
        str | None,
        typer.Option("--base-image", metavar="IMAGE", help="Base image (default python:X.Y-slim)."),
    ] = None,
    installer: Annotated[
        str | None,
        typer.Option(
            "--installer",
            metavar="|".join(INSTALLERS),
            help=f"Dependency installer: {', '.join(INSTALLERS)}.",
        ),
    ] = None,
    deps_from: DepsFrom = None,
    extra: Annotated[
        list[str] | None,
        typer.Option(
            "--extra",
            metavar="EXTRA",
            help="Also install this extra (optional dependencies); repeatable.",
        ),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group", metavar="GROUP", help="Also install this dependency group; repeatable."
        ),
    ] = None,
    buildkit: Annotated[
        bool | None,
        typer.Option(
            "--buildkit/--no-buildkit",
            help="--no-buildkit: a Dockerfile the classic builder accepts (no mounts).",
            show_default=False,
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            "--device",
            metavar="auto|cpu|cuda",
            help="auto (CUDA when the code uses it), cpu or cuda.",
        ),
    ] = None,
    ci: Annotated[
        list[str] | None,
        typer.Option(
            "--ci",
            metavar="github|gitlab",
            help="Write a CI workflow: github, gitlab (repeatable).",
        ),
    ] = None,
    k8s: Annotated[
        bool | None,
        typer.Option(
            "--k8s/--no-k8s", help="Write Kubernetes manifests (k8s/).", show_default=False
        ),
    ] = None,
    devcontainer: Annotated[
        bool | None,
        typer.Option(
            "--devcontainer/--no-devcontainer",
            help="Write .devcontainer/devcontainer.json, built from the Dockerfile.",
            show_default=False,
        ),
    ] = None,
    platform: Annotated[
        list[str] | None,
        typer.Option(
            "--platform",
            metavar="PLATFORMS",
            help="Platforms CI builds, comma-separated: linux/amd64,linux/arm64 "
            "(default linux/amd64).",
        ),
    ] = None,
    dev_tools: Annotated[
        bool | None,
        typer.Option(
            "--dev-tools/--no-dev-tools",
            help="Keep a requirements file's test, lint and docs tools in the image.",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            metavar="sagemaker|vertex|cloudrun|spaces",
            help="A platform the image runs on: sagemaker, vertex, cloudrun, spaces (repeatable).",
        ),
    ] = None,
    predict_route: Annotated[
        str | None,
        typer.Option(
            "--predict-route",
            metavar="PATH",
            help="The app's route that serves /invocations (its only POST one).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be written; write nothing.")
    ] = False,
    diff: Annotated[
        bool, typer.Option("--diff", help="Show the changes as a diff (with --dry-run: only).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace files that differ; yours are kept as <name>.orig first."
        ),
    ] = False,
    recreate: Annotated[
        bool, typer.Option("--recreate", help="Re-create generated files you deleted.")
    ] = False,
) -> None:
    """Write Dockerfile, .dockerignore and docker/*.sh; again later, carry your edits over.

    Flags given here are saved ([tool.dockerize-ml] in pyproject.toml, else
    dockerize-ml.toml) and replayed by later runs and by `check`.
    """
    if entry is not None:
        try:
            shlex.split(entry)
        except ValueError as exc:
            raise typer.BadParameter(
                f"cannot split {entry!r}: {exc}", param_hint="--entry"
            ) from None
    platforms = [p.strip() for a in platform or () for p in a.split(",") if p.strip()]
    flags = Choices(
        python=python,
        entry=entry,
        ports=tuple(port) if port else None,
        base_image=base_image,
        installer=installer,
        deps_from=deps_from,
        extras=tuple(extra) if extra else None,
        groups=tuple(group) if group else None,
        buildkit=buildkit,
        ci=tuple(ci) if ci else None,
        device=device,
        k8s=k8s,
        devcontainer=devcontainer,
        dev_tools=dev_tools,
        platforms=tuple(platforms) if platforms else None,
        targets=tuple(target) if target else None,
        predict_route=predict_route,
    )
    # `init [PATH]` with nothing moved since the last run was answered by entry.py.
    from dockerize_ml.cli.initreport import _report_init
    from dockerize_ml.jobs import run_init

    result = run_init(path, flags, force=force, dry_run=dry_run, recreate=recreate)
    _report_init(path, result, dry_run=dry_run, diff=diff)


@app.command()
def check(
    path: PathArg = Path(),
    diff: Annotated[
        bool, typer.Option("--diff", help="Show what a regeneration would change.")
    ] = False,
) -> None:
    """Exit 0 when the generated files are up to date; 9 (naming what moved) when not."""
    # `check [PATH]` with nothing moved since the last init was answered by entry.py.
    from dockerize_ml.jobs import run_check

    result = run_check(path)
    if result.never_generated:
        typer.echo(
            f"stale: no Docker files generated in {path} yet; run: dockerize-ml init {path}",
            err=True,
        )
        raise typer.Exit(int(ExitCode.STALE))
    if diff:
        typer.echo(result.diff, nl=False)
    if result.ok:
        moved = (
            f" ({', '.join(result.moved_inputs)} changed; nothing to regenerate)"
            if result.moved_inputs
            else ""
        )
        typer.echo(f"up to date{moved}")
        return
    moved = ", ".join(result.moved_inputs) or "the detected facts or dockerize-ml itself"
    typer.echo(
        f"stale: {moved} changed since the Docker files were generated; "
        f"{', '.join(result.stale_files)} would change. Run: dockerize-ml init {path}",
        err=True,
    )
    raise typer.Exit(int(ExitCode.STALE))


@app.command()
def build(
    path: PathArg = Path(),
    tag: Annotated[
        str | None,
        typer.Option("--tag", metavar="IMAGE", help="Image tag (default <project>:latest)."),
    ] = None,
    no_smoke: Annotated[
        bool, typer.Option("--no-smoke", help="Build only; no smoke tests.")
    ] = False,
    smoke: Annotated[
        str | None,
        typer.Option(
            "--smoke",
            metavar="COMMAND",
            help="A command to run inside the image as one more smoke test.",
        ),
    ] = None,
    gpus: Annotated[
        bool, typer.Option("--gpus", help="Give the containers every GPU and check CUDA works.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", help="Seconds each smoke test may take."),
    ] = 120,
    docker_binary: Annotated[
        str | None,
        typer.Option(
            "--docker",
            metavar="PATH",
            help=f"The docker CLI for BuildKit builds (default ${DOCKER_ENV} or docker).",
        ),
    ] = None,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="On a recognised failure, save the change in the settings, run init and "
            f"build again ({docs('build-fix.md')}).",
        ),
    ] = False,
    rounds: Annotated[
        int, typer.Option("--rounds", min=1, max=10, help="How many builds --fix may try.")
    ] = FIX_ROUNDS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Build the image and smoke-test it: imports, entry point, server, non-root user.

    A failure it recognises is named with its cause and the change; --fix applies it.
    """
    from dockerize_ml.cli.building import _build_fix, _build_once, _print_findings, _print_report
    from dockerize_ml.diagnose import diagnose
    from dockerize_ml.jobs import fix_facts, plan_project

    if docker_binary:
        if shutil.which(docker_binary) is None:
            raise NoEngineError(
                f"--docker {docker_binary!r} is not a program that can be run (not found, or "
                "not executable)",
                "give the path of the docker CLI, or leave --docker out",
            )
        os.environ[DOCKER_ENV] = docker_binary
    options = {"tag": tag, "no_smoke": no_smoke, "smoke": smoke, "gpus": gpus, "timeout": timeout}
    once = _build_once(path, options, as_json)
    if fix:
        _build_fix(path, once, rounds, as_json)
        return
    profile, plan, settings = plan_project(path)
    outcome, failure = once(profile, plan, settings)
    findings = diagnose(failure.log, fix_facts(path, profile, plan)) if failure else []
    if isinstance(outcome, BuildFailedError):
        _print_findings(findings, fix_hint=True)
        raise outcome
    if as_json:
        data = outcome.to_dict()
        data["findings"] = [f.to_dict() for f in findings]
        typer.echo(json.dumps(data, indent=2))
    else:
        _print_report(outcome)
    if failure is not None:
        typer.echo(f"error: {failure.summary}", err=True)
        _print_findings(findings, fix_hint=True)
        raise typer.Exit(int(ExitCode.SMOKE_FAILED))


def _click_class(name: str) -> type[Exception]:
    """Click's exception ``name``, from wherever this Typer takes Click (its own copy since
    Typer 0.29, the click package before)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_USAGE_ERROR = _click_class("UsageError")
_CLICK_ERROR = _click_class("ClickException")


def _usage_line(exc: Any) -> str:
    """A usage error as the documented one line, with where to read the flags."""
    message = " ".join(exc.format_message().split())
    command = exc.ctx.command_path if exc.ctx is not None else PROG
    return f"error: {message} (hint: see `{command} --help`)"


def main() -> None:
    """Console-script entry: every error is one line, ``error: ... (hint: ...)``, with its
    own exit code; never a traceback, and never Click's multi-line usage box.

    Click runs outside its standalone mode so that its usage errors come here; the bare
    command (no arguments) still prints the help.
    """
    try:
        code = app(prog_name=PROG, standalone_mode=False)
    except _USAGE_ERROR as exc:
        ctx: Any = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            exc.show()  # type: ignore[attr-defined]  # the help, as Click shows it
        else:
            typer.echo(_usage_line(exc), err=True)
        sys.exit(int(ExitCode.USAGE))
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(130)
    except _CLICK_ERROR as exc:
        shown: Any = exc
        typer.echo(f"error: {' '.join(str(shown.format_message()).split())}", err=True)
        sys.exit(int(getattr(exc, "exit_code", 1)))
    except DockerizeError as exc:
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        typer.echo(f"error: {exc.message}{hint}", err=True)
        sys.exit(int(exc.exit_code))
    except Exception as exc:
        if os.environ.get("DOCKERIZE_ML_DEBUG"):
            raise
        typer.echo(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(hint: please report it; DOCKERIZE_ML_DEBUG=1 shows the traceback)",
            err=True,
        )
        sys.exit(int(ExitCode.INTERNAL))
    sys.exit(code if isinstance(code, int) else 0)

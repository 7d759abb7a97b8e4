"""The command line: parse, call the library, print, exit. The only module that prints or exits."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dockerize_ml import quick
from dockerize_ml.choices import FIX_ROUNDS, INSTALLERS
from dockerize_ml.errors import BuildFailedError, DockerizeError, ExitCode, NoEngineError, docs
from dockerize_ml.names import DOCKER_ENV, NEW_SUFFIX
from dockerize_ml.profile import DEPENDENCY_KINDS
from dockerize_ml.version import __version__

if TYPE_CHECKING:
    from dockerize_ml.diagnose import Finding
    from dockerize_ml.jobs import BuildOnce, Failure, FixRound
    from dockerize_ml.plan import BuildPlan
    from dockerize_ml.profile import ProjectProfile
    from dockerize_ml.smoke import BuildReport

# The pipeline and the Docker SDK are imported inside the commands that use them, so that
# `--version`, `--help` and the pre-commit hook's `check` start fast (docs/benchmarks.md).

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
        f"{', '.join(DEPENDENCY_KINDS[:-1])}, or {DEPENDENCY_KINDS[-1]}.",
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


def _describe_dependencies(profile: ProjectProfile) -> list[str]:
    """The dependency part of the ``detect`` report."""
    lines: list[str] = []
    used = [s for s in profile.dependency_sources if s.used]
    ignored = [s for s in profile.dependency_sources if not s.used]
    source = ", ".join(f"{s.path} ({s.kind})" for s in used) or "none declared"
    if used and used[0].lock:
        source += ", locked"
    lines.append(f"  Dependencies  {len(profile.dependencies)} from {source}")
    for dep in profile.dependencies:
        where = f"{dep.source}:{dep.line}" if dep.line else dep.source
        spec = f"{dep.name}{dep.specifier}" + (f"; {dep.markers}" if dep.markers else "")
        lines.append(f"                  {spec:<40} {where}")
    for src in ignored:
        lines.append(f"                  not used: {src.path} ({src.kind})")
    optional = [f"extra {n}" for n in profile.extras_available]
    optional += [f"group {n}" for n in profile.groups_available]
    if optional:
        lines.append(f"  Optional      {', '.join(optional)} (--extra / --group to install)")
    for local in profile.local_installs:
        lines.append(
            f"  Local install {local.path}{' (editable)' if local.editable else ''}"
            f" after the code  ({local.evidence.path}:{local.evidence.line})"
        )
    if profile.conda is not None:
        how = "pip" if profile.conda.pip_installable else "micromamba"
        cuda = f" (CUDA {profile.conda.cuda})" if profile.conda.cuda else ""
        lines.append(f"  Conda         {profile.conda.path}: {how}, {profile.conda.reason}{cuda}")
    if profile.build_secrets:
        lines.append(f"  Build secrets {', '.join(profile.build_secrets)} (BuildKit secrets)")
    if profile.needs_git:
        lines.append("  System        git (VCS requirements, build time)")
    if profile.package is not None:
        lines.append(
            f"  Package       installed after the code with {profile.package.build_backend}"
            f"  ({profile.package.evidence})"
        )
    return lines


def _describe(profile: ProjectProfile) -> str:
    """The human-readable report of ``detect``: each fact with its evidence."""
    lines = [f"Project {profile.name} at {profile.root}"]
    evidence = ", ".join(str(e) for e in profile.python_version_evidence) or "no file names one"
    lines.append(f"  Python        {profile.python_version}  ({evidence})")
    if profile.wheel_facts:
        read = {"pypi": "PyPI", "knowledge": "knowledge/python.toml (offline)"}
        where = " and ".join(
            read.get(s, s) for s in sorted({f.source for f in profile.wheel_facts})
        )
        lines.append(f"  Wheels        {len(profile.wheel_facts)} exact pins, read from {where}")
    lines += _describe_dependencies(profile)
    if profile.frameworks:
        lines.append(f"  Frameworks    {', '.join(profile.frameworks)}")
    gpu = "yes" if profile.gpu.uses_cuda else "no"
    gpu_why = ", ".join(str(e) for e in profile.gpu.evidence)
    lines.append(f"  CUDA          {gpu}" + (f"  ({gpu_why})" if gpu_why else ""))
    build = profile.cuda_build
    compiled = [r.name for r in build.requirements]
    compiled += ["the project's CUDAExtension"] if build.project else []
    compiled += [f"{folder} (CUDAExtension)" for folder in build.folders]
    if compiled:
        lines.append(
            f"  CUDA build    {', '.join(compiled)}  (compiled in an nvidia/cuda devel stage)"
        )
    if profile.entrypoint is not None:
        ep = profile.entrypoint
        why = ", ".join(str(e) for e in ep.evidence)
        lines.append(f"  Entry point   {shlex.join(ep.command)}  ({why})")
        for alt in profile.entrypoint_alternatives:
            lines.append(f"    or          {shlex.join(alt.command)}  ({alt.kind})")
    else:
        lines.append("  Entry point   none found (pass --entry)")
    if profile.ports:
        lines.append(f"  Ports         {', '.join(map(str, profile.ports))}")
    for package in profile.system_packages:
        why = ", ".join(str(e) for e in package.evidence[:2])
        lines.append(f"  System ({package.stage:<5}) {package.name}  ({why})")
    if profile.undeclared_imports:
        lines.append(f"  Undeclared    {', '.join(profile.undeclared_imports)}")
    if profile.notebooks:
        lines.append(
            f"  Notebooks     {len(profile.notebooks)}: {', '.join(profile.notebooks[:5])}"
        )
    if profile.data_dirs:
        lines.append(f"  Data          {', '.join(profile.data_dirs)} (mounted read-only)")
    if profile.output_dirs:
        lines.append(f"  Outputs       {', '.join(profile.output_dirs)} (mounted writable)")
    if profile.env_files:
        lines.append(f"  Secrets       {', '.join(profile.env_files)} (kept out of the image)")
    for path, ev in zip(profile.runtime_files, profile.runtime_file_evidence, strict=True):
        lines.append(f"  Runtime file  {path} stays in the image  ({ev})")
    for warning in profile.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


@app.command()
def detect(
    path: PathArg = Path(),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the profile as JSON (a stable contract).")
    ] = False,
    deps_from: DepsFrom = None,
) -> None:
    """Inspect the project and report what was found, with evidence for each fact."""
    from dockerize_ml.jobs import inspect

    profile = inspect(path, deps_from)
    if as_json:
        typer.echo(json.dumps(profile.to_dict(), indent=2))
    else:
        typer.echo(_describe(profile))


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
    given = {
        "python": python,
        "entry": entry,
        "ports": port or None,
        "base-image": base_image,
        "installer": installer,
        "deps-from": deps_from,
        "extras": extra or None,
        "groups": group or None,
        "buildkit": buildkit,
        "ci": ci or None,
        "device": device,
        "k8s": k8s,
        "devcontainer": devcontainer,
        "dev-tools": dev_tools,
        "platforms": [p.strip() for a in platform or () for p in a.split(",") if p.strip()] or None,
        "targets": target or None,
        "predict-route": predict_route,
    }
    flags = {k: v for k, v in given.items() if v is not None}
    if not (flags or force or dry_run or recreate or diff):
        recorded = quick.unchanged(path)
        if recorded is not None:  # nothing moved since the last init: the same answer
            for message in recorded.messages:
                typer.echo(f"warning: {message}", err=True)
            for rel in recorded.files:
                typer.echo(f"{_VERBS['unchanged']:<15} {path / rel}")
            typer.echo(f"next: {path / 'docker/build.sh'} && {path / 'docker/run.sh'}")
            return
    from dockerize_ml.jobs import diff_actions, run_init

    result = run_init(path, flags, force=force, dry_run=dry_run, recreate=recreate)
    for warning in (*result.profile.warnings, *result.notes):
        typer.echo(f"warning: {warning}", err=True)
    if diff:
        typer.echo(diff_actions(path, result.actions), nl=False)
    verbs = _DRY_RUN_VERBS if dry_run else _VERBS
    for action in result.actions:
        note = f"  ({action.note})" if action.note else ""
        typer.echo(f"{verbs[action.action]:<15} {path / action.path}{note}")
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
        typer.echo(f"next: {path / 'docker/build.sh'} && {path / 'docker/run.sh'}")


@app.command()
def check(
    path: PathArg = Path(),
    diff: Annotated[
        bool, typer.Option("--diff", help="Show what a regeneration would change.")
    ] = False,
) -> None:
    """Exit 0 when the generated files are up to date; 9 (naming what moved) when not."""
    if not diff and quick.unchanged(path) is not None:
        typer.echo("up to date")  # nothing moved since the last init
        return
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
) -> Callable[[ProjectProfile, BuildPlan, dict[str, Any]], tuple[Any, Failure | None]]:
    """One build and smoke test of the project as planned now: the report, and why it
    failed (None when it passed)."""
    from docker.errors import ImageNotFound

    from dockerize_ml.engine import docker_cli
    from dockerize_ml.jobs import Failure
    from dockerize_ml.smoke import build_and_smoke

    def once(
        profile: ProjectProfile, plan: BuildPlan, saved: dict[str, Any]
    ) -> tuple[Any, Failure | None]:
        image = options["tag"] or plan.image
        try:
            report = build_and_smoke(
                path,
                plan.smoke,
                profile.frameworks,
                tag=image,
                smoke=not options["no_smoke"],
                user_command=options["smoke"] or saved.get("smoke"),
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
    profile, plan, saved = plan_project(path, {})
    outcome, failure = once(profile, plan, saved)
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

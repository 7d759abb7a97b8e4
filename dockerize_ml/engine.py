"""Talking to a Docker engine: the SDK where it can, the docker CLI where BuildKit is needed.

The Docker SDK builds only with the classic builder (docker-py issue 2230), so a Dockerfile
that uses ``RUN --mount`` is built with the docker CLI. The CLI binary is configurable with
``DOCKERIZE_ML_DOCKER`` because the first ``docker`` on PATH may lack BuildKit support.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException

from dockerize_ml.errors import BuildFailedError, NoEngineError
from dockerize_ml.names import DOCKER_ENV


def docker_cli() -> str:
    """The docker CLI to run: ``$DOCKERIZE_ML_DOCKER``, else ``docker`` on PATH."""
    return os.environ.get(DOCKER_ENV) or "docker"


def buildkit_problem() -> str | None:
    """Why the docker CLI cannot build with BuildKit, or None when it can.

    Docker 23 and later build with BuildKit through the buildx plugin; older CLIs (such as
    Debian's 20.10) have BuildKit built in and need only ``DOCKER_BUILDKIT=1``.
    """
    cli = docker_cli()
    try:
        version = subprocess.run(
            [cli, "version", "--format", "{{.Client.Version}}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        ).stdout.strip()
        if not version:
            return f"the docker CLI {cli!r} did not report its version"
        if int(version.split(".")[0]) < 23:
            return None
        buildx = subprocess.run(
            [cli, "buildx", "version"], capture_output=True, check=False, timeout=30
        )
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        return f"the docker CLI {cli!r} cannot be run ({exc})"
    if buildx.returncode != 0:
        return (
            f"the docker CLI {cli!r} ({version}) has no buildx plugin, which BuildKit needs; "
            f"install docker-buildx or set {DOCKER_ENV} to a docker CLI that has it"
        )
    return None


def client() -> Any:
    """A Docker SDK client for the engine found the way Docker's tools find it, pinged."""
    try:
        engine = docker.from_env()
        engine.ping()
    except DockerException as exc:
        where = os.environ.get("DOCKER_HOST") or "the default socket /var/run/docker.sock"
        raise NoEngineError(
            f"no Docker engine answered at {where}: {exc}",
            "start Docker (Docker Desktop, or `sudo systemctl start docker`) or set DOCKER_HOST",
        ) from None
    return engine


@dataclass(frozen=True)
class BuildStep:
    """One Dockerfile instruction as the builder reported it, and whether it came from cache."""

    instruction: str
    cached: bool


@dataclass
class BuildResult:
    """What a build printed, and the builder's own per-step cache report."""

    tag: str
    log: str
    steps: list[BuildStep] = field(default_factory=list)

    def step(self, text: str) -> BuildStep:
        """The only step whose instruction contains ``text`` (e.g. ``"COPY --chown"``)."""
        found = [step for step in self.steps if text in step.instruction]
        if len(found) != 1:
            names = [s.instruction[:80] for s in self.steps]
            raise KeyError(f"{len(found)} build steps contain {text!r}; steps: {names}")
        return found[0]


_BUILDKIT_STEP = re.compile(r"^#(\d+) \[(?:[\w-]+ )?\s*\d+/\d+\] (.+)$")
_BUILDKIT_CACHED = re.compile(r"^#(\d+) CACHED$")
_CLASSIC_STEP = re.compile(r"^Step \d+/\d+ : (.+)$")


def parse_buildkit_steps(log: str) -> list[BuildStep]:
    """Steps of a ``--progress=plain`` BuildKit log, in order, with their cache status."""
    order: list[str] = []
    instruction: dict[str, str] = {}
    cached: set[str] = set()
    for line in log.splitlines():
        step = _BUILDKIT_STEP.match(line)
        if step and step.group(1) not in instruction:
            instruction[step.group(1)] = step.group(2).strip()
            order.append(step.group(1))
            continue
        hit = _BUILDKIT_CACHED.match(line)
        if hit:
            cached.add(hit.group(1))
    return [BuildStep(" ".join(instruction[n].split()), n in cached) for n in order]


def parse_classic_steps(log: str) -> list[BuildStep]:
    """Steps of a classic-builder log, with ``---> Using cache`` as the cache status."""
    steps: list[BuildStep] = []
    for line in log.splitlines():
        step = _CLASSIC_STEP.match(line.strip())
        if step:
            steps.append(BuildStep(" ".join(step.group(1).split()), False))
        elif line.strip() == "---> Using cache" and steps:
            steps[-1] = BuildStep(steps[-1].instruction, True)
    return steps


#: Recognisable causes of a failed build: (pattern, message, hint); the pattern's first group
#: is named in the message.
_CAUSES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(r"No matching distribution found for ([^\s]+)"),
        "pip cannot find the requirement {0}",
        "check its name and version in the dependency file (and the index it comes from)",
    ),
    (
        re.compile(
            r"Because ([A-Za-z0-9_.\-\[\]]+)(?:[^ ]*)? was not found in the package registry"
        ),
        "uv cannot find the requirement {0}",
        "check its name and version in the dependency file (and the index it comes from)",
    ),
    (
        re.compile(r"Because there are no versions of ([^\s]+) and"),
        "no version of {0} satisfies the requirement",
        "check the version constraint in the dependency file",
    ),
    (
        re.compile(r"Could not find a version that satisfies the requirement ([^\s]+)"),
        "no version satisfies the requirement {0}",
        "check the version constraint in the dependency file",
    ),
    (
        re.compile(r"fatal error: ([\w./-]+\.h): No such file or directory"),
        "a dependency compiles from source and needs the header {0}",
        "prefer a binary wheel (for example psycopg2-binary), or add the -dev package",
    ),
    (
        re.compile(
            r"(?:\"/?([^\"]+)\": not found"
            r"|failed to compute cache key: [^\n]*\"/?([^\"]+)\" not found"
            r"|excluded by \.dockerignore: stat ([^:]+): file does not exist)"
        ),
        "the build needs {0}, which is missing or excluded by .dockerignore",
        "check .dockerignore: a `!` line puts a file back in",
    ),
)


def diagnose(log: str) -> tuple[str, str]:
    """The failing step and a message with a hint, from a build log."""
    step = ""
    for line in log.splitlines():
        buildkit = _BUILDKIT_STEP.match(line)
        classic = _CLASSIC_STEP.match(line.strip())
        if buildkit:
            step = buildkit.group(2).strip()
        elif classic:
            step = classic.group(1).strip()
    failing = ""
    error = re.search(r"^#(\d+) ERROR", log, re.MULTILINE)
    if error:
        for line in log.splitlines():
            match = _BUILDKIT_STEP.match(line)
            if match and match.group(1) == error.group(1):
                failing = match.group(2).strip()
                break
    step = failing or step
    for pattern, message, hint in _CAUSES:
        found = pattern.search(log)
        if found:
            subject = next(g for g in found.groups() if g)
            return step, f"{message.format(subject.rstrip(':'))}; {hint}"
    return step, _last_lines(log)


def _failed(log: str) -> BuildFailedError:
    step, cause = diagnose(log)
    where = f" at `{step[:120]}`" if step else ""
    return BuildFailedError(
        f"the image did not build{where}: {cause}", "run docker/build.sh to see the whole log", log
    )


LineSink = Callable[[str], None]


def build_with_cli(
    context: Path,
    tag: str,
    *,
    buildkit: bool = True,
    on_line: LineSink | None = None,
    dockerfile: Path | None = None,
) -> BuildResult:
    """Build ``context`` with the docker CLI (BuildKit unless told otherwise); ``dockerfile``
    when it is not the context's own (a project built from its repository's root)."""
    env = {**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"}
    argv = [docker_cli(), "build", "--tag", tag]
    if dockerfile is not None:
        argv += ["--file", str(dockerfile)]
    if buildkit:
        argv.append("--progress=plain")
    try:
        proc = subprocess.Popen(
            [*argv, str(context)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except FileNotFoundError:
        raise NoEngineError(
            f"the docker CLI {docker_cli()!r} was not found",
            f"install Docker or set {DOCKER_ENV} to the docker binary",
        ) from None
    lines: list[str] = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            lines.append(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    log = "".join(lines)
    if code != 0:
        raise _failed(log)
    steps = parse_buildkit_steps(log) if buildkit else parse_classic_steps(log)
    return BuildResult(tag, log, steps)


def build_with_sdk(context: Path, tag: str, *, on_line: LineSink | None = None) -> BuildResult:
    """Build ``context`` through the Docker SDK (the classic builder: no ``RUN --mount``)."""
    engine = client()
    lines: list[str] = []
    try:
        for chunk in engine.api.build(
            path=str(context), tag=tag, rm=True, forcerm=True, decode=True
        ):
            text = str(chunk.get("stream") or "")
            if "error" in chunk:
                text += str(chunk["error"]) + "\n"
            if text:
                lines.append(text)
                if on_line is not None:
                    for line in text.splitlines():
                        on_line(line)
            if "error" in chunk:
                raise _failed("".join(lines))
    except DockerException as exc:
        raise NoEngineError(f"the Docker engine failed during the build: {exc}", "") from None
    log = "".join(lines)
    return BuildResult(tag, log, parse_classic_steps(log))


def _last_lines(log: str, count: int = 5) -> str:
    lines = [line for line in log.splitlines() if line.strip() and "sha256:" not in line]
    return " | ".join(lines[-count:])

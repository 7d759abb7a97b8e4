"""``dockerize-ml build``: build the image and prove it works, with a report.

Smoke tests, each with a timeout and each reported: the process runs as a non-root user; every
declared dependency's top-level modules import inside the image (distribution -> modules read
with importlib.metadata in the image itself); the entry point starts (a server answers the
plan's one health probe from outside the container; a CLI answers ``--help``; a training script
is only imported); a user-given smoke command; with ``--gpus``, a CUDA tensor. Every container
is removed, also on failure and on Ctrl-C. The programs run inside the image are
``dockerize_ml/probes.py``'s, the same ones docker/smoke.sh runs.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import docker.types

from dockerize_ml.engine import LineSink, build_with_cli, build_with_sdk, client
from dockerize_ml.errors import NoDockerfileError
from dockerize_ml.imagescan import dotenv_pairs, scan_image
from dockerize_ml.plan import SmokePlan
from dockerize_ml.probes import IMPORT_PROBE, SCRIPT_PROBE

GPU_PROBES = {
    "torch": "import torch; torch.zeros(1).cuda(); print(torch.cuda.get_device_name(0))",
    "tensorflow": "import tensorflow as tf; d = tf.config.list_physical_devices('GPU'); "
    "assert d, 'no GPU visible to TensorFlow'; print(d)",
    "jax": "import jax; print(jax.devices('gpu'))",
}

#: Hints for failures whose cause is recognisable from the output.
_HINTS = (
    ("libGL.so.1", "opencv-python needs libgl1; use opencv-python-headless or add libgl1"),
    ("libgthread", "opencv needs libglib2.0-0 in the image"),
    ("libsndfile", "soundfile needs libsndfile1 in the image"),
    ("libgomp", "the wheel needs libgomp1 in the image"),
    ("127.0.0.1", "the server listens on a loopback address inside the container; use 0.0.0.0"),
    ("localhost", "the server listens on a loopback address inside the container; use 0.0.0.0"),
)


@dataclass
class SmokeResult:
    """One smoke test: its name, whether it passed, how long it took and what it saw."""

    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class BuildReport:
    """What ``build`` measured and found."""

    tag: str
    builder: str  # "buildkit (docker CLI)" or "classic (Docker SDK)"
    build_seconds: float
    image_bytes: int = 0
    context_bytes: int = 0
    largest_layers: list[tuple[int, str]] = field(default_factory=list)
    smoke: list[SmokeResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.smoke)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def _hint(text: str) -> str:
    return next((hint for needle, hint in _HINTS if needle in text), "")


def _context_bytes(log: str) -> int:
    """The build context size the builder reported."""
    units = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9}
    found = re.findall(r"transferring context: ([\d.]+)([kKMG]?B)", log) or re.findall(
        r"Sending build context to Docker daemon\s+([\d.]+)([kKMG]?B)", log
    )
    return max((int(float(n) * units[u]) for n, u in found), default=0)


@contextmanager
def _container(engine: Any, image: str, **kwargs: Any) -> Iterator[Any]:
    container = engine.containers.run(image, detach=True, **kwargs)
    try:
        yield container
    finally:
        with contextlib.suppress(Exception):  # already gone; nothing else to clean
            container.remove(force=True)


def run_in_image(
    engine: Any, image: str, command: list[str], timeout: float, **kwargs: Any
) -> tuple[int, str]:
    """Run ``command`` in a fresh container; its exit code (124 on timeout) and output."""
    with _container(engine, image, command=command, **kwargs) as container:
        try:
            status = container.wait(timeout=timeout)
        except Exception:  # the SDK raises a requests timeout here
            return 124, f"no answer within {timeout:.0f}s"
        output = container.logs(stdout=True, stderr=True).decode(errors="replace")
        return int(status.get("StatusCode", 1)), output


def _timed(name: str, test: Callable[[], tuple[bool, str]]) -> SmokeResult:
    start = time.monotonic()
    try:
        ok, detail = test()
    except Exception as exc:  # a smoke test that crashes has failed
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return SmokeResult(name, ok, round(time.monotonic() - start, 2), detail)


def _http_probe(
    engine: Any, image: str, smoke: SmokePlan, timeout: float, **kw: Any
) -> tuple[bool, str]:
    """The plan's health probe from outside the container: ``GET path`` answers 2xx or 3xx
    (redirects followed) within the probe's timeout. A 4xx fails at once: the server runs,
    but not where the probe (and compose's and Kubernetes' checks) look. A server that
    has no route for GET / (``path`` ""; compose and Kubernetes then connect to its port) passes on
    any HTTP answer to ``GET /``: from outside, the published port alone proves nothing
    (Docker's proxy accepts before the server listens)."""
    port, path = smoke.port, smoke.path
    with _container(engine, image, ports={f"{port}/tcp": None}, **kw) as container:
        deadline = time.monotonic() + timeout
        last = "the container did not publish the port"
        while time.monotonic() < deadline:
            container.reload()
            if container.status in ("exited", "dead"):
                logs = container.logs().decode(errors="replace")[-800:]
                return False, f"the server exited: {logs.strip()}"
            bindings = (container.ports or {}).get(f"{port}/tcp") or []
            if bindings:
                url = f"http://127.0.0.1:{bindings[0]['HostPort']}{path or '/'}"
                headers = {"Host": smoke.host} if smoke.host else {}
                request = urllib.request.Request(url, headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=smoke.timeout) as response:
                        return True, f"GET {path} -> {response.status}"
                except urllib.error.HTTPError as exc:
                    last = f"GET {path or '/'} -> {exc.code}"
                    if not path:  # no route for GET /: any HTTP answer is the server's
                        return True, f"{last}: the server answers (no route answers GET /)"
                    if exc.code < 500:
                        return False, (
                            f"{last}: the server answers, but not at its health path (hint: "
                            f"serve GET {path}; compose's healthcheck and the Kubernetes "
                            "probes ask it too)"
                        )
                except OSError as exc:
                    last = f"GET {path}: {exc}"
            time.sleep(0.5)
        logs = container.logs().decode(errors="replace")[-800:]
        hint = _hint(logs)
        return False, f"nothing answered on port {port} within {timeout:.0f}s ({last})" + (
            f"; {hint}" if hint else ""
        ) + f"; last output: {logs.strip()[-300:]}"


@dataclass(frozen=True)
class _Runner:
    """Runs a command in a fresh container of the image, with the smoke test's options."""

    engine: Any
    image: str
    timeout: float
    extra: dict[str, Any]

    def run(self, command: list[str]) -> tuple[int, str]:
        return run_in_image(self.engine, self.image, command, self.timeout, **self.extra)


def smoke_test(
    engine: Any,
    image: str,
    smoke: SmokePlan,
    frameworks: tuple[str, ...] = (),
    *,
    user_command: str | None = None,
    gpus: bool = False,
    timeout: float = 120,
    environment: dict[str, str] | None = None,
) -> list[SmokeResult]:
    """Every smoke test of the plan (the same docker/smoke.sh runs in CI), each reported;
    each container gets ``environment`` (the project's .env, or its committed example)."""
    extra: dict[str, Any] = {"environment": environment} if environment else {}
    if gpus:
        extra["device_requests"] = [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])]
    runner = _Runner(engine, image, timeout, extra)
    results = [_timed("non-root user", lambda: _user(runner))]
    if smoke.distributions:
        results.append(_timed("dependencies import", lambda: _imports(runner, smoke)))
    if smoke.kind == "server":
        results.append(
            _timed(
                f"{smoke.label} answers on port {smoke.port}",
                lambda: _http_probe(engine, image, smoke, timeout, **extra),
            )
        )
    elif smoke.kind == "help":
        results.append(_timed("entry point answers --help", lambda: _cli_help(runner, smoke)))
    elif smoke.kind == "script":
        results.append(_timed("entry script imports", lambda: _script(runner, smoke)))
    if user_command:
        results.append(_timed("smoke command", lambda: _custom(runner, user_command)))
    framework = next((f for f in GPU_PROBES if f in frameworks), None) if gpus else None
    if framework is not None:
        probe = GPU_PROBES[framework]
        results.append(_timed(f"{framework} sees a GPU", lambda: _cuda(runner, probe)))
    return results


def _user(runner: _Runner) -> tuple[bool, str]:
    code, output = runner.run(["id", "-u"])
    uid = output.strip()
    return code == 0 and uid not in ("", "0"), f"runs as uid {uid or '?'}"


def _imports(runner: _Runner, smoke: SmokePlan) -> tuple[bool, str]:
    _, output = runner.run(["python", "-c", IMPORT_PROBE, *smoke.distributions])
    last = next((ln for ln in reversed(output.splitlines()) if ln[:1] == "{"), "")
    try:
        found: dict[str, str] = json.loads(last)
    except ValueError:
        return False, f"the import probe failed: {output.strip()[-400:]}"
    failed = {d: e for d, e in found.items() if e}
    if not failed:
        return True, f"{len(found)} distributions import"
    text = "; ".join(f"{d}: {e}" for d, e in failed.items())
    hint = _hint(text)
    return False, text + (f" (hint: {hint})" if hint else "")


def _cli_help(runner: _Runner, smoke: SmokePlan) -> tuple[bool, str]:
    command = smoke.command
    code, output = runner.run([*command, "--help"])
    return code == 0, f"`{' '.join(command)} --help` exited {code}: {output.strip()[-200:]}"


def _script(runner: _Runner, smoke: SmokePlan) -> tuple[bool, str]:
    code, output = runner.run(["python", "-c", SCRIPT_PROBE, smoke.script, *smoke.script_args])
    hint = _hint(output)
    detail = f"`{smoke.script}` imports" if code == 0 else output.strip()[-400:]
    return code == 0, detail + (f" (hint: {hint})" if hint and code else "")


def _custom(runner: _Runner, user_command: str) -> tuple[bool, str]:
    code, output = runner.run(["sh", "-c", user_command])
    return code == 0, f"exited {code}: {output.strip()[-300:]}"


def _cuda(runner: _Runner, probe: str) -> tuple[bool, str]:
    code, output = runner.run(["python", "-c", probe])
    return code == 0, output.strip()[-300:]


def smoke_env_file(root: Path, plan: SmokePlan) -> Path | None:
    """The dotenv file the smoke test's containers get: the project's .env, as docker/run.sh
    passes it, or where there is none, its committed example (``SmokePlan.env``)."""
    for name in (".env", plan.env):
        if name and (root / name).is_file():
            return root / name
    return None


def dotenv(path: Path | None) -> dict[str, str]:
    """A dotenv file read as ``docker run --env-file`` reads it: ``NAME=value`` lines, the
    value as written (quotes kept), comments and blank lines skipped; a bare ``NAME``
    (passed from the caller's environment there) is left out."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    return {name: value for name, value in dotenv_pairs(text) if name and "\x00" not in value}


def build_and_smoke(
    root: Path,
    plan: SmokePlan,
    frameworks: tuple[str, ...] = (),
    *,
    tag: str,
    smoke: bool = True,
    user_command: str | None = None,
    gpus: bool = False,
    timeout: float = 120,
    on_line: LineSink | None = None,
    context: str = ".",
    base_image: str | None = None,
    env_files: tuple[Path, ...] = (),
) -> BuildReport:
    """Build the project's Dockerfile (BuildKit through the CLI when it needs it, else the
    SDK), then smoke-test the image. ``context``: the build context relative to ``root``
    (the repository root, for a project that installs folders from elsewhere in it)."""
    dockerfile = root / "Dockerfile"
    if not dockerfile.is_file():
        raise NoDockerfileError(
            f"no Dockerfile in {root}", f"write one with: dockerize-ml init {root}"
        )
    engine = client()  # fails early, with its own exit code, when no engine answers
    needs_buildkit = "--mount=" in dockerfile.read_text(encoding="utf-8", errors="replace")
    start = time.monotonic()
    if context != ".":
        result = build_with_cli(root / context, tag, on_line=on_line, dockerfile=dockerfile)
        builder = "buildkit (docker CLI)"
    elif needs_buildkit:
        result = build_with_cli(root, tag, on_line=on_line)
        builder = "buildkit (docker CLI)"
    else:
        result = build_with_sdk(root, tag, on_line=on_line)
        builder = "classic (Docker SDK)"
    report = BuildReport(tag, builder, round(time.monotonic() - start, 1))
    report.context_bytes = _context_bytes(result.log)
    image = engine.images.get(tag)
    report.image_bytes = int(image.attrs.get("Size", 0))
    layers = [
        (
            int(h.get("Size", 0)),
            " ".join(str(h.get("CreatedBy", "")).split())[:120] or "(base image)",
        )
        for h in image.history()
    ]
    report.largest_layers = sorted(layers, reverse=True)[:3]
    if smoke:
        report.smoke = smoke_test(
            engine,
            tag,
            plan,
            frameworks,
            user_command=user_command,
            gpus=gpus,
            timeout=timeout,
            environment=dotenv(smoke_env_file(root, plan)),
        )
        report.smoke.append(
            _timed("no secrets in the image", lambda: _secrets(engine, tag, base_image, env_files))
        )
    return report


def _secrets(
    engine: Any, tag: str, base_image: str | None, env_files: tuple[Path, ...]
) -> tuple[bool, str]:
    """The layers the Dockerfile added hold no secret and no value of the project's .env."""
    texts = []
    for path in env_files:
        with contextlib.suppress(OSError):
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    found = scan_image(engine, tag, base_image, texts)
    if found.ok:
        note = ""
        if found.in_code:
            shown = "; ".join(found.in_code[:3]) + ("; ..." if len(found.in_code) > 3 else "")
            note = (
                f"; in the project's own code, which the image needs (as init said; move "
                f"them to the environment): {shown}"
            )
        return True, f"{found.files} files in {found.layers} layers checked{note}"
    shown = "; ".join(found.findings[:5]) + ("; ..." if len(found.findings) > 5 else "")
    return False, f"{len(found.findings)} found: {shown} (hint: keep them out with .dockerignore)"

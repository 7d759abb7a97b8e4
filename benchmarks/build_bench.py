"""Image builds with a real engine: the generated Dockerfile against a hand-written reference.

    DOCKERIZE_ML_DOCKER=/usr/bin/docker python benchmarks/build_bench.py \
        [--project churn-model --project fastapi-service --project torch-train] [--runs 2]

For each project and each Dockerfile, in one run of this script:

  cold        no layer cache (--no-cache) and the BuildKit cache mounts emptied before it
              (`docker builder prune --filter type=exec.cachemount`)
  code edit   the rebuild after a one-line edit of a module
  + one dep   the rebuild after adding one small dependency (tabulate) to requirements.txt
  image       the image's size
  start       a container that imports the project's libraries: the median of --starts
              starts (9), taken after every Dockerfile of the project is built, in rounds
              that start each image once in turn, so that the machine's drift falls on all

for three Dockerfiles: `generated` (what `dockerize-ml init` writes), `reference` (the best
hand-written production file, benchmarks/reference/<project>/reference.Dockerfile) and
`naive` (`COPY . .`, then pip). All three get the .dockerignore `dockerize-ml init` writes,
so the comparison is about the Dockerfile. The table gives each figure's ratio to the
reference's and to naive's of the same run; `--runs 2` repeats everything to show the noise.

With --cold-rounds N, only cold builds: N of each Dockerfile, in alternating order, and their
median (a small project's cold builds differ by less than this machine's noise).

Needs a Docker engine, the base image `python:3.11-slim` and a docker CLI that builds with
BuildKit. It empties the engine's BuildKit cache mounts (every project's): run it on a
development machine, not on one whose cache you care about. torch-train is several GB per
image (PyPI's CUDA build): ask for it explicitly.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference"
REPO = HERE.parent

#: project -> (source folder, module edited, what a container start imports)
PROJECTS: dict[str, tuple[Path, str, str]] = {
    "churn-model": (REPO / "examples" / "churn-model", "churn/features.py", "pandas, sklearn"),
    "fastapi-service": (REFERENCE / "fastapi-service" / "project", "app.py", "fastapi, uvicorn"),
    "torch-train": (REFERENCE / "torch-train" / "project", "train.py", "torch, numpy"),
}
DOCKERFILES = ("generated", "reference", "naive")
FIGURES = ("cold", "edit", "dependency", "size", "start")
HEADERS = ("cold", "code edit", "+ one dep", "image", "start")


@dataclass
class Result:
    """One Dockerfile's figures in one run (seconds; size in MB)."""

    project: str
    dockerfile: str
    run: int
    cold: float
    edit: float
    dependency: float
    size: float
    start: float
    #: How many starts the median is of, and the fastest and slowest of them.
    starts: int = 3
    start_min: float = 0.0
    start_max: float = 0.0


def docker() -> str:
    return os.environ.get("DOCKERIZE_ML_DOCKER") or "docker"


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        output = done.stdout[-3000:] + done.stderr[-3000:]
        raise SystemExit(f"{' '.join(argv[:3])} failed:\n{output}")
    return done


def build(root: Path, tag: str, *, cold: bool = False) -> float:
    argv = [docker(), "build", "--progress=plain", "--tag", tag, str(root)]
    if cold:
        _run([docker(), "builder", "prune", "--force", "--filter", "type=exec.cachemount"])
        argv.insert(2, "--no-cache")
    start = time.perf_counter()
    _run(argv)
    return time.perf_counter() - start


def start_times(tags: list[str], imports: str, rounds: int) -> dict[str, list[float]]:
    """Container starts that import the project's libraries, ``rounds`` of each image, in
    rounds that start every image once (the order turned each round)."""
    times: dict[str, list[float]] = {tag: [] for tag in tags}
    for n in range(rounds):
        for tag in tags[n % len(tags) :] + tags[: n % len(tags)]:
            start = time.perf_counter()
            _run([docker(), "run", "--rm", tag, "python", "-c", f"import {imports}"])
            times[tag].append(time.perf_counter() - start)
    return times


def image_size(tag: str) -> float:
    out = _run([docker(), "image", "inspect", "--format", "{{.Size}}", tag]).stdout
    return int(out.strip()) / 1e6


def prepare(project: str, dockerfile: str, folder: Path) -> None:
    """The project in ``folder`` with its .dockerignore from `init` and the Dockerfile."""
    source = PROJECTS[project][0]
    skip = shutil.ignore_patterns("Dockerfile", ".dockerignore", "docker", ".dockerize-ml")
    shutil.copytree(source, folder, ignore=skip)
    _run(["dockerize-ml", "init", str(folder)])
    if dockerfile != "generated":
        text = (REFERENCE / project / f"{dockerfile}.Dockerfile").read_text()
        (folder / "Dockerfile").write_text(text)


def measure(project: str, dockerfile: str, run: int, tmp: Path) -> tuple[Result, str]:
    """The build figures of one Dockerfile, and the tag of its image (kept for the starts)."""
    folder = tmp / f"{project}-{dockerfile}-{run}"
    prepare(project, dockerfile, folder)
    _, module, _ = PROJECTS[project]
    tag = f"speed-bench-{project}-{dockerfile}:latest"
    cold = build(folder, tag, cold=True)
    edited = folder / module
    edited.write_text(edited.read_text() + f"# edited {time.time()}\n")
    edit = build(folder, tag)
    requirements = folder / "requirements.txt"
    # unique, or a later run would find this layer in the cache of an earlier one
    requirements.write_text(requirements.read_text() + f"tabulate  # {time.time()}\n")
    dependency = build(folder, tag)
    return Result(project, dockerfile, run, cold, edit, dependency, image_size(tag), 0.0), tag


def with_starts(results: list[Result], tags: list[str], rounds: int) -> list[Result]:
    """The results of one project's run with their start figures, the images then removed."""
    imports = PROJECTS[results[0].project][2]
    times = start_times(tags, imports, rounds)
    for result, tag in zip(results, tags, strict=True):
        result.start = statistics.median(times[tag])
        result.starts = rounds
        result.start_min, result.start_max = min(times[tag]), max(times[tag])
        subprocess.run([docker(), "rmi", "-f", tag], capture_output=True, check=False)
    return results


def cold_rounds(project: str, dockerfiles: list[str], rounds: int, tmp: Path) -> dict[str, Any]:
    """Cold builds only, ``rounds`` of each Dockerfile in alternating order (a small
    project's cold builds differ by less than the machine's noise between two builds)."""
    folders = {}
    for dockerfile in dockerfiles:
        folders[dockerfile] = tmp / f"{project}-{dockerfile}-cold"
        prepare(project, dockerfile, folders[dockerfile])
    times: dict[str, list[float]] = {d: [] for d in dockerfiles}
    for n in range(rounds):
        for dockerfile in dockerfiles if n % 2 == 0 else dockerfiles[::-1]:
            tag = f"speed-bench-{project}-{dockerfile}-cold:latest"
            times[dockerfile].append(round(build(folders[dockerfile], tag, cold=True), 2))
    for dockerfile in dockerfiles:
        subprocess.run(
            [docker(), "rmi", "-f", f"speed-bench-{project}-{dockerfile}-cold:latest"],
            capture_output=True,
            check=False,
        )
    return {d: {"times": t, "median": statistics.median(t)} for d, t in times.items()}


def _cell(value: float, figure: str, reference: Result | None, naive: Result | None) -> str:
    text = f"{value:.0f} MB" if figure == "size" else f"{value:.1f} s"
    if figure == "size" and value >= 1000:
        text = f"{value / 1000:.2f} GB"
    ratios = [
        f"{value / (getattr(other, figure) or 1e-9):.2f}x {name}"
        for name, other in (("ref", reference), ("naive", naive))
        if other is not None
    ]
    return f"{text} ({', '.join(ratios)})" if ratios else text


def table(results: list[Result]) -> str:
    """A Markdown table: every figure with its ratio to the same run's reference and naive."""
    lines = [
        "| project | run | Dockerfile | " + " | ".join(HEADERS) + " |",
        "| --- | ---: | --- |" + " ---: |" * len(HEADERS),
    ]
    by_key = {(r.project, r.run, r.dockerfile): r for r in results}
    for r in results:
        ref = by_key.get((r.project, r.run, "reference"))
        naive = by_key.get((r.project, r.run, "naive"))
        cells = [_cell(getattr(r, f), f, ref, naive) for f in FIGURES]
        lines.append(f"| {r.project} | {r.run} | {r.dockerfile} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--project", action="append", choices=sorted(PROJECTS))
    parser.add_argument("--dockerfile", action="append", choices=DOCKERFILES)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--starts", type=int, default=9, help="container starts per image")
    parser.add_argument(
        "--cold-rounds",
        type=int,
        default=0,
        help="instead of the table: this many cold builds of each Dockerfile, alternating",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--first-run", type=int, default=1, help="the number of the first run")
    parser.add_argument(
        "--table", type=Path, nargs="+", help="only print the table of these --json files"
    )
    args = parser.parse_args()
    if args.table:
        saved = [Result(**row) for path in args.table for row in json.loads(path.read_text())]
        print(table(sorted(saved, key=lambda r: (r.project, r.run))))
        return
    projects = args.project or ["churn-model", "fastapi-service"]
    dockerfiles = args.dockerfile or list(DOCKERFILES)
    load = os.getloadavg()[0]
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, load average {load:.1f} "
        f"at the start; {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        flush=True,
    )
    if args.cold_rounds:
        with tempfile.TemporaryDirectory() as tmp:
            for project in projects:
                found = cold_rounds(project, dockerfiles, args.cold_rounds, Path(tmp))
                print(json.dumps({"project": project, "cold": found}), flush=True)
        return
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.first_run, args.first_run + args.runs):
            for project in projects:
                # every other run in the reverse order: the machine's load drifts
                order = dockerfiles if run % 2 else dockerfiles[::-1]
                built = [measure(project, dockerfile, run, Path(tmp)) for dockerfile in order]
                done = with_starts([r for r, _ in built], [t for _, t in built], args.starts)
                for result in done:
                    print(json.dumps(result.__dict__), flush=True)
                results += done
                if args.json:  # kept as it goes: a long run can be stopped
                    args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2))
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(table(results))


if __name__ == "__main__":
    main()

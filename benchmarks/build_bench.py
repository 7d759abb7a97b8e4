"""Build times with a real engine: the generated Dockerfile against a naive one.

    DOCKERIZE_ML_DOCKER=/usr/bin/docker python benchmarks/build_bench.py [--project PATH]

For one sample project, in one run each: a cold build (no layer cache; the BuildKit cache
mounts emptied with `docker builder prune --filter type=exec.cachemount`), the rebuild after a
one-line code edit, and the rebuild after adding one dependency (`tabulate`), for

  generated: what `dockerize-ml init` writes (uv, cache mount, dependencies before the code)
  naive:     `COPY . .` then `pip install --no-cache-dir -r requirements.txt`

Needs a Docker engine, the base image of the project and a docker CLI that builds with
BuildKit. Empties the engine's BuildKit cache mounts: run it on a development machine, not on
one whose cache you care about.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

NAIVE = """FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -r requirements.txt
CMD ["python", "train.py"]
"""


def docker() -> str:
    return os.environ.get("DOCKERIZE_ML_DOCKER") or "docker"


def build(root: Path, tag: str, *, no_cache: bool = False) -> float:
    argv = [docker(), "build", "--progress=plain", "--tag", tag, str(root)]
    if no_cache:
        argv.insert(2, "--no-cache")
    start = time.perf_counter()
    subprocess.run(
        argv, check=True, capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "1"}
    )
    return time.perf_counter() - start


def scenario(root: Path, tag: str) -> tuple[float, float, float]:
    subprocess.run(
        [docker(), "builder", "prune", "--force", "--filter", "type=exec.cachemount"],
        check=True,
        capture_output=True,
    )
    cold = build(root, tag, no_cache=True)
    features = root / "churn" / "features.py"
    features.write_text(features.read_text() + f"# edited {time.time()}\n")
    edit = build(root, tag)
    requirements = root / "requirements.txt"
    requirements.write_text(requirements.read_text() + "tabulate\n")
    dependency = build(root, tag)
    return cold, edit, dependency


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--project", default="examples/churn-model")
    args = parser.parse_args()
    source = Path(args.project).resolve()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores; project {source.name}")
    print(f"{'Dockerfile':<11} {'cold':>8} {'code edit':>10} {'+1 dependency':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("generated", "naive"):
            root = Path(tmp) / name
            shutil.copytree(
                source,
                root,
                ignore=shutil.ignore_patterns(
                    "Dockerfile", ".dockerignore", "docker", ".dockerize-ml"
                ),
            )
            if name == "generated":
                subprocess.run(["dockerize-ml", "init", str(root)], check=True, capture_output=True)
            else:
                (root / "Dockerfile").write_text(NAIVE)
            cold, edit, dependency = scenario(root, f"dockerize-ml-bench-{name}:latest")
            print(f"{name:<11} {cold:>7.1f}s {edit:>9.1f}s {dependency:>13.1f}s")
            subprocess.run(
                [docker(), "rmi", "-f", f"dockerize-ml-bench-{name}:latest"],
                capture_output=True,
                check=False,
            )


if __name__ == "__main__":
    main()

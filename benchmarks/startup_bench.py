"""How fast the CLI answers when it has little to do: `--version`, `check` and a second `init`
on an unchanged project (the pre-commit hook's case), and `check` after a change.

    python benchmarks/startup_bench.py [--repeat 7] [--project examples/churn-model]

The project is copied to a temporary folder and made a git checkout (as a user's is); each
figure is the median of --repeat runs of the console script installed beside this
interpreter (not a shim on PATH), wall clock, with the
machine's load average printed beside it: on a loaded machine the figures mean little.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(args: list[str], cwd: Path, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
        runs.append(time.perf_counter() - start)
        if done.returncode != 0:  # a figure of a failed command would time the failure
            raise SystemExit(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-500:]}")
    return statistics.median(runs)


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--project", type=Path, default=ROOT / "examples" / "churn-model")
    args = parser.parse_args()
    # The console script beside this interpreter (a venv's bin/), not one found on PATH: a
    # pyenv or asdf shim in front of it adds its own start-up (a shell and a version lookup).
    tool = str(Path(sysconfig.get_path("scripts")) / "dockerize-ml")
    if not Path(tool).is_file():
        raise SystemExit(f"no console script at {tool}: pip install -e . first")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(args.project, project)
        _git(project, "init", "-q")
        _git(project, "add", "-A")
        _git(project, "commit", "-qm", "start")
        subprocess.run([tool, "init", "."], cwd=project, capture_output=True, check=True)
        rows = [
            ("python -c pass (the interpreter alone)", [sys.executable, "-c", "pass"]),
            ("dockerize-ml --version", [tool, "--version"]),
            ("dockerize-ml check, nothing moved", [tool, "check", "."]),
            ("dockerize-ml init, nothing moved", [tool, "init", "."]),
        ]
        figures = [(name, _time(cmd, project, args.repeat)) for name, cmd in rows]
        (project / "train.py").touch()
        figures.append(
            (
                "dockerize-ml check, one file touched (full path)",
                _time([tool, "check", "."], project, 1),
            )
        )
    load = os.getloadavg()[0]
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, load average {load:.2f}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M')}, median of {args.repeat} runs\n")
    print("| command | seconds |\n| --- | ---: |")
    for name, seconds in figures:
        print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()

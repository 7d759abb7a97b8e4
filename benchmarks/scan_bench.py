"""Scan and detection speed on large synthetic repositories, next to a plain os.walk.

    python benchmarks/scan_bench.py                 # the sizes of docs/benchmarks.md
    python benchmarks/scan_bench.py --data-files 100000 --notebooks 50

Builds three trees under a temporary folder (kept with --keep):
  source:    10,000 .py files in 100 packages (each with imports and string literals)
  dataset:   the source tree plus data/ holding --data-files small files in 1,000 folders
  notebooks: --notebooks notebooks, each with a ~1 MB image output and a few code cells
and prints, for each, the time of dockerize-ml's scan, its code index, the whole `detect`,
and os.walk of the same tree (best of --repeat runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dockerize_ml.detect import detect
from dockerize_ml.detect.code import build_index
from dockerize_ml.scan import scan

MODULE = '''"""Module {n}."""
import os
import numpy as np
from pkg{p}.mod{m} import helper

CONFIG = "configs/model_{n}.yaml"


def run(x: int) -> int:
    return helper(x) + {n}
'''


def make_source(root: Path, packages: int = 100, modules: int = 100) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text("numpy\n")
    for p in range(packages):
        package = root / f"pkg{p}"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        for m in range(modules - 1):
            (package / f"mod{m}.py").write_text(MODULE.format(n=p * modules + m, p=p, m=m))
    (root / "train.py").write_text('if __name__ == "__main__":\n    pass\n')


def make_dataset(root: Path, files: int, folders: int = 1000) -> None:
    per_folder = max(1, files // folders)
    for f in range(folders):
        folder = root / "data" / "images" / f"{f:04d}"
        folder.mkdir(parents=True)
        for i in range(per_folder):
            (folder / f"{i:05d}.png").write_bytes(b"\x89PNG")


def make_notebooks(root: Path, count: int, output_bytes: int = 1_000_000) -> None:
    image = "iVBORw0KGgo" + "A" * output_bytes
    folder = root / "notebooks"
    folder.mkdir(parents=True)
    for n in range(count):
        cells = [
            {"cell_type": "markdown", "metadata": {}, "source": [f"# Lesson {n}"]},
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {},
                "outputs": [
                    {"output_type": "display_data", "metadata": {}, "data": {"image/png": image}}
                ],
                "source": [
                    "import pandas as pd\n",
                    "import matplotlib.pyplot as plt\n",
                    "df = pd.read_csv('../data/x.csv')\n",
                ],
            },
            {
                "cell_type": "code",
                "execution_count": 2,
                "metadata": {},
                "outputs": [],
                "source": ["!pip install seaborn\n", "import seaborn\n"],
            },
        ]
        (folder / f"lesson_{n:03d}.ipynb").write_text(
            json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
        )


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def plain_walk(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def measure(name: str, root: Path, repeat: int) -> None:
    walk = best(lambda: plain_walk(root), repeat)
    scanned = best(lambda: scan(root), repeat)
    project = scan(root)
    indexed = best(lambda: build_index(scan(root)), repeat)
    detected = best(lambda: detect(scan(root)), repeat)
    print(
        f"{name:<10} files={plain_walk(root):>9,}  os.walk {walk:6.2f}s  scan {scanned:6.2f}s  "
        f"scan+index {indexed:6.2f}s  detect {detected:6.2f}s  "
        f"(walked {len(project.files):,} files, skipped {len(project.skipped):,} entries)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-files", type=int, default=1_000_000)
    parser.add_argument("--notebooks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    machine = f"{platform.platform()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, Python {platform.python_version()}")
    base = Path(tempfile.mkdtemp(prefix="dockerize-ml-bench-"))
    try:
        source = base / "source"
        start = time.perf_counter()
        make_source(source)
        measure("source", source, args.repeat)
        dataset = base / "dataset"
        shutil.copytree(source, dataset)
        make_dataset(dataset, args.data_files)
        notebooks = base / "notebooks"
        notebooks.mkdir()
        make_notebooks(notebooks, args.notebooks)
        print(f"(trees built in {time.perf_counter() - start:.0f}s)")
        measure("dataset", dataset, args.repeat)
        measure("notebooks", notebooks, args.repeat)
    finally:
        if args.keep:
            print(f"trees kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()

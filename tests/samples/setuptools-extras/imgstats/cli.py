"""imgstats FILE...: mean and spread of grey levels in PGM (P2) images."""

from __future__ import annotations

import sys

try:
    import numpy as np
except ImportError:  # the [fast] extra is optional
    np = None


def read_pgm(path: str) -> list[int]:
    with open(path, encoding="ascii") as handle:
        tokens = [t for line in handle if not line.startswith("#") for t in line.split()]
    return [int(t) for t in tokens[4:]]


def stats(values: list[int]) -> tuple[float, float]:
    if np is not None:
        arr = np.asarray(values, dtype=float)
        return float(arr.mean()), float(arr.std())
    mean = sum(values) / len(values)
    return mean, (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5


def main() -> None:
    for path in sys.argv[1:]:
        mean, std = stats(read_pgm(path))
        backend = "numpy" if np is not None else "python"
        print(f"{path}: mean={mean:.1f} std={std:.1f} ({backend})")

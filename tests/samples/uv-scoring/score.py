"""Score customers: python score.py [CSV] [--config YAML]."""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console

from scoring.model import load, score


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("csv", nargs="?", default="data/customers.csv")
    parser.add_argument("--config", default="configs/model.yaml")
    args = parser.parse_args()
    rows = np.loadtxt(args.csv, delimiter=",", skiprows=1, usecols=(1, 2))
    scores = score(rows, load(args.config))
    Console().print(f"scored {len(scores)} customers, mean risk {scores.mean():.3f}")


if __name__ == "__main__":
    main()

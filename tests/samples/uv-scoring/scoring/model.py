"""A linear model whose weights live in YAML."""

from __future__ import annotations

import numpy as np
import yaml


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def score(rows: np.ndarray, weights: dict) -> np.ndarray:
    w = np.array(weights["weights"], dtype=float)
    return 1 / (1 + np.exp(-(rows @ w + weights["bias"])))

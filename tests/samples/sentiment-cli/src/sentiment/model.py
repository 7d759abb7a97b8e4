"""Turn token polarities into one score with a squashing function."""

from __future__ import annotations

import re

import numpy as np

from sentiment.lexicon import NEGATIONS, POLARITY

TOKEN = re.compile(r"[a-z']+")


def score(text: str) -> float:
    """Sentiment of ``text`` in [-1, 1]."""
    tokens = TOKEN.findall(text.lower())
    values = []
    negate = False
    for token in tokens:
        if token in NEGATIONS:
            negate = True
            continue
        if token in POLARITY:
            values.append(-POLARITY[token] if negate else POLARITY[token])
        negate = False
    if not values:
        return 0.0
    return float(np.tanh(np.sum(values)))

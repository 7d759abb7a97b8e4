"""Summarise an events CSV into a table."""

from __future__ import annotations

import csv
from collections import Counter

from dateutil.parser import isoparse
from tabulate import tabulate


def summarise(path: str) -> str:
    counts: Counter[tuple[str, str]] = Counter()
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            month = isoparse(row["timestamp"]).strftime("%Y-%m")
            counts[(month, row["event"])] += 1
    rows = [(m, e, n) for (m, e), n in sorted(counts.items())]
    return tabulate(rows, headers=["month", "event", "count"])

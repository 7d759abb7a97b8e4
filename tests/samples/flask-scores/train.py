"""Count which words come with good and bad reviews; save the weights to outputs/.

    python train.py --min-count 1
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/reviews.csv")
    parser.add_argument("--output-dir", default="outputs")
    parser.add_argument("--min-count", type=int, default=1)
    args = parser.parse_args()

    with open(args.data, newline="") as handle:
        rows = list(csv.DictReader(handle))
    counts: Counter[str] = Counter()
    for row in rows:
        for word in row["text"].split():
            counts[word] += 1 if row["label"] == "1" else -1
    weights = {w: c for w, c in counts.items() if abs(c) >= args.min_count}
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "weights.json").write_text(json.dumps({"weights": weights, "rows": len(rows)}))
    print(f"{len(weights)} word weights from {len(rows)} reviews saved to {out}/weights.json")


if __name__ == "__main__":
    main()

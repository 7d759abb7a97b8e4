"""Fit a small classifier on data/train.csv and save it to models/model.joblib.

    python train.py --c 1.0 --max-iter 200
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import joblib
from sklearn.linear_model import LogisticRegression


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/train.csv")
    parser.add_argument("--model-dir", default="models")
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--max-iter", type=int, default=100)
    args = parser.parse_args()

    with open(args.data, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise SystemExit(f"{args.data} holds no rows")
    features = [[float(r["sepal"]), float(r["petal"])] for r in rows]
    labels = [int(r["label"]) for r in rows]
    model = LogisticRegression(C=args.c, max_iter=args.max_iter).fit(features, labels)

    out = Path(args.model_dir)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    params = {"c": args.c, "max_iter": args.max_iter, "rows": len(rows)}
    (out / "params.json").write_text(json.dumps(params))
    print(f"trained on {len(rows)} rows with C={args.c}; saved {out}/model.joblib")


if __name__ == "__main__":
    main()

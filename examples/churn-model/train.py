"""Train the churn classifier and save it to outputs/.

    python train.py --data data/churn.csv --out outputs
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import joblib
from dotenv import load_dotenv
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from churn.features import NUMERIC, CATEGORICAL, TARGET, load, preprocessor


def main() -> None:
    load_dotenv()  # CHURN_THRESHOLD and friends, from .env when present
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/churn.csv")
    parser.add_argument("--out", default="outputs")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    frame = load(args.data)
    features = frame[NUMERIC + CATEGORICAL]
    x_train, x_test, y_train, y_test = train_test_split(
        features, frame[TARGET], test_size=0.25, random_state=args.seed, stratify=frame[TARGET]
    )
    model = make_pipeline(preprocessor(), LogisticRegression(max_iter=1000))
    model.fit(x_train, y_train)
    auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    threshold = float(os.environ.get("CHURN_THRESHOLD", "0.5"))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    metrics = {"auc": round(auc, 4), "rows": len(frame), "threshold": threshold}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"trained on {len(frame)} rows: test AUC {auc:.3f}; model saved to {out}/model.joblib")


if __name__ == "__main__":
    main()

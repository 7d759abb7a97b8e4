"""Feature engineering shared by training and the notebook."""

from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["tenure_months", "monthly_charges", "support_tickets"]
CATEGORICAL = ["plan", "paperless_billing"]
TARGET = "churned"


def load(path: str) -> pd.DataFrame:
    """Read the churn table and drop rows without a label."""
    frame = pd.read_csv(path)
    return frame.dropna(subset=[TARGET])


def preprocessor() -> ColumnTransformer:
    """Scale numbers, one-hot encode categories."""
    return ColumnTransformer(
        [
            ("num", StandardScaler(), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )

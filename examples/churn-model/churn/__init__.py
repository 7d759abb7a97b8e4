"""Churn model: feature engineering and training helpers."""

__version__ = "0.3.0"

"""Serve the classifier that train.py saved: POST /predict, GET /health."""

from __future__ import annotations

import os
from functools import cache

import joblib
from fastapi import FastAPI
from pydantic import BaseModel

MODEL = os.environ.get("MODEL_PATH", "models/model.joblib")

app = FastAPI(title="sklearn-api")


class Rows(BaseModel):
    rows: list[list[float]]


@cache
def model():  # loaded on the first request: the server starts without waiting for it
    return joblib.load(MODEL)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/predict")
def predict(body: Rows) -> dict[str, list[int]]:
    return {"predictions": [int(p) for p in model().predict(body.rows)]}

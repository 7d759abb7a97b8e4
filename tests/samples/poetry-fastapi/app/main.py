"""HTTP API for the churn model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

WEIGHTS = json.loads((Path(__file__).resolve().parent.parent / "models" / "weights.json").read_text())

app = FastAPI(title="churn-api", version="1.3.0")


class Customer(BaseModel):
    tenure_months: int = Field(ge=0)
    support_tickets: int = Field(ge=0)
    plan: str = "standard"


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "model": WEIGHTS["version"]}


@app.post("/predict")
def predict(customer: Customer) -> dict[str, float]:
    z = (
        WEIGHTS["bias"]
        + WEIGHTS["tenure_months"] * customer.tenure_months
        + WEIGHTS["support_tickets"] * customer.support_tickets
        + WEIGHTS["plan"].get(customer.plan, 0.0)
    )
    return {"churn_probability": round(1 / (1 + math.exp(-z)), 4)}


def run() -> None:
    uvicorn.run("app.main:app", host="0.0.0.0", port=8000)

"""A small prediction service: the benchmark's FastAPI project."""

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Features(BaseModel):
    tenure: float
    monthly_charges: float


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/predict")
def predict(features: Features) -> dict[str, float]:
    score = min(1.0, features.monthly_charges / (100.0 + features.tenure))
    return {"churn": score}

"""A small scoring service."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/score")
def score(items: int = 1) -> dict[str, float]:
    return {"score": round(0.5 + 0.1 * items, 2)}

"""Score reviews with the weights train.py saved: POST /score; feedback at POST /feedback."""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, jsonify, request

app = Flask(__name__)
WEIGHTS = Path(os.environ.get("WEIGHTS", "outputs/weights.json"))


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/score")
def score():
    weights = json.loads(WEIGHTS.read_text())["weights"]
    texts = request.get_json()["texts"]
    return jsonify(scores=[sum(weights.get(w, 0) for w in t.split()) for t in texts])


@app.post("/feedback")
def feedback():
    return {"thanks": True}

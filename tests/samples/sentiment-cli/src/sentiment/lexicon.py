"""A small sentiment lexicon: word -> polarity in [-1, 1]."""

POLARITY = {
    "love": 0.9, "great": 0.8, "excellent": 0.9, "good": 0.5, "fine": 0.2, "forever": 0.3,
    "fast": 0.4, "broken": -0.8, "bad": -0.6, "terrible": -0.9, "slow": -0.4, "refund": -0.5,
    "hate": -0.9, "disappointed": -0.7, "ok": 0.1,
}
NEGATIONS = {"not", "never", "no", "hardly"}

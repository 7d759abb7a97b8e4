from sentiment.model import score


def test_positive():
    assert score("I love it, great battery") > 0.5


def test_negation():
    assert score("not good") < 0

"""Tokenise text and lay counts out as a table."""

from collections import Counter

from tabulate import tabulate


def tokens(text: str) -> list[str]:
    return [t.strip(".,;:!?").lower() for t in text.split() if t.strip(".,;:!?")]


def table(text: str) -> str:
    return tabulate(Counter(tokens(text)).most_common(5), headers=["token", "count"])

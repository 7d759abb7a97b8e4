"""textstats FILE...: words, sentences and the most common words."""

from __future__ import annotations

from collections import Counter

import click
import regex
from tabulate import tabulate

WORD = regex.compile(r"\p{L}+")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
def main(paths: tuple[str, ...]) -> None:
    """Print statistics for each file."""
    rows = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        words = WORD.findall(text.lower())
        common = ", ".join(w for w, _ in Counter(words).most_common(3))
        rows.append((path, len(words), text.count("."), common))
    click.echo(tabulate(rows, headers=["file", "words", "sentences", "top words"]))

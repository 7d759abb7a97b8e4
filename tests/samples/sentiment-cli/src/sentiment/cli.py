"""Command line: sentiment-cli TEXT... or --file PATH."""

from __future__ import annotations

import click

from sentiment.model import score


@click.command()
@click.argument("text", nargs=-1)
@click.option("--file", "path", type=click.Path(exists=True), help="One review per line.")
def main(text: tuple[str, ...], path: str | None) -> None:
    """Print the sentiment score of each review."""
    reviews = [" ".join(text)] if text else []
    if path:
        with open(path, encoding="utf-8") as handle:
            reviews.extend(line.strip() for line in handle if line.strip())
    if not reviews:
        raise click.UsageError("give a review, or --file")
    for review in reviews:
        click.echo(f"{score(review):+.2f}\t{review}")


if __name__ == "__main__":
    main()

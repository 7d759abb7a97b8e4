"""tagger TEXT...: the most common tokens of the text, as a table."""

import sys

import six
from textkit import table


def main() -> None:
    text = " ".join(sys.argv[1:]) or "the cat and the hat and the bat"
    print(table(text))
    print(f"(six {six.__version__})")


if __name__ == "__main__":
    main()

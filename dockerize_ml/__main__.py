"""``python -m dockerize_ml``."""

from dockerize_ml.cli import main

main()

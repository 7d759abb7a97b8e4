"""``python -m dockerize_ml``."""

from dockerize_ml.entry import main

main()

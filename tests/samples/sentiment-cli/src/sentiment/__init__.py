"""Lexicon-based sentiment scoring."""

__version__ = "0.4.1"

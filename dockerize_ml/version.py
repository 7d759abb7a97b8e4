"""The tool's version, in a module of its own: every generated file records it, and importing
it must not load the pipeline."""

from __future__ import annotations

__version__ = "0.1.0"

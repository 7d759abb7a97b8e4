"""The console script's first step: the answers that need no command-line parser.

``dockerize-ml --version``, and ``check`` or ``init`` on a project where nothing moved since
the last run (``quick.py``), are answered here, before typer is imported: typer and the
pydantic it loads to convert parameters cost more than the answer (docs/benchmarks.md), and
pre-commit runs ``check`` on every commit. Only these exact shapes are answered here:

    dockerize-ml --version
    dockerize-ml check [PATH]
    dockerize-ml init [PATH]

Anything else (an option, a second argument, a path that starts with ``-``, a project whose
fingerprint moved) goes to the CLI unchanged, which gives the same answer the slow way.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dockerize_ml import quick
from dockerize_ml.version import __version__


def main() -> None:
    """Console-script entry (``[project.scripts]``) and ``python -m dockerize_ml``."""
    code = answer(sys.argv[1:])
    if code is None:
        from dockerize_ml.cli import main as cli_main  # noqa: PLC0415 (the point of this module)

        cli_main()
        return
    sys.exit(code)


def answer(args: list[str]) -> int | None:
    """Print the fast answer to ``args`` and return the exit code; None when there is none."""
    if args == ["--version"]:
        print(f"dockerize-ml {__version__}")
        return 0
    if not args or args[0] not in ("check", "init") or len(args) > 2:
        return None
    if len(args) == 2 and (args[1].startswith("-") or not args[1]):
        return None  # an option (or `--`): the CLI parses it
    path = Path(args[1]) if len(args) == 2 else Path()
    recorded = quick.unchanged(path)
    if recorded is None:
        return None
    if args[0] == "check":
        print("up to date")  # nothing moved since the last init
        return 0
    for message in recorded.messages:  # the same answer as the last init
        print(f"warning: {message}", file=sys.stderr)
    for rel in recorded.files:
        print(quick.file_line("unchanged", path / rel))
    print(quick.next_line(path))
    return 0

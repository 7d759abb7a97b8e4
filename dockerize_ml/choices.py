"""The values a setting may take, in a module that is light to import: the CLI's help text,
the settings reader and the plan all name them."""

from __future__ import annotations

#: Dependency installers the generated Dockerfile can use.
INSTALLERS = ("uv", "pip")
#: CI systems `--ci` writes a pipeline for.
CI_SYSTEMS = ("github", "gitlab")
#: `--device`: what the image is built for (`auto` follows the code's CUDA use).
DEVICES = ("auto", "cpu", "cuda")

#: Rounds `build --fix` tries at most, by default.
FIX_ROUNDS = 5

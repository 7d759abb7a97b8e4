"""The values a setting may take, and the record of what one layer of settings chose, in a
module that is light to import: the CLI's help text and flags, the settings reader and the
plan all name them."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

#: Dependency installers the generated Dockerfile can use.
INSTALLERS = ("uv", "pip")
#: CI systems `--ci` writes a pipeline for.
CI_SYSTEMS = ("github", "gitlab")
#: `--device`: what the image is built for (`auto` follows the code's CUDA use).
DEVICES = ("auto", "cpu", "cuda")

#: Rounds `build --fix` tries at most, by default.
FIX_ROUNDS = 5


@dataclass(frozen=True)
class Choices:
    """What one layer chose (the settings file, this run's flags, a library caller), one
    typed field per key of ``settings.KEYS``; None: this layer does not choose it. Fields are in
    the order `init` saves them."""

    python: str | None = None
    entry: str | tuple[str, ...] | None = None
    ports: tuple[int, ...] | None = None
    base_image: str | None = None
    installer: str | None = None
    deps_from: str | None = None
    extras: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    buildkit: bool | None = None
    ci: tuple[str, ...] | None = None
    device: str | None = None
    k8s: bool | None = None
    devcontainer: bool | None = None
    dev_tools: bool | None = None
    platforms: tuple[str, ...] | None = None
    targets: tuple[str, ...] | None = None
    predict_route: str | None = None
    smoke: str | None = None
    system_packages: tuple[str, ...] | None = None
    build_packages: tuple[str, ...] | None = None
    dependencies: tuple[str, ...] | None = None
    exclude_newer: str | None = None

    def over(self, lower: Choices) -> Choices:
        """This layer's choices over those of ``lower`` (a flag over the saved setting)."""
        chosen = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(lower, **{k: v for k, v in chosen.items() if v is not None})

    def table(self) -> dict[str, Any]:
        """The chosen keys as the settings file holds them (lists, hyphenated names)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name.replace("_", "-")] = list(value) if isinstance(value, tuple) else value
        return out

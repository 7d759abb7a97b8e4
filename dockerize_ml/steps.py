"""A ``RUN`` of a generated Dockerfile, as the plan describes it and the template renders it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

Command = tuple[str, ...]  # a command and its arguments, one argument per rendered line


def apt_install(packages: tuple[str, ...]) -> list[str]:
    """The commands that install Debian packages and leave no package lists behind."""
    if not packages:
        return []
    return [
        "apt-get update",
        "apt-get install -y --no-install-recommends " + " ".join(packages),
        "apt-get clean",
        "rm -rf /var/lib/apt/lists/*",
    ]


def quoted_option(option: str) -> str:
    """``--find-links URL`` with the URL quoted for the shell."""
    name, _, value = option.partition(" ")
    return f"{name} {shlex.quote(value)}"


@dataclass(frozen=True)
class Step:
    """One ``RUN`` of the Dockerfile and what it reads from the build context."""

    comment: tuple[str, ...]
    commands: tuple[Command, ...]
    #: Context files bind-mounted (BuildKit) or copied (classic) under DEPS_DIR.
    files: tuple[str, ...] = ()
    #: (stage, source, target): a file of an earlier stage, mounted or copied.
    from_stage: tuple[tuple[str, str, str], ...] = ()
    #: A cache folder kept across builds (BuildKit only); "" for none.
    cache: str = ""
    #: More of them (a build folder kept for incremental compiles).
    caches: tuple[str, ...] = ()
    #: Environment variables passed as BuildKit secrets (never stored in a layer).
    secrets: tuple[str, ...] = ()
    #: hadolint rules this step knowingly breaks, each with the reason (said in a comment).
    hadolint_ignore: tuple[tuple[str, str], ...] = ()

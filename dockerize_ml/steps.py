"""A ``RUN`` of a generated Dockerfile, as the plan describes it and the template renders it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace

Command = tuple[str, ...]  # a command and its arguments, one argument per rendered line

#: uv is pip-installed in a build stage of its own; every RUN that needs it mounts its binary
#: from there (BuildKit), so uv never reaches the image.
#: pip installs it into a folder of its own there, which any user can write (a Jupyter
#: stack's stage runs as jovyan), so the binary's place does not depend on the base's Python.
UV_STAGE = "uv"
UV_TARGET = "/tmp/uv"
UV_BINARY = "/usr/local/bin/uv"
UV_MOUNT = (UV_STAGE, f"{UV_TARGET}/bin/uv", UV_BINARY)


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


#: Why two consecutive RUNs stay apart (hadolint's DL3059 would have them merged).
SEPARATE = ("DL3059", "A layer of its own: a change to one does not rebuild the other.")


def separate_layers(
    steps: tuple[Step, ...] | list[Step], classic: bool = False
) -> tuple[Step, ...]:
    """Consecutive RUNs with the same mounts are separate layers on purpose (torch, then what
    compiles against it or the rest of the dependencies): say so to hadolint. Without
    BuildKit (``classic``) there are no mounts: a RUN follows the one before unless it copies
    files in front of itself."""
    result = list(steps)
    for i in range(1, len(result)):
        before, step = result[i - 1], result[i]
        same = (before.files, before.from_stage, before.cache, before.caches, before.secrets) == (
            step.files,
            step.from_stage,
            step.cache,
            step.caches,
            step.secrets,
        )
        if classic:
            same = not step.from_stage
        if same and not step.files and SEPARATE not in step.hadolint_ignore:
            result[i] = replace(step, hadolint_ignore=(*step.hadolint_ignore, SEPARATE))
    return tuple(result)

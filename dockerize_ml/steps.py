"""A ``RUN`` of a generated Dockerfile, as the plan describes it and the template renders it."""

from __future__ import annotations

from dataclasses import dataclass

Command = tuple[str, ...]  # a command and its arguments, one argument per rendered line


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

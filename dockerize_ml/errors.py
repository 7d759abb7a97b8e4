"""The one root exception and the exit codes of the command line.

Every error a user can cause is a :class:`DockerizeError` carrying a one-line message, a hint
and its own exit code. The CLI is the only place that turns one into output and an exit status.
"""

from __future__ import annotations

from enum import IntEnum

#: Where this tool's documentation is published (pyproject.toml's Documentation URL names the
#: same folder). Messages, generated files and comments link pages here: a user's repository
#: has no docs/ of ours.
DOCS_URL = "https://github.com/dockerize-ml/dockerize-ml/blob/main/docs"


def docs(page: str) -> str:
    """The published address of one documentation page (``docs("settings.md")``)."""
    return f"{DOCS_URL}/{page}"


class ExitCode(IntEnum):
    """Exit statuses of ``dockerize-ml``; documented in ``docs/exit-codes.md``."""

    OK = 0
    INTERNAL = 1  # a bug in dockerize-ml: please report it
    USAGE = 2  # bad command-line usage (Typer/Click's own code)
    BAD_PATH = 3  # the project path does not exist or is not a folder
    NOT_A_PROJECT = 4  # no Python project found in the folder
    INVALID_PROJECT_FILE = 5  # a project file (pyproject.toml, ...) cannot be parsed
    WOULD_OVERWRITE = 6  # a file dockerize-ml did not write is in the way: the new one is beside
    WRITE_FAILED = 7  # a generated file could not be written
    CONFLICT = 8  # your edits and the new render conflict: the new file is written beside
    STALE = 9  # `check`: a regeneration would change the generated files
    NO_ENGINE = 10  # no Docker engine answered
    BUILD_FAILED = 11  # the image did not build
    SMOKE_FAILED = 12  # the image built, but a smoke test failed
    NO_DOCKERFILE = 13  # `build` found no Dockerfile to build


class DockerizeError(Exception):
    """Base of every error a user can cause; carries a message, a hint and an exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadPathError(DockerizeError):
    """The project path does not exist or is not a folder."""

    exit_code = ExitCode.BAD_PATH


class NotAProjectError(DockerizeError):
    """The folder holds nothing that looks like a Python project."""

    exit_code = ExitCode.NOT_A_PROJECT


class InvalidProjectFileError(DockerizeError):
    """A project file cannot be parsed; the message names the file and line."""

    exit_code = ExitCode.INVALID_PROJECT_FILE


class WriteFailedError(DockerizeError):
    """A generated file could not be written."""

    exit_code = ExitCode.WRITE_FAILED


class NoEngineError(DockerizeError):
    """No Docker engine answered."""

    exit_code = ExitCode.NO_ENGINE


class BuildFailedError(DockerizeError):
    """The image did not build; the message names the failing step and, when recognisable,
    the cause."""

    exit_code = ExitCode.BUILD_FAILED

    def __init__(self, message: str, hint: str = "", log: str = "") -> None:
        super().__init__(message, hint)
        self.log = log


class NoDockerfileError(DockerizeError):
    """There is no Dockerfile to build."""

    exit_code = ExitCode.NO_DOCKERFILE

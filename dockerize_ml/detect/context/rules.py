"""What every build-context detector shares: the facts it fills, the .dockerignore being
assembled (patterns in order, each once, with its section), and the size limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from dockerize_ml import dockerignore
from dockerize_ml.detect import secrets
from dockerize_ml.profile import ContextRule, Evidence
from dockerize_ml.scan import Scan

#: A file larger than this that nothing references is excluded by name.
LARGE_FILE_BYTES = 20 * 1024 * 1024
#: A referenced file larger than this is not baked into the image; mount it instead.
MAX_RUNTIME_FILE_BYTES = 100 * 1024 * 1024
#: How much of ``.env`` is read for its variable names.
MAX_DOTENV_BYTES = 256 * 1024


@dataclass
class ContextFacts:
    """What the build-context detector found."""

    data_dirs: list[str] = field(default_factory=list)
    output_dirs: list[str] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)
    #: The variable names ``.env`` sets, and whether a fresh clone lacks it.
    env_keys: list[str] = field(default_factory=list)
    env_local: bool = False
    env_example: str = ""
    runtime_files: list[str] = field(default_factory=list)
    runtime_evidence: list[Evidence] = field(default_factory=list)
    #: Files the code names that stay out of the image (weights above a few MB, files git
    #: ignores): the run script and compose mount them read-only at their path.
    mounted_files: list[str] = field(default_factory=list)
    rules: list[ContextRule] = field(default_factory=list)
    #: Files that hold a credential by their content (they stay out, or are reported).
    secrets: list[secrets.Finding] = field(default_factory=list)
    #: Project files the code names (runtime files are those among them the rules exclude).
    referenced: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


def holds_code(scan: Scan, folder: str) -> bool:
    return any(e.path.endswith(".py") for e in scan.files_under(folder))


class Rules:
    """The .dockerignore being assembled: patterns in order, each once, with its section."""

    def __init__(self) -> None:
        self.items: list[ContextRule] = []

    def add(self, section: str, *patterns: str) -> None:
        for pattern in patterns:
            if all(r.pattern != pattern for r in self.items):
                self.items.append(ContextRule(pattern, section))
            elif pattern.startswith("!"):
                # A put-back must come after every exclusion that would drop it: move it last.
                self.items = [r for r in self.items if r.pattern != pattern]
                self.items.append(ContextRule(pattern, section))

    def add_paths(self, section: str, *paths: str, put_back: bool = False) -> None:
        """Paths of the project (not patterns): escaped, so each matches itself alone."""
        prefix = "!" if put_back else ""
        self.add(section, *(prefix + dockerignore.escape(p) for p in paths))

    def excluded_dirs(self) -> list[str]:
        return [r.pattern for r in self.items if not r.pattern.startswith(("*", "!"))]


def parsed_rules(rules: Rules) -> list[tuple[str, bool]]:
    return dockerignore.parse("\n".join(r.pattern for r in rules.items))

"""The build context: what must stay out of the image, and what the code needs inside it.

Datasets, outputs, experiment logs, weights and secrets stay out of the context (the run
script mounts data and outputs instead). A file the code names in a string literal is a
*runtime file*: it stays in, even inside a data folder or when it looks like weights.

In a git checkout, git says what the repository is: what its .gitignore files ignore stays
out (translated to Docker's anchored patterns), a folder that holds no tracked file and no
code stays out, and a file git tracks is put back where a guess from a name or a .gitignore
rule would drop it. A file the code names that git does not track, or weights above a few MB,
are not baked either: the run script and compose mount them read-only at their path.
Folders the code writes into (an ``--output_dir`` default, ``torch.save`` into a path, a
folder it makes) are outputs: out of the context, mounted writable.

The rooms: :mod:`.rules` (the facts and the .dockerignore being assembled), :mod:`.folders`
(tooling, datasets, outputs, folders the code writes), :mod:`.git` (.gitignore translation,
untracked folders, tracked files put back) and :mod:`.runtime` (files the code reads, large
files, secrets by name and by content).
"""

from __future__ import annotations

from dockerize_ml import knowledge
from dockerize_ml.detect.code import CodeIndex
from dockerize_ml.detect.context.folders import folder_rules, tooling_rules, written_folders
from dockerize_ml.detect.context.git import gitignore_patterns, gitignore_rules, untracked_folders
from dockerize_ml.detect.context.rules import (
    LARGE_FILE_BYTES,
    MAX_RUNTIME_FILE_BYTES,
    ContextFacts,
    Rules,
    parsed_rules,
)
from dockerize_ml.detect.context.runtime import content_secrets, runtime_rules, secret_rules
from dockerize_ml.detect.loose import loose_outputs
from dockerize_ml.names import MARKER, NOT_IN_IMAGE
from dockerize_ml.scan import Scan

__all__ = [
    "LARGE_FILE_BYTES",
    "MAX_RUNTIME_FILE_BYTES",
    "ContextFacts",
    "detect_context",
    "gitignore_patterns",
]


def detect_context(
    scan: Scan, index: CodeIndex, vcs_checkouts: set[str] | None = None
) -> ContextFacts:
    """Decide the .dockerignore rules and the folders to mount. ``vcs_checkouts`` are the
    folders pip clones editable VCS requirements into (``src/NAME``): the image installs
    its own clone from the requirement, so the working copy's stays out."""
    ctx: dict[str, list[str]] = knowledge.load("layout")["context"]
    facts = ContextFacts()
    rules = Rules()
    tooling_rules(scan, rules)
    checkouts = sorted(p for p in vcs_checkouts or () if scan.is_dir(p))
    rules.add_paths(
        "pip's clones of editable VCS requirements (the image clones its own)", *checkouts
    )
    after_tooling = len(rules.items)
    folder_rules(scan, ctx, facts, rules)
    written_folders(scan, index, facts, rules)
    secret_rules(scan, facts, rules)
    rules.add(f"{MARKER}, not needed inside the image", *NOT_IN_IMAGE)
    gitignore_rules(scan, rules, after_tooling)
    untracked_folders(scan, rules)
    runtime_rules(scan, index, ctx, facts, rules)
    rules.add_paths(
        "Results a run left in the working copy, untracked and named nowhere (to send one "
        "to the build, end this file with `!PATH`)",
        *loose_outputs(scan, index, parsed_rules(rules)),
    )
    # Last, so that a file the code reads is kept out too when it holds a credential.
    content_secrets(scan, facts, rules)
    facts.rules = rules.items
    return facts

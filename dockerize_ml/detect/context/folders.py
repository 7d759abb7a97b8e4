"""Folders that stay out by what they are: version control, caches and virtualenvs, experiment
logs, datasets and run outputs by their names, and folders the code writes into (an
``--output_dir`` default, ``torch.save`` into a path, a folder it makes), mounted writable."""

from __future__ import annotations

import posixpath

from dockerize_ml import knowledge
from dockerize_ml.detect.code import Call, CodeIndex, dev_file
from dockerize_ml.detect.context.rules import ContextFacts, Rules, holds_code
from dockerize_ml.profile import Evidence
from dockerize_ml.scan import Scan


def tooling_rules(scan: Scan, rules: Rules) -> None:
    section = "Version control, editors and OS clutter"
    rules.add(section, ".git", ".hg", ".svn", ".idea", ".vscode", "**/.DS_Store")
    if scan.exists(".dvc"):
        # DVC's cache holds every version of the data, tmp its locks and indexes, and
        # config.local the user's remote credentials; .dvc/config (the remotes) stays in:
        # `dvc pull` and `dvc repro` in the image read it.
        rules.add(section, ".dvc/cache", ".dvc/tmp", ".dvc/config.local")
    section = "Python caches, builds and virtualenvs (the image has its own)"
    rules.add(section, "**/__pycache__", "**/*.py[cod]", ".pytest_cache", ".mypy_cache")
    rules.add(section, ".ruff_cache", ".tox", ".nox", "build", "dist", "**/*.egg-info")
    rules.add(section, "**/.venv", "**/venv")
    for path, entry in sorted(scan.skipped.items()):
        if entry.reason == "virtualenv":  # found by its pyvenv.cfg, whatever its name
            rules.add_paths(section, path)
    rules.add("Notebook checkpoints", "**/.ipynb_checkpoints")


def folder_rules(scan: Scan, ctx: dict[str, list[str]], facts: ContextFacts, rules: Rules) -> None:
    """Experiment logs, datasets and outputs: out of the context unless they hold code."""
    present = {e.path for e in scan.top_level() if e.is_dir}
    section = "Experiment logs and tracking runs"
    for name in ctx["experiment_dirs"]:
        if not (name in present and holds_code(scan, name)):
            rules.add(section, name)
    section = "Datasets: mounted read-only by docker/run.sh instead"
    for name in ctx["data_dirs"]:
        if name in present and not holds_code(scan, name):
            facts.data_dirs.append(name)
            rules.add(section, name)
    section = "Run outputs: mounted writable by docker/run.sh instead"
    for name in ctx["output_dirs"]:
        if name in present and not holds_code(scan, name):
            facts.output_dirs.append(name)
            rules.add(section, name)
    rules.add("Model weights and large data files", *(f"**/{p}" for p in ctx["weight_patterns"]))
    section = "Front-end dependencies, builds and caches, at any depth"
    rules.add(section, *(f"**/{name}" for name in ctx["anywhere_dirs"]))
    section = "Datasets inside the project's folders (nothing in the code names them)"
    named = set(ctx["data_dirs"])
    for path, entry in sorted(scan.skipped.items()):
        if "/" in path and entry.is_dir and entry.reason.startswith(("data:", "large:")):
            rules.add_paths(section, path)
    for path in sorted(scan.dirs):
        if "/" in path and posixpath.basename(path) in named and not holds_code(scan, path):
            rules.add_paths(section, path)


def written_folders(scan: Scan, index: CodeIndex, facts: ContextFacts, rules: Rules) -> None:
    """Folders the code writes into (an ``--output_dir`` default, ``torch.save`` into a path,
    a folder it makes): out of the context, mounted writable so results survive."""
    writes = knowledge.load("layout")["writes"]
    found: dict[str, Evidence] = {}
    for call in index.calls():
        if dev_file(call.path):
            continue
        folder = _written_by(call, writes)
        if folder and folder not in found:
            found[folder] = Evidence(call.path, call.line, f"{call.func}(...) writes into it")
    section = "Run outputs: mounted writable by docker/run.sh instead"
    for folder in sorted(found):
        if folder in facts.data_dirs or folder in facts.output_dirs:
            continue
        if scan.exists(folder) and holds_code(scan, folder):
            continue
        if scan.tracked is not None and any(t.startswith(folder + "/") for t in scan.tracked):
            continue  # the repository ships files there: not only an output
        facts.output_dirs.append(folder)
        rules.add_paths(section, folder)


def _written_by(call: Call, writes: dict[str, list[str]]) -> str:
    """The top folder a call writes into: the default of an output option it declares, the
    folder a maker makes, a folder in a writer's path; "" for none."""
    name = call.func.rsplit(".", 1)[-1]
    if name in ("add_argument", "argument", "option") or name.startswith("DEFINE_"):
        flags = [a for a in call.args if isinstance(a, str)]
        option = flags[0].lstrip("-").replace("-", "_") if flags else ""
        if option not in writes["output_options"]:
            return ""
        default = call.kwarg("default")
        if default is None and name.startswith("DEFINE_") and len(call.args) > 1:
            default = call.args[1]
        return _folder_of(default, True)
    if call.func in writes["makers"]:
        return _folder_of(call.args[0] if call.args else None, True)
    if name in writes["writers"]:
        return next((f for f in (_folder_of(a, False) for a in call.args) if f), "")
    return ""


def _folder_of(value: object, is_folder: bool) -> str:
    """The top folder of a relative path written into (a file's, when ``is_folder`` is
    false, only when it is inside one); "" for a path that is none of the project's."""
    if not isinstance(value, str):
        return ""
    path = value.strip().removeprefix("./")
    if not path or path.startswith(("/", "~", "..")) or any(c in path for c in "${}%*<>:"):
        return ""
    top = posixpath.normpath(path).split("/")[0]
    if top in (".", "..") or (not is_folder and "/" not in path):
        return ""  # a file in the working folder itself: nothing to mount
    return top

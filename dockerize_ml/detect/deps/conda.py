"""conda environment files: conda packages, the ``pip:`` section, ``python=`` pins, channels.

Decides honestly between a pip install (every conda package has a known PyPI name) and a
micromamba image (anything conda-only or unknown), and says why.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Any

from packaging.utils import canonicalize_name

from dockerize_ml import knowledge
from dockerize_ml.detect import shapes
from dockerize_ml.detect.deps.model import (
    Candidate,
    PythonHint,
    checkout_name,
    parse_dependency,
    url_name,
)
from dockerize_ml.detect.deps.requirements import index_option, logical_lines, read_requirements
from dockerize_ml.detect.files import line_of, parse_yaml, require_text
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.profile import CondaEnv, Evidence, LocalInstall
from dockerize_ml.scan import Scan

FILES = (
    "environment.yml",
    "environment.yaml",
    "conda.yaml",
    "conda.yml",
    "binder/environment.yml",
    ".binder/environment.yml",
)
_SPEC = re.compile(r"^(?:(?P<channel>[\w.-]+)::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<spec>.*)$")


def conda_spec_to_pep440(spec: str) -> str:
    """``=1.26`` -> ``==1.26.*``; ``==1.26.4`` stays; ``=1.26.4=py311h_0`` drops the build."""
    spec = spec.strip()
    if not spec:
        return ""
    if spec.startswith("=") and not spec.startswith("=="):
        version = spec[1:].split("=")[0]
        return f"=={version}" if version.endswith("*") else f"=={version}.*"
    if spec[0].isdigit():  # "numpy 1.26.*" (space-separated match spec)
        version = spec.split()[0].split("=")[0]
        return f"=={version}"
    return spec.replace(" ", "")


def _load(scan: Scan, rel: str) -> dict[str, Any]:
    text = require_text(scan, rel)
    data = parse_yaml(rel, text)
    if not isinstance(data, dict) or not isinstance(data.get("dependencies", []), list):
        raise InvalidProjectFileError(
            f"{rel}: expected a mapping with a `dependencies:` list",
            "see https://docs.conda.io/projects/conda/en/latest/user-guide/tasks/manage-environments.html",
        )
    shapes.check(data, shapes.CONDA, rel, text=text, lang="yaml")
    return data


class _Reader:
    """Sorts the conda packages of one file: PyPI-installable, conda-only, unknown."""

    def __init__(self, rel: str, text: str, cand: Candidate) -> None:
        table = knowledge.load("conda")
        self.same = {n.lower() for n in table["same_name"]}
        self.renamed = {k.lower(): v for k, v in table["renamed"].items()}
        self.conda_only = set(table["conda_only"]["names"])
        self.cuda_hints = set(table["conda_only"]["cuda_hints"])
        self.ignored = set(table["ignored"])
        self.rel, self.text, self.cand = rel, text, cand
        self.packages: list[str] = []
        self.only: list[str] = []
        self.unknown: list[str] = []
        self.pypi: list[str] = []
        self.cuda = ""

    def package(self, item: str) -> None:
        match = _SPEC.match(item)
        if not match:
            self.cand.warnings.append(f"{self.rel}: {item!r} is not a conda package spec; skipped")
            return
        name, spec = match.group("name").lower(), match.group("spec")
        self.packages.append(item)
        line = line_of(self.text, item)
        if name == "python":
            parts = conda_spec_to_pep440(spec).lstrip("=").rstrip(".*").split(".")
            if len(parts) >= 2 and parts[0].isdigit():
                hint = Evidence(self.rel, line, f"python{spec}")
                self.cand.python.append(PythonHint(f"{parts[0]}.{parts[1]}", None, hint))
            return
        if name in self.cuda_hints:
            self.cuda = self.cuda or conda_spec_to_pep440(spec).lstrip("=").rstrip(".*")
        if name in self.ignored:
            return
        if name in self.conda_only:
            self.only.append(name)
            return
        pypi = self.renamed.get(name) or (name if name in self.same else None)
        if pypi is None:
            self.unknown.append(name)
            return
        requirement = pypi + conda_spec_to_pep440(spec)
        dep = parse_dependency(requirement, self.rel, line, self.cand.warnings)
        if dep is not None:
            self.cand.dependencies.append(dep)
            self.pypi.append(requirement)

    def verdict(self) -> tuple[bool, str]:
        """Whether pip can install the environment, and why (not)."""
        blockers = [n for n in self.only if n not in self.cuda_hints]
        parts = []
        if blockers:
            parts.append(f"conda-only packages: {', '.join(blockers)}")
        if self.unknown:
            parts.append(f"no known PyPI name for: {', '.join(self.unknown)}")
        if parts:
            return False, "; ".join(parts)
        reason = "every conda package has a known PyPI name, so pip installs the environment"
        if self.cuda:
            reason += f" (CUDA {self.cuda} comes from the frameworks' pip wheels)"
        return True, reason


def conda_candidate(scan: Scan) -> Candidate | None:
    """The conda environment source of the project, if it has an environment file."""
    rel = next((f for f in FILES if f in scan.files), None)
    if rel is None:
        return None
    data = _load(scan, rel)
    text = scan.read_text(rel) or ""
    cand = Candidate("conda", rel, files=[rel])
    reader = _Reader(rel, text, cand)
    pip_lines: list[str] = []
    for item in data.get("dependencies", []):
        if isinstance(item, dict) and isinstance(item.get("pip"), list):
            pip_lines += [str(line) for line in item["pip"]]
        else:
            reader.package(str(item).strip())
    pip_lines = _pip_section(scan, rel, text, pip_lines, cand)
    installable, reason = reader.verdict()
    cand.conda = CondaEnv(
        path=rel,
        channels=tuple(str(c) for c in data.get("channels", []) or []),
        conda_packages=tuple(reader.packages),
        pip=tuple(pip_lines),
        pypi_requirements=tuple(reader.pypi),
        conda_only=tuple(reader.only),
        pip_installable=installable,
        reason=reason,
        cuda=reader.cuda,
    )
    return cand


def _pip_section(scan: Scan, rel: str, text: str, lines: list[str], cand: Candidate) -> list[str]:
    """Read the ``pip:`` section; return its lines as a pip install takes them.

    Local paths (``-e .``) are installed after the code and left out; ``-r file`` includes
    become dependency files.
    """
    kept: list[str] = []
    for number, line in logical_lines("\n".join(lines)):
        where = line_of(text, line) or number
        if line.startswith(("-r ", "--requirement ", "-c ", "--constraint ")):
            option, target = line.split(None, 1)
            # relative to the environment file, as conda runs pip (binder/environment.yml)
            target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
            if target in scan.files:
                kept.append(f"{option} {target}")
                if option in ("-c", "--constraint"):
                    cand.files.append(target)
                    cand.constraint_files.append(target)
                    continue
                # what the file (and its includes) declares is the environment's too
                part = Candidate("requirements", target)
                read_requirements(scan, target, part)
                cand.files += part.files
                cand.dependencies += part.dependencies
                cand.url_names += part.url_names
                cand.index_options += part.index_options
                cand.vcs = cand.vcs or part.vcs
                cand.vcs_checkouts += part.vcs_checkouts
                cand.warnings += part.warnings
            else:
                cand.warnings.append(f"{rel}:{where}: `{line}` names a file that is not there")
            continue
        editable = line.startswith(("-e ", "--editable "))
        target = line.split(None, 1)[1] if editable else line
        if target in (".", "./") or target.startswith(("./", "../")):
            path = target.rstrip("/") or "."
            cand.local.append(LocalInstall(path, editable, Evidence(rel, where, line)))
            continue
        if line.startswith("-"):
            try:
                shlex.split(line)
            except ValueError as exc:
                raise InvalidProjectFileError(
                    f"{rel}:{where}: the pip: option `{line}` cannot be split ({exc})",
                    "close the quote",
                ) from None
        kept.append(line)
        if index_option(line):
            cand.index_options.append(index_option(line))
        if target.startswith("git+") or "@ git+" in target:
            cand.vcs = True
        if target.startswith(("git+", "http")):
            cand.url_names.append(url_name(target))
        if editable and target.startswith(("git+", "hg+", "svn+", "bzr+")):
            cand.vcs_checkouts.append(checkout_name(target))
        if line.startswith("-") or target.startswith(("git+", "http")):
            continue
        dep = parse_dependency(target, rel, where, cand.warnings)
        if dep is not None:
            cand.dependencies.append(dep)
    return kept


def package_names(env: CondaEnv) -> set[str]:
    """The names of an environment's conda packages (``conda-forge::numpy>=1.26`` -> numpy)."""
    names: set[str] = set()
    for spec in env.conda_packages:
        match = _SPEC.match(spec)
        if match:
            names.add(canonicalize_name(match.group("name")))
    return names

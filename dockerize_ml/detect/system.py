"""Debian packages the image needs: from distributions, ``apt.txt`` / ``packages.txt`` and
programs the code runs."""

from __future__ import annotations

import re
import shlex

from packaging.utils import canonicalize_name

from dockerize_ml import knowledge
from dockerize_ml.detect.code import CodeIndex
from dockerize_ml.profile import Evidence, SystemPackage
from dockerize_ml.scan import Scan

_RUNNERS = {
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "os.system",
    "os.popen",
    "shutil.which",
    "run",
    "check_output",
    "check_call",
    "Popen",
}


class _Packages:
    def __init__(self) -> None:
        self.found: dict[tuple[str, str], list[Evidence]] = {}

    def add(self, name: str, stage: str, evidence: Evidence) -> None:
        items = self.found.setdefault((name, stage), [])
        if len(items) < 3 and evidence not in items:
            items.append(evidence)

    def result(self) -> list[SystemPackage]:
        return [
            SystemPackage(name, tuple(evidence), stage)
            for (name, stage), evidence in sorted(
                self.found.items(), key=lambda kv: (kv[0][1] != "run", kv[0][0])
            )
        ]


def _program(call_args: tuple[object, ...], func: str) -> str | None:
    if not call_args:
        return None
    first = call_args[0]
    if isinstance(first, list) and first:
        return first[0] if isinstance(first[0], str) else None
    if isinstance(first, str):
        if func == "shutil.which":
            return first
        try:
            words = shlex.split(first)
        except ValueError:
            return None
        return words[0] if words else None
    return None


#: Lists of Debian packages, one per line: repo2docker/Binder's apt.txt (also in binder/ and
#: .binder/), Hugging Face Spaces' and Streamlit Community Cloud's packages.txt.
_APT_LISTS = ("apt.txt", "binder/apt.txt", ".binder/apt.txt", "packages.txt")
#: What Debian policy allows in a package name (and nothing a shell would act on).
_DEBIAN_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


def detect_system_packages(
    scan: Scan,
    index: CodeIndex,
    distributions: dict[str, Evidence],
    needs_git: bool,
    source_builds: list[Evidence] | None = None,
) -> tuple[list[SystemPackage], list[str]]:
    """The Debian packages, run-time and build-time apart, and warnings."""
    table = knowledge.load("system")
    packages = _Packages()
    warnings: list[str] = []
    _of_distributions(table["distributions"], distributions, packages)
    for rel in _APT_LISTS:
        if rel in scan.files:
            _apt_list(rel, scan.read_text(rel) or "", packages, warnings)
    _of_programs(index, table["programs"], packages)
    if needs_git:
        packages.add("git", "build", Evidence("", 0, "VCS requirements"))
    for evidence in source_builds or []:
        packages.add(
            "build-essential", "build", Evidence(evidence.path, evidence.line, "builds from source")
        )
    if any(stage == "build" and name != "git" for name, stage in packages.found):
        packages.add("build-essential", "build", Evidence("", 0, "compiles C extensions"))
    return packages.result(), warnings


def _of_distributions(
    rows: dict[str, dict[str, list[str]]], distributions: dict[str, Evidence], packages: _Packages
) -> None:
    """What the distributions need at run time and to build (the ``distributions`` table)."""
    by_dist = {canonicalize_name(k): v for k, v in rows.items()}
    for dist, evidence in distributions.items():
        row = by_dist.get(canonicalize_name(dist))
        if row is None:
            continue
        for name in row.get("run", []):
            packages.add(
                name, "run", Evidence(evidence.path, evidence.line, f"{dist} needs {name}")
            )
        for name in row.get("build", []):
            packages.add(
                name, "build", Evidence(evidence.path, evidence.line, f"{dist} builds with {name}")
            )


def _apt_list(rel: str, text: str, packages: _Packages, warnings: list[str]) -> None:
    """An ``apt.txt`` / ``packages.txt``: Debian names, whole lines only."""
    for number, line in enumerate(text.splitlines(), start=1):
        names = line.split("#", 1)[0].split()
        bad = next((n for n in names if not _DEBIAN_NAME.fullmatch(n)), None)
        if bad is not None:  # never half a line: it may be a command, not a list
            warnings.append(
                f"{rel}:{number}: {bad!r} is not a Debian package name; the line is left out"
            )
            continue
        for name in names:
            packages.add(name, "run", Evidence(rel, number, name))


def _of_programs(index: CodeIndex, programs: dict[str, str], packages: _Packages) -> None:
    """The packages of the programs the code runs (``subprocess.run(["ffmpeg", ...])``)."""
    for call in index.calls():
        if call.func not in _RUNNERS:
            continue
        program = _program(call.args, call.func)
        if program is None:
            continue
        program = program.rsplit("/", 1)[-1]
        package = programs.get(program)
        evidence = Evidence(call.path, call.line, f"runs {program}")
        if package:
            packages.add(package, "run", evidence)

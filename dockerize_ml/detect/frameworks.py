"""ML frameworks in use, and signs in the code and dependencies that it uses CUDA."""

from __future__ import annotations

import posixpath
import re

from packaging.utils import canonicalize_name

from dockerize_ml import knowledge
from dockerize_ml.detect.code import CodeIndex
from dockerize_ml.detect.files import parse_json, parse_toml
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.profile import (
    CompiledRequirement,
    CondaEnv,
    CudaBuild,
    Dependency,
    Evidence,
    GpuUse,
    requirement_string,
)
from dockerize_ml.scan import Scan

#: Code that asks for a CUDA device, or picks it when there is one (`if torch.cuda.is_available()`
#: choosing "cuda" over "cpu", `device_map="auto"`): a GPU image is what such code is for. A
#: bare `print(torch.cuda.is_available())` is a check, not a use.
_CUDA_USE = re.compile(
    r"""\.cuda\(\s*\)|\.to\(\s*f?['"]cuda|device\s*=\s*f?['"]cuda|\.device\(\s*f?['"]cuda"""
    r"""|['"]cuda:\d+['"]|tf\.config\.list_physical_devices\(\s*['"]GPU['"]"""
    r"""|torch\.accelerator\.|cupy\.|import cupy|jax\.devices\(\s*['"]gpu['"]"""
    r"""|\bif\b[^\n]*\bcuda\.is_available\(\)|\bcuda\.current_device\(\)|\bcuda\.device_count\(\)"""
    r"""|device_map\s*=\s*['"]auto['"]|\baccelerator\s*=\s*['"](?:gpu|cuda)['"]"""
    r"""|\buse_gpu\s*=\s*(?!False\b|0\b)[\w.]+(?:\([\w.]*\))?"""
    r"""|\bnum_gpus['"]?\s*[=:]\s*(?!0\b|None\b)[\w.]+"""
    r"""|\bhelp\s*=\s*(?:"[^"\n]*\bcuda\b|'[^'\n]*\bcuda\b)"""
    r"""|choices\s*=\s*[\[(][^\])]*['"]cuda['"]"""
)
#: A word every alternative of _CUDA_USE holds: a text with none of them cannot match it, and
#: most files of a large repository are passed over by substring search alone.
_CUDA_WORDS = ("cuda", "gpu", "GPU", "accelerator", "cupy", "device_map")


def may_use_cuda(text: str) -> bool:
    """False when ``text`` cannot match _CUDA_USE (none of its words is in it)."""
    return any(word in text for word in _CUDA_WORDS)


#: The same in a YAML config (Hydra, Lightning, Ray): `accelerator: gpu`, `num_gpus: 1`.
_CUDA_CONFIG = re.compile(
    r"""^\s*(?:accelerator\s*:\s*['"]?(?:gpu|cuda)['"]?\s*$|num_gpus\s*:\s*[1-9]|gpus\s*:\s*[1-9-])"""
)
#: Code that does not run the project: tests and their fixtures, documentation examples.
_TEST_PATH = re.compile(
    r"(^|/)(tests?|testing|docs?)/|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$"
)
#: A requirement line's name and extras (``jax[cuda11_cudnn86]>=0.4``).
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def _cuda_dependency(dep: Dependency) -> str:
    """Why installing ``dep`` means CUDA (a GPU build, a CUDA extra), or ""."""
    table = knowledge.load("cuda")["uses_cuda"]
    if dep.name in table["names"] or dep.name.startswith(tuple(table["prefixes"])):
        return f"requires {dep.name}"
    for extra in dep.extras:
        if any(re.fullmatch(rf"{re.escape(e)}(?:[\d_-].*)?", extra) for e in table["extras"]):
            return f"requires {dep.name}[{','.join(dep.extras)}]"
    return ""


def detect_frameworks(dependencies: list[Dependency], imported: list[str]) -> list[str]:
    """Framework distributions declared or imported, declared ones first."""
    table = knowledge.load("frameworks")["frameworks"]
    seen: list[str] = []
    for name in [d.name for d in dependencies] + [canonicalize_name(n) for n in imported]:
        if name in table and name not in seen:
            seen.append(name)
    return seen


def _files_evidence(scan: Scan) -> list[Evidence]:
    """CUDA named outside the code: a YAML config (``accelerator: gpu``) and a requirements
    file other than the one installed (``requirements-gpu.txt`` with ``jax[cuda12]``)."""
    found: list[Evidence] = []
    for rel in sorted(scan.files):
        name = posixpath.basename(rel)
        config = name.endswith((".yaml", ".yml")) and not rel.startswith(".github/")
        requirements = name.startswith("requirements") and name.endswith(".txt")
        if _TEST_PATH.search(rel) or not (config or requirements):
            continue
        for number, line in enumerate((scan.read_text(rel) or "").splitlines(), start=1):
            text = line.split("#", 1)[0]
            why = ""
            if config and _CUDA_CONFIG.match(text):
                why = text.strip()
            elif requirements and (match := _REQUIREMENT.match(text)):
                extras = tuple(e.strip() for e in (match.group(2) or "").split(",") if e.strip())
                dep = Dependency(canonicalize_name(match.group(1)), "", rel, extras=extras)
                why = _cuda_dependency(dep)
            if why:
                found.append(Evidence(rel, number, why))
                break
        if len(found) >= 3:
            break
    return found


def detect_gpu(
    index: CodeIndex,
    dependencies: list[Dependency],
    conda: CondaEnv | None,
    scan: Scan | None = None,
) -> GpuUse:
    """Whether the project uses CUDA, with the first lines that say so (code, the installed
    dependencies, YAML configs and the other requirements files of ``scan``)."""
    evidence: list[Evidence] = []
    for source in index.files.values():
        text = source.text
        if not may_use_cuda(text) or _TEST_PATH.search(source.path) or not _CUDA_USE.search(text):
            continue
        for number, line in enumerate(source.text.splitlines(), start=1):
            if line.lstrip().startswith("#"):
                continue
            match = _CUDA_USE.search(line)
            if match:
                line_no = 0 if source.notebook else number
                detail = match.group(0).strip()
                evidence.append(Evidence(source.path, line_no, detail))
                break
        if len(evidence) >= 5:
            break
    for dep in dependencies:
        why = _cuda_dependency(dep)
        if why:
            evidence.append(Evidence(dep.source, dep.line, why))
    if conda is not None and conda.cuda:
        evidence.append(Evidence(conda.path, 0, f"CUDA {conda.cuda} in the conda environment"))
    if scan is not None:
        evidence += _files_evidence(scan)
    return GpuUse(uses_cuda=bool(evidence), evidence=tuple(evidence[:8]))


#: A setup.py that builds CUDA code with torch's extension helpers.
_CUDA_EXTENSION = re.compile(r"\bCUDAExtension\b")
#: Code that compiles C++/CUDA when it runs (torch's JIT extension loader).
_JIT = re.compile(
    r"\bcpp_extension\.load(_inline)?\(|from torch\.utils\.cpp_extension import [^\n]*\bload"
)


def _locked_version(scan: Scan, lock: str, name: str) -> str:
    """``==X.Y.Z`` for ``name`` as a lockfile pins it (uv, Poetry, PDM, Pipfile.lock), or ""."""
    text = scan.read_text(lock) or ""
    try:
        if lock.endswith(".lock") and lock != "Pipfile.lock":
            packages = parse_toml(lock, text).get("package", [])
            versions = [str(p.get("version", "")) for p in packages if p.get("name") == name]
            return f"=={versions[0]}" if versions and versions[0] else ""
        version = parse_json(lock, text).get("default", {}).get(name, {}).get("version", "")
        return str(version) if str(version).startswith("==") else ""
    except (ValueError, AttributeError, InvalidProjectFileError):
        return ""  # the lock's own reader reports what is wrong with it


def _url_requirement(line: str) -> str:
    """The URL a requirements line (or a conda ``pip:`` item) installs, or ""."""
    words = line.split(" #", 1)[0].split()
    while words and words[0] in ("-", "-e", "--editable"):
        words = words[1:]
    if not words or "://" not in words[0]:
        return ""
    return words[0]


def _setup_line(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if _CUDA_EXTENSION.search(line) and not line.lstrip().startswith("#"):
            return number
    return 0


def detect_cuda_build(
    scan: Scan,
    index: CodeIndex,
    dependencies: list[Dependency],
    dependency_files: list[str],
    local_folders: list[str],
    index_options: list[str] | None = None,
    lock: str = "",
) -> CudaBuild:
    """CUDA code the image's build has to compile, and code that compiles it at run time.

    From the ``compile`` table: dependencies that compile CUDA when installed (by name, or a
    bare URL of their repository in a requirements file); the project's setup.py and local
    folders installed from a path when they build a ``CUDAExtension``.
    """
    table = {
        name: row
        for name, row in knowledge.load("cuda")["compile"].items()
        if not ("wheels" in row and any(row["wheels"] in o for o in index_options or ()))
    }
    evidence: list[Evidence] = []
    found: dict[str, CompiledRequirement] = {}
    for dep in dependencies:
        row = table.get(dep.name)
        if row is not None and (row["always"] or dep.url) and dep.name not in found:
            ev = Evidence(dep.source, dep.line, f"requires {dep.name}")
            found[dep.name] = CompiledRequirement(dep.name, requirement_string(dep), ev)
    vcs_lines: set[tuple[str, int]] = set()
    for path in dependency_files:
        text = scan.read_text(path) or ""
        for number, line in enumerate(text.splitlines(), start=1):
            if "git+" in line.split(" #", 1)[0] and not line.lstrip().startswith("#"):
                vcs_lines.add((path, number))
            url = _url_requirement(line)
            for name, row in table.items():
                if url and name not in found and row["url"].lower() in url.lower():
                    ev = Evidence(path, number, f"requires {name} from {row['url']}")
                    found[name] = CompiledRequirement(name, url, ev)
    evidence += [r.evidence for r in found.values()]

    def extension(folder: str) -> int:
        rel = posixpath.join(folder, "setup.py") if folder != "." else "setup.py"
        source = index.files.get(rel)
        text = source.text if source is not None else scan.read_text(rel) or ""
        line = _setup_line(text)
        if line:
            evidence.append(Evidence(rel, line, "CUDAExtension"))
        return line

    project = bool(extension("."))
    folders = tuple(f for f in local_folders if f != "." and extension(f))
    jit: list[Evidence] = []
    for source in index.files.values():
        match = _JIT.search(source.text)
        if match and not source.path.endswith("setup.py"):
            number = source.text.count("\n", 0, match.start()) + 1
            jit.append(Evidence(source.path, 0 if source.notebook else number, match.group(0)))
    compiled_lines = {(r.evidence.path, r.evidence.line) for r in found.values()}
    needed = bool(found or project or folders)
    return CudaBuild(
        locked_torch=_locked_version(scan, lock, "torch") if needed and lock else "",
        vcs_compiled_only=bool(vcs_lines) and vcs_lines <= compiled_lines,
        requirements=tuple(found.values()),
        project=project,
        folders=folders,
        jit=tuple(jit[:5]),
        evidence=tuple(evidence[:8]),
    )

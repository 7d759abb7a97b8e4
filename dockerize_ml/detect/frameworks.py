"""ML frameworks in use, and signs in the code and dependencies that it uses CUDA."""

from __future__ import annotations

import posixpath
import re

from packaging.utils import canonicalize_name

from dockerize_ml import knowledge
from dockerize_ml.detect.code import CodeIndex
from dockerize_ml.detect.deps.model import requirement_string
from dockerize_ml.detect.files import parse_json, parse_toml
from dockerize_ml.errors import InvalidProjectFileError
from dockerize_ml.profile import (
    CompiledRequirement,
    CondaEnv,
    CudaBuild,
    Dependency,
    Evidence,
    GpuUse,
)
from dockerize_ml.scan import Scan

#: Code that asks for a CUDA device. `torch.cuda.is_available()` alone is a check, not a use.
_CUDA_USE = re.compile(
    r"""\.cuda\(\s*\)|\.to\(\s*['"]cuda|device\s*=\s*['"]cuda|torch\.device\(\s*['"]cuda"""
    r"""|['"]cuda:\d+['"]|tf\.config\.list_physical_devices\(\s*['"]GPU['"]"""
    r"""|torch\.accelerator\.|cupy\.|import cupy|jax\.devices\(\s*['"]gpu['"]"""
)
_GPU_EXTRAS = {"and-cuda", "cuda", "cuda11", "cuda12", "cuda12-pip", "gpu"}


def detect_frameworks(dependencies: list[Dependency], imported: list[str]) -> list[str]:
    """Framework distributions declared or imported, declared ones first."""
    table = knowledge.load("frameworks")["frameworks"]
    seen: list[str] = []
    for name in [d.name for d in dependencies] + [canonicalize_name(n) for n in imported]:
        if name in table and name not in seen:
            seen.append(name)
    return seen


def detect_gpu(index: CodeIndex, dependencies: list[Dependency], conda: CondaEnv | None) -> GpuUse:
    """Whether the project uses CUDA, with the first lines that say so."""
    evidence: list[Evidence] = []
    for source in index.files.values():
        if not _CUDA_USE.search(source.text):
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
        if dep.name.startswith("nvidia-") or dep.name.startswith("cupy-cuda"):
            evidence.append(Evidence(dep.source, dep.line, f"requires {dep.name}"))
        elif _GPU_EXTRAS & set(dep.extras):
            evidence.append(
                Evidence(dep.source, dep.line, f"requires {dep.name}[{','.join(dep.extras)}]")
            )
    if conda is not None and conda.cuda:
        evidence.append(Evidence(conda.path, 0, f"CUDA {conda.cuda} in the conda environment"))
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

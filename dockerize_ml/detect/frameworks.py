"""ML frameworks in use, and signs in the code and dependencies that it uses CUDA."""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name

from dockerize_ml import knowledge
from dockerize_ml.detect.code import CodeIndex
from dockerize_ml.profile import CondaEnv, Dependency, Evidence, GpuUse

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

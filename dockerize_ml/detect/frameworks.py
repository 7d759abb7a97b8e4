"""ML frameworks among the dependencies, and signs in the code that it uses CUDA."""

from __future__ import annotations

import re

from dockerize_ml import knowledge
from dockerize_ml.profile import Dependency, Evidence, GpuUse
from dockerize_ml.scan import Scan

#: Code that asks for a CUDA device. `torch.cuda.is_available()` alone is a check, not a use.
_CUDA_USE = re.compile(
    r"""\.cuda\(\s*\)|\.to\(\s*['"]cuda|device\s*=\s*['"]cuda|torch\.device\(\s*['"]cuda"""
    r"""|['"]cuda:\d+['"]|tf\.config\.list_physical_devices\(\s*['"]GPU['"]"""
)


def detect_frameworks(dependencies: list[Dependency]) -> list[str]:
    """Framework distributions among the declared dependencies, in declaration order."""
    table = knowledge.load("frameworks")["frameworks"]
    seen: list[str] = []
    for dep in dependencies:
        if dep.name in table and dep.name not in seen:
            seen.append(dep.name)
    return seen


def detect_gpu(scan: Scan) -> GpuUse:
    """Whether the Python code uses CUDA, with the first lines that say so."""
    evidence: list[Evidence] = []
    for rel in scan.glob(".py"):
        text = scan.read_text(rel)
        if not text or ("cuda" not in text and "GPU" not in text):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if line.lstrip().startswith("#"):
                continue
            match = _CUDA_USE.search(line)
            if match:
                evidence.append(Evidence(rel, number, match.group(0).strip()))
                break
        if len(evidence) >= 5:
            break
    return GpuUse(uses_cuda=bool(evidence), evidence=tuple(evidence))

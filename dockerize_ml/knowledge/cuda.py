"""Framework and CUDA combinations that cannot work, from the ``cuda`` knowledge table.

A pinned torch with a torchvision or torchaudio of another release, a conda ``cudatoolkit``
that no build of the pinned torch uses, a torch newer than the table (it lags new releases,
so that is a note, not an error).
"""

from __future__ import annotations

import re

from packaging.specifiers import SpecifierSet

from dockerize_ml import knowledge
from dockerize_ml.profile import CondaEnv, Dependency


def pinned_minor(dep: Dependency) -> str | None:
    """``X.Y`` when the specifier pins one release (``==2.5.1``, ``==2.5.*``)."""
    for spec in SpecifierSet(dep.specifier):
        if spec.operator in ("==", "==="):
            parts = spec.version.split("+")[0].split(".")
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                return f"{parts[0]}.{parts[1]}"
    return None


def compatibility_warnings(
    dependencies: tuple[Dependency, ...], conda: CondaEnv | None
) -> list[str]:
    """What the pinned framework versions say about each other and about CUDA."""
    table = knowledge.load("cuda")
    by_name = {d.name: d for d in dependencies}
    torch = by_name.get("torch")
    warnings: list[str] = []
    minor = pinned_minor(torch) if torch else None
    if torch is None or minor is None:
        return warnings
    row = table["torch"].get(minor)
    if row is None:
        known = sorted(table["torch"], key=lambda v: tuple(map(int, v.split("."))))
        newer = tuple(map(int, minor.split("."))) > tuple(map(int, known[-1].split(".")))
        where = f"newer than dockerize-ml's compatibility table (up to {known[-1]})"
        if not newer:
            where = f"older than dockerize-ml's compatibility table (from {known[0]})"
        warnings.append(
            f"torch {minor} is {where}; torchvision/torchaudio/CUDA combinations are not checked"
        )
        return warnings
    for companion in ("torchvision", "torchaudio"):
        dep = by_name.get(companion)
        pinned = pinned_minor(dep) if dep else None
        if dep is not None and pinned is not None and pinned != row[companion]:
            warnings.append(
                f"{dep.source}:{dep.line}: {companion} {pinned} does not go with torch {minor} "
                f"(which needs {companion} {row[companion]}); the import fails with an "
                "operator or ABI error"
            )
    if conda is not None and conda.cuda:
        cuda_minor = ".".join(conda.cuda.split(".")[:2])
        if cuda_minor not in row["cuda"]:
            warnings.append(
                f"{conda.path}: CUDA {conda.cuda} is not one torch {minor} is built for "
                f"({', '.join(row['cuda'])})"
            )
    return warnings


def torch_cuda(dependencies: tuple[Dependency, ...]) -> str:
    """The CUDA that the pinned torch's wheel carries (PyPI's, or the ``+cuXYZ`` build the
    pin names), or ""."""
    torch = next((d for d in dependencies if d.name == "torch"), None)
    local = re.search(r"\+cu(\d+)(\d)\b", torch.specifier) if torch else None
    if local:  # a build from PyTorch's own index: torch==2.0.1+cu118 carries CUDA 11.8
        return f"{local.group(1)}.{local.group(2)}"
    minor = pinned_minor(torch) if torch else None
    row = knowledge.load("cuda")["torch"].get(minor or "")
    return str(row["pypi_cuda"]) if row else ""


def driver_floor(cuda: str) -> str:
    """The oldest NVIDIA driver that runs CUDA ``cuda`` (``12.4`` -> ``525.60.13``)."""
    return str(knowledge.load("cuda")["driver"].get(cuda.split(".", maxsplit=1)[0], ""))

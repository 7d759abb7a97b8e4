"""The image and the device: CPU or CUDA, the base image, its Python and its user, and the
stage that compiles CUDA code."""

from __future__ import annotations

import dataclasses
import re

from dockerize_ml import knowledge
from dockerize_ml.bases import ImageUser, image_user
from dockerize_ml.cudabuild import CudaBuilder, plan_cuda_builder
from dockerize_ml.install import (
    VENV,
    InstallPlan,
    InvalidSettingError,
)
from dockerize_ml.knowledge.cuda import driver_floor, pinned_minor, torch_cuda
from dockerize_ml.plan.types import (
    WORKDIR,
    Settings,
)
from dockerize_ml.profile import ProjectProfile


def choose_device(profile: ProjectProfile, settings: Settings) -> str:
    """What the image is built for: the chosen device, or (auto) CUDA when the code uses it."""
    if settings.device == "auto":
        return "cuda" if profile.gpu.uses_cuda else "cpu"
    return settings.device


def is_conda_image(profile: ProjectProfile) -> bool:
    """Whether the image is a micromamba one: a conda environment pip cannot install is the
    dependency source used."""
    return (
        profile.conda is not None
        and not profile.conda.pip_installable
        and any(s.used and s.kind == "conda" for s in profile.dependency_sources)
    )


_IMAGE_REF = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$", re.IGNORECASE)


def _python(profile: ProjectProfile, settings: Settings) -> str:
    if settings.python is None:
        return profile.python_version
    if not re.fullmatch(r"\d+\.\d+", settings.python):
        raise InvalidSettingError(
            f"--python {settings.python!r} is not of the form X.Y", "for example --python 3.11"
        )
    return settings.python


def _tensorflow_image(profile: ProjectProfile) -> tuple[str, str, str] | None:
    """For a TensorFlow older than ``[and-cuda]``: its cudnn-runtime image, Python, pin."""
    tf = next((d for d in profile.dependencies if d.name == "tensorflow"), None)
    minor = pinned_minor(tf) if tf is not None else None
    row = knowledge.load("cuda")["tensorflow"].get(minor or "")
    if row is None or "image" not in row:
        return None
    return str(row["image"]), str(row["python"]), str(minor)


def base_image(
    profile: ProjectProfile, settings: Settings, device: str, conda_image: bool
) -> tuple[str, str, list[str]]:
    """The base image, the image's Python, and notes about the choice."""
    python = _python(profile, settings)
    notes: list[str] = []
    tensorflow = _tensorflow_image(profile) if device == "cuda" and not conda_image else None
    if settings.base_image:
        base_image = settings.base_image
    elif tensorflow is not None:
        base_image, image_python, minor = tensorflow
        notes.append(
            f"tensorflow {minor} takes CUDA from the system, not from pip wheels: the image "
            f"starts from {base_image} (the CUDA and cuDNN it was built for) with Ubuntu's "
            f"Python {image_python}" + (f", not {python}" if image_python != python else "")
        )
        python = image_python
    elif conda_image:
        base_image = knowledge.load("tools")["micromamba"]["base"]
    else:
        base_image = f"python:{python}-slim"
    if not _IMAGE_REF.match(base_image) or base_image.endswith(":latest") or ":" not in base_image:
        raise InvalidSettingError(
            f"--base-image {base_image!r} is not a pinned image reference",
            "give a tagged image such as python:3.11-slim (never :latest)",
        )
    return base_image, python, notes


def base_user(
    base_image: str, python: str, settings: Settings, conda_image: bool, notes: list[str]
) -> tuple[ImageUser, str]:
    """The user and environment the base image asks for (bases.py), and the image's Python:
    the base's own when it is known (Ubuntu 24.04's python3 is 3.12 whatever the project
    says)."""
    user = image_user(base_image, VENV, make_venv=True, workdir=WORKDIR)
    if conda_image:  # the environment brings its own Python, whatever the base has
        user = dataclasses.replace(user, system_python=False, python_version="")
    if user.python_version and user.python_version != python:
        if settings.base_image:
            notes.append(
                f"{settings.base_image}'s Python is {user.python_version}: the dependencies "
                f"are chosen for it, not for {python}"
            )
        python = user.python_version
    notes += user.notes
    return user, python


def into_base_environment(install: InstallPlan, user: ImageUser) -> tuple[InstallPlan, str]:
    """The install plan and where it installs: the base's own environment (a Jupyter stack's
    /opt/conda) takes the packages when bases.toml says so; micromamba makes its own."""
    if user.env == VENV or install.installer == "micromamba":
        return install, VENV
    return dataclasses.replace(install, make_venv=False), user.env


def cuda_builder(
    profile: ProjectProfile,
    settings: Settings,
    device: str,
    conda_image: bool,
    python: str,
    notes: list[str],
) -> CudaBuilder | None:
    """The stage that compiles the project's CUDA code, when there is some to compile."""
    if not profile.cuda_build.needed:
        return None
    if device != "cuda":
        notes.append(
            "--device cpu: the CUDA code (CUDAExtension, flash-attn, ...) needs nvcc and is "
            "not compiled; its install is likely to fail in a CPU image"
        )
        return None
    if conda_image:
        notes.append(
            "the CUDA code to compile (CUDAExtension, flash-attn, ...) is left to the conda "
            "environment's own build: micromamba images have no CUDA builder stage"
        )
        return None
    package = profile.package
    requires = list(package.build_requires) if package and profile.cuda_build.project else []
    builder = plan_cuda_builder(profile, python, requires, settings.buildkit)
    notes += builder.notes
    return builder


def gpu_host(profile: ProjectProfile, base_image: str) -> str:
    """What the host needs to run the CUDA image."""
    tensorflow = _tensorflow_image(profile)
    if tensorflow is not None and tensorflow[0] == base_image:
        cuda = str(knowledge.load("cuda")["tensorflow"][tensorflow[2]]["cuda"])
        return f"an NVIDIA driver >= {driver_floor(cuda)} (the image's CUDA is {cuda})"
    cuda = torch_cuda(profile.dependencies)
    if cuda:
        return f"an NVIDIA driver >= {driver_floor(cuda)} (torch's wheel carries CUDA {cuda})"
    cuda12, cuda13 = driver_floor("12"), driver_floor("13")
    return f"an NVIDIA driver >= {cuda12} for CUDA 12 wheels (>= {cuda13} for CUDA 13)"

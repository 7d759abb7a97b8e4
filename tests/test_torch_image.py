"""One real torch image: PyPI's CUDA build of torch (several GB), opt-in.

    DOCKERIZE_ML_DOCKER=/usr/bin/docker DOCKERIZE_ML_TORCH=1 python -m pytest tests/test_torch_image.py -s

Downloads about 3.5 GB into the engine; not part of the default run or of CI. No GPU here:
the test proves the image imports torch with its CUDA runtime, not that a kernel runs.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_tree

from dockerize_ml.engine import build_with_cli

pytestmark = [
    pytest.mark.docker,
    pytest.mark.torch,
    pytest.mark.skipif(
        os.environ.get("DOCKERIZE_ML_TORCH") != "1",
        reason="opt-in: set DOCKERIZE_ML_TORCH=1 (downloads ~3.5 GB of torch and CUDA wheels)",
    ),
]

TRAIN = """import torch


def main() -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = torch.nn.Linear(8, 1).to("cuda" if device == "cuda" else device)
    print(model(torch.zeros(1, 8, device=device)).shape)


if __name__ == "__main__":
    main()
"""


def test_real_cuda_torch_image(engine: Any, buildkit_cli: str, tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "torch-train",
        {
            ".python-version": "3.11\n",
            "requirements.txt": "torch==2.9.1\nnumpy\n",
            "train.py": TRAIN,
        },
    )
    assert run_cli("init", root).returncode == 0  # auto: the code uses CUDA
    tag = f"dockerize-ml-torch-{uuid.uuid4().hex[:8]}:latest"
    try:
        start = time.perf_counter()
        build_with_cli(root, tag)
        cold = time.perf_counter() - start
        probe = (
            "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available())"
        )
        container = engine.containers.run(tag, ["python", "-c", probe], detach=True)
        container.wait(timeout=300)
        output = container.logs().decode().strip()
        container.remove(force=True)
        version, cuda, available = output.split()[-3:]
        assert version.startswith("2.9.1") and cuda.startswith("12.") and available == "False"
        size = engine.images.get(tag).attrs["Size"]
        assert size > 3_000_000_000, "PyPI's Linux torch is the CUDA build"

        (root / "requirements.txt").write_text("torch==2.9.1\nnumpy\ntabulate\n")
        start = time.perf_counter()
        second = build_with_cli(root, tag)
        rebuild = time.perf_counter() - start
        assert second.step("torch==2.9.1").cached, "adding a dependency does not reinstall torch"
        print(
            f"\ntorch image: {size / 1e9:.2f} GB, cold build {cold:.0f}s, "
            f"rebuild after adding a dependency {rebuild:.1f}s"
        )
    finally:
        engine.images.remove(tag, force=True)

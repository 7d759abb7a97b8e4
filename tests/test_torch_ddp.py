"""The torchrun launch for real, on CPU: a small DDP sample (gloo backend) runs two processes
in one container and both ranks report. Opt-in (PyPI's torch is the multi-GB CUDA build):

    DOCKERIZE_ML_DOCKER=/usr/bin/docker DOCKERIZE_ML_TORCH=1 python -m pytest tests/test_torch_ddp.py -s
"""

from __future__ import annotations

import os
import subprocess
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

TRAIN = """import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def main() -> None:
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    model(torch.ones(2, 4)).sum().backward()
    total = torch.tensor([float(rank + 1)])
    dist.all_reduce(total)
    local = os.environ["LOCAL_RANK"]
    print(f"rank {rank} of {world} (local {local}): all_reduce {total.item():.0f}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
"""

#: No GPU and no NVIDIA Container Toolkit here: run.sh's --gpus all is dropped.
NO_GPUS = """#!/usr/bin/env bash
args=()
for a in "$@"; do [ "$a" = --gpus ] || [ "$a" = all ] || args+=("$a"); done
exec "{docker}" "${{args[@]}}"
"""


def test_two_ranks_report(engine: Any, buildkit_cli: str, tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "ddp",
        {".python-version": "3.11\n", "requirements.txt": "torch==2.9.1\n", "train.py": TRAIN},
    )
    assert run_cli("init", root).returncode == 0  # auto: a CUDA image (nccl when there is one)
    dockerfile = (root / "Dockerfile").read_text()
    assert 'CMD ["torchrun", "train.py"]' in dockerfile and "PET_NPROC_PER_NODE=gpu" in dockerfile
    tag = "dist-torch-ddp:latest"
    wrapper = tmp_path / "docker"
    wrapper.write_text(NO_GPUS.format(docker=buildkit_cli))
    wrapper.chmod(0o755)
    try:
        build_with_cli(root, tag)
        result = subprocess.run(
            [str(root / "docker/run.sh")],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
            env={
                **os.environ,
                "IMAGE": tag,
                "DOCKERIZE_ML_DOCKER": str(wrapper),
                "NPROC_PER_NODE": "2",
            },
        )
        print(result.stdout, result.stderr[-2000:])
        assert result.returncode == 0, result.stderr[-2000:]
        reports = sorted(line for line in result.stdout.splitlines() if line.startswith("rank "))
        assert reports == [
            "rank 0 of 2 (local 0): all_reduce 3",
            "rank 1 of 2 (local 1): all_reduce 3",
        ]
    finally:
        engine.images.remove(tag, force=True)

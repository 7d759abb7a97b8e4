"""CUDA use from the code, configs and requirements; and what does not count (tests, docs)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from conftest import write_tree

from dockerize_ml import inspect_project

_MAIN = "if __name__ == '__main__':\n    pass\n"


@pytest.mark.parametrize(
    ("files", "why"),
    [
        (
            {"app.py": "import torch\ndevice = 'cuda' if torch.cuda.is_available() else 'cpu'\n"},
            "device = 'cuda",
        ),
        ({"app.py": "import torch\nn = torch.cuda.current_device()\n"}, "cuda.current_device()"),
        (
            {
                "app.py": "import torch as th\nb = 'gloo' if not th.cuda.is_available() else 'nccl'\n"
            },
            "cuda.is_available()",
        ),
        ({"app.py": "import torch\nd = torch.device(f'cuda:{rank}')\n"}, ".device(f'cuda"),
        ({"app.py": "m = load('x', device_map=\"auto\")\n"}, 'device_map="auto"'),
        ({"deploy.py": 's = Studio(accelerator="gpu")\n'}, 'accelerator="gpu"'),
        ({"train.py": "cfg = ScalingConfig(use_gpu=bool(n))\n"}, "use_gpu=bool(n)"),
        ({"serve.py": "@serve.deployment(ray_actor_options={'num_gpus': 1})\n"}, "num_gpus': 1"),
        ({"train.py": "p.add_argument('--device', help=\"cpu or cuda\")\n"}, 'help="cpu or cuda'),
        ({"configs/trainer/gpu.yaml": "accelerator: gpu\ndevices: 1\n"}, "accelerator: gpu"),
        ({"requirements-gpu.txt": "jax[cuda11_cudnn86]>=0.4.2\n"}, "jax[cuda11_cudnn86]"),
        ({"requirements.txt": "tensorflow[and-cuda]==2.16.1\n"}, "tensorflow[and-cuda]"),
        ({"requirements.txt": "onnxruntime-gpu==1.19.2\n"}, "requires onnxruntime-gpu"),
    ],
)
def test_cuda_signals(tmp_path: Path, files: Mapping[str, str | bytes], why: str) -> None:
    profile = inspect_project(write_tree(tmp_path, {"main.py": _MAIN, **files}))
    assert profile.gpu.uses_cuda
    assert any(why in e.detail for e in profile.gpu.evidence), profile.gpu.evidence


@pytest.mark.parametrize(
    "files",
    [
        {"tests/test_model.py": "device = 'cuda'\n"},
        {"tests/fixtures/model.py": "import torch\nx = torch.device('cuda')\n"},
        {"docs/howto.py": "model.to('cuda')\n"},
        {"train.py": "cfg = ScalingConfig(use_gpu=False, num_gpus=0)\n"},
        {"configs/trainer/cpu.yaml": "accelerator: cpu\n"},
    ],
)
def test_what_is_not_cuda_use(tmp_path: Path, files: Mapping[str, str | bytes]) -> None:
    """A library's tests, its fixtures and documentation examples do not run the project."""
    profile = inspect_project(write_tree(tmp_path, {"main.py": _MAIN, **files}))
    assert not profile.gpu.uses_cuda, profile.gpu.evidence

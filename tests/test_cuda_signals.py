"""CUDA use from the code, configs and requirements; and what does not count (tests, docs)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from conftest import write_tree
from hypothesis import given, settings
from hypothesis import strategies as st

from dockerize_ml import inspect_project
from dockerize_ml.detect import frameworks

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


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regular expression's source."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*parts, pattern[start:]]


def test_every_cuda_pattern_holds_a_word_of_the_quick_check() -> None:
    """The quick check passes over a text with none of its words: each alternative of the
    expression must then hold one, or its matches would be missed."""
    alternatives = _alternatives(frameworks._CUDA_USE.pattern)
    assert len(alternatives) > 10
    for alternative in alternatives:
        assert any(w in alternative for w in frameworks._CUDA_WORDS), alternative


_SNIPPETS = st.sampled_from(
    [
        "x.cuda()",
        "t.to('cuda')",
        "device='cuda'",
        "'cuda:0'",
        "torch.cuda.device_count()",
        "tf.config.list_physical_devices('GPU')",
        "torch.accelerator.current",
        "cupy.zeros",
        "jax.devices('gpu')",
        "if torch.cuda.is_available():",
        "device_map='auto'",
        "accelerator='gpu'",
        "use_gpu=True",
        "num_gpus=2",
        "help='run on cuda'",
        "choices=['cpu', 'cuda']",
        "import os",
        "x = 1",
        "print('hi')",
        "#",
        "\n",
        " ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SNIPPETS, max_size=6).map("".join))
def test_the_quick_cuda_check_never_passes_over_a_match(text: str) -> None:
    if frameworks._CUDA_USE.search(text):
        assert frameworks.may_use_cuda(text), text

"""ML images: the device, heavy frameworks in their own layer, CPU wheels, caches, GPUs.

No GPU, no NVIDIA Container Toolkit, no access to download.pytorch.org and no nvidia/cuda
images on these machines: these tests assert the generated files (and lint them); the
torch, TensorFlow and JAX images themselves are not built here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TRAIN, Sample, files_for, write_tree

from dockerize_ml import inspect_project, make_plan, render
from dockerize_ml.plan import InvalidSettingError, Settings


def heavy_line(dockerfile: str) -> str:
    start = dockerfile.index("# Heavy frameworks first")
    return dockerfile[start : dockerfile.index("\n\n", start)]


def test_cuda_torch_training_project(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "cuda",
        {"requirements.txt": "torch==2.5.1\ntorchvision==0.20.1\npandas\n", "train.py": TRAIN},
    )
    files = files_for(root)
    dockerfile = files["Dockerfile"]
    heavy = heavy_line(dockerfile)
    assert "torch==2.5.1" in heavy and "torchvision==0.20.1" in heavy
    assert "download.pytorch.org" not in heavy  # PyPI's Linux torch is the CUDA build
    heavy_at = dockerfile.index("# Heavy frameworks first")
    assert heavy_at < dockerfile.index("uv pip install -r /tmp/deps/requirements.txt")
    assert "NVIDIA_DRIVER_CAPABILITIES=compute,utility" in dockerfile
    assert "HF_HOME=/home/app/.cache/huggingface" in dockerfile
    assert "FROM python:" in dockerfile and "nvidia/cuda" not in dockerfile
    assert "args+=(--gpus all)" in files["docker/run.sh"]
    assert "NVIDIA driver >= 525.60.13 (torch's wheel carries CUDA 12.4)" in files["docker/run.sh"]
    readme = files["docker/README.md"]
    assert "An NVIDIA GPU, an NVIDIA driver >= 525.60.13" in readme
    assert "NVIDIA Container Toolkit" in readme and "--gpus all" in readme


def test_same_project_with_device_cpu(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "cpu",
        {"requirements.txt": "torch==2.5.1\ntorchvision==0.20.1\npandas\n", "train.py": TRAIN},
    )
    files = files_for(root, device="cpu")
    heavy = heavy_line(files["Dockerfile"])
    assert "--index-url https://download.pytorch.org/whl/cpu" in heavy
    assert "CPU-only wheels" in heavy
    assert "NVIDIA" not in files["Dockerfile"]
    assert "--gpus" not in files["docker/run.sh"]
    assert "NVIDIA" not in files["docker/README.md"]


def test_tensorflow_project(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "tf",
        {
            "requirements.txt": "tensorflow[and-cuda]==2.17.0\nnumpy\n",
            "train.py": "import tensorflow as tf\nprint(tf.config.list_physical_devices('GPU'))\nif __name__ == '__main__':\n    pass\n",
        },
    )
    files = files_for(root)
    assert "'tensorflow[and-cuda]==2.17.0'" in heavy_line(files["Dockerfile"])
    assert "args+=(--gpus all)" in files["docker/run.sh"]


def test_jax_project(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "jax",
        {
            "pyproject.toml": '[project]\nname = "j"\nversion = "1"\ndependencies = ["jax[cuda12]>=0.4.30", "optax"]\n',
            "main.py": "import jax\nprint(jax.devices('gpu'))\nif __name__ == '__main__':\n    pass\n",
        },
    )
    files = files_for(root)
    heavy = heavy_line(files["Dockerfile"])
    assert "'jax[cuda12]>=0.4.30'" in heavy
    assert "NVIDIA_VISIBLE_DEVICES=all" in files["Dockerfile"]


def test_lockfiles_keep_their_own_pins(sample: Sample) -> None:
    files = render(make_plan(inspect_project(sample("uv-scoring")), Settings(device="cpu")))
    assert "Heavy frameworks" not in files["Dockerfile"]


def test_unknown_device_is_a_usage_error(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "p", {"main.py": ""})
    with pytest.raises(InvalidSettingError, match="--device 'tpu'"):
        make_plan(inspect_project(root), Settings(device="tpu"))


def test_impossible_combinations_are_warned(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "mismatch",
        {"requirements.txt": "torch==2.5.1\ntorchvision==0.18.0\n", "train.py": TRAIN},
    )
    warnings = inspect_project(root).warnings
    assert any(
        "torchvision 0.18 does not go with torch 2.5" in w and "requirements.txt:2" in w
        for w in warnings
    )
    conda = write_tree(
        tmp_path / "conda",
        {
            "environment.yml": "dependencies:\n  - python=3.11\n  - cudatoolkit=11.7\n  - pytorch=2.5.1\n",
            "train.py": TRAIN,
        },
    )
    assert any(
        "CUDA 11.7 is not one torch 2.5 is built for" in w for w in inspect_project(conda).warnings
    )
    newer = write_tree(
        tmp_path / "newer", {"requirements.txt": "torch==2.14.1\n", "train.py": TRAIN}
    )
    assert any(
        "newer than dockerize-ml's compatibility table" in w
        for w in inspect_project(newer).warnings
    )


def test_heavy_layer_uses_the_requirements_indexes(tmp_path: Path) -> None:
    """torch==2.0.1+cu118 exists only on PyTorch's index: the heavy layer must look there too."""
    root = write_tree(
        tmp_path / "stable",
        {
            "requirements.txt": "-f https://download.pytorch.org/whl/torch_stable.html\n"
            "torch==2.0.1+cu118\ntorchvision==0.15.2+cu118\nnumpy\n",
            "train.py": TRAIN,
        },
    )
    files = files_for(root)
    heavy = heavy_line(files["Dockerfile"])
    assert "--find-links https://download.pytorch.org/whl/torch_stable.html \\" in heavy
    assert "torch==2.0.1+cu118" in heavy
    # the local version names the CUDA of the build: 11.8, not PyPI's 11.7 for torch 2.0
    assert "NVIDIA driver >= 450.80.02 (torch's wheel carries CUDA 11.8)" in files["docker/run.sh"]

    index = write_tree(
        tmp_path / "index",
        {
            "requirements.txt": "--index-url https://mirror.example.com/simple\ntorch==2.5.1\n",
            "train.py": TRAIN,
        },
    )
    cpu = heavy_line(files_for(index, device="cpu")["Dockerfile"])
    assert "--index-url https://download.pytorch.org/whl/cpu" in cpu
    assert "--extra-index-url https://mirror.example.com/simple" in cpu

    private = write_tree(
        tmp_path / "private",
        {
            "requirements.txt": "--extra-index-url https://${PYPI_TOKEN}@pypi.example.com/simple\n"
            "torch==2.5.1\n",
            "train.py": TRAIN,
        },
    )
    # Credentials reach only the requirements step (as a BuildKit secret): no heavy layer.
    assert "# Heavy frameworks first" not in files_for(private)["Dockerfile"]


def test_conda_pip_section_indexes_reach_the_heavy_layer(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "condatorch",
        {
            "environment.yml": "dependencies:\n  - python=3.10\n  - numpy\n  - pip\n  - pip:\n"
            "    - --extra-index-url https://download.pytorch.org/whl/cu118\n"
            "    - torch==2.0.1+cu118\n",
            "train.py": TRAIN,
        },
    )
    heavy = heavy_line(files_for(root)["Dockerfile"])
    assert "--extra-index-url https://download.pytorch.org/whl/cu118 \\" in heavy
    assert "torch==2.0.1+cu118" in heavy

"""Compiling CUDA code: the nvidia/cuda devel builder stage and what the final image takes.

No nvidia/cuda image, GPU or python-build-standalone download here: the builder is asserted
in the generated files (hadolint and shellcheck clean), and the two pieces of shell it hands
to the final stage (the sed that takes compiled requirements out of a requirements file, the
extraction of compiled modules from a wheel) are run for real on this machine.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import TRAIN, Sample, files_for, write_and_lint, write_tree

from dockerize_ml import inspect_project, make_plan, render
from dockerize_ml.cudabuild import sed_command
from dockerize_ml.plan import Settings


def stages(dockerfile: str) -> dict[str, str]:
    """Each stage's text by name (the final, unnamed stage is "final")."""
    parts = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]
    named = {}
    for part in parts:
        header = part.splitlines()[0]
        name = header.split(" AS ")[1].strip() if " AS " in header else "final"
        named[name] = "FROM " + part
    return named


def test_detects_what_compiles_cuda(sample: Sample) -> None:
    profile = inspect_project(sample("cuda-ext"))
    build = profile.cuda_build
    assert [(r.name, r.evidence.line) for r in build.requirements] == [
        ("flash-attn", 7),
        ("apex", 8),
    ]
    assert build.requirements[1].requirement.startswith("apex @ git+https://github.com/NVIDIA")
    assert build.project and build.folders == ("submodules/simple-knn",)
    assert build.vcs_compiled_only
    assert profile.gpu.uses_cuda
    # setup.py files import their build tools, not run-time dependencies
    assert "setuptools" not in profile.undeclared_imports
    # the egg= name of a bare URL requirement declares it
    assert not any("`apex` is not a known distribution" in w for w in profile.warnings)


def test_cuda_extension_project(sample: Sample) -> None:
    root = sample("cuda-ext")
    files = files_for(root)
    parts = stages(files["Dockerfile"])
    builder, final = parts["cuda-builder"], parts["final"]
    # The toolkit of torch 2.5's wheel (CUDA 12.4), architectures set: a build has no GPU.
    assert builder.startswith("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04 AS cuda-builder")
    assert 'ARG TORCH_CUDA_ARCH_LIST="7.0 7.5 8.0 8.6 8.9 9.0+PTX"' in builder
    assert "APEX_CUDA_EXT=1" in builder and "FORCE_CUDA=1" in builder
    # The same Python as the final image, and torch as pinned, then the wheels.
    assert "--python-preference only-managed --python 3.12 /opt/venv" in builder
    assert "      torch==2.5.1 \\" in builder
    assert "pip wheel --no-deps --no-build-isolation --wheel-dir /wheels/deps" in builder
    assert "'apex @ git+https://github.com/NVIDIA/apex.git@24.04.01#egg=apex'" in builder
    assert "apt-get install -y --no-install-recommends ca-certificates git" in builder
    # Dependencies compile before the code is copied; the project's own extension after.
    assert builder.index("/wheels/deps") < builder.index("COPY . .")
    assert builder.index("COPY . .") < builder.index("--wheel-dir /wheels/project .")
    assert "--mount=type=cache,target=/src/build" in builder
    assert "--wheel-dir /wheels/local ./submodules/simple-knn" in builder

    # The final image: slim, no toolkit, no git (the only VCS requirement is compiled).
    assert final.startswith("FROM python:3.12-slim")
    assert "nvidia/cuda" not in final and "apt-get" not in final
    heavy = final.index("# Heavy frameworks first")
    assert "--extra-index-url https://pypi.org/simple \\\n      torch==2.5.1" in final
    wheels = final.index("uv pip install /tmp/cuda-wheels/deps/*.whl")
    deps = final.index("uv pip install -r /tmp/requirements/requirements.txt")
    assert heavy < wheels < deps < final.index("COPY --chown=app:app . .")
    assert "COPY --from=cuda-builder --chown=app:app /compiled/ ./" in final
    assert "/tmp/cuda-wheels/project/*.whl" in final and "/tmp/cuda-wheels/local/*.whl" in final
    # Neither the project nor simple-knn is installed from source (no nvcc here).
    assert " -e ." not in final and "./submodules/simple-knn" not in final
    assert "NVIDIA_DRIVER_CAPABILITIES=compute,utility" in final
    assert "args+=(--gpus all)" in files["docker/run.sh"]
    readme = files["docker/README.md"]
    assert "`nvidia/cuda:12.4.1-devel-ubuntu22.04` (CUDA 12.4" in readme
    assert "--build-arg TORCH_CUDA_ARCH_LIST=8.6" in readme
    assert "`data/` is mounted at `/app/data` read-only" in readme


def test_the_sed_takes_out_exactly_the_compiled_requirements(
    sample: Sample, tmp_path: Path
) -> None:
    """Run the generated sed (GNU sed, as in Debian images) on the sample's requirements and
    on an exported lockfile with hashes."""
    root = sample("cuda-ext")
    dockerfile = files_for(root)["Dockerfile"]
    command = next(
        line.strip().removeprefix("&& ").rstrip(" \\")
        for line in dockerfile.splitlines()
        if "sed -i -E -e" in line
    )
    requirements = tmp_path / "requirements.txt"
    requirements.write_text((root / "requirements.txt").read_text())
    command = command.replace("/tmp/requirements/requirements.txt", shlex.quote(str(requirements)))
    subprocess.run(["bash", "-c", command], check=True)
    left = requirements.read_text()
    assert "flash_attn" not in left and "apex" not in left
    for kept in ("torch==2.5.1", "einops>=0.8,<0.9", "numpy<2", "wandb>=0.17", "-e ."):
        assert kept in left

    profile = inspect_project(root)
    exported = tmp_path / "exported.txt"
    exported.write_text(
        'einops==0.8.1 ; python_version >= "3.10" \\\n    --hash=sha256:aaa\n'
        'flash-attn==2.7.4.post1 ; python_version >= "3.10" \\\n'
        "    --hash=sha256:bbb \\\n    --hash=sha256:ccc\n"
        "Flash.Attn-Extra==1.0\n"
        'numpy==1.26.4 ; python_version >= "3.10" \\\n    --hash=sha256:ddd\n'
    )
    sed = sed_command(profile.cuda_build.requirements, shlex.quote(str(exported)))
    subprocess.run(["bash", "-c", sed], check=True)
    assert exported.read_text() == (
        'einops==0.8.1 ; python_version >= "3.10" \\\n    --hash=sha256:aaa\n'
        "Flash.Attn-Extra==1.0\n"
        'numpy==1.26.4 ; python_version >= "3.10" \\\n    --hash=sha256:ddd\n'
    )


def test_compiled_modules_are_extracted_at_their_package_paths(
    sample: Sample, tmp_path: Path
) -> None:
    """The builder's one-liner that puts a wheel's .so files where `COPY . .` puts the code."""
    dockerfile = files_for(sample("cuda-ext"))["Dockerfile"]
    line = next(ln for ln in dockerfile.splitlines() if "zipfile.ZipFile" in ln)
    code = shlex.split(line.strip().removeprefix("&& ").rstrip(" \\"))[2]
    wheel = tmp_path / "fusedattn-0.4.1-cp312-cp312-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fusedattn/__init__.py", "")
        archive.writestr("fusedattn/_C.cpython-312-x86_64-linux-gnu.so", b"\x7fELF")
        archive.writestr("fusedattn-0.4.1.dist-info/METADATA", "Name: fusedattn\n")
    out = tmp_path / "compiled"
    subprocess.run([sys.executable, "-c", code, str(wheel), str(out)], check=True)
    found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert found == ["fusedattn/_C.cpython-312-x86_64-linux-gnu.so"]


def test_classic_builder_copies_the_wheels(sample: Sample) -> None:
    files = files_for(sample("cuda-ext"), buildkit=False)
    final = stages(files["Dockerfile"])["final"]
    assert "COPY --from=cuda-builder /wheels/deps /tmp/cuda-wheels/deps" in final
    assert "--mount" not in files["Dockerfile"]


def test_device_cpu_has_no_builder(sample: Sample) -> None:
    root = sample("cuda-ext")
    plan = make_plan(inspect_project(root), Settings(device="cpu"))
    assert plan.cuda_builder is None
    assert any("--device cpu: the CUDA code" in note for note in plan.notes)
    assert "nvidia/cuda" not in render(plan)["Dockerfile"]


def test_unpinned_torch_takes_the_newest_cuda(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "flash", {"requirements.txt": "torch\nflash-attn\n", "train.py": TRAIN}
    )
    plan = make_plan(inspect_project(root), Settings())
    assert plan.cuda_builder is not None
    assert plan.cuda_builder.image == "nvidia/cuda:12.8.1-devel-ubuntu22.04"
    assert "10.0 12.0+PTX" in plan.cuda_builder.arch_list
    assert any("torch is not pinned" in note for note in plan.notes)
    write_and_lint(root, render(plan))


def test_uv_lock_leaves_compiled_packages_to_the_builder(tmp_path: Path) -> None:
    """uv sync skips what the builder compiles; the builder compiles against the torch the
    lock pins (2.6.0), not the declared range, and takes that torch's CUDA (12.4)."""
    root = write_tree(
        tmp_path / "uvproj",
        {
            "pyproject.toml": '[project]\nname = "uvproj"\nversion = "1"\n'
            'requires-python = ">=3.11"\n'
            'dependencies = ["torch>=2.4", "flash-attn==2.7.4.post1", "einops"]\n',
            "uv.lock": 'version = 1\nrequires-python = ">=3.11"\n\n'
            '[[package]]\nname = "einops"\nversion = "0.8.1"\n\n'
            '[[package]]\nname = "torch"\nversion = "2.6.0"\n',
            "train.py": TRAIN,
        },
    )
    files = files_for(root)
    parts = stages(files["Dockerfile"])
    assert "uv sync --locked --no-dev --no-install-package flash-attn" in parts["final"]
    assert parts["cuda-builder"].startswith("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04")
    assert "      torch==2.6.0 \\" in parts["cuda-builder"]
    plan = make_plan(inspect_project(root), Settings())
    assert not any("torch is not pinned" in note for note in plan.notes)


def test_poetry_export_drops_compiled_packages(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "poetryproj",
        {
            "pyproject.toml": '[tool.poetry]\nname = "p"\nversion = "1"\n'
            '[tool.poetry.dependencies]\npython = "^3.11"\ntorch = "2.5.1"\n'
            'flash-attn = "2.7.4.post1"\n',
            # a poetry.lock without its [metadata] table is cut short (exit 5)
            "poetry.lock": '# generated by poetry\n[metadata]\nlock-version = "2.1"\n',
            "train.py": TRAIN,
        },
    )
    files = files_for(root)
    export = stages(files["Dockerfile"])["poetry-export"]
    assert "sed -i -E -e '/^[[:space:]]*flash[-_.]+attn" in export
    sed = next(line for line in export.splitlines() if "sed -i -E" in line)
    assert sed.endswith(" /requirements.txt")
    assert export.index("poetry export") < export.index("sed -i -E")


def test_jit_extensions_are_warned_about(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "jit",
        {
            "requirements.txt": "torch==2.5.1\n",
            "ops.py": "from torch.utils.cpp_extension import load\n"
            "ops = load(name='ops', sources=['ops.cu'])\n",
            "ops.cu": "__global__ void k() {}\n",
            "train.py": TRAIN,
        },
    )
    warnings = inspect_project(root).warnings
    assert any(
        w.startswith("ops.py:1 (from torch.utils.cpp_extension import load): compiles")
        for w in warnings
    )


def test_old_tensorflow_gets_its_cudnn_runtime_image(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "tf213",
        {
            "requirements.txt": "tensorflow==2.13.1\npandas\n",
            "train.py": "import tensorflow as tf\nprint(tf.config.list_physical_devices('GPU'))\n"
            "if __name__ == '__main__':\n    pass\n",
            ".python-version": "3.11\n",
        },
    )
    files = files_for(root)
    dockerfile = files["Dockerfile"]
    assert "FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04\n" in dockerfile
    # Ubuntu's Python: installed, the venv made with it, uv inside the venv.
    assert "python3 \\\n      python3-venv" in dockerfile or "python3 python3-venv" in dockerfile
    assert "python3 -m venv /opt/venv" in dockerfile
    assert "/opt/venv/bin/python -m pip install --no-cache-dir uv==" in dockerfile
    assert "tensorflow[and-cuda]" not in dockerfile
    plan = make_plan(inspect_project(root), Settings())
    assert plan.python_version == "3.10"
    assert any("Ubuntu's Python 3.10, not 3.11" in note for note in plan.notes)
    assert "NVIDIA driver >= 450.80.02 (the image's CUDA is 11.8)" in files["docker/run.sh"]


def test_newer_tensorflow_and_jax_get_their_cuda_wheels(tmp_path: Path) -> None:
    tf = write_tree(
        tmp_path / "tf215",
        {"requirements.txt": "tensorflow==2.15.1\n", "train.py": TRAIN.replace("torch", "tf")},
    )
    dockerfile = files_for(tf, device="cuda")["Dockerfile"]
    assert "'tensorflow[and-cuda]==2.15.1'" in dockerfile
    assert "FROM python:" in dockerfile and "nvidia/cuda" not in dockerfile
    jax = write_tree(
        tmp_path / "jax",
        {"requirements.txt": "jax>=0.4.30\noptax\n", "main.py": "import jax\n"},
    )
    assert "'jax[cuda12]>=0.4.30'" in files_for(jax, device="cuda")["Dockerfile"]
    assert "'jax>=0.4.30'" in files_for(jax, device="cpu")["Dockerfile"]


def test_base_image_without_python(tmp_path: Path) -> None:
    """--base-image nvidia/cuda:...-runtime: Python comes from Ubuntu, not from the image."""
    root = write_tree(
        tmp_path / "custom",
        {"requirements.txt": "torch==2.5.1\npsycopg2==2.9.10\n", "train.py": TRAIN},
    )
    files = files_for(root, base_image="nvidia/cuda:12.4.1-runtime-ubuntu22.04")
    parts = stages(files["Dockerfile"])
    # psycopg2 compiles: the builder gets python3-dev; the final image the venv only.
    assert "python3-dev" in parts["builder"] and "python3 -m venv /opt/venv" in parts["builder"]
    assert "python3-dev" not in parts["final"] and "python3-venv" in parts["final"]
    assert "COPY --from=builder /opt/venv /opt/venv" in parts["final"]


def test_prebuilt_wheel_pages_spare_the_compile(tmp_path: Path) -> None:
    """PyG's wheel page in the requirements serves torch-scatter prebuilt: no CUDA builder.
    Without it, torch-scatter (only a source release on PyPI) compiles; the builder gets
    the requirements files' own indexes either way."""
    files = {
        "requirements.txt": "-f https://data.pyg.org/whl/torch-2.1.0+cu121.html\n"
        "torch==2.1.0\ntorch-geometric==2.4.0\ntorch-scatter\n",
        "train.py": TRAIN,
    }
    plan = make_plan(inspect_project(write_tree(tmp_path / "pyg", files)), Settings())
    assert plan.cuda_builder is None

    files["requirements.txt"] = (
        "--extra-index-url https://mirror.example.com/simple\ntorch==2.1.0\ntorch-scatter\n"
    )
    root = write_tree(tmp_path / "source", files)
    builder = stages(files_for(root)["Dockerfile"])["cuda-builder"]
    assert "FROM nvidia/cuda:12.1.1-devel-ubuntu22.04" in builder  # torch 2.1 -> CUDA 12.1
    wheel = builder[builder.index("pip wheel") :]
    assert wheel.index("--extra-index-url https://mirror.example.com/simple") < wheel.index(
        "torch-scatter"
    )

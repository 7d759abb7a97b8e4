import os
from pathlib import Path

from setuptools import find_packages, setup
from torch.utils.cpp_extension import BuildExtension, CUDAExtension

HERE = Path(__file__).parent
NVCC_FLAGS = ["-O3", "--use_fast_math", "-lineinfo"]
if os.environ.get("FUSEDATTN_DEBUG"):
    NVCC_FLAGS = ["-O0", "-G"]

setup(
    name="fusedattn",
    version="0.4.1",
    description="Fused RMSNorm and rotary attention kernels",
    long_description=(HERE / "README.md").read_text(),
    packages=find_packages(exclude=("submodules*", "notebooks*")),
    ext_modules=[
        CUDAExtension(
            name="fusedattn._C",
            sources=["csrc/bindings.cpp", "csrc/rmsnorm_kernel.cu", "csrc/rotary_kernel.cu"],
            extra_compile_args={"cxx": ["-O3"], "nvcc": NVCC_FLAGS},
        )
    ],
    cmdclass={"build_ext": BuildExtension},
    install_requires=["torch>=2.4", "einops"],
    python_requires=">=3.10",
)

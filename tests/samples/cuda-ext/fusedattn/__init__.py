"""Fused kernels, with slow PyTorch fallbacks when the extension is not built."""

try:
    from fusedattn import _C
except ImportError:  # pragma: no cover - only without the compiled extension
    _C = None

from fusedattn.layers import FusedRMSNorm, RotaryAttention

__all__ = ["FusedRMSNorm", "RotaryAttention", "_C"]
__version__ = "0.4.1"

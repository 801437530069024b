"""Divides max_abs by the full range 2^(bits-1) instead of the restricted 2^(bits-1) - 1."""

import numpy as np

FEEDBACK_MENTIONS = "full range"


def symmetric_scale(max_abs, bits=4):
    if bits != int(bits) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [2, 16], got {bits}")
    max_abs = np.asarray(max_abs, dtype=float)
    if not np.all(np.isfinite(max_abs) & (max_abs >= 0)):
        raise ValueError(f"max_abs must be non-negative and finite, got {max_abs}")
    scale = np.where(max_abs > 0, max_abs / 2 ** (bits - 1), 1.0)
    return float(scale) if scale.ndim == 0 else scale

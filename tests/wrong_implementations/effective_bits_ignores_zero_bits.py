"""Counts only the scale in the group overhead, forgetting the zero point's bits."""

import numpy as np

FEEDBACK_MENTIONS = "zero_bits ignored"


def effective_bits(bits, group_size=None, scale_bits=16, zero_bits=0):
    if np.any(np.asarray(bits) <= 0):
        raise ValueError(f"bits must be positive, got {bits}")
    if np.any(np.asarray(scale_bits) < 0):
        raise ValueError(f"scale_bits must be non-negative, got {scale_bits}")
    if np.any(np.asarray(zero_bits) < 0):
        raise ValueError(f"zero_bits must be non-negative, got {zero_bits}")
    if group_size is None:
        return float(bits)
    group_size = np.asarray(group_size, dtype=float)
    if np.any(group_size <= 0):
        raise ValueError(f"group_size must be a positive integer, got {group_size}")
    result = bits + scale_bits / group_size
    return float(result) if result.ndim == 0 else result

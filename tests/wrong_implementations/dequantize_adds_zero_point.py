"""Adds the zero point instead of subtracting it: scale * (q + zero_point)."""

import numpy as np

FEEDBACK_MENTIONS = "instead of subtracting"


def dequantize(q, scale, zero_point=0):
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be positive and finite, got {scale}")
    return scale * (np.asarray(q, dtype=np.float64) + zero_point)

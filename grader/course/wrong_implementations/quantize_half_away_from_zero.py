"""Rounds exact .5 ties away from zero (as C's round does) instead of half to even."""

import numpy as np

FEEDBACK_MENTIONS = "half away from zero"


def quantize(x, scale, zero_point=0, bits=8, signed=True):
    scale = np.asarray(scale, dtype=float)
    if not np.all(np.isfinite(scale) & (scale > 0)):
        raise ValueError(f"scale must be positive and finite, got {scale}")
    if bits != int(bits) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [2, 16], got {bits}")
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if zero_point != int(zero_point) or not qmin <= zero_point <= qmax:
        raise ValueError(f"zero_point must be an integer in [{qmin}, {qmax}], got {zero_point}")
    x = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    v = x / scale
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point
    return np.clip(q, qmin, qmax).astype(np.int64)

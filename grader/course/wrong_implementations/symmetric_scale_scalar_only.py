"""Handles the all-zero case with a Python if, so an array of per-channel max_abs fails."""

import numpy as np

FEEDBACK_MENTIONS = "np.where"


def symmetric_scale(max_abs, bits=4):
    if bits != int(bits) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [2, 16], got {bits}")
    if not np.all(np.isfinite(max_abs) & (np.asarray(max_abs) >= 0)):
        raise ValueError(f"max_abs must be non-negative and finite, got {max_abs}")
    if max_abs == 0:
        return 1.0
    return max_abs / (2 ** (bits - 1) - 1)

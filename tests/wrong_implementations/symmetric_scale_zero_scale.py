"""Returns scale 0.0 for an all-zero tensor (max_abs 0) instead of 1.0."""

import numpy as np

FEEDBACK_MENTIONS = "all-zero tensor"


def symmetric_scale(max_abs, bits=4):
    if bits != int(bits) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [2, 16], got {bits}")
    max_abs = np.asarray(max_abs, dtype=float)
    if not np.all(np.isfinite(max_abs) & (max_abs >= 0)):
        raise ValueError(f"max_abs must be non-negative and finite, got {max_abs}")
    scale = max_abs / (2 ** (bits - 1) - 1)
    return float(scale) if scale.ndim == 0 else scale

"""Returns the zero point as a float (np.clip of np.rint) instead of a Python int."""

import numpy as np

FEEDBACK_MENTIONS = "python int"


def affine_params(x_min, x_max, bits=8):
    if bits != int(bits) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [2, 16], got {bits}")
    if not np.isfinite(x_min):
        raise ValueError(f"x_min must be finite, got {x_min}")
    if not np.isfinite(x_max):
        raise ValueError(f"x_max must be finite, got {x_max}")
    if x_min > x_max:
        raise ValueError(f"x_min must be <= x_max, got {x_min} > {x_max}")
    x_min, x_max = min(x_min, 0.0), max(x_max, 0.0)
    qmax = 2 ** int(bits) - 1
    if x_min == x_max:
        return 1.0, 0
    scale = (x_max - x_min) / qmax
    return float(scale), np.clip(np.rint(-x_min / scale), 0, qmax)

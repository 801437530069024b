"""Uses [x_min, x_max] as it is, without widening it to include 0, so 0.0 may not be representable."""

import numpy as np

FEEDBACK_MENTIONS = "not widened to include 0"


def affine_params(x_min, x_max, bits=8):
    if bits != int(bits) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [2, 16], got {bits}")
    if not np.isfinite(x_min):
        raise ValueError(f"x_min must be finite, got {x_min}")
    if not np.isfinite(x_max):
        raise ValueError(f"x_max must be finite, got {x_max}")
    if x_min > x_max:
        raise ValueError(f"x_min must be <= x_max, got {x_min} > {x_max}")
    qmax = 2 ** int(bits) - 1
    if x_min == x_max:
        return 1.0, 0
    scale = (x_max - x_min) / qmax
    zero_point = int(np.clip(np.rint(-x_min / scale), 0, qmax))
    return float(scale), zero_point

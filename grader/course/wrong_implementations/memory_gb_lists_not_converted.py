"""Computes with the inputs as given, so Python lists of parameter counts or bit widths fail."""

import numpy as np

FEEDBACK_MENTIONS = "np.asarray"


def memory_gb(n_params, bits):
    if np.any(np.asarray(n_params) < 0):
        raise ValueError(f"n_params must be non-negative, got {n_params}")
    if np.any(np.asarray(bits) <= 0):
        raise ValueError(f"bits must be positive, got {bits}")
    return n_params * bits / 8 / 1e9

"""Divides by 2^30 (binary GiB) instead of 1e9 (decimal GB)."""

import numpy as np

FEEDBACK_MENTIONS = "gibibytes"


def memory_gb(n_params, bits):
    n_params, bits = np.asarray(n_params, dtype=float), np.asarray(bits, dtype=float)
    if np.any(n_params < 0):
        raise ValueError(f"n_params must be non-negative, got {n_params}")
    if np.any(bits <= 0):
        raise ValueError(f"bits must be positive, got {bits}")
    gb = n_params * bits / 8 / 2**30
    return float(gb) if gb.ndim == 0 else gb

"""Multiplies by bits without dividing by 8, so the answer is in gigabits, not gigabytes."""

import numpy as np

FEEDBACK_MENTIONS = "not divided by 8"


def memory_gb(n_params, bits):
    n_params, bits = np.asarray(n_params, dtype=float), np.asarray(bits, dtype=float)
    if np.any(n_params < 0):
        raise ValueError(f"n_params must be non-negative, got {n_params}")
    if np.any(bits <= 0):
        raise ValueError(f"bits must be positive, got {bits}")
    gb = n_params * bits / 1e9
    return float(gb) if gb.ndim == 0 else gb

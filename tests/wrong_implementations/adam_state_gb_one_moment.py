"""Ignores n_moments and counts a single stored value per trainable parameter."""

import numpy as np

FEEDBACK_MENTIONS = "n_moments ignored"


def adam_state_gb(n_trainable, bytes_per_value=4, n_moments=2):
    n_trainable = np.asarray(n_trainable, dtype=float)
    if np.any(n_trainable < 0):
        raise ValueError(f"n_trainable must be non-negative, got {n_trainable}")
    if np.any(np.asarray(bytes_per_value) <= 0):
        raise ValueError(f"bytes_per_value must be positive, got {bytes_per_value}")
    if np.any(np.asarray(n_moments) < 0):
        raise ValueError(f"n_moments must be non-negative, got {n_moments}")
    gb = n_trainable * bytes_per_value / 1e9
    return float(gb) if gb.ndim == 0 else gb

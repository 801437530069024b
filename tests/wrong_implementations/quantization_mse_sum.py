"""Returns the sum of squared errors instead of their mean."""

import numpy as np

FEEDBACK_MENTIONS = "sum of squared errors"


def quantization_mse(w, w_hat):
    w, w_hat = np.asarray(w, dtype=float), np.asarray(w_hat, dtype=float)
    if w.shape != w_hat.shape:
        raise ValueError(f"w_hat must have the shape of w {w.shape}, got {w_hat.shape}")
    if w.size == 0:
        raise ValueError("w must be non-empty")
    return float(np.sum((w - w_hat) ** 2))

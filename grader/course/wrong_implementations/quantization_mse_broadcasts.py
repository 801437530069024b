"""Lets NumPy broadcast w against w_hat instead of requiring exactly the same shape."""

import numpy as np

FEEDBACK_MENTIONS = "broadcast"


def quantization_mse(w, w_hat):
    w, w_hat = np.asarray(w, dtype=float), np.asarray(w_hat, dtype=float)
    if w.size == 0:
        raise ValueError("w must be non-empty")
    return float(np.mean((w - w_hat) ** 2))

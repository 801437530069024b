"""Pearson's kurtosis m4 / m2^2, without the - 3 that makes a Gaussian's excess kurtosis 0."""

import numpy as np

FEEDBACK_MENTIONS = "without the - 3"


def weight_stats(w):
    w = np.asarray(w, dtype=float)
    if w.size == 0 or not np.all(np.isfinite(w)):
        raise ValueError("w must be finite and non-empty")
    if np.std(w) == 0:
        raise ValueError("w must not be constant")
    d = w - w.mean()
    return {"max_abs": float(np.abs(w).max()), "std": float(np.std(w)),
            "kurtosis": float(np.mean(d**4) / np.mean(d**2) ** 2)}

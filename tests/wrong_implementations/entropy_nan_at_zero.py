"""Computes p * log(p) everywhere, so a zero probability gives 0 * -inf = nan instead of 0."""

import numpy as np

FEEDBACK_MENTIONS = "0 log 0"


def entropy(p, axis=-1):
    p = np.asarray(p, dtype=float)
    if p.size == 0 or np.any(p < 0):
        raise ValueError(f"p must be non-empty and non-negative, got {p}")
    if np.any(np.abs(p.sum(axis=axis) - 1) > 1e-6):
        raise ValueError("p must sum to 1 along axis")
    h = -(p * np.log(p)).sum(axis=axis)
    return float(h) if h.ndim == 0 else h

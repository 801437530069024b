"""Measures entropy in bits with log2 instead of nats with the natural log."""

import numpy as np

FEEDBACK_MENTIONS = "log2"


def entropy(p, axis=-1):
    p = np.asarray(p, dtype=float)
    if p.size == 0 or np.any(p < 0):
        raise ValueError(f"p must be non-empty and non-negative, got {p}")
    if np.any(np.abs(p.sum(axis=axis) - 1) > 1e-6):
        raise ValueError("p must sum to 1 along axis")
    terms = p * np.log2(np.where(p > 0, p, 1.0))
    h = -terms.sum(axis=axis)
    return float(h) if h.ndim == 0 else h

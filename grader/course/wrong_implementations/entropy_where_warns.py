"""Masks 0 log 0 with np.where, which still evaluates log(0) and emits a RuntimeWarning."""

import numpy as np

FEEDBACK_MENTIONS = "np.where(p > 0, p * np.log(p), 0)"


def entropy(p, axis=-1):
    p = np.asarray(p, dtype=float)
    if p.size == 0 or np.any(p < 0):
        raise ValueError(f"p must be non-empty and non-negative, got {p}")
    if np.any(np.abs(p.sum(axis=axis) - 1) > 1e-6):
        raise ValueError("p must sum to 1 along axis")
    h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=axis)
    return float(h) if h.ndim == 0 else h

"""Evaluates p * (log p - log q) for every term, so p = 0 gives nan instead of 0."""

import numpy as np

FEEDBACK_MENTIONS = "p = 0 terms"


def kl_divergence(p, q, axis=-1):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    for name, dist in (("p", p), ("q", q)):
        if dist.size == 0 or np.any(dist < 0):
            raise ValueError(f"{name} must be non-empty and non-negative, got {dist}")
        if np.any(np.abs(dist.sum(axis=axis) - 1) > 1e-6):
            raise ValueError(f"{name} must sum to 1 along axis {axis}")
    kl = np.sum(p * (np.log(p) - np.log(q)), axis=axis)
    return float(kl) if kl.ndim == 0 else kl

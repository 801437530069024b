"""Sums the KL terms over the whole batch instead of giving one value per row."""

import numpy as np

FEEDBACK_MENTIONS = "one value per row"


def kl_divergence(p, q, axis=-1):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    for name, dist in (("p", p), ("q", q)):
        if dist.size == 0 or np.any(dist < 0):
            raise ValueError(f"{name} must be non-empty and non-negative, got {dist}")
        if np.any(np.abs(dist.sum(axis=axis) - 1) > 1e-6):
            raise ValueError(f"{name} must sum to 1 along axis {axis}")
    if np.any((p > 0) & (q == 0)):
        return float("inf")
    log_p, log_q = np.log(np.where(p > 0, p, 1.0)), np.log(np.where(q > 0, q, 1.0))
    return float(np.sum(np.where(p > 0, p * (log_p - log_q), 0.0)))

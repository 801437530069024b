"""Computes KL(q || p), student before teacher, instead of KL(p || q)."""

import numpy as np

FEEDBACK_MENTIONS = "wrong direction"


def kl_divergence(p, q, axis=-1):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    for name, dist in (("p", p), ("q", q)):
        if dist.size == 0 or np.any(dist < 0):
            raise ValueError(f"{name} must be non-empty and non-negative, got {dist}")
        if np.any(np.abs(dist.sum(axis=axis) - 1) > 1e-6):
            raise ValueError(f"{name} must sum to 1 along axis {axis}")
    p, q = q, p  # the mistake: the student's distribution comes first
    log_p, log_q = np.log(np.where(p > 0, p, 1.0)), np.log(np.where(q > 0, q, 1.0))
    kl = np.sum(np.where(p > 0, p * (log_p - log_q), 0.0), axis=axis)
    kl = np.where(np.any((p > 0) & (q == 0), axis=axis), np.inf, kl)
    return float(kl) if kl.ndim == 0 else kl

"""Multiplies the logits by the temperature instead of dividing them by it."""

import numpy as np

FEEDBACK_MENTIONS = "multiplied by tau"


def softmax(logits, tau=1.0, axis=-1):
    if not (np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be positive and finite, got {tau}")
    z = np.asarray(logits, dtype=float) * tau
    if z.size == 0:
        raise ValueError("logits must be non-empty")
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)

"""Exponentiates the logits without subtracting the maximum, so large logits overflow to nan."""

import numpy as np

FEEDBACK_MENTIONS = "overflow"


def softmax(logits, tau=1.0, axis=-1):
    if not (np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be positive and finite, got {tau}")
    z = np.asarray(logits, dtype=float) / tau
    if z.size == 0:
        raise ValueError("logits must be non-empty")
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)

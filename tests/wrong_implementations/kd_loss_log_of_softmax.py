"""Takes np.log of a softmax, which underflows to log(0) = -inf for large logits."""

import numpy as np

FEEDBACK_MENTIONS = "log-softmax directly"


def kd_loss(student_logits, teacher_logits, tau):
    s = np.atleast_2d(np.asarray(student_logits, dtype=float))
    t = np.atleast_2d(np.asarray(teacher_logits, dtype=float))
    if s.shape != t.shape:
        raise ValueError(f"student_logits and teacher_logits must have the same shape, got {s.shape} and {t.shape}")
    if not (np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be positive and finite, got {tau}")

    def softmax(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    p, q = softmax(t / tau), softmax(s / tau)
    kl = np.sum(np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0), axis=-1)
    return float(tau**2 * kl.mean())

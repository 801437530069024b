"""Indexes with the labels unchecked, so label -1 silently picks the last class."""

import numpy as np

FEEDBACK_MENTIONS = "labels must be integers"


def distillation_loss(student_logits, teacher_logits, labels, tau, alpha):
    if not (np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be positive and finite, got {tau}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    s = np.atleast_2d(np.asarray(student_logits, dtype=float))
    t = np.atleast_2d(np.asarray(teacher_logits, dtype=float))
    if s.shape != t.shape:
        raise ValueError(f"student_logits and teacher_logits must have the same shape, got {s.shape} and {t.shape}")
    y = np.atleast_1d(np.asarray(labels)).astype(np.int64)

    def log_softmax(z):
        z = z - z.max(axis=-1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))

    ce = -np.mean(log_softmax(s)[np.arange(len(s)), y])
    log_p, log_q = log_softmax(t / tau), log_softmax(s / tau)
    kd = tau**2 * np.mean(np.sum(np.exp(log_p) * (log_p - log_q), axis=-1))
    return float(alpha * ce + (1 - alpha) * kd)

"""Leaves the factor tau^2 out of the KD term of the objective."""

import numpy as np

FEEDBACK_MENTIONS = "without tau^2"


def distillation_loss(student_logits, teacher_logits, labels, tau, alpha):
    if not (np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be positive and finite, got {tau}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    s = np.atleast_2d(np.asarray(student_logits, dtype=float))
    t = np.atleast_2d(np.asarray(teacher_logits, dtype=float))
    if s.shape != t.shape:
        raise ValueError(f"student_logits and teacher_logits must have the same shape, got {s.shape} and {t.shape}")
    y = np.atleast_1d(np.asarray(labels))
    if y.shape != (len(s),) or np.any(y != np.rint(y)) or np.any((y < 0) | (y >= s.shape[1])):
        raise ValueError(f"labels must be integers in [0, {s.shape[1]}), one per example, got {labels}")
    y = y.astype(np.int64)

    def log_softmax(z):
        z = z - z.max(axis=-1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))

    ce = -np.mean(log_softmax(s)[np.arange(len(s)), y])
    log_p, log_q = log_softmax(t / tau), log_softmax(s / tau)
    kd = np.mean(np.sum(np.exp(log_p) * (log_p - log_q), axis=-1))
    return float(alpha * ce + (1 - alpha) * kd)

"""Returns the batchmean KL at temperature tau without multiplying it by tau^2."""

import numpy as np

FEEDBACK_MENTIONS = "tau^2 factor missing"


def kd_loss(student_logits, teacher_logits, tau):
    s = np.atleast_2d(np.asarray(student_logits, dtype=float))
    t = np.atleast_2d(np.asarray(teacher_logits, dtype=float))
    if s.shape != t.shape:
        raise ValueError(f"student_logits and teacher_logits must have the same shape, got {s.shape} and {t.shape}")
    if not (np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be positive and finite, got {tau}")

    def log_softmax(z):
        z = z - z.max(axis=-1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))

    log_p, log_q = log_softmax(t / tau), log_softmax(s / tau)
    kl = np.sum(np.exp(log_p) * (log_p - log_q), axis=-1)
    return float(kl.mean())

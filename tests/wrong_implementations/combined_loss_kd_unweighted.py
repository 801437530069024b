"""Weights the cross-entropy by alpha but adds the KD term unweighted, without 1 - alpha."""

import numpy as np

FEEDBACK_MENTIONS = "not weighted by 1 - alpha"


def combined_loss(ce, kd, alpha):
    alpha = np.asarray(alpha, dtype=float)
    if not np.all((alpha >= 0) & (alpha <= 1)):
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    loss = alpha * np.asarray(ce, dtype=float) + np.asarray(kd, dtype=float)
    return float(loss) if loss.ndim == 0 else loss

"""Counts activations with abs(a) < clip, so values exactly at +-clip are not covered."""

import numpy as np

FEEDBACK_MENTIONS = "strict < comparison"


def calibration_coverage(activations, clip):
    a = np.asarray(activations, dtype=float)
    if a.size == 0:
        raise ValueError("activations must be non-empty")
    if not (np.isfinite(clip) and clip >= 0):
        raise ValueError(f"clip must be non-negative and finite, got {clip}")
    return float(np.mean(np.abs(a) < clip))

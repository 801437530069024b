"""Keeps the last clip among equal lowest MSEs (a loop with <=) instead of the first."""

import numpy as np

FEEDBACK_MENTIONS = "last clip on ties"


def best_clip(clips, mse):
    clips, mse = np.asarray(clips, dtype=float), np.asarray(mse, dtype=float)
    if clips.size == 0:
        raise ValueError("clips must be non-empty")
    if clips.shape != mse.shape:
        raise ValueError(f"mse must have the length of clips {len(clips)}, got {len(mse)}")
    if np.any(np.isnan(mse)):
        raise ValueError("mse must not contain NaN")
    best = 0
    for i in range(len(mse)):
        if mse[i] <= mse[best]:
            best = i
    return float(clips[best])

"""Returns the index of the lowest MSE instead of the clip at that index."""

import numpy as np

FEEDBACK_MENTIONS = "index of the best clip"


def best_clip(clips, mse):
    clips, mse = np.asarray(clips, dtype=float), np.asarray(mse, dtype=float)
    if clips.size == 0:
        raise ValueError("clips must be non-empty")
    if clips.shape != mse.shape:
        raise ValueError(f"mse must have the length of clips {len(clips)}, got {len(mse)}")
    if np.any(np.isnan(mse)):
        raise ValueError("mse must not contain NaN")
    return int(np.argmin(mse))

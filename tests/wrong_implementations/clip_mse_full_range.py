"""Uses the full signed range: scale clip / 2^(bits-1) and codes down to -2^(bits-1)."""

import numpy as np

FEEDBACK_MENTIONS = "full range"


def clip_mse(w, clip, bits=4):
    if bits != int(bits) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [2, 16], got {bits}")
    if not (np.isfinite(clip) and clip > 0):
        raise ValueError(f"clip must be positive and finite, got {clip}")
    w = np.asarray(w, dtype=float)
    if w.size == 0:
        raise ValueError("w must be non-empty")
    scale = clip / 2 ** (bits - 1)
    q = np.clip(np.rint(w / scale), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return float(np.mean((w - scale * q) ** 2))

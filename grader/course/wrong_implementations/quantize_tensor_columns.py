"""Per-channel scales taken over the columns (axis 0) instead of the rows (output channels)."""

import numpy as np

FEEDBACK_MENTIONS = "over the columns"


def quantize_tensor(w, bits=8, granularity="tensor", group_size=128):
    w = np.asarray(w, dtype=float)
    if w.ndim != 2 or w.size == 0 or not np.all(np.isfinite(w)):
        raise ValueError(f"w must be a finite, non-empty 2-D matrix, got shape {w.shape}")
    if isinstance(bits, bool) or bits != int(bits) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [2, 16], got {bits}")
    if granularity not in ("tensor", "channel", "group"):
        raise ValueError(f"granularity must be tensor, channel or group, got {granularity!r}")
    qmax = 2 ** (int(bits) - 1) - 1
    if granularity == "tensor":
        max_abs = np.abs(w).max()
    elif granularity == "channel":
        max_abs = np.abs(w).max(axis=0, keepdims=True)  # one scale per column
    else:
        if isinstance(group_size, bool) or group_size != int(group_size) or group_size < 1 \
                or w.shape[1] % int(group_size):
            raise ValueError(f"group_size must be a positive integer dividing {w.shape[1]}, got {group_size}")
        groups = w.reshape(w.shape[0], -1, int(group_size))
        max_abs = np.repeat(np.abs(groups).max(axis=-1), int(group_size), axis=1)
    scale = np.where(max_abs > 0, max_abs / qmax, 1.0)
    return scale * np.clip(np.rint(w / scale), -qmax, qmax)

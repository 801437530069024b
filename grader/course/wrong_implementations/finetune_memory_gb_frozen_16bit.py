"""Counts every frozen weight at 2 bytes (bf16) whatever frozen_bits says."""

import numpy as np

FEEDBACK_MENTIONS = "regardless of frozen_bits"


def finetune_memory_gb(n_frozen, n_trainable, frozen_bits=16, bytes_per_trainable=12):
    n_frozen, n_trainable = np.asarray(n_frozen, dtype=float), np.asarray(n_trainable, dtype=float)
    if np.any(n_frozen < 0):
        raise ValueError(f"n_frozen must be non-negative, got {n_frozen}")
    if np.any(n_trainable < 0):
        raise ValueError(f"n_trainable must be non-negative, got {n_trainable}")
    if np.any(np.asarray(frozen_bits) <= 0):
        raise ValueError(f"frozen_bits must be positive, got {frozen_bits}")
    if np.any(np.asarray(bytes_per_trainable) <= 0):
        raise ValueError(f"bytes_per_trainable must be positive, got {bytes_per_trainable}")
    gb = (n_frozen * 2 + n_trainable * bytes_per_trainable) / 1e9
    return float(gb) if gb.ndim == 0 else gb

"""Takes 20 * log10 of the power ratio, the amplitude formula, doubling the decibels."""

import numpy as np

FEEDBACK_MENTIONS = "amplitude"


def sqnr_db(w, w_hat):
    w, w_hat = np.asarray(w, dtype=float), np.asarray(w_hat, dtype=float)
    if w.shape != w_hat.shape:
        raise ValueError(f"w_hat must have the shape of w {w.shape}, got {w_hat.shape}")
    if w.size == 0:
        raise ValueError("w must be non-empty")
    signal, noise = np.sum(w**2), np.sum((w - w_hat) ** 2)
    if signal == 0:
        raise ValueError("w must not be all zeros")
    if noise == 0:
        return float("inf")
    return float(20 * np.log10(signal / noise))

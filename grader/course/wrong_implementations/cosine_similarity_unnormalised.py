"""The dot product of the rows, not divided by their norms."""

import numpy as np

FEEDBACK_MENTIONS = "without dividing by the norms"


def cosine_similarity(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("a and b must be finite")
    if np.any(np.linalg.norm(a, axis=-1) == 0) or np.any(np.linalg.norm(b, axis=-1) == 0):
        raise ValueError("a and b must have no zero vector")
    dots = np.sum(a * b, axis=-1)
    return float(dots) if a.ndim == 1 else dots

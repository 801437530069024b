"""Each row counted as its own nearest neighbour: the diagonal of the similarity matrix is not excluded."""

import numpy as np

FEEDBACK_MENTIONS = "its own nearest neighbour"


def nearest_neighbours(embeddings):
    e = np.asarray(embeddings, dtype=float)
    if e.ndim != 2 or len(e) < 2:
        raise ValueError("embeddings must be 2-D with at least 2 rows")
    if not np.all(np.isfinite(e)):
        raise ValueError("embeddings must be finite")
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("embeddings must have no zero row")
    unit = e / norms
    return np.argmax(unit @ unit.T, axis=1)

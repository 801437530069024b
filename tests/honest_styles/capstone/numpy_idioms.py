"""The capstone's four new functions with NumPy idioms: np.round (half to even), np.einsum,
np.take_along_axis, an OrderedDict result and np.float64 scalars."""

from collections import OrderedDict

import numpy as np


def quantize_tensor(w, bits=8, granularity="tensor", group_size=128):
    w = np.array(w, dtype=np.float64, ndmin=1)
    if w.ndim != 2 or not w.size or not np.isfinite(w).all():
        raise ValueError(f"w: expected a finite non-empty 2-D array, got shape {w.shape}")
    if not (np.isscalar(bits) and not isinstance(bits, (bool, str)) and float(bits).is_integer() and 2 <= bits <= 16):
        raise ValueError(f"bits: expected an integer in [2, 16], got {bits!r}")
    qmax = 2.0 ** (int(bits) - 1) - 1
    n_out, n_in = w.shape
    shapes = {"tensor": (1, -1), "channel": (n_out, n_in)}
    if granularity == "group":
        ok = np.isscalar(group_size) and not isinstance(group_size, (bool, str)) and float(group_size).is_integer()
        if not (ok and group_size >= 1 and n_in % int(group_size) == 0):
            raise ValueError(f"group_size: expected a positive divisor of in_features {n_in}, got {group_size!r}")
        shapes["group"] = (-1, int(group_size))
    if granularity not in shapes:
        raise ValueError(f"granularity: expected 'tensor', 'channel' or 'group', got {granularity!r}")
    blocks = w.reshape(shapes[granularity])
    peak = np.max(np.abs(blocks), axis=1, keepdims=True)
    scale = np.divide(peak, qmax, out=np.ones_like(peak), where=peak > 0)
    return (np.clip(np.round(blocks / scale), -qmax, qmax) * scale).reshape(n_out, n_in)


def weight_stats(w):
    w = np.asarray(w, dtype=np.float64).ravel()
    if w.size == 0 or not np.isfinite(w).all():
        raise ValueError("w: expected finite, non-empty weights")
    d = w - w.mean()
    var = np.einsum("i,i->", d, d) / w.size
    if var == 0:
        raise ValueError("w: constant weights have no kurtosis")
    fourth = np.mean(np.square(np.square(d)))
    return OrderedDict(max_abs=np.float64(np.abs(w).max()), std=np.sqrt(var), kurtosis=fourth / var**2 - 3.0)


def cosine_similarity(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim not in (1, 2):
        raise ValueError(f"a and b: expected equal shapes of one or two dimensions, got {a.shape}, {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("a, b: expected finite values")
    na, nb = np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1)
    if (na == 0).any() or (nb == 0).any():
        raise ValueError("a, b: a zero vector has no direction")
    cos = np.einsum("...i,...i->...", a, b) / (na * nb)
    return cos[()] if a.ndim == 1 else cos


def nearest_neighbours(embeddings):
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2 or len(e) < 2 or not np.isfinite(e).all():
        raise ValueError(f"embeddings: expected a finite 2-D array of two rows or more, got shape {e.shape}")
    norms = np.linalg.norm(e, axis=1)
    if (norms == 0).any():
        raise ValueError("embeddings: a zero row has no direction")
    unit = e / norms[:, None]
    sim = np.einsum("id,jd->ij", unit, unit)
    sim[np.diag_indices_from(sim)] = -np.inf
    order = np.argsort(-sim, axis=1, kind="stable")  # stable: the lowest index first among equals
    return np.take_along_axis(order, np.zeros((len(e), 1), dtype=np.intp), axis=1)[:, 0].astype(np.int64)

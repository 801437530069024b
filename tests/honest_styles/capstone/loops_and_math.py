"""The capstone's four new functions in plain Python: loops over rows and groups, the math module, a
ValueError subclass for bad input; NumPy only to hand back arrays."""

import math

import numpy as np


class BadInput(ValueError):
    pass


def _rows(w, name):
    try:
        rows = [[float(v) for v in row] for row in np.asarray(w, dtype=float).tolist()]
    except TypeError:
        raise BadInput(f"{name} must be a 2-D matrix") from None
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows):
        raise BadInput(f"{name} must be a non-empty 2-D matrix")
    if any(not math.isfinite(v) for r in rows for v in r):
        raise BadInput(f"{name} must be finite")
    return rows


def _quantize_block(block, qmax):
    top = max(abs(v) for v in block)
    step = top / qmax if top > 0 else 1.0
    out = []
    for v in block:
        code = round(v / step)  # Python's round: half to even
        code = max(-qmax, min(qmax, code))
        out.append(code * step)
    return out


def quantize_tensor(w, bits=8, granularity="tensor", group_size=128):
    if np.ndim(w) != 2:
        raise BadInput(f"w must be 2-D, got {np.ndim(w)} dimensions")
    rows = _rows(w, "w")
    if isinstance(bits, bool) or not isinstance(bits, (int, float, np.number)) or bits != int(bits) \
            or not 2 <= bits <= 16:
        raise BadInput(f"bits must be an integer from 2 to 16, got {bits}")
    qmax = 2 ** (int(bits) - 1) - 1
    if granularity == "tensor":
        flat = _quantize_block([v for r in rows for v in r], qmax)
        cols = len(rows[0])
        result = [flat[i * cols:(i + 1) * cols] for i in range(len(rows))]
    elif granularity == "channel":
        result = [_quantize_block(r, qmax) for r in rows]
    elif granularity == "group":
        cols = len(rows[0])
        if isinstance(group_size, bool) or not isinstance(group_size, (int, float, np.number)) \
                or group_size != int(group_size) or group_size < 1 or cols % int(group_size):
            raise BadInput(f"group_size must be a positive divisor of {cols}, got {group_size}")
        size = int(group_size)
        result = []
        for r in rows:
            row = []
            for start in range(0, cols, size):
                row.extend(_quantize_block(r[start:start + size], qmax))
            result.append(row)
    else:
        raise BadInput(f"unknown granularity {granularity!r}")
    return np.array(result, dtype=np.float64)


def weight_stats(w):
    values = [float(v) for v in np.ravel(np.asarray(w, dtype=float))]
    if not values or any(not math.isfinite(v) for v in values):
        raise BadInput("w must be non-empty and finite")
    mean = math.fsum(values) / len(values)
    m2 = math.fsum((v - mean) ** 2 for v in values) / len(values)
    m4 = math.fsum((v - mean) ** 4 for v in values) / len(values)
    if m2 == 0:
        raise BadInput("w is constant, so its kurtosis is undefined")
    return {"max_abs": max(abs(v) for v in values), "std": math.sqrt(m2), "kurtosis": m4 / (m2 * m2) - 3}


def _cos(u, v):
    nu = math.sqrt(math.fsum(x * x for x in u))
    nv = math.sqrt(math.fsum(x * x for x in v))
    if nu == 0 or nv == 0:
        raise BadInput("a and b must not contain a zero vector")
    return math.fsum(x * y for x, y in zip(u, v, strict=True)) / (nu * nv)


def cosine_similarity(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise BadInput(f"a {a.shape} and b {b.shape} differ in shape")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise BadInput("a and b must be finite")
    if a.ndim == 1:
        return _cos(a.tolist(), b.tolist())
    return np.array([_cos(u, v) for u, v in zip(a.tolist(), b.tolist(), strict=True)])


def nearest_neighbours(embeddings):
    if np.ndim(embeddings) != 2 or len(embeddings) < 2:
        raise BadInput("embeddings must be 2-D with two rows or more")
    rows = _rows(embeddings, "embeddings")
    best = []
    for i, u in enumerate(rows):
        top, where = -math.inf, -1
        for j, v in enumerate(rows):
            if j == i:
                continue
            try:
                c = _cos(u, v)
            except BadInput:
                raise BadInput("embeddings must have no zero row") from None
            if c > top:  # strictly greater: the first of equal rows stays
                top, where = c, j
        best.append(where)
    return np.array(best, dtype=np.int64)

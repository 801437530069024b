"""Honest style: Python loops and the math module.

Every value is computed one element at a time in plain Python floats: Python's ``round`` (which
rounds half to even, like ``np.rint``), ``math.exp``, ``math.log``, ``math.fsum``, a log-sum-exp
written by hand, and ``if p > 0`` for 0 log 0.  NumPy only converts the inputs, lines up
broadcast shapes and holds the results.  The error messages are worded differently from the
instructor's ("zero-point must be ...", "the scales must be positive ...") but name the argument.

The graded functions come in the notebook's order, and each uses only helpers written above it
(or graded functions of earlier exercises), as in a notebook run top to bottom.
"""

import math

import numpy as np


def _floats(value, name):
    """``value`` as a float64 array; ValueError naming it when it does not hold numbers."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None


def _each(arr):
    """The elements of ``arr`` as Python floats, in C order (one element for a 0-d array)."""
    return [float(v) for v in np.asarray(arr).flat]


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _is_whole(value):
    """A single integer-valued number: 8 or 8.0, not 8.5, not True."""
    return _is_number(value) and float(value).is_integer()


def _bit_width(bits):
    if not (_is_whole(bits) and 2 <= bits <= 16):
        raise ValueError(f"bits must be a whole number from 2 to 16, got {bits!r}")
    return int(bits)


def _broadcast(*named):
    """The arrays of ``(name, array)`` pairs broadcast together; ValueError naming them if they do not."""
    try:
        return np.broadcast_arrays(*(arr for _, arr in named))
    except ValueError:
        shapes = ", ".join(f"{name} {arr.shape}" for name, arr in named)
        raise ValueError(f"the shapes of {shapes} do not broadcast together") from None


def _shaped(values, shape, dtype=np.float64):
    return np.array(values, dtype=dtype).reshape(shape)


def quantize(x, scale, zero_point=0, bits=8, signed=True):
    """Integer codes clip(round(x / scale) + zero_point, qmin, qmax), computed element by element."""
    bits = _bit_width(bits)
    if signed:
        qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    else:
        qmin, qmax = 0, 2**bits - 1
    if not (_is_whole(zero_point) and qmin <= zero_point <= qmax):
        raise ValueError(f"zero-point must be a whole number between {qmin} and {qmax}, got {zero_point!r}")
    zero_point = int(zero_point)
    steps = _floats(scale, "scale")
    for s in _each(steps):
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"the scales must be positive and finite, got {s}")
    values = _floats(x, "x")
    for v in _each(values):
        if not math.isfinite(v):
            raise ValueError(f"x must be finite everywhere (NaN and inf have no code), got {v}")
    values, steps = _broadcast(("x", values), ("scale", steps))
    codes = []
    for v, s in zip(_each(values), _each(steps), strict=True):
        ratio = v / s
        if math.isinf(ratio):  # a huge x over a tiny scale: it saturates anyway
            code = qmax if ratio > 0 else qmin
        else:
            code = round(ratio) + zero_point  # Python's round: half to even
        codes.append(min(max(code, qmin), qmax))
    return _shaped(codes, values.shape, np.int64)


def dequantize(q, scale, zero_point=0):
    """Real values scale * (q - zero_point), element by element."""
    codes = _floats(q, "q")
    for c in _each(codes):
        if not c.is_integer():
            raise ValueError(f"q must hold whole-number codes, got {c}")
    steps = _floats(scale, "scale")
    for s in _each(steps):
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"the scales must be positive and finite, got {s}")
    if not _is_whole(zero_point):
        raise ValueError(f"zero-point must be a whole number, got {zero_point!r}")
    zero_point = int(zero_point)
    codes, steps = _broadcast(("q", codes), ("scale", steps))
    values = [s * (c - zero_point) for c, s in zip(_each(codes), _each(steps), strict=True)]
    return _shaped(values, codes.shape)


def qrange(bits, signed=True):
    """(qmin, qmax): 2^bits codes, either side of 0 when signed."""
    levels = 2 ** _bit_width(bits)
    if signed:
        return -(levels // 2), levels // 2 - 1
    return 0, levels - 1


def symmetric_scale(max_abs, bits=4):
    """max_abs / (2^(bits-1) - 1) for each channel; 1.0 for an all-zero channel."""
    qmax = 2 ** (_bit_width(bits) - 1) - 1
    peaks = _floats(max_abs, "max_abs")
    scales = []
    for m in _each(peaks):
        if not (math.isfinite(m) and m >= 0):
            raise ValueError(f"max_abs must be zero or positive, and finite, got {m}")
        scales.append(m / qmax if m > 0 else 1.0)
    if peaks.ndim == 0:
        return scales[0]
    return _shaped(scales, peaks.shape)


def affine_params(x_min, x_max, bits=8):
    """(scale, zero_point) of unsigned affine quantization over [x_min, x_max] widened to include 0."""
    qmax = 2 ** _bit_width(bits) - 1
    bounds = []
    for name, value in (("x_min", x_min), ("x_max", x_max)):
        if not (_is_number(value) and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
        bounds.append(float(value))
    lo, hi = bounds
    if lo > hi:
        raise ValueError(f"x_min ({lo}) must not be larger than x_max ({hi})")
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if lo == hi:
        return 1.0, 0
    scale = (hi - lo) / qmax
    zero_point = min(max(round(-lo / scale), 0), qmax)
    return scale, zero_point


def memory_gb(n_params, bits):
    """n_params * bits / 8 bytes, in decimal gigabytes."""
    counts, widths = _floats(n_params, "n_params"), _floats(bits, "bits")
    for n in _each(counts):
        if not (math.isfinite(n) and n >= 0):
            raise ValueError(f"n_params must be a non-negative count, got {n}")
    for b in _each(widths):
        if not (math.isfinite(b) and b > 0):
            raise ValueError(f"bits must be positive and finite, got {b}")
    counts, widths = _broadcast(("n_params", counts), ("bits", widths))
    sizes = [n * b / 8 / 1e9 for n, b in zip(_each(counts), _each(widths), strict=True)]
    return sizes[0] if counts.ndim == 0 else _shaped(sizes, counts.shape)


def effective_bits(bits, group_size=None, scale_bits=16, zero_bits=0):
    """bits + (scale_bits + zero_bits) / group_size; no overhead when group_size is None (per-tensor)."""
    named = []
    for name, value, lowest in (("bits", bits, "positive"), ("scale_bits", scale_bits, "non-negative"),
                                ("zero_bits", zero_bits, "non-negative")):
        arr = _floats(value, name)
        for v in _each(arr):
            if not (math.isfinite(v) and (v > 0 if lowest == "positive" else v >= 0)):
                raise ValueError(f"{name} must be {lowest} and finite, got {v}")
        named.append((name, arr))
    if group_size is not None:
        groups = _floats(group_size, "group_size")
        for g in _each(groups):
            if not (g > 0 and g.is_integer()):
                raise ValueError(f"group_size must be a positive whole number (or None), got {g}")
        named.append(("group_size", groups))
    arrays = _broadcast(*named)
    out = []
    for row in zip(*(_each(a) for a in arrays), strict=True):
        b, s, z = row[:3]
        out.append(b if group_size is None else b + (s + z) / row[3])
    return out[0] if arrays[0].ndim == 0 else _shaped(out, arrays[0].shape)


def quantization_mse(w, w_hat):
    """The mean of (w - w_hat)^2 over every element."""
    a, b = _floats(w, "w"), _floats(w_hat, "w_hat")
    if a.shape != b.shape:
        raise ValueError(f"w_hat must have exactly the shape of w {a.shape} (no broadcasting), got {b.shape}")
    if a.size == 0:
        raise ValueError("w is empty: there is no error to average")
    squares = []
    for u, v in zip(_each(a), _each(b), strict=True):
        if not (math.isfinite(u) and math.isfinite(v)):
            raise ValueError(f"w and w_hat must be finite, got {u} and {v}")
        squares.append((u - v) ** 2)
    return math.fsum(squares) / len(squares)


def sqnr_db(w, w_hat):
    """10 * log10(signal power / noise power); inf when w_hat equals w."""
    a, b = _floats(w, "w"), _floats(w_hat, "w_hat")
    if a.shape != b.shape:
        raise ValueError(f"w_hat must have exactly the shape of w {a.shape}, got {b.shape}")
    if a.size == 0:
        raise ValueError("w is empty: no signal to compare with")
    signal, noise = [], []
    for u, v in zip(_each(a), _each(b), strict=True):
        if not (math.isfinite(u) and math.isfinite(v)):
            raise ValueError(f"w and w_hat must be finite, got {u} and {v}")
        signal.append(u * u)
        noise.append((u - v) ** 2)
    signal_power, noise_power = math.fsum(signal), math.fsum(noise)
    if signal_power == 0:
        raise ValueError("w is all zeros: with no signal power the SQNR is undefined")
    if noise_power == 0:
        return math.inf
    return 10 * (math.log10(signal_power) - math.log10(noise_power))


def best_clip(clips, mse):
    """The clip with the lowest MSE; the earliest one when several tie."""
    c, m = _floats(clips, "clips"), _floats(mse, "mse")
    if c.ndim != 1:
        raise ValueError(f"clips must be a flat sequence, got shape {c.shape}")
    if c.size == 0:
        raise ValueError("clips is empty: there is no clip to choose")
    if m.shape != c.shape:
        raise ValueError(f"mse must have one value per clip ({c.size}), got shape {m.shape}")
    best, lowest = None, math.inf
    for i, (clip, err) in enumerate(zip(_each(c), _each(m), strict=True)):
        if not math.isfinite(clip):
            raise ValueError(f"clips must be finite, got {clip} at position {i}")
        if math.isnan(err):
            raise ValueError(f"mse[{i}] is NaN")
        if best is None or err < lowest:  # strictly lower: a later tie never wins
            best, lowest = clip, err
    return best


def clip_mse(w, clip, bits=4):
    """MSE of symmetric fake-quantization with scale clip / qmax, codes saturating at +-qmax."""
    qmax = 2 ** (_bit_width(bits) - 1) - 1
    if not (_is_number(clip) and math.isfinite(clip) and clip > 0):
        raise ValueError(f"clip must be a positive finite number, got {clip!r}")
    weights = _each(_floats(w, "w"))
    if not weights:
        raise ValueError("w is empty: there is nothing to quantize")
    step = float(clip) / qmax
    squares = []
    for v in weights:
        if not math.isfinite(v):
            raise ValueError(f"w must be finite, got {v}")
        ratio = v / step
        code = qmax if ratio > qmax else -qmax if ratio < -qmax else round(ratio)
        squares.append((v - step * code) ** 2)
    return math.fsum(squares) / len(squares)


def _temperature(tau):
    if not (_is_number(tau) and math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau (the temperature) must be positive and finite, got {tau!r}")
    return float(tau)


def _rows(arr, axis):
    """The 1-D slices of ``arr`` along ``axis`` as lists of floats, the leading shape, and a rebuilder."""
    moved = np.moveaxis(arr, axis, -1)
    rows = [_each(row) for row in moved.reshape(-1, moved.shape[-1])]

    def rebuild(new_rows):
        return np.moveaxis(_shaped(new_rows, moved.shape), -1, axis)

    return rows, moved.shape[:-1], rebuild


def _log_softmax(row, tau):
    """log softmax(row / tau) by hand: shift by the maximum, then subtract log(sum(exp))."""
    top = max(row)
    shifted = [(v - top) / tau for v in row]
    log_total = math.log(math.fsum(math.exp(s) for s in shifted))
    return [s - log_total for s in shifted]


def softmax(logits, tau=1.0, axis=-1):
    """Probabilities exp(z_i / tau) / sum_j exp(z_j / tau) along axis, each row shifted by its maximum."""
    tau = _temperature(tau)
    z = _floats(logits, "logits")
    if z.ndim == 0 or z.size == 0:
        raise ValueError(f"logits must be a non-empty list or array, got shape {z.shape}")
    for v in _each(z):
        if not math.isfinite(v):
            raise ValueError(f"logits must be finite, got {v}")
    rows, _, rebuild = _rows(z, axis)
    out = []
    for row in rows:
        top = max(row)
        exps = [math.exp((v - top) / tau) for v in row]
        total = math.fsum(exps)
        out.append([e / total for e in exps])
    return rebuild(out)


def _distributions(value, name, axis):
    """The rows of a batch of probability distributions along axis, and the batch shape."""
    arr = _floats(value, name)
    if arr.ndim == 0 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty list or array of probabilities, got shape {arr.shape}")
    for v in _each(arr):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must hold non-negative probabilities, got {v}")
    rows, lead, _ = _rows(arr, axis)
    for row in rows:
        total = math.fsum(row)
        if abs(total - 1) > 1e-6:
            raise ValueError(f"every distribution in {name} must sum to 1 (within 1e-6), got a sum of {total}")
    return rows, lead


def entropy(p, axis=-1):
    """-sum p log p in nats along axis; terms with p = 0 are skipped (0 log 0 = 0)."""
    rows, lead = _distributions(p, "p", axis)
    values = [0.0 - math.fsum(v * math.log(v) for v in row if v > 0) for row in rows]
    if not lead:
        return values[0]
    return _shaped(values, lead)


def kl_divergence(p, q, axis=-1):
    """KL(p || q) = sum p (log p - log q) along axis: p = 0 terms are 0, q = 0 < p gives inf."""
    p_arr, q_arr = _floats(p, "p"), _floats(q, "q")
    if p_arr.shape != q_arr.shape:
        raise ValueError(f"p and q must have the same shape, got {p_arr.shape} and {q_arr.shape}")
    p_rows, lead = _distributions(p_arr, "p", axis)
    q_rows, _ = _distributions(q_arr, "q", axis)
    values = []
    for p_row, q_row in zip(p_rows, q_rows, strict=True):
        terms = []
        for a, b in zip(p_row, q_row, strict=True):
            if a == 0:
                continue  # 0 log 0 = 0, whatever q says
            if b == 0:
                terms = [math.inf]  # the student rules out what the teacher allows
                break
            terms.append(a * (math.log(a) - math.log(b)))
        values.append(math.fsum(terms))
    if not lead:
        return values[0]
    return _shaped(values, lead)


def _logit_rows(value, name):
    arr = _floats(value, name)
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty (classes,) or (batch, classes) array, got shape {arr.shape}")
    for v in _each(arr):
        if not math.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v}")
    return [_each(row) for row in np.atleast_2d(arr)], arr.shape


def kd_loss(student_logits, teacher_logits, tau):
    """tau^2 times the batch mean of KL(softmax(teacher / tau) || softmax(student / tau))."""
    tau = _temperature(tau)
    students, s_shape = _logit_rows(student_logits, "student_logits")
    teachers, t_shape = _logit_rows(teacher_logits, "teacher_logits")
    if s_shape != t_shape:
        raise ValueError(f"student and teacher logits must have the same shape, got {s_shape} and {t_shape}")
    kls = []
    for s_row, t_row in zip(students, teachers, strict=True):
        log_p, log_q = _log_softmax(t_row, tau), _log_softmax(s_row, tau)
        terms = []
        for a, b in zip(log_p, log_q, strict=True):
            p = math.exp(a)
            if p > 0:
                terms.append(p * (a - b))
        kls.append(math.fsum(terms))
    return tau**2 * math.fsum(kls) / len(kls)


def combined_loss(ce, kd, alpha):
    """alpha * ce + (1 - alpha) * kd, element by element."""
    weights = _floats(alpha, "alpha")
    for a in _each(weights):
        if not 0 <= a <= 1:  # NaN fails this too
            raise ValueError(f"alpha must lie in [0, 1], got {a}")
    named = [("ce", _floats(ce, "ce")), ("kd", _floats(kd, "kd"))]
    for name, arr in named:
        for v in _each(arr):
            if not math.isfinite(v):
                raise ValueError(f"{name} must be finite, got {v}")
    arrays = _broadcast(*named, ("alpha", weights))
    out = [a * c + (1 - a) * k for c, k, a in zip(*(_each(arr) for arr in arrays), strict=True)]
    return out[0] if arrays[0].ndim == 0 else _shaped(out, arrays[0].shape)


def distillation_loss(student_logits, teacher_logits, labels, tau, alpha):
    """alpha * (batch-mean cross-entropy at temperature 1) + (1 - alpha) * kd_loss."""
    if not (_is_number(alpha) and 0 <= alpha <= 1):
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    _temperature(tau)
    students, s_shape = _logit_rows(student_logits, "student_logits")
    _, t_shape = _logit_rows(teacher_logits, "teacher_logits")
    if s_shape != t_shape:
        raise ValueError(f"student and teacher logits must have the same shape, got {s_shape} and {t_shape}")
    classes = len(students[0])
    given = np.atleast_1d(np.asarray(labels))
    if given.dtype.kind not in "iuf":
        raise ValueError(f"labels must be class indices, got {labels!r}")
    if given.shape != (len(students),):
        raise ValueError(f"labels must give one class per example ({len(students)}), got shape {given.shape}")
    targets = []
    for v in _each(given):
        if not (v.is_integer() and 0 <= v < classes):
            raise ValueError(f"labels must be whole numbers in [0, {classes}), got {v:g}")
        targets.append(int(v))
    losses = [-_log_softmax(row, 1.0)[k] for row, k in zip(students, targets, strict=True)]
    ce = math.fsum(losses) / len(losses)
    return alpha * ce + (1 - alpha) * kd_loss(student_logits, teacher_logits, tau)


def adam_state_gb(n_trainable, bytes_per_value=4, n_moments=2):
    """n_trainable * bytes_per_value * n_moments bytes, in decimal gigabytes."""
    counts = _floats(n_trainable, "n_trainable")
    for n in _each(counts):
        if not (math.isfinite(n) and n >= 0):
            raise ValueError(f"n_trainable must be a non-negative count, got {n}")
    sizes = _floats(bytes_per_value, "bytes_per_value")
    for b in _each(sizes):
        if not (math.isfinite(b) and b > 0):
            raise ValueError(f"bytes_per_value must be positive and finite, got {b}")
    moments = _floats(n_moments, "n_moments")
    for m in _each(moments):
        if not (m >= 0 and m.is_integer()):
            raise ValueError(f"n_moments must be a non-negative whole number, got {m}")
    arrays = _broadcast(("n_trainable", counts), ("bytes_per_value", sizes), ("n_moments", moments))
    out = [n * b * m / 1e9 for n, b, m in zip(*(_each(arr) for arr in arrays), strict=True)]
    return out[0] if arrays[0].ndim == 0 else _shaped(out, arrays[0].shape)


def finetune_memory_gb(n_frozen, n_trainable, frozen_bits=16, bytes_per_trainable=12):
    """(n_frozen * frozen_bits / 8 + n_trainable * bytes_per_trainable) bytes, in decimal gigabytes."""
    named = []
    for name, value, rule in (("n_frozen", n_frozen, "non-negative"), ("n_trainable", n_trainable, "non-negative"),
                              ("frozen_bits", frozen_bits, "positive"),
                              ("bytes_per_trainable", bytes_per_trainable, "positive")):
        arr = _floats(value, name)
        for v in _each(arr):
            if not (math.isfinite(v) and (v >= 0 if rule == "non-negative" else v > 0)):
                raise ValueError(f"{name} must be {rule} and finite, got {v}")
        named.append((name, arr))
    arrays = _broadcast(*named)
    out = [(nf * fb / 8 + nt * bt) / 1e9 for nf, nt, fb, bt in zip(*(_each(arr) for arr in arrays), strict=True)]
    return out[0] if arrays[0].ndim == 0 else _shaped(out, arrays[0].shape)


_NEEDED = ("calibration_coverage", "loss_baseline", "loss_quantized", "latency_baseline_ms",
           "latency_quantized_ms", "task_scores_baseline", "task_scores_quantized", "safety_pass")


def shipping_gates(metrics, max_loss_increase=0.02, min_coverage=0.999, max_task_drop=1.0):
    """The four release gates, and ship when all of them pass."""
    for key in _NEEDED:
        if key not in metrics:
            raise ValueError(f"metrics has no {key!r} entry")
    baseline, quantized = metrics["task_scores_baseline"], metrics["task_scores_quantized"]
    if set(baseline) != set(quantized):
        raise ValueError("task_scores_quantized must cover the same tasks as task_scores_baseline")
    if not metrics["loss_baseline"] > 0:
        raise ValueError(f"loss_baseline must be positive, got {metrics['loss_baseline']!r}")
    worst_drop = -math.inf
    for task in baseline:
        worst_drop = max(worst_drop, baseline[task] - quantized[task])
    increase = (metrics["loss_quantized"] - metrics["loss_baseline"]) / metrics["loss_baseline"]
    gates = {
        "calibration": bool(metrics["calibration_coverage"] >= min_coverage),
        "heldout_loss": bool(increase <= max_loss_increase),
        "latency": bool(metrics["latency_quantized_ms"] < metrics["latency_baseline_ms"]),
        "quality": bool(worst_drop <= max_task_drop) and bool(metrics["safety_pass"]),
    }
    ship = True
    for passed in gates.values():
        ship = ship and passed
    gates["ship"] = ship
    return gates


def calibration_coverage(activations, clip):
    """The fraction of activations with |a| <= clip (the bound counts as covered)."""
    if not (_is_number(clip) and math.isfinite(clip) and clip >= 0):
        raise ValueError(f"clip must be a non-negative finite number, got {clip!r}")
    values = _each(_floats(activations, "activations"))
    if not values:
        raise ValueError("activations is empty: there is nothing to cover")
    covered = 0
    for a in values:
        if math.isnan(a):
            raise ValueError("activations must not contain NaN")
        if abs(a) <= clip:
            covered += 1
    return covered / len(values)

"""Reference implementations of the graded functions: the exercises' 21, in exercise order, then the capstone's 4.

Each function has the name and signature of the student stub, states its
formula in one line, and settles the conventions the course spec leaves open
in its docstring.  Conventions shared by all of them:

- Inputs may be Python scalars, lists or NumPy arrays of real numbers (bool,
  str and complex values are rejected); they are converted to float64.
- Elementwise results are float64 (or int64) arrays; a result computed from
  scalars only, and every reduction, is a Python ``float`` (or ``int``).
- Rounding is round half to even (``np.rint``): 0.5 -> 0, 1.5 -> 2, -2.5 -> -2.
- Integer parameters accept Python and NumPy integers and integral floats
  (``8`` or ``8.0``), never ``8.5`` or a bool.
- Gigabytes are decimal: 1 GB = 1e9 bytes.
- Bad input raises ``ValueError`` whose message names the argument and shows
  the first offending value; valid input never emits a warning.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

_METRIC_KEYS = (
    "calibration_coverage",
    "loss_baseline",
    "loss_quantized",
    "latency_baseline_ms",
    "latency_quantized_ms",
    "task_scores_baseline",
    "task_scores_quantized",
    "safety_pass",
)


# --------------------------------------------------------------------------- input checks


def _as_array(value: ArrayLike, name: str, *, scalar: bool = False) -> np.ndarray:
    """value as a float64 array; ValueError unless it holds real numbers (and is 0-d if scalar)."""
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged nested lists
        arr = np.asarray(None)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a real number or an array of real numbers, got {value!r}")
    if scalar and arr.ndim:
        raise ValueError(f"{name} must be a scalar, got an array of shape {arr.shape}")
    return arr.astype(np.float64)


def _check(ok: ArrayLike, name: str, requirement: str, value: np.ndarray) -> None:
    """ValueError "<name> must be <requirement>, got <first bad element>" unless ok holds everywhere."""
    ok = np.asarray(ok)
    if not ok.all():
        bad = np.asarray(value)[~ok].flat[0].item()
        shown = repr(bad).removesuffix(".0") if isinstance(bad, float) else repr(bad)  # 17, not 17.0
        raise ValueError(f"{name} must be {requirement}, got {shown}")


def _integral(arr: np.ndarray) -> np.ndarray:
    """Elementwise: finite and a whole number."""
    return np.isfinite(arr) & (arr == np.rint(arr))


def _finite(value: ArrayLike, name: str, *, scalar: bool = False) -> np.ndarray:
    arr = _as_array(value, name, scalar=scalar)
    _check(np.isfinite(arr), name, "finite", arr)
    return arr


def _positive(value: ArrayLike, name: str, *, scalar: bool = False) -> np.ndarray:
    arr = _as_array(value, name, scalar=scalar)
    _check(np.isfinite(arr) & (arr > 0), name, "positive and finite", arr)
    return arr


def _non_negative(value: ArrayLike, name: str, *, scalar: bool = False) -> np.ndarray:
    arr = _as_array(value, name, scalar=scalar)
    _check(np.isfinite(arr) & (arr >= 0), name, "non-negative and finite", arr)
    return arr


def _unit(value: ArrayLike, name: str, *, scalar: bool = False) -> np.ndarray:
    arr = _as_array(value, name, scalar=scalar)
    _check((arr >= 0) & (arr <= 1), name, "in [0, 1]", arr)
    return arr


def _as_int(value: ArrayLike, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """value as a Python int; ValueError unless it is an integer, within [lo, hi] when given."""
    try:
        arr = _as_array(value, name, scalar=True)
    except ValueError:  # a bool, a string, a list, ...: reported below with the integer requirement
        arr = np.asarray(np.nan)
    if not (_integral(arr) and (lo is None or lo <= arr <= hi)):
        where = "" if lo is None else f" in [{lo}, {hi}]"
        shown = value if isinstance(value, int | float | np.number) else repr(value)
        raise ValueError(f"{name} must be an integer{where}, got {shown}")
    return int(arr)


def _non_empty(arr: np.ndarray, name: str) -> None:
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty, got shape {arr.shape}")


def _same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_b} must have the same shape as {name_a} {a.shape}, got {b.shape}")


def _check_broadcast(**arrays: np.ndarray) -> None:
    """ValueError naming the arguments unless their shapes broadcast together."""
    try:
        np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name} of shape {a.shape}" for name, a in arrays.items())
        raise ValueError(f"shapes do not broadcast: {shapes}") from None


def _float_or_array(result: np.ndarray) -> float | np.ndarray:
    """A Python float for a 0-d result, the float64 array otherwise."""
    return float(result) if np.ndim(result) == 0 else np.asarray(result, dtype=np.float64)


def _vectors(value: ArrayLike, name: str) -> np.ndarray:
    """A finite, non-empty array with at least one dimension (the classes)."""
    arr = _finite(value, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (the classes), got a scalar")
    _non_empty(arr, name)
    return arr


def _logit_batch(value: ArrayLike, name: str) -> np.ndarray:
    """Logits as a 2-D (batch, classes) array; a 1-D input is a batch of one."""
    arr = _vectors(value, name)
    if arr.ndim > 2:
        raise ValueError(f"{name} must be 1-D (classes) or 2-D (batch, classes), got shape {arr.shape}")
    return np.atleast_2d(arr)


def _distribution(value: ArrayLike, name: str, axis: int) -> np.ndarray:
    """Probabilities: finite, non-negative, summing to 1 (within 1e-6) along axis."""
    p = _vectors(value, name)
    _check(p >= 0, name, "non-negative", p)
    sums = np.asarray(p.sum(axis=axis))
    off = np.abs(sums - 1) > 1e-6
    if off.any():
        raise ValueError(f"{name} must sum to 1 along axis {axis} (within 1e-6), "
                         f"got a sum of {sums[off].flat[0]}")
    return p


def _shifted_logits(logits: np.ndarray, tau: float, axis: int) -> np.ndarray:
    """(logits - max) / tau: the largest entry is 0, so exp never overflows."""
    with np.errstate(over="ignore"):  # a huge gap over a tiny tau is -inf, whose exp is exactly 0
        return (logits - logits.max(axis=axis, keepdims=True)) / tau


def _log_softmax(logits: np.ndarray, tau: float, axis: int = -1) -> np.ndarray:
    z = _shifted_logits(logits, tau, axis)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


# --------------------------------------------------------------------------- 1. quantize and dequantize


def quantize(
    x: ArrayLike, scale: ArrayLike, zero_point: int = 0, bits: int = 8, signed: bool = True
) -> np.ndarray:
    """Integer codes q = clip(rint(x / scale) + zero_point, qmin, qmax), rounding half to even.

    Args:
        x: real values to quantize; every value must be finite.
        scale: step between levels, positive and finite; a scalar, or an array that
            broadcasts against x (per-channel scales, e.g. shape (channels, 1)).
        zero_point: the code that stands for 0.0, an integer inside [qmin, qmax].
        bits: bit width, an integer in [2, 16].
        signed: True for [-2^(bits-1), 2^(bits-1) - 1], False for [0, 2^bits - 1].

    Returns:
        int64 array of the broadcast shape of x and scale (0-d when both are scalars);
        values beyond the range saturate at qmin or qmax, never wrap around.

    Raises:
        ValueError: non-finite x, non-positive or non-finite scale, shapes that do
            not broadcast, bits or signed invalid, zero_point not an integer in range.
    """
    qmin, qmax = qrange(bits, signed)
    zero_point = _as_int(zero_point, "zero_point", qmin, qmax)
    x = _finite(x, "x")
    scale = _positive(scale, "scale")
    _check_broadcast(x=x, scale=scale)
    with np.errstate(over="ignore"):  # x / tiny scale may be +-inf, which saturates below
        codes = np.rint(x / scale) + zero_point
    return np.asarray(np.clip(codes, qmin, qmax), dtype=np.int64)


def dequantize(q: ArrayLike, scale: ArrayLike, zero_point: int = 0) -> np.ndarray:
    """Real values x_hat = scale * (q - zero_point).

    Args:
        q: integer codes (integer-valued numbers; 3.0 is accepted, 3.5 is not).
        scale: positive and finite; a scalar or an array that broadcasts against q.
        zero_point: any integer (there is no bit width here to bound it).

    Returns:
        float64 array of the broadcast shape of q and scale (0-d when both are scalars).

    Raises:
        ValueError: q not integer-valued, bad scale, shapes that do not broadcast,
            zero_point not an integer.
    """
    q = _as_array(q, "q")
    _check(_integral(q), "q", "integer-valued", q)
    scale = _positive(scale, "scale")
    zero_point = _as_int(zero_point, "zero_point")
    _check_broadcast(q=q, scale=scale)
    return np.asarray(scale * (q - zero_point), dtype=np.float64)


def qrange(bits: int, signed: bool = True) -> tuple[int, int]:
    """Representable codes (qmin, qmax): signed (-2^(bits-1), 2^(bits-1) - 1), unsigned (0, 2^bits - 1).

    Args:
        bits: bit width, an integer in [2, 16].
        signed: True or False (a Python or NumPy bool; 1 and "yes" are rejected).

    Returns:
        (qmin, qmax) as Python ints.

    Raises:
        ValueError: bits not an integer in [2, 16], or signed not a bool.
    """
    bits = _as_int(bits, "bits", 2, 16)
    if not isinstance(signed, bool | np.bool_):
        raise ValueError(f"signed must be True or False, got {signed!r}")
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


# --------------------------------------------------------------------------- 2. scales


def symmetric_scale(max_abs: ArrayLike, bits: int = 4) -> float | np.ndarray:
    """Symmetric scale max_abs / (2^(bits-1) - 1) on the restricted range, 1.0 where max_abs is 0.

    Dividing by 2^(bits-1) - 1 maps +-max_abs to +-qmax, so the code -2^(bits-1)
    (-8 at 4 bits) is never used and the grid is symmetric around 0.

    Args:
        max_abs: largest absolute value of the tensor (or of each channel),
            non-negative and finite.  A zero (all-zero tensor) gets scale 1.0, so
            that dividing by the scale is always safe.
        bits: bit width, an integer in [2, 16].

    Returns:
        A Python float for a scalar max_abs, a float64 array (per-channel) otherwise.

    Raises:
        ValueError: max_abs negative or non-finite, or bits not an integer in [2, 16].
    """
    qmax = qrange(bits)[1]
    max_abs = _non_negative(max_abs, "max_abs")
    return _float_or_array(np.where(max_abs > 0, max_abs / qmax, 1.0))


def affine_params(x_min: float, x_max: float, bits: int = 8) -> tuple[float, int]:
    """Unsigned affine: scale = (x_max - x_min)/(2^bits - 1), zero_point = clip(rint(-x_min/scale), 0, qmax).

    The range is first widened to include 0 (x_min = min(x_min, 0), x_max =
    max(x_max, 0)), so 0.0 is exactly representable by the code zero_point.  The
    empty range (0, 0) gives (1.0, 0).

    Args:
        x_min: smallest observed value, a finite scalar.
        x_max: largest observed value, a finite scalar with x_min <= x_max.
        bits: bit width of the unsigned codes, an integer in [2, 16].

    Returns:
        (scale, zero_point) as a Python float and a Python int.

    Raises:
        ValueError: non-finite or non-scalar bounds, x_min > x_max, or bad bits.
    """
    qmax = qrange(bits, signed=False)[1]
    lo = float(_finite(x_min, "x_min", scalar=True))
    hi = float(_finite(x_max, "x_max", scalar=True))
    if lo > hi:
        raise ValueError(f"x_min must be <= x_max, got x_min={lo} > x_max={hi}")
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if lo == hi:
        return 1.0, 0
    scale = (hi - lo) / qmax
    return scale, min(max(round(-lo / scale), 0), qmax)  # Python's round is half to even, like np.rint


# --------------------------------------------------------------------------- 3. inference memory


def memory_gb(n_params: ArrayLike, bits: ArrayLike) -> float | np.ndarray:
    """Weight memory in decimal gigabytes: n_params * bits / 8 / 1e9.

    Args:
        n_params: number of parameters, non-negative and finite.
        bits: bits per parameter, positive and finite; need not be an integer
            (an effective_bits result such as 4.125 is fine).

    Returns:
        A Python float when both arguments are scalars, else a float64 array of
        their broadcast shape.

    Raises:
        ValueError: negative or non-finite n_params, non-positive or non-finite
            bits, shapes that do not broadcast.
    """
    n_params = _non_negative(n_params, "n_params")
    bits = _positive(bits, "bits")
    _check_broadcast(n_params=n_params, bits=bits)
    return _float_or_array(n_params * bits / 8 / 1e9)


def effective_bits(
    bits: ArrayLike, group_size: ArrayLike | None = None, scale_bits: ArrayLike = 16, zero_bits: ArrayLike = 0
) -> float | np.ndarray:
    """Bits per weight including group metadata: bits + (scale_bits + zero_bits) / group_size.

    Args:
        bits: bits per quantized weight, positive and finite.
        group_size: weights sharing one scale (and zero point), a positive
            integer; None means per-tensor quantization, whose overhead is 0.
        scale_bits: bits stored per scale (16 for an fp16 scale), non-negative.
        zero_bits: bits stored per zero point (0 for symmetric), non-negative.

    Returns:
        A Python float when every argument is a scalar, else a float64 array of
        their broadcast shape.

    Raises:
        ValueError: non-positive bits, group_size not a positive integer, negative
            or non-finite overhead bits, shapes that do not broadcast.
    """
    bits = _positive(bits, "bits")
    scale_bits = _non_negative(scale_bits, "scale_bits")
    zero_bits = _non_negative(zero_bits, "zero_bits")
    if group_size is None:
        group = np.asarray(np.inf)  # one scale for the whole tensor: overhead 0
    else:
        group = _as_array(group_size, "group_size")
        _check(_integral(group) & (group > 0), "group_size", "a positive integer", group)
    _check_broadcast(bits=bits, group_size=group, scale_bits=scale_bits, zero_bits=zero_bits)
    return _float_or_array(bits + (scale_bits + zero_bits) / group)


# --------------------------------------------------------------------------- 4. quantization error


def quantization_mse(w: ArrayLike, w_hat: ArrayLike) -> float:
    """Mean squared error mean((w - w_hat)^2) over every element.

    Args:
        w: original weights, finite and non-empty, any shape.
        w_hat: reconstructed weights, finite, of exactly the shape of w (no broadcasting).

    Returns:
        The MSE as a Python float.

    Raises:
        ValueError: non-finite values, empty w, or shapes that differ.
    """
    w, w_hat = _finite(w, "w"), _finite(w_hat, "w_hat")
    _non_empty(w, "w")
    _same_shape(w, w_hat, "w", "w_hat")
    return float(np.mean((w - w_hat) ** 2))


def sqnr_db(w: ArrayLike, w_hat: ArrayLike) -> float:
    """Signal-to-quantization-noise ratio 10 * log10(sum(w^2) / sum((w - w_hat)^2)) in decibels.

    Args:
        w: original weights, finite, non-empty and not all zero (the signal
            power must be positive for the ratio to mean anything).
        w_hat: reconstructed weights, finite, of exactly the shape of w.

    Returns:
        The SQNR as a Python float; ``inf`` when w_hat equals w (no noise).

    Raises:
        ValueError: non-finite values, empty or all-zero w, or shapes that differ.
    """
    w, w_hat = _finite(w, "w"), _finite(w_hat, "w_hat")
    _non_empty(w, "w")
    _same_shape(w, w_hat, "w", "w_hat")
    if not np.any(w):
        raise ValueError("w must not be all zeros (its signal power is 0), got only zeros")
    peak = np.abs(w).max()  # the ratio ignores a common scale; dividing by it keeps tiny w from underflowing
    signal, noise = np.sum((w / peak) ** 2), np.sum(((w - w_hat) / peak) ** 2)
    if noise == 0:
        return float("inf")
    return float(10 * (np.log10(signal) - np.log10(noise)))  # difference of logs: no overflow


# --------------------------------------------------------------------------- 5. clipping


def best_clip(clips: ArrayLike, mse: ArrayLike) -> float:
    """The clip with the lowest MSE: clips[argmin(mse)], the first one on ties.

    Args:
        clips: candidate clipping values, a non-empty 1-D sequence of finite numbers.
        mse: the MSE of each clip, same length; no NaN (+inf is allowed and never wins
            unless every entry is +inf).

    Returns:
        The winning clip as a Python float.

    Raises:
        ValueError: empty or non-1-D clips, non-finite clips, lengths that differ, NaN in mse.
    """
    clips = _finite(clips, "clips")
    mse = _as_array(mse, "mse")
    if clips.ndim != 1 or clips.size == 0:
        raise ValueError(f"clips must be a non-empty 1-D sequence, got shape {clips.shape}")
    _same_shape(clips, mse, "clips", "mse")
    _check(~np.isnan(mse), "mse", "a number (not NaN)", mse)
    return float(clips[np.argmin(mse)])


def clip_mse(w: ArrayLike, clip: float, bits: int = 4) -> float:
    """Fake-quantization MSE mean((w - s * clip(rint(w / s), -qmax, qmax))^2) with scale s = clip / qmax.

    qmax = 2^(bits-1) - 1 (restricted range), so weights beyond +-clip saturate at +-clip.

    Args:
        w: weights, finite and non-empty, any shape.
        clip: clipping threshold, a positive finite scalar.
        bits: bit width, an integer in [2, 16].

    Returns:
        The MSE as a Python float.

    Raises:
        ValueError: non-finite or empty w, non-positive or non-finite clip, bad bits.
    """
    qmax = qrange(bits)[1]
    w = _finite(w, "w")
    _non_empty(w, "w")
    scale = float(_positive(clip, "clip", scalar=True)) / qmax
    with np.errstate(over="ignore"):  # w / tiny scale may be +-inf, which saturates
        w_hat = scale * np.clip(np.rint(w / scale), -qmax, qmax)
    return quantization_mse(w, w_hat)


# --------------------------------------------------------------------------- 6. softmax and entropy


def softmax(logits: ArrayLike, tau: float = 1.0, axis: int = -1) -> np.ndarray:
    """Probabilities exp(z_i) / sum_j exp(z_j) with z = logits / tau, along axis.

    The maximum is subtracted first (softmax ignores a constant shift), so logits of
    magnitude 1e4 neither overflow nor warn.

    Args:
        logits: finite, non-empty, at least 1-D; any leading dimensions are a batch.
        tau: temperature, a positive finite scalar (high flattens, low sharpens).
        axis: the class axis.

    Returns:
        float64 array of the shape of logits; each slice along axis sums to 1.

    Raises:
        ValueError: non-finite, empty or scalar logits, bad tau, or axis out of range.
    """
    logits = _vectors(logits, "logits")
    tau = float(_positive(tau, "tau", scalar=True))
    e = np.exp(_shifted_logits(logits, tau, axis))
    return e / e.sum(axis=axis, keepdims=True)


def entropy(p: ArrayLike, axis: int = -1) -> float | np.ndarray:
    """Shannon entropy in nats: -sum p_i ln p_i along axis, with 0 ln 0 = 0.

    Args:
        p: probabilities, non-negative, summing to 1 (within 1e-6) along axis.
        axis: the class axis.

    Returns:
        A Python float for a 1-D p; for a batch, a float64 array with axis removed
        (one entropy per distribution).

    Raises:
        ValueError: negative, non-finite or empty p, slices not summing to 1, bad axis.
    """
    p = _distribution(p, "p", axis)
    log_p = np.log(np.where(p > 0, p, 1.0))  # 0 ln 0 = 0, and no log(0) warning
    h = -np.sum(p * log_p, axis=axis)
    return _float_or_array(h + 0.0)  # + 0.0 turns -0.0 into 0.0


# --------------------------------------------------------------------------- 7. KL divergence and KD loss


def kl_divergence(p: ArrayLike, q: ArrayLike, axis: int = -1) -> float | np.ndarray:
    """KL(p || q) = sum_i p_i (ln p_i - ln q_i) along axis: teacher p, student q, in nats.

    Terms with p_i = 0 are 0; a q_i = 0 where p_i > 0 makes the divergence inf
    (no warning either way).

    Args:
        p: teacher probabilities, non-negative, summing to 1 (within 1e-6) along axis.
        q: student probabilities, same conditions, exactly the shape of p.
        axis: the class axis.

    Returns:
        A Python float for 1-D inputs; for a batch, a float64 array with axis
        removed (one divergence per row).

    Raises:
        ValueError: invalid probabilities in p or q, shapes that differ, bad axis.
    """
    p = _distribution(p, "p", axis)
    q = _distribution(q, "q", axis)
    _same_shape(p, q, "p", "q")
    terms = np.zeros_like(p)
    both = (p > 0) & (q > 0)
    terms[both] = p[both] * (np.log(p[both]) - np.log(q[both]))
    terms[(p > 0) & (q == 0)] = np.inf
    return _float_or_array(terms.sum(axis=axis))


def kd_loss(student_logits: ArrayLike, teacher_logits: ArrayLike, tau: float) -> float:
    """Distillation loss tau^2 * mean over the batch of KL(softmax(teacher / tau) || softmax(student / tau)).

    Equals PyTorch ``kl_div(log_softmax(s / tau), softmax(t / tau), reduction="batchmean") * tau**2``
    (Hinton et al. 2015).  Computed with log-softmax, so large logits and high
    temperatures stay finite without warnings.

    Args:
        student_logits: shape (batch, classes), or (classes,) for a batch of one; finite.
        teacher_logits: finite, exactly the shape of student_logits.
        tau: temperature, a positive finite scalar.

    Returns:
        The loss as a Python float.

    Raises:
        ValueError: non-finite or empty logits, more than 2 dimensions, shapes
            that differ, or bad tau.
    """
    s = _logit_batch(student_logits, "student_logits")
    t = _logit_batch(teacher_logits, "teacher_logits")
    _same_shape(s, t, "student_logits", "teacher_logits")
    tau = float(_positive(tau, "tau", scalar=True))
    log_p, log_q = _log_softmax(t, tau), _log_softmax(s, tau)
    p = np.exp(log_p)
    with np.errstate(invalid="ignore"):  # 0 * -inf where a teacher probability is exactly 0
        terms = np.where(p > 0, p * (log_p - log_q), 0.0)
    kl_per_example = terms.sum(axis=-1)
    return float(tau**2 * kl_per_example.mean())


# --------------------------------------------------------------------------- 8. hard and soft targets


def combined_loss(ce: ArrayLike, kd: ArrayLike, alpha: ArrayLike) -> float | np.ndarray:
    """Weighted loss alpha * ce + (1 - alpha) * kd: alpha weights the hard labels.

    Args:
        ce: cross-entropy against the labels, finite.
        kd: distillation loss, finite.
        alpha: weight of ce, in [0, 1].

    Returns:
        A Python float when every argument is a scalar, else a float64 array of
        their broadcast shape.

    Raises:
        ValueError: non-finite ce or kd, alpha outside [0, 1] or NaN, shapes that
            do not broadcast.
    """
    ce, kd = _finite(ce, "ce"), _finite(kd, "kd")
    alpha = _unit(alpha, "alpha")
    _check_broadcast(ce=ce, kd=kd, alpha=alpha)
    return _float_or_array(alpha * ce + (1 - alpha) * kd)


def distillation_loss(
    student_logits: ArrayLike, teacher_logits: ArrayLike, labels: ArrayLike, tau: float, alpha: float
) -> float:
    """Objective alpha * CE + (1 - alpha) * kd_loss, CE = -mean_n ln softmax(student_n)[label_n] at tau 1.

    Args:
        student_logits: shape (batch, classes), or (classes,) for a batch of one; finite.
        teacher_logits: finite, exactly the shape of student_logits.
        labels: one class index per example, integers in [0, classes); a single
            example may give a scalar label.
        tau: temperature of the KD term, a positive finite scalar (the CE term
            always uses temperature 1).
        alpha: weight of the CE term, a scalar in [0, 1].

    Returns:
        The loss as a Python float.

    Raises:
        ValueError: bad logits or tau (as in kd_loss), labels of the wrong shape,
            not integers or out of range, alpha outside [0, 1].
    """
    alpha = float(_unit(alpha, "alpha", scalar=True))
    s = _logit_batch(student_logits, "student_logits")
    batch, classes = s.shape
    labels = np.atleast_1d(_as_array(labels, "labels"))
    if labels.shape != (batch,):
        raise ValueError(f"labels must hold one label per example, shape ({batch},), got {labels.shape}")
    _check(_integral(labels) & (labels >= 0) & (labels < classes), "labels",
           f"integers in [0, {classes})", labels)
    log_q = _log_softmax(s, 1.0)
    ce = -np.mean(log_q[np.arange(batch), labels.astype(np.int64)])
    return combined_loss(ce, kd_loss(student_logits, teacher_logits, tau), alpha)


# --------------------------------------------------------------------------- 9. fine-tuning memory


def adam_state_gb(
    n_trainable: ArrayLike, bytes_per_value: ArrayLike = 4, n_moments: ArrayLike = 2
) -> float | np.ndarray:
    """Optimizer state in decimal gigabytes: n_trainable * bytes_per_value * n_moments / 1e9.

    Args:
        n_trainable: trainable parameters, non-negative and finite.
        bytes_per_value: bytes per stored moment (4 for fp32), positive and finite.
        n_moments: moments kept per parameter (2 for Adam, 0 for plain SGD),
            a non-negative integer.

    Returns:
        A Python float when every argument is a scalar, else a float64 array of
        their broadcast shape.

    Raises:
        ValueError: negative counts, non-positive sizes, non-finite values, a
            fractional n_moments, shapes that do not broadcast.
    """
    n_trainable = _non_negative(n_trainable, "n_trainable")
    bytes_per_value = _positive(bytes_per_value, "bytes_per_value")
    n_moments = _non_negative(n_moments, "n_moments")
    _check(_integral(n_moments), "n_moments", "an integer", n_moments)
    _check_broadcast(n_trainable=n_trainable, bytes_per_value=bytes_per_value, n_moments=n_moments)
    return _float_or_array(n_trainable * bytes_per_value * n_moments / 1e9)


def finetune_memory_gb(
    n_frozen: ArrayLike,
    n_trainable: ArrayLike,
    frozen_bits: ArrayLike = 16,
    bytes_per_trainable: ArrayLike = 12,
) -> float | np.ndarray:
    """Fine-tuning GB: (n_frozen * frozen_bits / 8 + n_trainable * bytes_per_trainable) / 1e9 (decimal).

    12 bytes per trainable parameter = bf16 weight (2) + bf16 gradient (2) + two
    fp32 Adam moments (8); a mixed-precision setup with an fp32 master copy needs 16.

    Args:
        n_frozen: frozen (possibly quantized) parameters, non-negative and finite.
        n_trainable: trainable parameters (e.g. LoRA adapters), non-negative and finite.
        frozen_bits: bits per frozen parameter, positive and finite (4.125 is fine).
        bytes_per_trainable: bytes per trainable parameter, positive and finite.

    Returns:
        A Python float when every argument is a scalar, else a float64 array of
        their broadcast shape.

    Raises:
        ValueError: negative counts, non-positive sizes, non-finite values, shapes
            that do not broadcast.
    """
    n_frozen = _non_negative(n_frozen, "n_frozen")
    n_trainable = _non_negative(n_trainable, "n_trainable")
    frozen_bits = _positive(frozen_bits, "frozen_bits")
    bytes_per_trainable = _positive(bytes_per_trainable, "bytes_per_trainable")
    _check_broadcast(n_frozen=n_frozen, n_trainable=n_trainable, frozen_bits=frozen_bits,
                     bytes_per_trainable=bytes_per_trainable)
    return _float_or_array((n_frozen * frozen_bits / 8 + n_trainable * bytes_per_trainable) / 1e9)


# --------------------------------------------------------------------------- 10. shipping gates


def _task_scores(metrics: Mapping) -> tuple[dict, dict]:
    """The two task-score dicts: non-empty, naming the same tasks, holding finite scores."""
    scores = {}
    for key in ("task_scores_baseline", "task_scores_quantized"):
        table = metrics[key]
        if not isinstance(table, Mapping) or not table:
            raise ValueError(f"metrics['{key}'] must be a non-empty dict task -> score, got {table!r}")
        scores[key] = {task: float(_finite(s, f"metrics['{key}'][{task!r}]", scalar=True))
                       for task, s in table.items()}
    base, quant = scores.values()
    if base.keys() != quant.keys():
        missing, extra = sorted(base.keys() - quant.keys()), sorted(quant.keys() - base.keys())
        raise ValueError(f"metrics['task_scores_quantized'] must score the same tasks as "
                         f"metrics['task_scores_baseline'], got missing {missing}, extra {extra}")
    return base, quant


def shipping_gates(
    metrics: Mapping,
    max_loss_increase: float = 0.02,
    min_coverage: float = 0.999,
    max_task_drop: float = 1.0,
) -> dict[str, bool]:
    """Four release gates and their conjunction: ship = calibration and heldout_loss and latency and quality.

    - calibration: calibration_coverage >= min_coverage.
    - heldout_loss: (loss_quantized - loss_baseline) / loss_baseline <= max_loss_increase,
      compared exactly as written (note that 1.02 - 1.0 is slightly above 0.02 in floating point).
    - latency: latency_quantized_ms < latency_baseline_ms (strictly faster).
    - quality: every task's drop task_scores_baseline[t] - task_scores_quantized[t]
      is <= max_task_drop points, and safety_pass is True.

    Args:
        metrics: mapping with the keys calibration_coverage (in [0, 1]),
            loss_baseline (positive), loss_quantized (non-negative),
            latency_baseline_ms and latency_quantized_ms (positive),
            task_scores_baseline and task_scores_quantized (non-empty dicts
            task -> finite score, naming the same tasks) and safety_pass (a bool).
            Extra keys are ignored.
        max_loss_increase: largest relative held-out loss increase, non-negative and finite.
        min_coverage: smallest calibration coverage, in [0, 1].
        max_task_drop: largest drop on any task in points, non-negative and finite.

    Returns:
        A dict with exactly the keys calibration, heldout_loss, latency, quality and
        ship, each a Python bool.

    Raises:
        ValueError: metrics not a mapping, a missing key (named), a metric of the
            wrong type or out of range, task dicts naming different tasks, bad thresholds.
    """
    if not isinstance(metrics, Mapping):
        raise ValueError(f"metrics must be a dict, got {type(metrics).__name__}")
    missing = [key for key in _METRIC_KEYS if key not in metrics]
    if missing:
        raise ValueError(f"metrics is missing the key(s) {', '.join(map(repr, missing))}")
    max_loss_increase = float(_non_negative(max_loss_increase, "max_loss_increase", scalar=True))
    min_coverage = float(_unit(min_coverage, "min_coverage", scalar=True))
    max_task_drop = float(_non_negative(max_task_drop, "max_task_drop", scalar=True))
    coverage = float(_unit(metrics["calibration_coverage"], "metrics['calibration_coverage']", scalar=True))
    loss_base = float(_positive(metrics["loss_baseline"], "metrics['loss_baseline']", scalar=True))
    loss_quant = float(_non_negative(metrics["loss_quantized"], "metrics['loss_quantized']", scalar=True))
    latency_base = float(_positive(metrics["latency_baseline_ms"], "metrics['latency_baseline_ms']",
                                   scalar=True))
    latency_quant = float(_positive(metrics["latency_quantized_ms"], "metrics['latency_quantized_ms']",
                                    scalar=True))
    base, quant = _task_scores(metrics)
    safety = metrics["safety_pass"]
    if not isinstance(safety, bool | np.bool_):
        raise ValueError(f"metrics['safety_pass'] must be True or False, got {safety!r}")
    gates = {
        "calibration": coverage >= min_coverage,
        "heldout_loss": (loss_quant - loss_base) / loss_base <= max_loss_increase,
        "latency": latency_quant < latency_base,
        "quality": all(base[t] - quant[t] <= max_task_drop for t in base) and bool(safety),
    }
    gates["ship"] = all(gates.values())
    return gates


def calibration_coverage(activations: ArrayLike, clip: float) -> float:
    """Fraction of activations inside the clipping range: mean(abs(a) <= clip).

    The comparison is inclusive (a value exactly at +-clip is covered).  +-inf
    activations (fp16 overflow) are allowed and count as not covered.

    Args:
        activations: deployment activations, non-empty, any shape, no NaN.
        clip: clipping threshold, a non-negative finite scalar.

    Returns:
        The coverage in [0, 1] as a Python float.

    Raises:
        ValueError: empty activations or NaN among them, negative or non-finite clip.
    """
    a = _as_array(activations, "activations")
    _non_empty(a, "activations")
    _check(~np.isnan(a), "activations", "a number (not NaN)", a)
    clip = float(_non_negative(clip, "clip", scalar=True))
    return float(np.mean(np.abs(a) <= clip))


# --------------------------------------------------------------------------- capstone: a real model

GRANULARITIES = ("tensor", "channel", "group")


def _weight_matrix(value: ArrayLike, name: str) -> np.ndarray:
    """A finite, non-empty 2-D array: (out_features, in_features), one row per output channel."""
    w = _finite(value, name)
    if w.ndim != 2:
        raise ValueError(f"{name} must be a 2-D weight matrix (out_features, in_features), got shape {w.shape}")
    _non_empty(w, name)
    return w


def quantize_tensor(w: ArrayLike, bits: int = 8, granularity: str = "tensor", group_size: int = 128) -> np.ndarray:
    """Symmetric fake quantization of a weight matrix: w_hat = s * clip(rint(w / s), -qmax, qmax).

    One scale s = symmetric_scale(max |w|, bits) per unit of ``granularity``: the whole
    tensor ("tensor"), each row, i.e. each output channel ("channel"), or each run of
    ``group_size`` consecutive weights within a row ("group"; in_features must be a
    multiple of group_size).  qmax = 2^(bits-1) - 1 (the restricted range), rounding
    is half to even, and an all-zero unit gets scale 1.0 (its weights stay 0).

    Args:
        w: weight matrix of shape (out_features, in_features), finite, non-empty.
        bits: bit width, an integer in [2, 16].
        granularity: "tensor", "channel" or "group".
        group_size: weights per group, a positive integer dividing in_features; read
            only when granularity is "group".

    Returns:
        float64 array of the shape of w: the dequantized weights.

    Raises:
        ValueError: w not a finite non-empty 2-D array, bad bits, an unknown
            granularity, or (for "group") a group_size that is not a positive
            integer dividing in_features.
    """
    w = _weight_matrix(w, "w")
    qmax = qrange(bits)[1]
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(map(repr, GRANULARITIES))}, got {granularity!r}")
    rows, cols = w.shape
    if granularity == "group":
        size = _as_int(group_size, "group_size", 1, cols)
        if cols % size:
            raise ValueError(f"group_size must divide in_features {cols}, got {size}")
        units = w.reshape(rows, cols // size, size)
    elif granularity == "channel":
        units = w.reshape(rows, 1, cols)
    else:
        units = w.reshape(1, 1, rows * cols)
    scale = symmetric_scale(np.abs(units).max(axis=-1, keepdims=True), bits)
    return (scale * np.clip(np.rint(units / scale), -qmax, qmax)).reshape(rows, cols)


def weight_stats(w: ArrayLike) -> dict[str, float]:
    """Outlier statistics of a tensor: max |w|, the standard deviation and the excess kurtosis.

    std is the population standard deviation (np.std, ddof=0).  kurtosis is the
    excess kurtosis m4 / m2^2 - 3 with central moments m_k = mean((w - mean w)^k):
    0 for a Gaussian, large when a few weights are far out in the tails.

    Args:
        w: any shape, finite, non-empty, not constant.

    Returns:
        {"max_abs": float, "std": float, "kurtosis": float}, Python floats.

    Raises:
        ValueError: empty or non-finite w, or a constant w (kurtosis undefined).
    """
    w = _finite(w, "w")
    _non_empty(w, "w")
    centred = w - w.mean()
    m2 = float(np.mean(centred**2))
    if m2 == 0:
        raise ValueError("w must not be constant: its kurtosis is undefined (zero variance)")
    return {"max_abs": float(np.max(np.abs(w))), "std": float(np.sqrt(m2)),
            "kurtosis": float(np.mean(centred**4)) / m2**2 - 3.0}


def _unit_rows(value: ArrayLike, name: str) -> np.ndarray:
    """Rows of a finite 1-D or 2-D array scaled to unit length; ValueError on a zero row."""
    v = _finite(value, name)
    if v.ndim not in (1, 2) or v.shape[-1] == 0:
        raise ValueError(f"{name} must be a non-empty vector or a 2-D array of row vectors, got shape {v.shape}")
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(f"{name} must have no zero vector: the cosine of a zero vector is undefined")
    return v / norms


def cosine_similarity(a: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """Row-wise cosine similarity a_i . b_i / (|a_i| |b_i|).

    Args:
        a, b: two vectors, or two 2-D arrays of row vectors, of the same shape; finite,
            no zero vector.

    Returns:
        A Python float for two vectors, a float64 array with one value per row otherwise.

    Raises:
        ValueError: shapes that differ, non-finite values, a zero vector.
    """
    a_arr, b_arr = _finite(a, "a"), _finite(b, "b")
    _same_shape(a_arr, b_arr, "a", "b")
    return _float_or_array(np.sum(_unit_rows(a_arr, "a") * _unit_rows(b_arr, "b"), axis=-1))


def nearest_neighbours(embeddings: ArrayLike) -> np.ndarray:
    """For each row i, the index j != i of the most cosine-similar other row; the lowest j on ties.

    Args:
        embeddings: 2-D array (n, d) with n >= 2 rows, finite, no zero row.

    Returns:
        int64 array of shape (n,).

    Raises:
        ValueError: not 2-D, fewer than 2 rows, non-finite values, a zero row.
    """
    e = _finite(embeddings, "embeddings")
    if e.ndim != 2 or e.shape[0] < 2:
        raise ValueError(f"embeddings must be a 2-D array of at least 2 rows, got shape {e.shape}")
    unit = _unit_rows(e, "embeddings")
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    return np.argmax(similarity, axis=1).astype(np.int64)

"""Honest style: a validation decorator, type hints and typed results.

Argument checks are declared next to each function with ``@validate(...)``, small rule functions
that say what is wrong ("must be positive and finite") and a ``BadArgument`` exception, a subclass of
``ValueError`` whose message reads "invalid <name>: <requirement> (got <value>)" ("invalid zero
point: ...").  ``qrange`` and ``affine_params`` return ``typing.NamedTuple`` records,
``shipping_gates`` a ``collections.OrderedDict``, and the reductions ``np.float64`` scalars where the
course promises a Python float (the spec allows both).  ``best_clip`` prints a debug line, as
students' code often does.  The log-sum-exp is ``np.logaddexp.reduce``; ``np.einsum`` sums the KD
terms.

The graded functions come in the notebook's order and use only what is defined above them, so the
file splits into notebook cells (tests/hostile/honest_styles.py does that: each graded function with
the helpers written just above it).
"""

import functools
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

ArrayLike = float | int | Sequence | np.ndarray
Rule = Callable[[object], "str | None"]  # a rule returns what is wrong with a value, or None


class BadArgument(ValueError):
    """A ValueError about one argument, which it names."""

    def __init__(self, name: str, requirement: str, value: object):
        shown = repr(value)
        super().__init__(f"invalid {name}: {requirement} (got {shown if len(shown) <= 80 else shown[:77] + '...'})")
        self.argument = name


def validate(parameters: tuple[str, ...], **rules: Rule):
    """Check the arguments named in ``rules`` before the function runs.

    ``parameters`` lists the function's parameters in order, so that positional arguments can be
    matched with their names; arguments left at their defaults are not checked (the defaults are valid).
    """
    unknown = set(rules) - set(parameters)
    if unknown:
        raise TypeError(f"rules for unknown parameters: {sorted(unknown)}")

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def checked(*args, **kwargs):
            given = dict(zip(parameters, args, strict=False))  # fewer args: defaults
            given.update(kwargs)
            for name, rule in rules.items():
                if name in given:
                    problem = rule(given[name])
                    if problem:
                        raise BadArgument(name, problem, given[name])
            return function(*args, **kwargs)

        return checked

    return decorate


def _numbers(value: object) -> np.ndarray | None:
    """value as a float64 array, or None when it is not numbers (a bool is not a number here)."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def finite(value: object) -> str | None:
    arr = _numbers(value)
    return None if arr is not None and np.all(np.isfinite(arr)) else "must hold finite numbers"


def finite_non_empty(value: object) -> str | None:
    arr = _numbers(value)
    ok = arr is not None and arr.size > 0 and np.all(np.isfinite(arr))
    return None if ok else "must be a non-empty array of finite numbers"


def positive(value: object) -> str | None:
    arr = _numbers(value)
    return None if arr is not None and np.all(np.isfinite(arr) & (arr > 0)) else "must be positive and finite"


def non_negative(value: object) -> str | None:
    arr = _numbers(value)
    return None if arr is not None and np.all(np.isfinite(arr) & (arr >= 0)) else "must be >= 0 and finite"


def unit_interval(value: object) -> str | None:
    arr = _numbers(value)
    return None if arr is not None and np.all((arr >= 0) & (arr <= 1)) else "must lie between 0 and 1"


def no_nan(value: object) -> str | None:
    arr = _numbers(value)
    if arr is None or arr.size == 0:
        return "must be a non-empty array of numbers"
    return None if not np.any(np.isnan(arr)) else "must not contain NaN"


def scalar(rule: Rule) -> Rule:
    """The same rule, for a single number only."""

    def single(value: object) -> str | None:
        if np.ndim(value) != 0:
            return "must be a single number"
        return rule(value)

    return single


def optional(rule: Rule) -> Rule:
    """The same rule, with None allowed."""
    return lambda value: None if value is None else rule(value)


def whole(value: object) -> str | None:
    """Every entry an integer value (3 or 3.0, not 3.5)."""
    arr = _numbers(value)
    return None if arr is not None and np.all(np.isfinite(arr) & (arr == np.floor(arr))) else "must hold integers"


def whole_scalar(value: object) -> str | None:
    return scalar(whole)(value)


def bit_width(value: object) -> str | None:
    if whole_scalar(value) is None and 2 <= value <= 16:
        return None
    return "must be an integer between 2 and 16"


def non_negative_integer(value: object) -> str | None:
    return non_negative(value) or whole(value)


def positive_integer(value: object) -> str | None:
    return positive(value) or whole(value)


class QRange(NamedTuple):
    qmin: int
    qmax: int


def _code_range(bits: int, signed: bool) -> QRange:
    if signed:
        return QRange(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return QRange(0, 2**bits - 1)


def _broadcast(**arrays: ArrayLike) -> list[np.ndarray]:
    """The float64 arrays broadcast together; BadArgument naming the last one when they do not."""
    values = {name: np.asarray(v, dtype=np.float64) for name, v in arrays.items()}
    try:
        return np.broadcast_arrays(*values.values())
    except ValueError:
        last = list(values)[-1]
        shapes = {name: a.shape for name, a in values.items()}
        raise BadArgument(last, "must broadcast against the other arguments", shapes) from None


def _float_or_array(result: ArrayLike) -> np.float64 | np.ndarray:
    return np.float64(result) if np.ndim(result) == 0 else np.asarray(result, dtype=np.float64)


@validate(("x", "scale", "zero_point", "bits", "signed"), x=finite, scale=positive, bits=bit_width)
def quantize(x: ArrayLike, scale: ArrayLike, zero_point: int = 0, bits: int = 8, signed: bool = True) -> np.ndarray:
    """int64 codes clip(rint(x / scale) + zero_point, qmin, qmax)."""
    qmin, qmax = _code_range(int(bits), signed)
    if whole_scalar(zero_point) or not qmin <= zero_point <= qmax:
        raise BadArgument("zero point", f"must be an integer in [{qmin}, {qmax}]", zero_point)
    values, steps = _broadcast(x=x, scale=scale)
    with np.errstate(over="ignore"):  # x / a tiny scale may be inf; it saturates at the clip
        codes = np.rint(values / steps) + int(zero_point)
    return np.asarray(np.clip(codes, qmin, qmax), dtype=np.int64)  # 0-d for a scalar x


@validate(("q", "scale", "zero_point"), q=whole, scale=positive, zero_point=whole_scalar)
def dequantize(q: ArrayLike, scale: ArrayLike, zero_point: int = 0) -> np.ndarray:
    """float64 values scale * (q - zero_point)."""
    codes, steps = _broadcast(q=q, scale=scale)
    return np.asarray(steps * (codes - int(zero_point)), dtype=np.float64)


@validate(("bits", "signed"), bits=bit_width)
def qrange(bits: int, signed: bool = True) -> QRange:
    """QRange(qmin, qmax), a NamedTuple of two Python ints."""
    return _code_range(int(bits), signed)


@validate(("max_abs", "bits"), max_abs=non_negative, bits=bit_width)
def symmetric_scale(max_abs: ArrayLike, bits: int = 4) -> np.float64 | np.ndarray:
    """max_abs / (2^(bits-1) - 1), and 1.0 where max_abs is 0."""
    peak = np.asarray(max_abs, dtype=np.float64)
    qmax = 2 ** (int(bits) - 1) - 1
    return _float_or_array(np.divide(peak, qmax, out=np.ones_like(peak), where=peak > 0))


class AffineParams(NamedTuple):
    scale: float
    zero_point: int


@validate(("x_min", "x_max", "bits"), x_min=scalar(finite), x_max=scalar(finite), bits=bit_width)
def affine_params(x_min: float, x_max: float, bits: int = 8) -> AffineParams:
    """AffineParams(scale, zero_point) over [min(x_min, 0), max(x_max, 0)]."""
    if x_min > x_max:
        raise BadArgument("x_min", f"must not be above x_max = {x_max!r}", x_min)
    lo, hi = min(float(x_min), 0.0), max(float(x_max), 0.0)
    if lo == hi:
        return AffineParams(1.0, 0)
    top = 2 ** int(bits) - 1
    scale = (hi - lo) / top
    return AffineParams(np.float64(scale), int(np.clip(np.around(-lo / scale), 0, top)))


@validate(("n_params", "bits"), n_params=non_negative, bits=positive)
def memory_gb(n_params: ArrayLike, bits: ArrayLike) -> np.float64 | np.ndarray:
    """n_params * bits / 8 / 1e9."""
    n, b = _broadcast(n_params=n_params, bits=bits)
    return _float_or_array(n * b / 8 / 1e9)


@validate(("bits", "group_size", "scale_bits", "zero_bits"), bits=positive, group_size=optional(positive_integer),
          scale_bits=non_negative, zero_bits=non_negative)
def effective_bits(bits: ArrayLike, group_size: ArrayLike | None = None, scale_bits: ArrayLike = 16,
                   zero_bits: ArrayLike = 0) -> np.float64 | np.ndarray:
    """bits + (scale_bits + zero_bits) / group_size; per-tensor (None) has no overhead."""
    if group_size is None:
        b, s, z = _broadcast(bits=bits, scale_bits=scale_bits, zero_bits=zero_bits)
        return _float_or_array(b + np.zeros_like(s + z))  # the broadcast shape, no overhead
    b, s, z, g = _broadcast(bits=bits, scale_bits=scale_bits, zero_bits=zero_bits, group_size=group_size)
    return _float_or_array(b + (s + z) / g)


def _same_shape(w: ArrayLike, w_hat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(w, dtype=np.float64), np.asarray(w_hat, dtype=np.float64)
    if a.shape != b.shape:
        raise BadArgument("w_hat", f"must have exactly the shape of w, {a.shape}", b.shape)
    return a, b


@validate(("w", "w_hat"), w=finite_non_empty, w_hat=finite)
def quantization_mse(w: ArrayLike, w_hat: ArrayLike) -> np.float64:
    """mean((w - w_hat)^2)."""
    a, b = _same_shape(w, w_hat)
    return np.float64(np.mean((a - b) ** 2))


@validate(("w", "w_hat"), w=finite_non_empty, w_hat=finite)
def sqnr_db(w: ArrayLike, w_hat: ArrayLike) -> np.float64:
    """10 log10(signal power / noise power), powers as dot products; inf without noise."""
    a, b = _same_shape(w, w_hat)
    diff = (a - b).ravel()
    signal, noise = float(np.dot(a.ravel(), a.ravel())), float(np.dot(diff, diff))
    if signal == 0:
        raise BadArgument("w", "must not be all zeros (no signal power)", w)
    if noise == 0:
        return np.float64(math.inf)
    return np.float64(10 * math.log10(signal / noise))


@validate(("clips", "mse"), clips=finite_non_empty, mse=no_nan)
def best_clip(clips: ArrayLike, mse: ArrayLike) -> np.float64:
    """The first clip whose MSE equals the minimum."""
    c, m = np.asarray(clips, dtype=np.float64), np.asarray(mse, dtype=np.float64)
    if c.ndim != 1:
        raise BadArgument("clips", "must be a 1-D sweep", c.shape)
    if m.shape != c.shape:
        raise BadArgument("mse", f"must hold one value per clip, shape {c.shape}", m.shape)
    first = int(np.flatnonzero(m == m.min())[0])
    print(f"[best_clip] {c.size} clips, lowest MSE {m[first]:.4g} at clip {c[first]:g}")
    return np.float64(c[first])


@validate(("w", "clip", "bits"), w=finite_non_empty, clip=scalar(positive), bits=bit_width)
def clip_mse(w: ArrayLike, clip: float, bits: int = 4) -> np.float64:
    """MSE of fake-quantizing w on the restricted grid [-qmax, qmax] * clip / qmax."""
    qmax = 2 ** (int(bits) - 1) - 1
    step = float(clip) / qmax
    weights = np.asarray(w, dtype=np.float64)
    with np.errstate(over="ignore"):
        w_hat = step * np.clip(np.rint(weights / step), -qmax, qmax)
    return np.float64(np.mean(np.square(weights - w_hat)))


def _log_softmax(z: np.ndarray, tau: float, axis: int) -> np.ndarray:
    scaled = z / tau
    return scaled - np.logaddexp.reduce(scaled, axis=axis, keepdims=True)


@validate(("logits", "tau", "axis"), logits=finite_non_empty, tau=scalar(positive))
def softmax(logits: ArrayLike, tau: float = 1.0, axis: int = -1) -> np.ndarray:
    """exp(z / tau - logsumexp(z / tau)) along axis."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim == 0:
        raise BadArgument("logits", "must have a class axis", logits)
    return np.exp(_log_softmax(z, float(tau), axis))


def probabilities(value: object) -> str | None:
    arr = _numbers(value)
    if arr is None or arr.ndim == 0 or arr.size == 0:
        return "must be a non-empty array of probabilities"
    return None if np.all(np.isfinite(arr) & (arr >= 0)) else "must be non-negative"


def _normalised(value: ArrayLike, name: str, axis: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    sums = arr.sum(axis=axis)
    if np.any(np.abs(sums - 1.0) > 1e-6):
        raise BadArgument(name, f"must sum to 1 along axis {axis} (within 1e-6)", sums)
    return arr


@validate(("p", "axis"), p=probabilities)
def entropy(p: ArrayLike, axis: int = -1) -> np.float64 | np.ndarray:
    """-sum p ln p in nats; np.log only where p > 0, so 0 ln 0 = 0 without a warning."""
    probs = _normalised(p, "p", axis)
    log_p = np.log(probs, out=np.zeros_like(probs), where=probs > 0)
    return _float_or_array(-np.sum(probs * log_p, axis=axis) + 0.0)


@validate(("p", "q", "axis"), p=probabilities, q=probabilities)
def kl_divergence(p: ArrayLike, q: ArrayLike, axis: int = -1) -> np.float64 | np.ndarray:
    """sum p (ln p - ln q) along axis; 0 where p = 0, inf where q = 0 < p."""
    pa, qa = _normalised(p, "p", axis), _normalised(q, "q", axis)
    if pa.shape != qa.shape:
        raise BadArgument("q", f"must have the shape of p, {pa.shape}", qa.shape)
    log_p = np.log(pa, out=np.zeros_like(pa), where=pa > 0)
    with np.errstate(divide="ignore"):  # log 0 = -inf is meant: it makes the divergence inf
        log_q = np.log(qa)
    terms = np.multiply(pa, log_p - log_q, out=np.zeros_like(pa), where=pa > 0)
    return _float_or_array(terms.sum(axis=axis))


def _logit_batch(student_logits: ArrayLike, teacher_logits: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s, t = np.asarray(student_logits, dtype=np.float64), np.asarray(teacher_logits, dtype=np.float64)
    if s.shape != t.shape:
        raise BadArgument("teacher_logits", f"must have the shape of student_logits, {s.shape}", t.shape)
    if s.ndim not in (1, 2):
        raise BadArgument("student_logits", "must be (classes,) or (batch, classes)", s.shape)
    return np.atleast_2d(s), np.atleast_2d(t)


@validate(("student_logits", "teacher_logits", "tau"), student_logits=finite_non_empty,
          teacher_logits=finite_non_empty, tau=scalar(positive))
def kd_loss(student_logits: ArrayLike, teacher_logits: ArrayLike, tau: float) -> np.float64:
    """tau^2 * batch mean of KL(softmax(t / tau) || softmax(s / tau))."""
    s, t = _logit_batch(student_logits, teacher_logits)
    log_p, log_q = _log_softmax(t, float(tau), -1), _log_softmax(s, float(tau), -1)
    kl_rows = np.einsum("bc,bc->b", np.exp(log_p), log_p - log_q)
    return np.float64(tau**2 * kl_rows.mean())


@validate(("ce", "kd", "alpha"), ce=finite, kd=finite, alpha=unit_interval)
def combined_loss(ce: ArrayLike, kd: ArrayLike, alpha: ArrayLike) -> np.float64 | np.ndarray:
    """alpha * ce + (1 - alpha) * kd."""
    c, k, a = _broadcast(ce=ce, kd=kd, alpha=alpha)
    return _float_or_array(a * c + (1.0 - a) * k)


@validate(("student_logits", "teacher_logits", "labels", "tau", "alpha"), student_logits=finite_non_empty,
          teacher_logits=finite_non_empty, tau=scalar(positive), alpha=scalar(unit_interval))
def distillation_loss(student_logits: ArrayLike, teacher_logits: ArrayLike, labels: ArrayLike, tau: float,
                      alpha: float) -> np.float64:
    """alpha * cross-entropy at temperature 1 + (1 - alpha) * kd_loss."""
    s, _ = _logit_batch(student_logits, teacher_logits)
    batch, classes = s.shape
    y = np.atleast_1d(np.asarray(labels))
    if y.dtype.kind not in "iuf" or whole(y) or np.any((y < 0) | (y >= classes)):
        raise BadArgument("labels", f"must be integer class indices in [0, {classes})", labels)
    if y.shape != (batch,):
        raise BadArgument("labels", f"must hold one label per example, shape ({batch},)", y.shape)
    log_q = _log_softmax(s, 1.0, -1)
    ce = -log_q[np.arange(batch), y.astype(np.int64)].mean()
    return np.float64(alpha * ce + (1 - alpha) * kd_loss(student_logits, teacher_logits, tau))


@validate(("n_trainable", "bytes_per_value", "n_moments"), n_trainable=non_negative, bytes_per_value=positive,
          n_moments=non_negative_integer)
def adam_state_gb(n_trainable: ArrayLike, bytes_per_value: ArrayLike = 4,
                  n_moments: ArrayLike = 2) -> np.float64 | np.ndarray:
    """n_trainable * bytes_per_value * n_moments / 1e9."""
    n, b, m = _broadcast(n_trainable=n_trainable, bytes_per_value=bytes_per_value, n_moments=n_moments)
    return _float_or_array(n * b * m / 1e9)


@validate(("n_frozen", "n_trainable", "frozen_bits", "bytes_per_trainable"), n_frozen=non_negative,
          n_trainable=non_negative, frozen_bits=positive, bytes_per_trainable=positive)
def finetune_memory_gb(n_frozen: ArrayLike, n_trainable: ArrayLike, frozen_bits: ArrayLike = 16,
                       bytes_per_trainable: ArrayLike = 12) -> np.float64 | np.ndarray:
    """(n_frozen * frozen_bits / 8 + n_trainable * bytes_per_trainable) / 1e9."""
    nf, nt, fb, bt = _broadcast(n_frozen=n_frozen, n_trainable=n_trainable, frozen_bits=frozen_bits,
                                bytes_per_trainable=bytes_per_trainable)
    return _float_or_array((nf * fb / 8 + nt * bt) / 1e9)


METRIC_KEYS = ("calibration_coverage", "loss_baseline", "loss_quantized", "latency_baseline_ms",
               "latency_quantized_ms", "task_scores_baseline", "task_scores_quantized", "safety_pass")


def every_metric(value: object) -> str | None:
    if not isinstance(value, Mapping):
        return "must be a dict of metrics"
    missing = [key for key in METRIC_KEYS if key not in value]
    return f"lacks the metric {missing[0]!r}" if missing else None


@validate(("metrics", "max_loss_increase", "min_coverage", "max_task_drop"), metrics=every_metric,
          max_loss_increase=scalar(non_negative), min_coverage=scalar(unit_interval), max_task_drop=scalar(non_negative))
def shipping_gates(metrics: Mapping, max_loss_increase: float = 0.02, min_coverage: float = 0.999,
                   max_task_drop: float = 1.0) -> OrderedDict:
    """OrderedDict of the four gates (Python bools) and ship."""
    base, quant = metrics["task_scores_baseline"], metrics["task_scores_quantized"]
    if base.keys() != quant.keys():
        raise BadArgument("task_scores_quantized", "must score the same tasks as task_scores_baseline", sorted(quant))
    if not metrics["loss_baseline"] > 0:
        raise BadArgument("loss_baseline", "must be positive", metrics["loss_baseline"])
    relative = (metrics["loss_quantized"] - metrics["loss_baseline"]) / metrics["loss_baseline"]
    worst_drop = max((base[t] - quant[t] for t in base), default=-math.inf)
    gates = OrderedDict()
    gates["calibration"] = bool(metrics["calibration_coverage"] >= min_coverage)
    gates["heldout_loss"] = bool(relative <= max_loss_increase)
    gates["latency"] = bool(metrics["latency_quantized_ms"] < metrics["latency_baseline_ms"])
    gates["quality"] = bool(worst_drop <= max_task_drop) and bool(metrics["safety_pass"])
    gates["ship"] = all(gates.values())
    return gates


@validate(("activations", "clip"), activations=no_nan, clip=scalar(non_negative))
def calibration_coverage(activations: ArrayLike, clip: float) -> np.float64:
    """The fraction of |a| <= clip."""
    a = np.asarray(activations, dtype=np.float64)
    return np.float64(np.count_nonzero(np.abs(a) <= clip) / a.size)

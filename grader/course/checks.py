"""Hidden grading checks: one public function per hidden test cell of the exercises.

Each check is named after its grade_id in ``grader.course`` and takes the
student function(s) it exercises, named like them::

    from grader.course import checks
    checks.quantize_half_to_even(quantize)

It calls the student function on fixed small cases and seeded random inputs,
compares the result with ``grader.course.reference`` (floats with rtol 1e-9, integers
and bools exactly, return types as the course states them) and raises
``CheckFailed`` (an ``AssertionError``) naming the call, the expected and
actual values and, when the answer matches a known wrong formula, the likely
misconception; the exception also carries the kind of failure and the stable
ids of the misconceptions, which the grader stores with the graded cell.  Student
calls run with warnings recorded, so an honest warning never reaches stderr;
only the numerical-stability checks fail on a ``RuntimeWarning``.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from grader.course import reference

RTOL = 1e-9
ATOL = 1e-12  # absolute slack for results that should be exactly 0 (e.g. KL(p || p))

# Mixed into every random seed. 0 in the course repository and in students' hands;
# the trusted grading step sets a secret, so the random inputs cannot be known in advance.
_SECRET = 0


def set_secret(secret: int) -> None:
    """Seed the checks' random inputs with ``secret`` (grading) or 0 (the public default)."""
    global _SECRET
    _SECRET = int(secret)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SECRET] if _SECRET else seed)


# --------------------------------------------------------------------------- machinery


@dataclass(frozen=True)
class _Spec:
    """What the checks know about one graded function."""

    name: str
    rule: str  # the convention in one sentence, ends every mismatch message
    mistakes: dict[str, Callable[..., Any]] = field(default_factory=dict)  # misconception -> its formula
    strict: bool = False  # scalar results must be a Python float / int (reductions, tuples)

    @property
    def reference(self) -> Callable[..., Any]:
        return getattr(reference, self.name)


class CheckFailed(AssertionError):
    """A failed check: the message the student reads and, for the class report, what kind of failure
    it is ("mismatch", "error", "rejects", "warning") and the misconceptions recognised in it."""

    def __init__(self, message: str, kind: str, function: str = "", mistakes: list[str] = ()):
        super().__init__(message)
        self.kind = kind
        self.misconceptions = [{"id": misconception_id(function, m), "label": m.split(":")[0].strip()}
                               for m in mistakes]


def misconception_slug(mistake: str) -> str:
    """A misconception's stable name: its text up to the first ":", in lower case, words joined by "_"."""
    return re.sub(r"[^a-z0-9]+", "_", mistake.split(":")[0].lower()).strip("_")[:60]


def misconception_id(function: str, mistake: str) -> str:
    """``<function>.<slug>``: unique across the course (tests/test_conventions.py checks it)."""
    return f"{function}.{misconception_slug(mistake)}"


class _Result(NamedTuple):
    call: str  # e.g. "quantize(0.25, 0.5)"
    got: Any
    warnings: list  # RuntimeWarnings the call emitted


def _brief(value: Any, width: int = 100) -> str:
    """A one-line, length-limited rendering of an argument or result."""
    if isinstance(value, np.ndarray) and value.ndim:
        text = np.array2string(value, separator=", ", threshold=12, edgeitems=3, precision=6)
    elif isinstance(value, np.ndarray | np.generic):
        text = repr(value.item())
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k!r}: {_brief(v, width)}" for k, v in value.items()) + "}"
    elif isinstance(value, tuple):
        text = "(" + ", ".join(_brief(v, width) for v in value) + ("," if len(value) == 1 else "") + ")"
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _show(name: str, args: tuple, kwargs: dict) -> str:
    parts = [_brief(a, 60) for a in args] + [f"{k}={_brief(v, 60)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    return type(value).__name__


def _raised(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _tip(exc: Exception) -> str:
    """Advice for the exceptions students hit most often."""
    text = str(exc)
    if isinstance(exc, NotImplementedError):
        return " Replace `raise NotImplementedError()` with your solution."
    if "truth value of an array" in text:
        return (" Arrays need elementwise logic: np.where(...) for values, np.any(...)/np.all(...) in "
                "checks, not `if`, `and` or `or`.")
    if isinstance(exc, TypeError):
        return " Inputs may be Python scalars, lists or NumPy arrays: convert them with np.asarray first."
    return ""


def _call(spec: _Spec, fn: Callable, args: tuple, kwargs: dict | None = None) -> _Result:
    """Call a student function on copies of the arguments; an exception becomes an AssertionError naming the call."""
    kwargs = kwargs or {}
    call = _show(spec.name, args, kwargs)
    with warnings.catch_warnings(record=True) as caught, np.errstate():
        warnings.simplefilter("always")
        try:
            got = fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        except Exception as exc:
            raise CheckFailed(f"{call} raised {_raised(exc)}.{_tip(exc)}", "error") from exc
    return _Result(call, got, [w for w in caught if issubclass(w.category, RuntimeWarning)])


def _difference(got: Any, expected: Any, strict: bool) -> str | None:
    """Why got does not match expected (type, shape or value), or None when it does."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"a dict is expected, got {_kind(got)}"
        if set(got) != set(expected):
            return f"the keys must be exactly {sorted(expected)}, got {sorted(map(str, got))}"
        for key, value in expected.items():
            why = _difference(got[key], value, strict)
            if why:
                return f"at key {key!r}: {why}"
        return None
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            return f"a tuple of {len(expected)} values is expected, got {_kind(got)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            why = _difference(g, e, strict)
            if why:
                return f"element {i}: {why}"
        return None
    if isinstance(expected, bool | np.bool_):
        if not isinstance(got, bool | np.bool_):
            return f"a bool (True or False) is expected, got {_kind(got)}"
        return None if got == expected else "the opposite answer"
    want = np.asarray(expected)
    integer = want.dtype.kind in "iu"
    if strict and want.ndim == 0:  # a Python number is promised; a NumPy scalar of that kind is fine too
        name, kinds = ("int", (int, np.integer)) if integer else ("float", (float, np.floating))
        if isinstance(got, bool | np.bool_) or not isinstance(got, kinds):
            return f"a Python {name} is expected, got {_kind(got)}; convert the result with {name}(...)"
    if want.ndim and not isinstance(got, np.ndarray):
        return f"a NumPy array is expected, got {_kind(got)}"
    try:
        arr = np.asarray(got)
    except ValueError:
        return f"a number or an array is expected, got {_kind(got)}"
    if arr.shape != want.shape:
        return f"shape {want.shape} is expected, got shape {arr.shape}"
    if arr.dtype.kind not in ("iu" if integer else "iuf") or (want.ndim and arr.dtype != want.dtype):
        advice = " (convert with .astype(np.int64))" if integer else ""
        return f"dtype {want.dtype} is expected, got dtype {arr.dtype}{advice}"
    if integer:
        bad = arr != want
        tolerance = "compared exactly"
    else:
        bad = ~np.isclose(arr.astype(np.float64), want, rtol=RTOL, atol=ATOL)
        tolerance = f"rtol {RTOL:g}"
    if not bad.any():
        return None
    if want.ndim == 0:
        return tolerance
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"first difference at index {index}: expected {want[index].item()!r}, got {arr[index].item()!r}; {tolerance}"


def _same(got: Any, candidate: Any) -> bool:
    """Whether a student's result equals a misconception's result (NaN equals NaN)."""
    if isinstance(candidate, dict):
        return isinstance(got, dict) and got.keys() == candidate.keys() and all(
            _same(got[k], candidate[k]) for k in candidate)
    g, c = np.asarray(got, dtype=np.float64), np.asarray(candidate, dtype=np.float64)
    return g.shape == c.shape and bool(np.allclose(g, c, rtol=RTOL, atol=ATOL, equal_nan=True))


def _likely(spec: _Spec, got: Any, expected: Any, args: tuple, kwargs: dict) -> list[str]:
    """The misconceptions whose formula gives ``got`` here but not ``expected``, the likely one first."""
    found = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for mistake, formula in spec.mistakes.items():
            try:
                wrong = formula(*args, **kwargs)
                if _same(got, wrong) and not _same(expected, wrong):
                    found.append(mistake)
            except Exception:  # a formula that does not apply to these inputs
                continue
    return found


def _looks_like(found: list[str]) -> str:
    """'This looks like <misconception>. ', naming every one that matches, the first as the likely one."""
    if not found:
        return ""
    also = f" On these inputs it could also be: {'; or '.join(found[1:])}." if found[1:] else ""
    return f"This looks like {found[0]}.{also} "


def _agree(spec: _Spec, fn: Callable, args: tuple, kwargs: dict | None = None, note: str = "") -> _Result:
    """Call fn like spec's reference and fail, naming the likely misconception, unless the results match."""
    kwargs = kwargs or {}
    expected = spec.reference(*args, **kwargs)
    result = _call(spec, fn, args, kwargs)
    why = _difference(result.got, expected, spec.strict)
    if why is not None:
        found = _likely(spec, result.got, expected, args, kwargs)
        raise CheckFailed(
            f"{result.call}{note}: expected {_brief(expected)}, got {_brief(result.got)} ({why}). "
            f"{_looks_like(found)}Rule: {spec.rule}", "mismatch", spec.name, found
        )
    return result


def _no_warning(result: _Result, advice: str) -> None:
    """Fail when the call emitted a RuntimeWarning: nbgrader scores a cell 0 when anything reaches stderr."""
    if result.warnings:
        raise CheckFailed(
            f"{result.call} is correct but emitted RuntimeWarning: {result.warnings[0].message}. A warning "
            f"written to stderr costs the whole test cell. {advice}", "warning"
        )


def _names(message: str, name: str) -> bool:
    """Whether message names the argument: its name as a word, in any case, its parts joined by "_",
    a space, "-" or nothing ("zero_point", "zero point", "Zero-point", "zeropoint"), in the singular or
    the plural ("scales" names scale, "label" names labels)."""
    parts = name.split("_")
    if len(parts[-1]) > 3 and parts[-1].endswith("s"):  # "labels": "label" names it too
        parts[-1] = parts[-1][:-1]
    pattern = r"[_\s-]?".join(re.escape(part) for part in parts)
    return re.search(rf"(?<![a-z0-9_]){pattern}s?(?![a-z0-9_])", message, re.IGNORECASE) is not None


def _rejects(spec: _Spec, fn: Callable, names: str | tuple[str, ...], why: str, args: tuple,
             kwargs: dict | None = None) -> None:
    """fn(*args, **kwargs) must raise ValueError whose message names one of ``names``."""
    kwargs = kwargs or {}
    names = (names,) if isinstance(names, str) else names
    wanted = " or ".join(repr(n) for n in names)
    call = _show(spec.name, args, kwargs)
    with warnings.catch_warnings(record=True), np.errstate():
        warnings.simplefilter("always")
        try:
            got = fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        except ValueError as exc:
            if any(_names(str(exc), n) for n in names):
                return
            raise CheckFailed(
                f"{call} raised ValueError({str(exc)!r}), but the message must name the argument {wanted} "
                f"({why}), e.g. ValueError(f\"{names[0]} must be ..., got {{{names[0]}}}\").", "rejects"
            ) from None
        except Exception as exc:
            raise CheckFailed(
                f"{call} raised {_raised(exc)}, but it must raise ValueError naming {wanted} "
                f"({why}).{_tip(exc) or ' Check the input yourself and raise ValueError.'}", "rejects"
            ) from exc
    raise CheckFailed(f"{call} returned {_brief(got)} instead of raising ValueError: {why}.", "rejects")


# --------------------------------------------------------------------------- formulas used by the diagnoses


def _floats(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z - np.max(z, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _naive_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _half_away_from_zero(v: np.ndarray) -> np.ndarray:
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _half_up(v: np.ndarray) -> np.ndarray:
    return np.floor(v + 0.5)


def _quantize_variant(x, scale, zero_point=0, bits=8, signed=True, *, rounding=np.rint, saturate="clip",
                      zero_point_first=False):
    qmin, qmax = reference.qrange(bits, signed)
    v = _floats(x) / scale
    q = rounding(v + zero_point) if zero_point_first else rounding(v) + zero_point
    if saturate == "wrap":
        return (q - qmin) % (qmax - qmin + 1) + qmin
    if saturate == "restricted":
        return np.clip(q, -qmax if signed else qmin, qmax)
    if saturate == "int8":
        return np.clip(q, *reference.qrange(8, signed))
    if saturate == "before zero_point":
        return np.clip(rounding(v), qmin, qmax) + zero_point
    return np.clip(q, qmin, qmax) if saturate == "clip" else q


def _symmetric_variant(max_abs, bits=4, *, levels=lambda bits: 2 ** (bits - 1) - 1, zero_scale=1.0):
    m = _floats(max_abs)
    return np.where(m > 0, m / levels(bits), zero_scale)


def _affine_variant(x_min, x_max, bits=8, *, widen=True, steps=lambda bits: 2**bits - 1, rounding=np.rint,
                    signed=False, empty=(1.0, 0)):
    lo, hi = (min(x_min, 0.0), max(x_max, 0.0)) if widen else (x_min, x_max)
    if lo == hi:
        return empty
    scale = (hi - lo) / steps(bits)
    qmin, qmax = reference.qrange(bits, signed)
    return scale, int(np.clip(rounding(qmin - lo / scale), qmin, qmax))


def _clip_mse_variant(w, clip, bits=4, *, full_range=False, low_code=None, saturate=True, rounding=np.rint,
                      against_clipped=False, reduce=np.mean):
    w = _floats(w)
    qmax = 2 ** (bits - 1) - 1
    scale = clip / (qmax + 1 if full_range else qmax)
    q = rounding(w / scale)
    if saturate:
        q = np.clip(q, -(qmax + 1) if (full_range or low_code == "full") else -qmax, qmax)
    target = np.clip(w, -clip, clip) if against_clipped else w
    return float(reduce((scale * q - target) ** 2))


def _kd_variant(student_logits, teacher_logits, tau, *, power=2, reverse=False, reduction="batchmean",
                student_tau=True, log_q="log-softmax"):
    s = np.atleast_2d(_floats(student_logits)) / (tau if student_tau else 1.0)
    t = np.atleast_2d(_floats(teacher_logits)) / tau
    log_p = _log_softmax(t)
    log_q = {"log-softmax": _log_softmax, "log of softmax": lambda z: np.log(np.exp(_log_softmax(z))),
             "unstable": lambda z: np.log(_naive_softmax(z))}[log_q](s)
    if reverse:
        log_p, log_q = log_q, log_p
    p = np.exp(log_p)
    terms = np.where(p > 0, p * (log_p - log_q), 0.0)
    kl = terms.sum(axis=-1)
    loss = {"batchmean": kl.mean(), "mean": terms.mean(), "sum": kl.sum()}[reduction]
    return tau**power * loss


def _distillation_variant(student_logits, teacher_logits, labels, tau, alpha, *, ce_tau=False, kd=None,
                          swap_alpha=False, ce_reduce=np.mean):
    s = np.atleast_2d(_floats(student_logits))
    log_q = _log_softmax(s / tau if ce_tau else s)
    ce = ce_reduce(-log_q[np.arange(len(s)), np.atleast_1d(np.asarray(labels)).astype(np.int64)])
    kd_value = (kd or reference.kd_loss)(student_logits, teacher_logits, tau)
    weight = 1 - alpha if swap_alpha else alpha
    return weight * ce + (1 - weight) * kd_value


def _gates_variant(metrics, max_loss_increase=0.02, min_coverage=0.999, max_task_drop=1.0, *,
                   coverage_strict=False, loss_absolute=False, loss_strict=False, latency_non_strict=False,
                   mean_drop=False, drop_strict=False, ignore_safety=False):
    m = metrics
    coverage = m["calibration_coverage"]
    increase = m["loss_quantized"] - m["loss_baseline"]
    if not loss_absolute:
        increase /= m["loss_baseline"]
    base, quant = m["task_scores_baseline"], m["task_scores_quantized"]
    drops = [base[t] - quant[t] for t in base]
    drop = float(np.mean(drops)) if mean_drop else max(drops)
    gates = {
        "calibration": coverage > min_coverage if coverage_strict else coverage >= min_coverage,
        "heldout_loss": increase < max_loss_increase if loss_strict else increase <= max_loss_increase,
        "latency": (m["latency_quantized_ms"] <= m["latency_baseline_ms"] if latency_non_strict
                    else m["latency_quantized_ms"] < m["latency_baseline_ms"]),
        "quality": (drop < max_task_drop if drop_strict else drop <= max_task_drop)
        and (ignore_safety or bool(m["safety_pass"])),
    }
    return {**gates, "ship": all(gates.values())}


# --------------------------------------------------------------------------- what the checks know per function

_QUANTIZE = _Spec(
    "quantize",
    "quantize returns int64 codes clip(rint(x / scale) + zero_point, qmin, qmax): round half to even (np.rint), "
    "add the integer zero_point, then saturate at (qmin, qmax) = qrange(bits, signed).",
    {
        "floor instead of round: np.floor always rounds down, round to the nearest level with np.rint":
            partial(_quantize_variant, rounding=np.floor),
        "truncation toward zero (int() or .astype(int) on the unrounded value): round with np.rint first":
            partial(_quantize_variant, rounding=np.trunc),
        "rounding half away from zero (C's round, np.floor(abs(v) + 0.5) with the sign): exact .5 ties must "
        "round half to even (np.rint), so 0.5 -> 0 and 2.5 -> 2":
            partial(_quantize_variant, rounding=_half_away_from_zero),
        "rounding half up (np.floor(v + 0.5)): exact .5 ties must round half to even (np.rint), so -0.5 -> 0 "
        "and 1.5 -> 2":
            partial(_quantize_variant, rounding=_half_up),
        "adding zero_point before rounding: round first, rint(x / scale), then add the integer zero_point "
        "(it matters on exact .5 ties)":
            partial(_quantize_variant, zero_point_first=True),
        "no clipping: codes beyond the range must saturate at qmin / qmax (np.clip)":
            partial(_quantize_variant, saturate=None),
        "int8 wrap-around: out-of-range codes wrap modulo 2^bits (as a cast to np.int8 does) instead of "
        "saturating at qmin / qmax with np.clip":
            partial(_quantize_variant, saturate="wrap"),
        "clipping to the restricted range [-(2^(bits-1) - 1), 2^(bits-1) - 1]: quantize uses the full range "
        "of qrange(bits, signed), down to -2^(bits-1)":
            partial(_quantize_variant, saturate="restricted"),
        "clipping to the 8-bit range whatever bits is: use qrange(bits, signed)":
            partial(_quantize_variant, saturate="int8"),
        "clipping before adding zero_point: add zero_point first, then clip to [qmin, qmax]":
            partial(_quantize_variant, saturate="before zero_point"),
    },
)

_DEQUANTIZE = _Spec(
    "dequantize",
    "dequantize returns float64 values scale * (q - zero_point).",
    {
        "adding zero_point instead of subtracting it: dequantize computes scale * (q - zero_point)":
            lambda q, scale, zero_point=0: scale * (_floats(q) + zero_point),
        "zero_point ignored: subtract it before scaling, scale * (q - zero_point)":
            lambda q, scale, zero_point=0: scale * _floats(q),
        "dividing by scale instead of multiplying: dequantize undoes quantize's division":
            lambda q, scale, zero_point=0: (_floats(q) - zero_point) / scale,
        "subtracting zero_point after scaling (scale * q - zero_point): subtract it from the code first":
            lambda q, scale, zero_point=0: scale * _floats(q) - zero_point,
    },
)

_QRANGE = _Spec(
    "qrange",
    "qrange returns a tuple of two Python ints: (-2^(bits-1), 2^(bits-1) - 1) when signed, (0, 2^bits - 1) "
    "when unsigned.",
    {
        "the restricted signed range (-(2^(bits-1) - 1), 2^(bits-1) - 1): qrange gives the full range, "
        "qmin = -2^(bits-1) (only the symmetric scale leaves that code unused)":
            lambda bits, signed=True: (1 - 2 ** (bits - 1), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1),
        "an upper bound one too high: 2^bits codes run from qmin to qmin + 2^bits - 1":
            lambda bits, signed=True: (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits),
        "^ instead of **: in Python ^ is bitwise XOR, write 2 ** (bits - 1)":
            lambda bits, signed=True: (-(2 ^ (bits - 1)), 2 ^ (bits - 1) - 1) if signed else (0, 2 ^ bits - 1),
        "the signed and unsigned ranges swapped":
            lambda bits, signed=True: reference.qrange(bits, not signed),
    },
    strict=True,
)

_SYMMETRIC_SCALE = _Spec(
    "symmetric_scale",
    "symmetric_scale = max_abs / (2^(bits-1) - 1) elementwise, the restricted range that maps +-max_abs to "
    "+-qmax, and 1.0 where max_abs is 0 (an all-zero tensor).",
    {
        "the full range 2^(bits-1) as divisor (8 at 4 bits): the symmetric scale uses the restricted range, "
        "max_abs / (2^(bits-1) - 1), so the code -2^(bits-1) is never used":
            partial(_symmetric_variant, levels=lambda bits: 2 ** (bits - 1)),
        "the unsigned range 2^bits - 1 as divisor: a symmetric grid has 2^(bits-1) - 1 levels on each side":
            partial(_symmetric_variant, levels=lambda bits: 2**bits - 1),
        "2 * max_abs / (2^bits - 1), the asymmetric formula over [-max_abs, max_abs]: the symmetric scale is "
        "max_abs / (2^(bits-1) - 1)":
            partial(_symmetric_variant, levels=lambda bits: (2**bits - 1) / 2),
        "scale 0.0 for an all-zero tensor (max_abs 0): quantize would divide by zero, so an all-zero tensor "
        "gets scale 1.0":
            partial(_symmetric_variant, zero_scale=0.0),
        "one scale for the whole array (a max over channels): each entry of max_abs is one channel and gets "
        "its own scale":
            lambda max_abs, bits=4: reference.symmetric_scale(np.max(max_abs), bits),
    },
    strict=True,
)

_AFFINE_PARAMS = _Spec(
    "affine_params",
    "affine_params widens [x_min, x_max] to include 0, then scale = (x_max - x_min) / (2^bits - 1) and "
    "zero_point = int(clip(rint(-x_min / scale), 0, 2^bits - 1)); the empty range (0, 0) gives (1.0, 0); "
    "it returns (Python float, Python int).",
    {
        "the range not widened to include 0: use min(x_min, 0) and max(x_max, 0) so that 0.0 is exactly "
        "representable by the code zero_point":
            partial(_affine_variant, widen=False),
        "2^bits steps instead of 2^bits - 1: 2^bits levels are 2^bits - 1 steps apart":
            partial(_affine_variant, steps=lambda bits: 2**bits),
        "floor instead of round for the zero point: zero_point = rint(-x_min / scale)":
            partial(_affine_variant, rounding=np.floor),
        "the signed range: affine_params gives an unsigned zero point in [0, 2^bits - 1]":
            partial(_affine_variant, signed=True),
        "scale 0.0 for the empty range (0, 0): quantize would divide by zero, the empty range gives (1.0, 0)":
            partial(_affine_variant, empty=(0.0, 0)),
    },
    strict=True,
)

_MEMORY_GB = _Spec(
    "memory_gb",
    "memory_gb = n_params * bits / 8 / 1e9: bits / 8 bytes per parameter, decimal gigabytes (1 GB = 1e9 bytes).",
    {
        "binary gibibytes (GiB, 2^30 bytes): memory_gb uses decimal gigabytes, 1 GB = 1e9 bytes":
            lambda n_params, bits: _floats(n_params) * _floats(bits) / 8 / 2**30,
        "bits not divided by 8: a parameter stored in `bits` bits takes bits / 8 bytes":
            lambda n_params, bits: _floats(n_params) * _floats(bits) / 1e9,
        "bits not divided by 8, and GiB instead of decimal GB: bytes = bits / 8, 1 GB = 1e9 bytes":
            lambda n_params, bits: _floats(n_params) * _floats(bits) / 2**30,
        "bytes instead of gigabytes: divide by 1e9":
            lambda n_params, bits: _floats(n_params) * _floats(bits) / 8,
    },
    strict=True,
)

_EFFECTIVE_BITS = _Spec(
    "effective_bits",
    "effective_bits = bits + (scale_bits + zero_bits) / group_size; group_size None (per-tensor) adds no "
    "overhead.",
    {
        "zero_bits ignored: each group stores a scale and a zero point, (scale_bits + zero_bits) / group_size "
        "extra bits per weight":
            lambda bits, group_size=None, scale_bits=16, zero_bits=0:
                reference.effective_bits(bits, group_size, scale_bits, 0),
        "the overhead not divided by group_size: one scale (and zero point) is shared by group_size weights":
            lambda bits, group_size=None, scale_bits=16, zero_bits=0:
                _floats(bits) + (0 if group_size is None else scale_bits + zero_bits),
        "group_size divided by the overhead bits instead of the reverse: (scale_bits + zero_bits) / group_size":
            lambda bits, group_size=None, scale_bits=16, zero_bits=0:
                _floats(bits) + _floats(group_size) / (scale_bits + zero_bits),
        "a per-weight scale for group_size None: None means one scale for the whole tensor, overhead 0":
            lambda bits, group_size=None, scale_bits=16, zero_bits=0:
                _floats(bits) + scale_bits + zero_bits,
    },
    strict=True,
)

_QUANTIZATION_MSE = _Spec(
    "quantization_mse",
    "quantization_mse = mean((w - w_hat)^2) over every element, a Python float; w and w_hat must have "
    "exactly the same shape.",
    {
        "the sum of squared errors: take the mean, np.mean((w - w_hat) ** 2)":
            lambda w, w_hat: np.sum((_floats(w) - _floats(w_hat)) ** 2),
        "the root mean squared error: the MSE has no square root":
            lambda w, w_hat: np.sqrt(np.mean((_floats(w) - _floats(w_hat)) ** 2)),
        "the mean absolute error: square the differences":
            lambda w, w_hat: np.mean(np.abs(_floats(w) - _floats(w_hat))),
    },
    strict=True,
)


def _power_ratio(w, w_hat):
    w, w_hat = _floats(w), _floats(w_hat)
    return np.sum(w**2) / np.sum((w - w_hat) ** 2)


_SQNR_DB = _Spec(
    "sqnr_db",
    "sqnr_db = 10 * log10(sum(w^2) / sum((w - w_hat)^2)) decibels, a Python float; inf when w_hat equals w.",
    {
        "20 * log10 of a power ratio: 20 * log10 is for amplitude ratios (RMS values), a ratio of powers "
        "(sums of squares) takes 10 * log10":
            lambda w, w_hat: 20 * np.log10(_power_ratio(w, w_hat)),
        "10 * log10 of an amplitude ratio (square roots of the powers): use the powers themselves, or "
        "20 * log10 of amplitudes":
            lambda w, w_hat: 10 * np.log10(np.sqrt(_power_ratio(w, w_hat))),
        "the natural log (np.log): decibels use np.log10":
            lambda w, w_hat: 10 * np.log(_power_ratio(w, w_hat)),
        "bels (log10 without the factor 10): decibels are 10 * log10":
            lambda w, w_hat: np.log10(_power_ratio(w, w_hat)),
        "the ratio upside down (noise over signal), which flips the sign":
            lambda w, w_hat: -10 * np.log10(_power_ratio(w, w_hat)),
    },
    strict=True,
)

_BEST_CLIP = _Spec(
    "best_clip",
    "best_clip returns float(clips[i]) for the first i with the lowest mse (np.argmin).",
    {
        "the last clip on ties (a loop with <=, or an argmin over the reversed list): the first clip with "
        "the lowest MSE wins, as np.argmin returns the first":
            lambda clips, mse: float(_floats(clips)[len(mse) - 1 - np.argmin(_floats(mse)[::-1])]),
        "the index of the best clip instead of the clip itself: return float(clips[np.argmin(mse)])":
            lambda clips, mse: np.argmin(_floats(mse)),
        "the lowest MSE instead of the clip that achieves it: return clips[np.argmin(mse)]":
            lambda clips, mse: np.min(_floats(mse)),
        "the clip with the highest MSE (argmax instead of argmin)":
            lambda clips, mse: _floats(clips)[np.argmax(_floats(mse))],
    },
    strict=True,
)

_CLIP_MSE = _Spec(
    "clip_mse",
    "clip_mse = mean((w - scale * clip(rint(w / scale), -qmax, qmax))^2) with qmax = 2^(bits-1) - 1 and "
    "scale = clip / qmax (the restricted range), a Python float.",
    {
        "the full range: scale clip / 2^(bits-1) with codes down to -2^(bits-1); clip_mse uses the restricted "
        "range, scale = clip / (2^(bits-1) - 1) and codes in [-qmax, qmax]":
            partial(_clip_mse_variant, full_range=True),
        "codes clipped at -2^(bits-1) on the negative side: the restricted range is symmetric, [-qmax, qmax]":
            partial(_clip_mse_variant, low_code="full"),
        "no saturation: codes beyond +-qmax must be clipped, so weights beyond +-clip saturate at +-clip":
            partial(_clip_mse_variant, saturate=False),
        "the error measured against the clipped weights: compare with the original w, so the clipping "
        "error counts":
            partial(_clip_mse_variant, against_clipped=True),
        "floor instead of round: round to the nearest level with np.rint":
            partial(_clip_mse_variant, rounding=np.floor),
        "the sum of squared errors instead of the mean":
            partial(_clip_mse_variant, reduce=np.sum),
    },
    strict=True,
)

_SOFTMAX = _Spec(
    "softmax",
    "softmax = exp(z - max z) / sum exp(z - max z) along axis with z = logits / tau, the maximum taken along "
    "axis (keepdims=True).",
    {
        "the logits multiplied by tau: divide them, softmax(logits / tau), so that a high tau flattens":
            lambda logits, tau=1.0, axis=-1: np.exp(_log_softmax(_floats(logits) * tau, axis)),
        "tau ignored: divide the logits by tau before the exponential":
            lambda logits, tau=1.0, axis=-1: np.exp(_log_softmax(_floats(logits), axis)),
        "the probabilities divided by tau after the softmax: divide the logits by tau before np.exp":
            lambda logits, tau=1.0, axis=-1: np.exp(_log_softmax(_floats(logits), axis)) / tau,
        "np.exp overflowing (no maximum subtracted; inf / inf is nan): subtract the maximum along axis "
        "first, exp(z - max z), which does not change the result":
            lambda logits, tau=1.0, axis=-1: _naive_softmax(_floats(logits) / tau, axis),
        "the global maximum subtracted instead of each row's maximum: rows far below it underflow to 0 / 0; "
        "use np.max(z, axis=axis, keepdims=True)":
            lambda logits, tau=1.0, axis=-1: _naive_softmax(_floats(logits) / tau - np.max(logits) / tau, axis),
        "normalizing over the whole array instead of along axis: sum with axis=axis, keepdims=True":
            lambda logits, tau=1.0, axis=-1: np.exp(_log_softmax(_floats(logits).ravel() / tau)).reshape(
                np.shape(logits)),
        "axis ignored: normalize along the axis argument, not always the last one":
            lambda logits, tau=1.0, axis=-1: np.exp(_log_softmax(_floats(logits) / tau, -1)),
    },
)


def _xlogx(p: np.ndarray) -> np.ndarray:
    return p * np.log(np.where(p > 0, p, 1.0))


_ENTROPY = _Spec(
    "entropy",
    "entropy = -sum p ln p along axis, in nats (natural log), with 0 ln 0 = 0; a Python float for 1-D p.",
    {
        "log2 (bits): this course measures entropy in nats, use the natural log np.log":
            lambda p, axis=-1: -np.sum(_xlogx(_floats(p)), axis=axis) / np.log(2),
        "log10: this course measures entropy in nats, use the natural log np.log":
            lambda p, axis=-1: -np.sum(_xlogx(_floats(p)), axis=axis) / np.log(10),
        "the minus sign dropped: entropy is -sum p ln p, never negative":
            lambda p, axis=-1: np.sum(_xlogx(_floats(p)), axis=axis),
        "0 log 0 evaluated as nan (0 * -inf): terms with p = 0 count as 0":
            lambda p, axis=-1: -np.sum(_floats(p) * np.log(_floats(p)), axis=axis),
        "a sum over the whole array: one entropy per distribution, summed along axis only":
            lambda p, axis=-1: -np.sum(_xlogx(_floats(p))),
    },
    strict=True,
)

_KL_DIVERGENCE = _Spec(
    "kl_divergence",
    "kl_divergence = sum p * (ln p - ln q) along axis, KL(teacher p || student q) in nats; p = 0 terms are 0, "
    "q = 0 where p > 0 gives inf; a Python float for 1-D inputs.",
    {
        "KL in the wrong direction, KL(q || p): the teacher p comes first, sum p * (ln p - ln q)":
            lambda p, q, axis=-1: reference.kl_divergence(q, p, axis),
        "the sign flipped: sum p * (ln p - ln q), not sum p * (ln q - ln p)":
            lambda p, q, axis=-1: -reference.kl_divergence(p, q, axis),
        "the cross-entropy -sum p ln q: the KL divergence also adds sum p ln p":
            lambda p, q, axis=-1: reference.kl_divergence(p, q, axis) + reference.entropy(p, axis),
        "log2 instead of the natural log (nats)":
            lambda p, q, axis=-1: reference.kl_divergence(p, q, axis) / np.log(2),
        "p = 0 terms evaluated as nan (0 * log 0): terms with p = 0 are 0":
            lambda p, q, axis=-1: np.sum(_floats(p) * (np.log(_floats(p)) - np.log(_floats(q))), axis=axis),
        "a sum over the whole batch: one value per row, summed along axis only":
            lambda p, q, axis=-1: np.sum(reference.kl_divergence(p, q, axis)),
        "the mean over classes instead of the sum":
            lambda p, q, axis=-1: reference.kl_divergence(p, q, axis) / np.shape(p)[axis],
    },
    strict=True,
)

_KD_LOSS = _Spec(
    "kd_loss",
    "kd_loss = tau^2 * batchmean KL(softmax(teacher / tau) || softmax(student / tau)): the KL summed over "
    "classes, averaged over the batch, times tau^2; a Python float; a 1-D input is a batch of one.",
    {
        "the tau^2 factor missing: multiply the KL by tau^2 (Hinton et al. 2015) so that the soft-target "
        "gradients keep their size as tau changes":
            partial(_kd_variant, power=0),
        "tau instead of tau^2 as the factor":
            partial(_kd_variant, power=1),
        "KL in the wrong direction, KL(student || teacher): distillation uses KL(teacher || student), "
        "sum p_teacher * (log p_teacher - log p_student)":
            partial(_kd_variant, reverse=True),
        "the mean over every element (batch x classes) instead of batchmean: sum the KL over classes, then "
        "average over the batch (PyTorch reduction='batchmean')":
            partial(_kd_variant, reduction="mean"),
        "the sum over the batch instead of the mean (batchmean divides by the batch size)":
            partial(_kd_variant, reduction="sum"),
        "the temperature applied to the teacher only: divide both logits by tau":
            partial(_kd_variant, student_tau=False),
        "np.log of a softmax that underflows to 0 (log 0 = -inf): compute the log-softmax directly, "
        "z - max z - log(sum(exp(z - max z)))":
            partial(_kd_variant, log_q="log of softmax"),
        "np.exp overflowing (no maximum subtracted): subtract the maximum before the exponential, or use a "
        "log-softmax":
            partial(_kd_variant, log_q="unstable"),
    },
    strict=True,
)

_COMBINED_LOSS = _Spec(
    "combined_loss",
    "combined_loss = alpha * ce + (1 - alpha) * kd: alpha weights the hard-label cross-entropy.",
    {
        "alpha on the KD term: alpha weights the cross-entropy, alpha * ce + (1 - alpha) * kd":
            lambda ce, kd, alpha: (1 - _floats(alpha)) * ce + _floats(alpha) * _floats(kd),
        "the KD term not weighted by 1 - alpha":
            lambda ce, kd, alpha: _floats(alpha) * ce + _floats(kd),
        "alpha ignored (ce + kd)":
            lambda ce, kd, alpha: _floats(ce) + _floats(kd),
        "the plain mean (ce + kd) / 2: weight them with alpha and 1 - alpha":
            lambda ce, kd, alpha: (_floats(ce) + _floats(kd)) / 2,
    },
    strict=True,
)

_DISTILLATION_LOSS = _Spec(
    "distillation_loss",
    "distillation_loss = alpha * CE + (1 - alpha) * kd_loss(student_logits, teacher_logits, tau), where CE is "
    "the batch mean of -log softmax(student_logits)[label] at temperature 1; a Python float.",
    {
        "the cross-entropy at temperature tau: the hard-label term uses the student's logits at temperature 1":
            partial(_distillation_variant, ce_tau=True),
        "the KD term without tau^2: use kd_loss, tau^2 * batchmean KL(teacher || student)":
            partial(_distillation_variant, kd=partial(_kd_variant, power=0)),
        "the KD term in the wrong direction: use KL(teacher || student)":
            partial(_distillation_variant, kd=partial(_kd_variant, reverse=True)),
        "the KD term averaged over every element instead of batchmean":
            partial(_distillation_variant, kd=partial(_kd_variant, reduction="mean")),
        "alpha on the KD term: alpha weights the cross-entropy":
            partial(_distillation_variant, swap_alpha=True),
        "the cross-entropy summed over the batch instead of averaged":
            partial(_distillation_variant, ce_reduce=np.sum),
    },
    strict=True,
)

_ADAM_STATE_GB = _Spec(
    "adam_state_gb",
    "adam_state_gb = n_trainable * bytes_per_value * n_moments / 1e9, decimal gigabytes.",
    {
        "binary gibibytes (GiB, 2^30 bytes): use decimal gigabytes, 1 GB = 1e9 bytes":
            lambda n_trainable, bytes_per_value=4, n_moments=2:
                _floats(n_trainable) * bytes_per_value * n_moments / 2**30,
        "n_moments ignored: Adam keeps n_moments values (two moments) per trainable parameter":
            lambda n_trainable, bytes_per_value=4, n_moments=2: _floats(n_trainable) * bytes_per_value / 1e9,
        "bytes_per_value treated as bits (divided by 8): it is already in bytes":
            lambda n_trainable, bytes_per_value=4, n_moments=2:
                _floats(n_trainable) * bytes_per_value * n_moments / 8 / 1e9,
    },
    strict=True,
)

_FINETUNE_MEMORY_GB = _Spec(
    "finetune_memory_gb",
    "finetune_memory_gb = (n_frozen * frozen_bits / 8 + n_trainable * bytes_per_trainable) / 1e9, decimal "
    "gigabytes.",
    {
        "frozen weights at 2 bytes (16 bits) regardless of frozen_bits: each frozen weight costs "
        "frozen_bits / 8 bytes":
            lambda n_frozen, n_trainable, frozen_bits=16, bytes_per_trainable=12:
                (_floats(n_frozen) * 2 + _floats(n_trainable) * bytes_per_trainable) / 1e9,
        "frozen_bits not divided by 8 (bits counted as bytes)":
            lambda n_frozen, n_trainable, frozen_bits=16, bytes_per_trainable=12:
                (_floats(n_frozen) * frozen_bits + _floats(n_trainable) * bytes_per_trainable) / 1e9,
        "binary gibibytes (GiB, 2^30 bytes): use decimal gigabytes, 1 GB = 1e9 bytes":
            lambda n_frozen, n_trainable, frozen_bits=16, bytes_per_trainable=12:
                (_floats(n_frozen) * frozen_bits / 8 + _floats(n_trainable) * bytes_per_trainable) / 2**30,
        "bytes_per_trainable ignored: trainable parameters cost bytes_per_trainable bytes each":
            lambda n_frozen, n_trainable, frozen_bits=16, bytes_per_trainable=12:
                (_floats(n_frozen) * frozen_bits / 8 + _floats(n_trainable) * 12) / 1e9,
    },
    strict=True,
)

_SHIPPING_GATES = _Spec(
    "shipping_gates",
    "calibration: coverage >= min_coverage; heldout_loss: (loss_quantized - loss_baseline) / loss_baseline "
    "<= max_loss_increase; latency: latency_quantized_ms < latency_baseline_ms (strictly faster); quality: "
    "every task drops by at most max_task_drop points and safety_pass is True; ship: all four; values are "
    "bools.",
    {
        "coverage compared with > instead of >=: a coverage exactly at min_coverage passes":
            partial(_gates_variant, coverage_strict=True),
        "the absolute loss increase: the gate uses the relative increase "
        "(loss_quantized - loss_baseline) / loss_baseline":
            partial(_gates_variant, loss_absolute=True),
        "the loss increase compared with < instead of <=: an increase exactly at max_loss_increase passes":
            partial(_gates_variant, loss_strict=True),
        "latency compared with <=: the quantized model must be strictly faster (<), an equally fast one fails":
            partial(_gates_variant, latency_non_strict=True),
        "the average drop over tasks: every single task must stay within max_task_drop":
            partial(_gates_variant, mean_drop=True),
        "a task drop compared with < instead of <=: a drop of exactly max_task_drop passes":
            partial(_gates_variant, drop_strict=True),
        "safety_pass ignored: the quality gate also needs safety_pass to be True":
            partial(_gates_variant, ignore_safety=True),
    },
    strict=True,
)

_CALIBRATION_COVERAGE = _Spec(
    "calibration_coverage",
    "calibration_coverage = mean(abs(a) <= clip) over every activation, a Python float.",
    {
        "a strict < comparison: activations exactly at +-clip are covered, abs(a) <= clip":
            lambda activations, clip: np.mean(np.abs(_floats(activations)) < clip),
        "abs() forgotten: large negative activations are not covered, compare abs(a) <= clip":
            lambda activations, clip: np.mean(_floats(activations) <= clip),
        "the count of covered activations instead of the fraction: divide by their number (np.mean)":
            lambda activations, clip: np.sum(np.abs(_floats(activations)) <= clip),
        "the fraction outside the clipping range instead of inside":
            lambda activations, clip: np.mean(np.abs(_floats(activations)) > clip),
    },
    strict=True,
)



# --------------------------------------------------------------------------- capstone: formulas and specs


def _quantize_tensor_variant(w, bits=8, granularity="tensor", group_size=128, *, levels=None, rounding=np.rint,
                             columns=False, strided=False, one_scale=False, codes=False):
    """quantize_tensor with one thing done differently (the misconceptions below)."""
    w = _floats(w)
    if columns and granularity == "channel":  # "per-channel" over the columns: the transpose, per row
        return _quantize_tensor_variant(w.T, bits, granularity, group_size, rounding=rounding).T
    rows, cols = w.shape
    qmax = 2 ** (bits - 1) - 1
    if one_scale or granularity == "tensor":
        units = w.reshape(1, 1, rows * cols)
    elif granularity == "channel":
        units = w.reshape(rows, 1, cols)
    elif strided:
        units = w.reshape(rows, group_size, cols // group_size).transpose(0, 2, 1)
    else:
        units = w.reshape(rows, cols // group_size, group_size)
    max_abs = np.abs(units).max(axis=-1, keepdims=True)
    scale = np.where(max_abs > 0, max_abs / (levels(bits) if levels else qmax), 1.0)
    q = np.clip(rounding(units / scale), -(levels(bits) if levels else qmax), qmax)
    out = q if codes else scale * q
    if strided and granularity == "group" and not one_scale:  # back to the row's order
        out = out.transpose(0, 2, 1)
    return out.reshape(rows, cols)


def _central(w, k):
    w = _floats(w)
    return float(np.mean((w - w.mean()) ** k))


def _unit(v):
    v = _floats(v)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _neighbours_variant(embeddings, *, keep_self=False, last_on_ties=False, euclidean=False, least=False):
    e = _floats(embeddings)
    if euclidean:
        score = -np.linalg.norm(e[:, None, :] - e[None, :, :], axis=-1)
    else:
        score = _unit(e) @ _unit(e).T
    if least:
        score = -score
    if not keep_self:
        np.fill_diagonal(score, -np.inf)
    if last_on_ties:
        return (score.shape[1] - 1 - np.argmax(score[:, ::-1], axis=1)).astype(np.int64)
    return np.argmax(score, axis=1).astype(np.int64)


_QUANTIZE_TENSOR = _Spec(
    "quantize_tensor",
    "quantize_tensor = s * clip(rint(w / s), -qmax, qmax), qmax = 2^(bits-1) - 1, with one scale "
    "s = max|w| / qmax (1.0 where max|w| is 0) per tensor, per row (\"channel\": rows are output channels) or "
    "per run of group_size consecutive weights within a row (\"group\"), a float64 array of w's shape.",
    {
        "the full range: scale max|w| / 2^(bits-1) with codes down to -2^(bits-1); the symmetric scale is "
        "max|w| / (2^(bits-1) - 1), the restricted range":
            partial(_quantize_tensor_variant, levels=lambda bits: 2 ** (bits - 1)),
        "per-channel scales over the columns (a max along axis 0): rows are the output channels, one scale "
        "per row (a max along axis 1)":
            partial(_quantize_tensor_variant, columns=True),
        "strided groups (reshape(rows, group_size, -1)): a group is group_size consecutive weights of a row, "
        "reshape(rows, -1, group_size)":
            partial(_quantize_tensor_variant, strided=True),
        "one scale for the whole tensor whatever the granularity: \"channel\" and \"group\" give each row or "
        "group its own scale":
            partial(_quantize_tensor_variant, one_scale=True),
        "floor instead of round: round to the nearest level with np.rint":
            partial(_quantize_tensor_variant, rounding=np.floor),
        "rounding half away from zero (np.round(x + 0.5) or math-style rounding): np.rint rounds half to even":
            partial(_quantize_tensor_variant, rounding=_half_away_from_zero),
        "the integer codes instead of the dequantized weights: multiply the codes by the scale":
            partial(_quantize_tensor_variant, codes=True),
    },
)

_WEIGHT_STATS = _Spec(
    "weight_stats",
    "weight_stats = {\"max_abs\": max|w|, \"std\": sqrt(m2), \"kurtosis\": m4 / m2^2 - 3} with central "
    "moments m_k = mean((w - mean w)^k) (population, ddof=0; the excess kurtosis, 0 for a Gaussian), Python "
    "floats.",
    {
        "Pearson's kurtosis m4 / m2^2 without the - 3: the excess kurtosis of a Gaussian is 0":
            lambda w: {**reference.weight_stats(w), "kurtosis": _central(w, 4) / _central(w, 2) ** 2},
        "the sample standard deviation (ddof=1): the statistics use population moments, np.std(w)":
            lambda w: {**reference.weight_stats(w), "std": float(np.std(_floats(w), ddof=1))},
        "the largest weight instead of the largest absolute weight: max_abs is max(abs(w))":
            lambda w: {**reference.weight_stats(w), "max_abs": float(np.max(_floats(w)))},
        "raw moments mean(w^4) / mean(w^2)^2 - 3, not centred on the mean":
            lambda w: {**reference.weight_stats(w),
                       "kurtosis": float(np.mean(_floats(w) ** 4) / np.mean(_floats(w) ** 2) ** 2 - 3)},
    },
    strict=True,
)

_COSINE_SIMILARITY = _Spec(
    "cosine_similarity",
    "cosine_similarity = sum(a_i * b_i) / (|a_i| |b_i|) for each row i (a Python float for two vectors).",
    {
        "the dot product without dividing by the norms: divide by |a_i| |b_i|":
            lambda a, b: np.sum(_floats(a) * _floats(b), axis=-1),
        "one cosine of the flattened arrays instead of one per row":
            lambda a, b: float(np.sum(_unit(_floats(a).ravel()) * _unit(_floats(b).ravel()))),
        "the cosine distance 1 - cos instead of the similarity":
            lambda a, b: 1 - np.sum(_unit(a) * _unit(b), axis=-1),
    },
    strict=True,
)

_NEAREST_NEIGHBOURS = _Spec(
    "nearest_neighbours",
    "nearest_neighbours[i] = argmax over j != i of the cosine similarity of rows i and j, the lowest j on "
    "ties, an int64 array.",
    {
        "each row its own nearest neighbour: exclude j = i (its cosine with itself is 1)":
            partial(_neighbours_variant, keep_self=True),
        "the last index on ties: the lowest index wins, as np.argmax returns the first":
            partial(_neighbours_variant, last_on_ties=True),
        "the Euclidean nearest neighbour: cosine similarity ignores the vectors' lengths":
            partial(_neighbours_variant, euclidean=True),
        "the least similar row (argmin instead of argmax)":
            partial(_neighbours_variant, least=True),
    },
)


# What the checks know of each graded function, by name: the bank of wrong implementations builds one
# wrong implementation from each misconception formula here (grader.course.bank.generated).
SPECS: dict[str, _Spec] = {spec.name: spec for spec in (
    _QUANTIZE, _DEQUANTIZE, _QRANGE, _SYMMETRIC_SCALE, _AFFINE_PARAMS, _MEMORY_GB, _EFFECTIVE_BITS,
    _QUANTIZATION_MSE, _SQNR_DB, _BEST_CLIP, _CLIP_MSE, _SOFTMAX, _ENTROPY, _KL_DIVERGENCE, _KD_LOSS,
    _COMBINED_LOSS, _DISTILLATION_LOSS, _ADAM_STATE_GB, _FINETUNE_MEMORY_GB, _SHIPPING_GATES,
    _CALIBRATION_COVERAGE, _QUANTIZE_TENSOR, _WEIGHT_STATS, _COSINE_SIMILARITY, _NEAREST_NEIGHBOURS,
)}


# The public functions of this module that are not checks.
NOT_CHECKS = frozenset({"run", "set_secret", "misconception_slug", "misconception_id"})


def run(grade_id: str, namespace: Mapping[str, Callable]) -> None:
    """Run the check ``grade_id``, passing the functions its parameters name, taken from ``namespace``."""
    check = globals().get(grade_id)
    if grade_id.startswith("_") or grade_id in NOT_CHECKS or not inspect.isfunction(check) \
            or check.__module__ != __name__:
        raise KeyError(f"no check named {grade_id!r}")
    check(*(namespace[name] for name in inspect.signature(check).parameters))


# Valid inputs, drawn from the secret seed, that a rejects-bad-input check also asks for first:
# rejecting bad input earns nothing unless good input gets the right answer.
_VALID: dict[str, Callable[[np.random.Generator], tuple[tuple, dict]]] = {
    # 16 values inside the 8-bit range: a rounding other than half to even cannot agree on all of them by chance
    "quantize": lambda r: ((r.normal(size=16), float(r.uniform(0.05, 0.5))), {"bits": 8}),
    "symmetric_scale": lambda r: ((float(r.uniform(0.1, 3.0)),), {"bits": int(r.choice([4, 8]))}),
    "affine_params": lambda r: ((float(r.uniform(-3.0, -0.1)), float(r.uniform(0.1, 3.0))), {"bits": 8}),
    "memory_gb": lambda r: ((float(r.integers(10**8, 10**11)), int(r.choice([4, 8, 16]))), {}),
    "effective_bits": lambda r: ((int(r.choice([3, 4, 8])),), {"group_size": int(r.choice([32, 64, 128]))}),
    "quantization_mse": lambda r: ((w := r.normal(size=6), w + r.normal(scale=0.1, size=6)), {}),
    "sqnr_db": lambda r: ((w := r.normal(size=6), w + r.normal(scale=0.1, size=6)), {}),
    "best_clip": lambda r: ((np.sort(r.uniform(0.1, 4.0, size=5)), r.uniform(0.01, 1.0, size=5)), {}),
    "clip_mse": lambda r: ((r.normal(size=8), float(r.uniform(0.5, 2.0))), {"bits": int(r.choice([3, 4]))}),
    "softmax": lambda r: ((r.normal(size=4),), {"tau": float(r.uniform(0.5, 4.0))}),
    "entropy": lambda r: ((r.dirichlet(np.ones(4)),), {}),
    "kl_divergence": lambda r: ((r.dirichlet(np.ones(4)), r.dirichlet(np.ones(4))), {}),
    "kd_loss": lambda r: ((r.normal(size=(2, 3)), r.normal(size=(2, 3)), float(r.uniform(1.0, 4.0))), {}),
    "combined_loss": lambda r: ((float(r.uniform(0, 3)), float(r.uniform(0, 3)), float(r.uniform(0, 1))), {}),
    "distillation_loss": lambda r: ((r.normal(size=(2, 3)), r.normal(size=(2, 3)), r.integers(0, 3, size=2),
                                     float(r.uniform(1.0, 4.0)), float(r.uniform(0, 1))), {}),
    "adam_state_gb": lambda r: ((float(r.integers(10**5, 10**9)),), {}),
    "finetune_memory_gb": lambda r: ((float(r.integers(10**8, 10**11)), float(r.integers(10**5, 10**8))), {}),
    "shipping_gates": lambda r: ((_metrics(calibration_coverage=float(r.choice([0.9995, 0.99]))),), {}),
    "calibration_coverage": lambda r: ((r.standard_t(3, size=20), float(r.uniform(0.5, 3.0))), {}),
    "quantize_tensor": lambda r: ((r.normal(size=(3, 8)),), {"bits": int(r.choice([3, 4, 8])),
                                  "granularity": str(r.choice(["tensor", "channel", "group"])), "group_size": 4}),
    "weight_stats": lambda r: ((r.standard_t(4, size=30),), {}),
    "cosine_similarity": lambda r: ((r.normal(size=(3, 5)), r.normal(size=(3, 5))), {}),
    "nearest_neighbours": lambda r: ((r.normal(size=(5, 4)),), {}),
}


def _accepts_good_input(fn: Callable, name: str, seed: int) -> None:
    """fn must answer a valid, secretly seeded call as the reference does (before its rejections count)."""
    args, kwargs = _VALID[name](_rng(seed))
    _agree(SPECS[name], fn, args, kwargs, note=" [valid input, asked before the bad input]")


# --------------------------------------------------------------------------- 1. quantize and dequantize


def quantize_half_to_even(quantize):
    """Exact .5 ties round half to even (np.rint), never floor or half away from zero."""
    _agree(_QUANTIZE, quantize, ([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], 1.0))
    _agree(_QUANTIZE, quantize, (0.25, 0.5))
    _agree(_QUANTIZE, quantize, (np.array([0.75, 1.25, -0.75]), 0.5))
    _agree(_QUANTIZE, quantize, (np.array([0.5, 1.5]), 1.0), {"zero_point": 3, "bits": 8, "signed": False})


def quantize_clips_to_range(quantize):
    """Values beyond the range saturate at qmin/qmax; no wrap-around."""
    _agree(_QUANTIZE, quantize, (np.array([-1000.0, -129.0, -128.6, 127.4, 128.0, 1000.0]), 1.0))
    _agree(_QUANTIZE, quantize, (np.array([-5.0, 0.0, 255.0, 300.0]), 1.0), {"signed": False})
    _agree(_QUANTIZE, quantize, (np.array([-2.0, -0.9, 0.8, 5.0]), 0.1), {"bits": 4})
    _agree(_QUANTIZE, quantize, (np.array([-1.0, 0.0, 0.75]), 0.1), {"zero_point": 8, "bits": 4, "signed": False})
    _agree(_QUANTIZE, quantize, (np.array([-40000.0, 40000.0]), 1.0), {"bits": 16})
    _agree(_QUANTIZE, quantize, (np.array([-300.0, 3.0, 300.0]), 1.0), {"bits": 4}, note=" [far beyond the 4-bit range]")


def quantize_matches_reference(quantize):
    """Seeded inputs over bit widths, signed/unsigned, zero points, batch shapes and per-channel scales."""
    rng = _rng(101)
    shapes = [(5,), (3, 4), (2, 2, 3)]
    for i, (bits, signed) in enumerate((b, s) for b in (2, 3, 4, 8, 12, 16) for s in (True, False)):
        qmin, qmax = reference.qrange(bits, signed)
        zero_point = int(rng.integers(qmin, qmax + 1)) if i % 4 else (0 if signed else qmax // 2 + 1)
        scale = float(rng.uniform(0.01, 0.5))
        x = scale * rng.uniform(qmin - zero_point - 3, qmax - zero_point + 3, size=shapes[i % 3])
        kwargs = {"zero_point": zero_point, "bits": bits, "signed": signed}
        _agree(_QUANTIZE, quantize, (x, scale), kwargs)
    _agree(_QUANTIZE, quantize, ([0.31, -0.74, 2.0], 0.1))
    _agree(_QUANTIZE, quantize, (-0.37, 0.1), {"zero_point": 5, "bits": 4, "signed": False})
    _agree(_QUANTIZE, quantize, ([0.31, -0.74, 2.0], 0.1), {"bits": 8.0}, note=" [bits 8.0 is the integer 8]")
    w = rng.normal(scale=0.5, size=(3, 6))
    per_row = np.abs(w).max(axis=1, keepdims=True) / 7
    _agree(_QUANTIZE, quantize, (w, per_row), {"bits": 4}, note=" [per-channel scales, one per row]")
    _agree(_QUANTIZE, quantize, (w, rng.uniform(0.05, 0.2, size=6)), {"bits": 4},
           note=" [per-channel scales, one per column]")
    _agree(_QUANTIZE, quantize, (w.tolist(), per_row.tolist()), {"bits": 8, "zero_point": 3},
           note=" [per-channel scales as lists]")


def quantize_rejects_bad_input(quantize):
    """Bad scale, bits or zero_point, and non-finite x, raise ValueError naming the argument."""
    _accepts_good_input(quantize, "quantize", 2000)
    bad = [
        ({"scale": 0.0}, "scale", "scale must be positive and finite"),
        ({"scale": -0.1}, "scale", "scale must be positive and finite"),
        ({"scale": math.nan}, "scale", "scale must be positive and finite"),
        ({"scale": math.inf}, "scale", "scale must be positive and finite"),
        ({"bits": 1}, "bits", "bits must be an integer in [2, 16]"),
        ({"bits": 17}, "bits", "bits must be an integer in [2, 16]"),
        ({"bits": 4.5}, "bits", "bits must be an integer in [2, 16]"),
        ({"zero_point": 300, "signed": False}, "zero_point", "zero_point must be an integer in [0, 255] here"),
        ({"zero_point": -129}, "zero_point", "zero_point must be an integer in [-128, 127] here"),
        ({"zero_point": 0.5}, "zero_point", "zero_point must be an integer"),
    ]
    for changes, name, why in bad:
        _rejects(_QUANTIZE, quantize, name, why, ([0.5, -1.0],), {"scale": 0.1, **changes})
    _rejects(_QUANTIZE, quantize, "scale", "every per-channel scale must be positive and finite",
             (np.ones((2, 3)), np.array([[0.1], [0.0]])))
    for x in ([0.5, math.nan], [math.inf, 0.0], -math.inf):
        _rejects(_QUANTIZE, quantize, "x", "x must be finite: NaN or inf has no code", (x, 0.1))


def dequantize_matches_reference(dequantize):
    """Seeded codes, zero points, batches, per-channel scales; bad scale, q or zero_point raise ValueError."""
    rng = _rng(102)
    for shape in [(6,), (3, 4), (2, 3, 2)]:
        q = rng.integers(-128, 128, size=shape)
        scale, zero_point = float(rng.uniform(0.01, 2.0)), int(rng.integers(-20, 21))
        _agree(_DEQUANTIZE, dequantize, (q, scale, zero_point))
    _agree(_DEQUANTIZE, dequantize, ([0, 5, 255], 0.02, 128))
    _agree(_DEQUANTIZE, dequantize, (7, 0.25), {"zero_point": 3})
    _agree(_DEQUANTIZE, dequantize, ([3.0, -2.0], 0.5), note=" [integer codes given as floats]")
    q = rng.integers(-8, 8, size=(3, 4))
    _agree(_DEQUANTIZE, dequantize, (q, rng.uniform(0.01, 0.3, size=(3, 1))), note=" [per-channel scales, one per row]")
    _agree(_DEQUANTIZE, dequantize, (q.tolist(), rng.uniform(0.01, 0.3, size=4).tolist()),
           note=" [per-channel scales as lists]")
    for scale in (0.0, -1.0, math.nan):
        _rejects(_DEQUANTIZE, dequantize, "scale", "scale must be positive and finite", ([1, 2], scale, 0))
    _rejects(_DEQUANTIZE, dequantize, "q", "q must hold integer codes", ([1, 3.5], 0.1, 0))
    _rejects(_DEQUANTIZE, dequantize, "zero_point", "zero_point must be an integer", ([1, 2], 0.1, 0.5))


def _on_grid(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Elementwise: x is scale * (an integer code - zero_point), up to rounding in the last bits."""
    codes = x / scale + zero_point
    return np.isclose(codes, np.rint(codes), rtol=0, atol=1e-6)


def quantize_dequantize_roundtrip(quantize, dequantize):
    """Property: identity on the grid; error at most scale/2 inside the range."""
    # The calls are shuffled and nudged within a rounding cell, so that a function that remembers its
    # last arguments (or a table of them) cannot answer for the other one.
    rng = _rng(103)
    for bits, signed, zero_point, scale in [(2, True, 0, 0.5), (4, True, 0, 0.1), (4, False, 8, 0.37),
                                            (8, True, 0, 1 / 3), (8, False, 128, 0.02), (8, True, -5, 0.3)]:
        qmin, qmax = reference.qrange(bits, signed)
        kwargs = {"zero_point": zero_point, "bits": bits, "signed": signed}
        setting = f"bits={bits}, signed={signed}, zero_point={zero_point}, scale={scale!r}"
        codes = rng.permutation(np.arange(qmin, qmax + 1))
        x = np.asarray(_call(_DEQUANTIZE, dequantize, (codes, scale, zero_point)).got, dtype=np.float64)
        if x.shape != codes.shape or not _on_grid(x, scale, zero_point).all():
            raise CheckFailed(
                f"dequantize(q) must land on the grid scale * (q - zero_point) ({setting}); got "
                f"{_brief(x)} for q = {_brief(codes)}. Compute scale * (q - zero_point), nothing else.", "mismatch"
            )
        order = rng.permutation(codes.size)
        nudge = rng.uniform(-0.25, 0.25, size=codes.size) * scale  # well inside the rounding cell
        back = np.asarray(_call(_QUANTIZE, quantize, (x[order] + nudge, scale), kwargs).got)
        if back.shape != codes.shape or (back != codes[order]).any():
            i = 0 if back.shape != codes.shape else int(np.flatnonzero(back != codes[order])[0])
            raise CheckFailed(
                f"quantize(dequantize(q)) must give every code q back ({setting}), also for a value nudged "
                f"by less than scale / 4: q = {codes[order][i]} -> dequantize {float(x[order][i])!r} -> "
                f"{float(x[order][i] + nudge[i])!r} -> quantize {_brief(back.flat[i] if back.size else back)}. "
                "Round to the nearest level (np.rint, not floor or int()), and let dequantize undo quantize: "
                "scale * (q - zero_point).", "mismatch"
            )
        inside = rng.uniform(scale * (qmin - zero_point), scale * (qmax - zero_point), size=200)
        codes = np.asarray(_call(_QUANTIZE, quantize, (inside, scale), kwargs).got)
        order = rng.permutation(inside.size)
        x_hat = np.asarray(_call(_DEQUANTIZE, dequantize, (codes[order], scale, zero_point)).got,
                           dtype=np.float64)
        error = np.abs(x_hat - inside[order])
        worst = int(np.argmax(error))
        if not (error[worst] <= scale / 2 * (1 + RTOL) and _on_grid(x_hat, scale, zero_point).all()):
            raise CheckFailed(
                f"round-trip error |dequantize(quantize(x)) - x| = {error[worst]:.6g} at x = "
                f"{float(inside[order][worst])!r} ({setting}), a value inside the range: it must be at most "
                f"scale / 2 = {scale / 2:.6g}, with dequantize's result on the grid. Round to the nearest level "
                "(np.rint, not floor or int()) and subtract the zero point in dequantize.", "mismatch"
            )


def qrange_matches_reference(qrange):
    """Every bit width 2..16, both signs; bad bits raise ValueError."""
    for bits in range(2, 17):
        for signed in (True, False):
            _agree(_QRANGE, qrange, (bits,), {"signed": signed})
    for bits in (1, 17, 4.5, 0):
        _rejects(_QRANGE, qrange, "bits", "bits must be an integer in [2, 16]", (bits,))


# --------------------------------------------------------------------------- 2. symmetric and asymmetric scales


def symmetric_scale_restricted_range(symmetric_scale):
    """Divides by 2^(bits-1) - 1 (restricted range) at every bit width."""
    for bits in range(2, 17):
        for max_abs in (2.1, 1.0):
            _agree(_SYMMETRIC_SCALE, symmetric_scale, (max_abs,), {"bits": bits})


def symmetric_scale_all_zero(symmetric_scale):
    """max_abs 0 (an all-zero tensor) gives scale 1.0."""
    _agree(_SYMMETRIC_SCALE, symmetric_scale, (0.0,))
    _agree(_SYMMETRIC_SCALE, symmetric_scale, (0.0,), {"bits": 8})
    _agree(_SYMMETRIC_SCALE, symmetric_scale, (np.array([0.0, 2.1, 0.0]),), {"bits": 4})


def symmetric_scale_per_channel(symmetric_scale):
    """An array of max_abs gives an array of scales (per-channel)."""
    rng = _rng(201)
    _agree(_SYMMETRIC_SCALE, symmetric_scale, (rng.uniform(0.1, 3.0, size=4),), {"bits": 4})
    _agree(_SYMMETRIC_SCALE, symmetric_scale, (rng.uniform(0.1, 3.0, size=(2, 3)),), {"bits": 8})
    _agree(_SYMMETRIC_SCALE, symmetric_scale, ([0.7, 2.1, 1.4],), {"bits": 3})


def symmetric_scale_rejects_bad_input(symmetric_scale):
    """Negative or non-finite max_abs and bad bits raise ValueError."""
    _accepts_good_input(symmetric_scale, "symmetric_scale", 2001)
    for max_abs in (-1.0, math.nan, math.inf, [1.0, -0.5]):
        _rejects(_SYMMETRIC_SCALE, symmetric_scale, "max_abs", "max_abs must be non-negative and finite",
                 (max_abs,))
    for bits in (1, 4.5):
        _rejects(_SYMMETRIC_SCALE, symmetric_scale, "bits", "bits must be an integer in [2, 16]", (1.0,),
                 {"bits": bits})


def affine_params_zero_exact(affine_params):
    """The range is widened to include 0, so 0.0 is exactly representable; ties round half to even."""
    for x_min, x_max, bits in [(0.5, 2.0, 8), (-3.0, -1.0, 8), (1.0, 5.0, 4), (-2.0, -0.5, 4), (-1.0, 3.0, 8)]:
        _agree(_AFFINE_PARAMS, affine_params, (x_min, x_max), {"bits": bits})
    # -x_min / scale is exactly 62.5 (scale 1.0): the zero point rounds half to even, to 62.
    _agree(_AFFINE_PARAMS, affine_params, (-62.5, 192.5), {"bits": 8}, note=" [-x_min / scale = 62.5, a tie]")


def affine_params_empty_range(affine_params):
    """The empty range (0, 0) gives (1.0, 0)."""
    _agree(_AFFINE_PARAMS, affine_params, (0.0, 0.0))
    _agree(_AFFINE_PARAMS, affine_params, (0.0, 0.0), {"bits": 4})


def affine_params_matches_reference(affine_params):
    """Seeded ranges and bit widths; zero_point is a Python int."""
    rng = _rng(202)
    for bits in (2, 4, 8, 16):
        for lo, hi in [(-5.0, 0.0), (0.0, 5.0), (-5.0, 5.0)]:
            x_min, x_max = np.sort(rng.uniform(lo, hi, size=2)).tolist()
            _agree(_AFFINE_PARAMS, affine_params, (x_min, x_max), {"bits": bits})


def affine_params_rejects_bad_input(affine_params):
    """x_min > x_max, non-finite bounds and bad bits raise ValueError."""
    _accepts_good_input(affine_params, "affine_params", 2002)
    _rejects(_AFFINE_PARAMS, affine_params, ("x_min", "x_max"), "x_min must be <= x_max", (2.0, 1.0))
    _rejects(_AFFINE_PARAMS, affine_params, "x_min", "x_min must be finite", (math.nan, 1.0))
    _rejects(_AFFINE_PARAMS, affine_params, "x_min", "x_min must be finite", (-math.inf, 1.0))
    _rejects(_AFFINE_PARAMS, affine_params, "x_max", "x_max must be finite", (-1.0, math.inf))
    for bits in (1, 4.5):
        _rejects(_AFFINE_PARAMS, affine_params, "bits", "bits must be an integer in [2, 16]", (-1.0, 1.0),
                 {"bits": bits})


# --------------------------------------------------------------------------- 3. memory budgets for inference


def memory_gb_decimal_units(memory_gb):
    """Decimal gigabytes (1e9 bytes), bits / 8 bytes; not GiB."""
    for n_params, bits in [(7e9, 16), (1e9, 8), (70e9, 4), (8e9, 4.125), (3e6, 32)]:
        _agree(_MEMORY_GB, memory_gb, (n_params, bits))


def memory_gb_accepts_arrays(memory_gb):
    """Lists and arrays of parameter counts or bit widths give arrays."""
    _agree(_MEMORY_GB, memory_gb, ([1e9, 7e9, 70e9], 16))
    _agree(_MEMORY_GB, memory_gb, (np.array([1e9, 13e9]), 4))
    _agree(_MEMORY_GB, memory_gb, (7e9, [32, 16, 8, 4]))
    _agree(_MEMORY_GB, memory_gb, (np.array([[1e9], [7e9]]), np.array([16, 4])))


def memory_gb_rejects_bad_input(memory_gb):
    """Negative n_params or non-positive bits raise ValueError."""
    _accepts_good_input(memory_gb, "memory_gb", 2003)
    for n_params in (-1.0, [1e9, -5.0]):
        _rejects(_MEMORY_GB, memory_gb, "n_params", "n_params must be non-negative", (n_params, 16))
    for bits in (0, -4, [16, 0]):
        _rejects(_MEMORY_GB, memory_gb, "bits", "bits must be positive", (1e9, bits))


def effective_bits_per_tensor(effective_bits):
    """group_size None means per-tensor: no overhead."""
    _agree(_EFFECTIVE_BITS, effective_bits, (4,))
    _agree(_EFFECTIVE_BITS, effective_bits, (3.5,), {"group_size": None})
    _agree(_EFFECTIVE_BITS, effective_bits, (8,), {"group_size": None, "scale_bits": 16, "zero_bits": 16})


def effective_bits_matches_reference(effective_bits):
    """Seeded group sizes with scale and zero-point bits; lists and arrays give arrays."""
    rng = _rng(301)
    for _ in range(8):
        kwargs = {"group_size": int(rng.choice([32, 64, 128, 256, 1024])),
                  "scale_bits": int(rng.choice([8, 16, 32])), "zero_bits": int(rng.choice([4, 8, 16]))}
        _agree(_EFFECTIVE_BITS, effective_bits, (int(rng.choice([2, 3, 4, 8])),), kwargs)
    _agree(_EFFECTIVE_BITS, effective_bits, (4, 128))
    _agree(_EFFECTIVE_BITS, effective_bits, (3.5,), {"group_size": 32, "scale_bits": 16, "zero_bits": 16})
    _agree(_EFFECTIVE_BITS, effective_bits, ([2, 3, 4, 8],), {"group_size": 128}, note=" [bits as a list]")
    _agree(_EFFECTIVE_BITS, effective_bits, (np.array([4.0, 8.0]),),
           {"group_size": 64, "scale_bits": np.array([16, 32]), "zero_bits": 8}, note=" [arrays]")
    _agree(_EFFECTIVE_BITS, effective_bits, (np.array([3, 4]),), note=" [an array, per-tensor]")


def effective_bits_rejects_bad_input(effective_bits):
    """Non-positive group_size or negative overhead bits raise ValueError."""
    _accepts_good_input(effective_bits, "effective_bits", 2004)
    for group_size in (0, -128, 64.5):
        _rejects(_EFFECTIVE_BITS, effective_bits, "group_size", "group_size must be a positive integer", (4,),
                 {"group_size": group_size})
    _rejects(_EFFECTIVE_BITS, effective_bits, "scale_bits", "scale_bits must be non-negative", (4,),
             {"group_size": 128, "scale_bits": -16})
    _rejects(_EFFECTIVE_BITS, effective_bits, "zero_bits", "zero_bits must be non-negative", (4,),
             {"group_size": 128, "zero_bits": -4})


# --------------------------------------------------------------------------- 4. measuring quantization error


def quantization_mse_matches_reference(quantization_mse):
    """Seeded 1-D and 2-D tensors; the result is a Python float."""
    rng = _rng(401)
    for shape in [(8,), (3, 4), (1,)]:
        w = rng.normal(size=shape)
        _agree(_QUANTIZATION_MSE, quantization_mse, (w, w + rng.normal(scale=0.1, size=shape)))
    _agree(_QUANTIZATION_MSE, quantization_mse, ([0.3, -1.2, 0.8], [0.25, -1.0, 1.0]))


def quantization_mse_rejects_bad_input(quantization_mse):
    """Mismatched shapes (no broadcasting) and empty input raise ValueError."""
    _accepts_good_input(quantization_mse, "quantization_mse", 2005)
    why = ("w and w_hat must have exactly the same shape (no broadcasting): NumPy would silently broadcast "
           "and compare every element of w with the same w_hat value")
    _rejects(_QUANTIZATION_MSE, quantization_mse, ("w", "w_hat"), why, ([0.1, 0.2, 0.3], [0.1]))
    _rejects(_QUANTIZATION_MSE, quantization_mse, ("w", "w_hat"), why, (np.ones((2, 3)), np.ones(3)))
    _rejects(_QUANTIZATION_MSE, quantization_mse, ("w", "w_hat"), why, ([0.1, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4]))
    _rejects(_QUANTIZATION_MSE, quantization_mse, "w", "w must be non-empty: the mean of nothing is nan",
             ([], []))


def sqnr_db_matches_reference(sqnr_db):
    """Seeded tensors: 10*log10(signal power / noise power), decibels."""
    rng = _rng(402)
    for shape, step in [((16,), 0.1), ((4, 5), 0.3), ((64,), 0.02)]:
        w = rng.normal(size=shape)
        _agree(_SQNR_DB, sqnr_db, (w, step * np.rint(w / step)))
    _agree(_SQNR_DB, sqnr_db, ([1.0, -2.0, 0.5], [1.0, -1.5, 0.5]))


def sqnr_db_no_error_is_inf(sqnr_db):
    """No error gives inf, without a warning."""
    advice = "When the noise power is zero (w_hat equals w), return float('inf') before dividing."
    w = _rng(403).normal(size=(3, 4))
    for args in [([1.0, -2.0, 3.0], [1.0, -2.0, 3.0]), (w, w.copy())]:
        _no_warning(_agree(_SQNR_DB, sqnr_db, args), advice)


def sqnr_db_rejects_bad_input(sqnr_db):
    """Mismatched shapes, empty or all-zero w raise ValueError."""
    _accepts_good_input(sqnr_db, "sqnr_db", 2006)
    _rejects(_SQNR_DB, sqnr_db, ("w", "w_hat"), "w and w_hat must have the same shape", ([1.0, 2.0], [1.0]))
    _rejects(_SQNR_DB, sqnr_db, "w", "w must be non-empty", ([], []))
    _rejects(_SQNR_DB, sqnr_db, "w", "w must not be all zeros: its signal power is 0", ([0.0, 0.0], [0.1, 0.0]))


# --------------------------------------------------------------------------- 5. the clipping trade-off


def best_clip_first_on_ties(best_clip):
    """On equal MSE the first clip wins."""
    _agree(_BEST_CLIP, best_clip, ([1.0, 2.0, 3.0, 4.0], [0.5, 0.1, 0.1, 0.3]))
    _agree(_BEST_CLIP, best_clip, (np.array([0.5, 1.0]), np.array([0.2, 0.2])))
    _agree(_BEST_CLIP, best_clip, ([1.5, 2.5, 3.5], [0.3, 0.3, 0.3]))


def best_clip_matches_reference(best_clip):
    """Seeded sweeps; the result is a Python float."""
    rng = _rng(501)
    for n in (1, 5, 20):
        clips = np.sort(rng.uniform(0.1, 4.0, size=n))
        _agree(_BEST_CLIP, best_clip, (clips, rng.uniform(0.01, 1.0, size=n)))
    _agree(_BEST_CLIP, best_clip, ([0.5, 1.0, 1.5, 2.0], [0.09, 0.04, 0.03, 0.05]))


def best_clip_rejects_bad_input(best_clip):
    """Lengths that differ, empty sweeps and NaN MSE raise ValueError."""
    _accepts_good_input(best_clip, "best_clip", 2007)
    _rejects(_BEST_CLIP, best_clip, ("clips", "mse"), "clips and mse must have the same length",
             ([1.0, 2.0, 3.0], [0.1, 0.2]))
    _rejects(_BEST_CLIP, best_clip, ("clips", "mse"), "an empty sweep has no best clip", ([], []))
    _rejects(_BEST_CLIP, best_clip, "mse", "mse must not contain NaN", ([1.0, 2.0], [0.1, math.nan]))


def clip_mse_restricted_range(clip_mse):
    """Scale is clip / (2^(bits-1) - 1); codes stay in [-qmax, qmax]; ties round half to even."""
    w = np.array([-1.6, -1.0, -0.4, 0.3, 0.8, 1.0])
    _agree(_CLIP_MSE, clip_mse, (w, 1.0), {"bits": 2})
    _agree(_CLIP_MSE, clip_mse, ([0.5, -0.5, 1.5, -1.5, 2.5], 3.0), {"bits": 3}, note=" [ties round half to even]")
    _agree(_CLIP_MSE, clip_mse, (w, 1.0), {"bits": 4})
    _agree(_CLIP_MSE, clip_mse, (np.linspace(-2.0, 2.0, 11), 1.5), {"bits": 3})


def clip_mse_saturates(clip_mse):
    """Weights beyond +-clip saturate at +-clip."""
    _agree(_CLIP_MSE, clip_mse, ([3.0, -3.0, 0.0], 1.0), {"bits": 4})
    _agree(_CLIP_MSE, clip_mse, (np.array([2.5, -0.3, 0.5, -4.0]), 0.5), {"bits": 3})
    _agree(_CLIP_MSE, clip_mse, (np.array([[1.2, -0.1], [-0.9, 5.0]]), 1.0), {"bits": 8})


def clip_mse_matches_reference(clip_mse):
    """Seeded weights, clips and bit widths."""
    rng = _rng(502)
    for shape, bits in [((64,), 2), ((8, 8), 3), ((100,), 4), ((32,), 8)]:
        w = rng.normal(size=shape)
        for factor in (0.5, 1.5, 3.0):
            _agree(_CLIP_MSE, clip_mse, (w, factor * float(np.std(w))), {"bits": bits})


def clip_mse_rejects_bad_input(clip_mse):
    """Non-positive or non-finite clip, empty w and bad bits raise ValueError."""
    _accepts_good_input(clip_mse, "clip_mse", 2008)
    for clip in (0.0, -1.0, math.nan, math.inf):
        _rejects(_CLIP_MSE, clip_mse, "clip", "clip must be positive and finite", ([0.5, -0.5], clip))
    _rejects(_CLIP_MSE, clip_mse, "w", "w must be non-empty", ([], 1.0))
    for bits in (1, 4.5):
        _rejects(_CLIP_MSE, clip_mse, "bits", "bits must be an integer in [2, 16]", ([0.5, -0.5], 1.0),
                 {"bits": bits})


# --------------------------------------------------------------------------- 6. softmax with temperature


def softmax_temperature(softmax):
    """Logits are divided by tau; high tau flattens, low tau sharpens."""
    for tau in (0.5, 4.0, 0.1, 1.0):
        _agree(_SOFTMAX, softmax, ([1.0, 2.0, 3.0],), {"tau": tau})
    _agree(_SOFTMAX, softmax, (np.array([[2.0, 0.0], [0.0, 1.0]]),), {"tau": 2.0})


def softmax_stable_large_logits(softmax):
    """Logits of magnitude 1e4: no overflow, no NaN, no warning."""
    advice = ("Subtract the maximum along axis (np.max(z, axis=axis, keepdims=True)) before np.exp: it does "
              "not change the result and keeps exp from overflowing.")
    for logits, tau in [([1e4, 0.0, -1e4], 1.0), ([1000.0, 1001.0, 1002.0], 1.0), ([-1e4, -1e4 + 1.0], 1.0),
                        (np.array([[1e4, 1e4 - 1.0, 0.0], [-1e4, -1e4 + 2.0, -1e4 + 1.0]]), 0.5)]:
        _no_warning(_agree(_SOFTMAX, softmax, (logits,), {"tau": tau}), advice)


def softmax_batches_and_axis(softmax):
    """Rows sum to 1 along axis, a constant shift changes nothing, batches work."""
    rng = _rng(601)
    logits = rng.normal(scale=2.0, size=(3, 4))
    _agree(_SOFTMAX, softmax, (logits,))
    _agree(_SOFTMAX, softmax, (logits,), {"axis": 0})
    _agree(_SOFTMAX, softmax, (logits + 50.0,), {"tau": 2.0})
    _agree(_SOFTMAX, softmax, (rng.normal(size=(2, 3, 4)),), {"tau": 0.7, "axis": 1})
    _agree(_SOFTMAX, softmax, (logits.tolist(),), {"tau": 1.5, "axis": -1})


def softmax_rejects_bad_input(softmax):
    """tau <= 0 or non-finite, and empty logits raise ValueError."""
    _accepts_good_input(softmax, "softmax", 2009)
    for tau in (0.0, -1.0, math.nan, math.inf):
        _rejects(_SOFTMAX, softmax, "tau", "tau must be positive and finite", ([1.0, 2.0],), {"tau": tau})
    _rejects(_SOFTMAX, softmax, "logits", "logits must be non-empty", ([],))


def entropy_zero_probabilities(entropy):
    """0 log 0 = 0, without a warning."""
    advice = ("Take the log only where p > 0, e.g. np.log(p, out=np.zeros_like(p), where=p > 0); note that "
              "np.where(p > 0, p * np.log(p), 0) still evaluates log(0) everywhere and warns.")
    for p in ([1.0, 0.0], [0.5, 0.5, 0.0], np.array([[1.0, 0.0, 0.0], [0.5, 0.0, 0.5]])):
        _no_warning(_agree(_ENTROPY, entropy, (p,)), advice)


def entropy_matches_reference(entropy):
    """Seeded distributions and batches, in nats (natural log); sums within 1e-6 of 1 accepted."""
    rng = _rng(602)
    _agree(_ENTROPY, entropy, (rng.dirichlet(np.ones(6)),))
    _agree(_ENTROPY, entropy, (rng.dirichlet(np.ones(6), size=4),))
    _agree(_ENTROPY, entropy, (rng.dirichlet(np.ones(4), size=6).T,), {"axis": 0})
    _agree(_ENTROPY, entropy, ([0.25, 0.25, 0.5],))
    _agree(_ENTROPY, entropy, ([0.25, 0.25, 0.5 - 5e-7],), note=" [a sum within 1e-6 of 1]")


def entropy_rejects_bad_input(entropy):
    """Negative probabilities or rows not summing to 1 raise ValueError."""
    _accepts_good_input(entropy, "entropy", 2010)
    _rejects(_ENTROPY, entropy, "p", "p must be non-negative", ([-0.1, 1.1],))
    _rejects(_ENTROPY, entropy, "p", "p must sum to 1 along axis", ([0.5, 0.6],))
    _rejects(_ENTROPY, entropy, "p", "every row of p must sum to 1", ([[0.5, 0.5], [0.2, 0.2]],))


# --------------------------------------------------------------------------- 7. KL divergence and the KD loss


def kl_divergence_direction(kl_divergence):
    """KL(teacher p || student q): sum p log(p/q), not the reverse."""
    _agree(_KL_DIVERGENCE, kl_divergence, ([0.9, 0.1], [0.5, 0.5]))
    _agree(_KL_DIVERGENCE, kl_divergence, ([0.6, 0.3, 0.1], [0.2, 0.3, 0.5]))
    _agree(_KL_DIVERGENCE, kl_divergence, (np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[0.6, 0.4], [0.5, 0.5]])))


def kl_divergence_zero_probabilities(kl_divergence):
    """p = 0 terms are 0; q = 0 where p > 0 gives inf; no warning."""
    advice = ("Skip the p = 0 terms and set inf where q = 0 < p without ever evaluating np.log(0) or 0 * inf, "
              "e.g. with boolean masks or np.log(x, out=..., where=x > 0).")
    for p, q in [([1.0, 0.0], [0.5, 0.5]), ([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]), ([0.5, 0.5], [1.0, 0.0]),
                 ([0.5, 0.5, 0.0], [0.5, 0.5, 0.0]),
                 (np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([[0.5, 0.5], [1.0, 0.0]]))]:
        _no_warning(_agree(_KL_DIVERGENCE, kl_divergence, (p, q)), advice)


def kl_divergence_batches(kl_divergence):
    """One value per row; KL >= 0 and 0 only for equal inputs; sums within 1e-6 of 1 accepted."""
    rng = _rng(701)
    p, q = rng.dirichlet(np.ones(5), size=4), rng.dirichlet(np.ones(5), size=4)
    _agree(_KL_DIVERGENCE, kl_divergence, (p, q))
    _agree(_KL_DIVERGENCE, kl_divergence, (p.T, q.T), {"axis": 0})
    _agree(_KL_DIVERGENCE, kl_divergence, (p, p.copy()))
    _agree(_KL_DIVERGENCE, kl_divergence, (p[:2].tolist(), q[:2].tolist()))
    _agree(_KL_DIVERGENCE, kl_divergence, ([0.7 + 5e-7, 0.3], [0.6, 0.4 - 5e-7]), note=" [sums within 1e-6 of 1]")


def kl_divergence_rejects_bad_input(kl_divergence):
    """Negative entries, rows not summing to 1, shape mismatch raise ValueError."""
    _accepts_good_input(kl_divergence, "kl_divergence", 2011)
    _rejects(_KL_DIVERGENCE, kl_divergence, "p", "p must be non-negative", ([-0.1, 1.1], [0.5, 0.5]))
    _rejects(_KL_DIVERGENCE, kl_divergence, "q", "q must be non-negative", ([0.5, 0.5], [1.2, -0.2]))
    _rejects(_KL_DIVERGENCE, kl_divergence, "p", "p must sum to 1 along axis", ([0.5, 0.6], [0.5, 0.5]))
    _rejects(_KL_DIVERGENCE, kl_divergence, "q", "q must sum to 1 along axis", ([0.5, 0.5], [0.3, 0.3]))
    _rejects(_KL_DIVERGENCE, kl_divergence, ("p", "q"), "p and q must have the same shape",
             ([0.5, 0.5], [0.2, 0.3, 0.5]))


def kd_loss_tau_squared(kd_loss):
    """The KL is multiplied by tau^2 (Hinton et al. 2015)."""
    rng = _rng(702)
    s, t = rng.normal(scale=2.0, size=(3, 5)), rng.normal(scale=2.0, size=(3, 5))
    for tau in (2.0, 4.0):
        _agree(_KD_LOSS, kd_loss, (s, t, tau))
    _agree(_KD_LOSS, kd_loss, ([1.0, -0.5, 2.0, 0.0], [0.5, 0.5, 3.0, -1.0], 3.0))


def kd_loss_batchmean(kd_loss):
    """Mean over the batch (batchmean), not over every element."""
    rng = _rng(703)
    for batch, classes in [(4, 5), (8, 3), (1, 6)]:
        s, t = rng.normal(scale=2.0, size=(batch, classes)), rng.normal(scale=2.0, size=(batch, classes))
        _agree(_KD_LOSS, kd_loss, (s, t, 2.0))


def kd_loss_stable_large_logits(kd_loss):
    """Large logits and high temperature: finite, no warning; direction teacher || student."""
    advice = ("Compute the log-softmax stably, z - max z - log(sum(exp(z - max z))), instead of np.log of a "
              "softmax, and never exponentiate a large positive number.")
    s = np.array([[1e4, -1e4, 0.0], [5e3, 0.0, -5e3]])
    t = np.array([[0.0, 1e4, -1e4], [-5e3, 4e3, 5e3]])
    for tau in (1.0, 10.0):
        _no_warning(_agree(_KD_LOSS, kd_loss, (s, t, tau)), advice)
    _no_warning(_agree(_KD_LOSS, kd_loss, ([1e4, 1e4 - 3.0, -1e4], [1e4 - 1.0, 1e4, 0.0], 20.0)), advice)


def kd_loss_rejects_bad_input(kd_loss):
    """Shape mismatch and tau not positive and finite raise ValueError."""
    _accepts_good_input(kd_loss, "kd_loss", 2012)
    _rejects(_KD_LOSS, kd_loss, ("student_logits", "teacher_logits"),
             "student_logits and teacher_logits must have the same shape", (np.zeros((2, 3)), np.zeros((2, 4)), 2.0))
    for tau in (0.0, -1.0, math.nan, math.inf):
        _rejects(_KD_LOSS, kd_loss, "tau", "tau must be positive and finite", ([1.0, 2.0], [2.0, 1.0], tau))


# --------------------------------------------------------------------------- 8. combining hard and soft targets


def combined_loss_alpha_weights_ce(combined_loss):
    """alpha weights the cross-entropy and 1 - alpha the KD term."""
    for ce, kd, alpha in [(2.0, 0.5, 0.8), (1.0, 3.0, 1.0), (1.0, 3.0, 0.0)]:
        _agree(_COMBINED_LOSS, combined_loss, (ce, kd, alpha))


def combined_loss_matches_reference(combined_loss):
    """Seeded values, alpha at 0 and 1, arrays."""
    rng = _rng(801)
    for alpha in (*rng.uniform(0.05, 0.95, size=3), 0.0, 1.0):
        _agree(_COMBINED_LOSS, combined_loss, (float(rng.uniform(0, 5)), float(rng.uniform(0, 5)), float(alpha)))
    _agree(_COMBINED_LOSS, combined_loss, (rng.uniform(0, 5, size=4), rng.uniform(0, 5, size=4), 0.3))
    _agree(_COMBINED_LOSS, combined_loss, ([1.5, 0.2], [0.4, 2.0], 0.25), note=" [lists]")


def combined_loss_rejects_bad_input(combined_loss):
    """alpha outside [0, 1] or non-finite raises ValueError."""
    _accepts_good_input(combined_loss, "combined_loss", 2013)
    for alpha in (-0.1, 1.5, math.nan):
        _rejects(_COMBINED_LOSS, combined_loss, "alpha", "alpha must be in [0, 1]", (1.0, 0.5, alpha))


def _distillation_batch(rng: np.random.Generator, batch: int, classes: int) -> tuple:
    s, t = rng.normal(scale=2.0, size=(batch, classes)), rng.normal(scale=2.0, size=(batch, classes))
    return s, t, rng.integers(0, classes, size=batch)


def distillation_loss_cross_entropy_at_tau_1(distillation_loss):
    """alpha 1 gives the batch-mean cross-entropy at temperature 1."""
    s, t, labels = _distillation_batch(_rng(802), 3, 4)
    for tau in (2.0, 4.0):
        _agree(_DISTILLATION_LOSS, distillation_loss, (s, t, labels, tau, 1.0))
    _agree(_DISTILLATION_LOSS, distillation_loss, (s.tolist(), t.tolist(), labels.tolist(), 3.0, 1.0))


def distillation_loss_kd_term(distillation_loss):
    """alpha 0 gives kd_loss (tau^2, batchmean, teacher || student)."""
    s, t, labels = _distillation_batch(_rng(803), 4, 5)
    for tau in (2.0, 4.0):
        _agree(_DISTILLATION_LOSS, distillation_loss, (s, t, labels, tau, 0.0))


def distillation_loss_matches_reference(distillation_loss):
    """Seeded batches, temperatures and alphas; float labels; a 1-D batch of one."""
    rng = _rng(804)
    for batch, classes, tau in [(1, 2, 1.0), (2, 3, 2.0), (5, 6, 5.0), (3, 4, 0.5)]:
        s, t, labels = _distillation_batch(rng, batch, classes)
        _agree(_DISTILLATION_LOSS, distillation_loss, (s, t, labels, tau, float(rng.uniform(0.1, 0.9))))
    s, t, labels = _distillation_batch(rng, 3, 4)
    _agree(_DISTILLATION_LOSS, distillation_loss, (s, t, labels.astype(np.float64), 2.0, 0.5),
           note=" [integer labels given as floats]")
    _agree(_DISTILLATION_LOSS, distillation_loss, (s[0], t[0], [int(labels[0])], 2.0, 0.3),
           note=" [1-D logits: a batch of one]")
    _agree(_DISTILLATION_LOSS, distillation_loss, (s[1].tolist(), t[1].tolist(), int(labels[1]), 3.0, 0.7),
           note=" [1-D logits with a scalar label]")


def distillation_loss_rejects_bad_input(distillation_loss):
    """Labels out of range or not integers, bad alpha or tau raise ValueError."""
    _accepts_good_input(distillation_loss, "distillation_loss", 2014)
    s, t = np.zeros((2, 3)), np.ones((2, 3))
    for labels in ([0, 3], [-1, 0], [0.5, 1.0]):
        _rejects(_DISTILLATION_LOSS, distillation_loss, "labels", "labels must be integers in [0, 3)",
                 (s, t, labels, 2.0, 0.5))
    _rejects(_DISTILLATION_LOSS, distillation_loss, "labels", "labels must hold one label per example",
             (s, t, [0], 2.0, 0.5))
    _rejects(_DISTILLATION_LOSS, distillation_loss, "alpha", "alpha must be in [0, 1]", (s, t, [0, 1], 2.0, 1.5))
    _rejects(_DISTILLATION_LOSS, distillation_loss, "alpha", "alpha must be finite", (s, t, [0, 1], 2.0, math.nan))
    for tau in (0.0, math.nan, math.inf):
        _rejects(_DISTILLATION_LOSS, distillation_loss, "tau", "tau must be positive and finite",
                 (s, t, [0, 1], tau, 0.5))


# --------------------------------------------------------------------------- 9. memory budgets for fine-tuning


def adam_state_gb_matches_reference(adam_state_gb):
    """Seeded counts, bytes per value and moments; lists and arrays; decimal GB."""
    rng = _rng(901)
    _agree(_ADAM_STATE_GB, adam_state_gb, (7e9,))
    _agree(_ADAM_STATE_GB, adam_state_gb, (1.5e8,), {"bytes_per_value": 2, "n_moments": 2})
    for _ in range(3):
        kwargs = {"bytes_per_value": int(rng.choice([2, 4, 8])), "n_moments": int(rng.choice([1, 2, 3]))}
        _agree(_ADAM_STATE_GB, adam_state_gb, (float(rng.integers(1, 10**10)),), kwargs)
    _agree(_ADAM_STATE_GB, adam_state_gb, ([1e6, 2e7, 7e9],), note=" [a list of counts]")
    _agree(_ADAM_STATE_GB, adam_state_gb, (np.array([1e8, 2e8]),), {"bytes_per_value": 2, "n_moments": [1, 2]},
           note=" [arrays]")


def adam_state_gb_rejects_bad_input(adam_state_gb):
    """Negative counts, non-positive sizes or a non-integer n_moments raise ValueError."""
    _accepts_good_input(adam_state_gb, "adam_state_gb", 2015)
    _rejects(_ADAM_STATE_GB, adam_state_gb, "n_trainable", "n_trainable must be non-negative", (-1.0,))
    for size in (0, -4):
        _rejects(_ADAM_STATE_GB, adam_state_gb, "bytes_per_value", "bytes_per_value must be positive", (1e6,),
                 {"bytes_per_value": size})
    _rejects(_ADAM_STATE_GB, adam_state_gb, "n_moments", "n_moments must be non-negative", (1e6,),
             {"n_moments": -1})
    _rejects(_ADAM_STATE_GB, adam_state_gb, "n_moments", "n_moments must be an integer", (1e6,),
             {"n_moments": 1.5})


def finetune_memory_gb_frozen_bits(finetune_memory_gb):
    """Frozen weights cost frozen_bits / 8 bytes each, trainable ones 12 bytes."""
    for n_frozen, n_trainable, frozen_bits in [(7e9, 20e6, 4), (7e9, 20e6, 8), (13e9, 0, 4.125), (70e9, 1e8, 3)]:
        _agree(_FINETUNE_MEMORY_GB, finetune_memory_gb, (n_frozen, n_trainable), {"frozen_bits": frozen_bits})


def finetune_memory_gb_matches_reference(finetune_memory_gb):
    """Seeded model sizes and precisions; lists and arrays give arrays."""
    rng = _rng(902)
    for _ in range(4):
        args = (float(rng.integers(10**8, 10**11)), float(rng.integers(10**5, 10**9)))
        kwargs = {"frozen_bits": int(rng.choice([4, 8, 16, 32])), "bytes_per_trainable": int(rng.choice([12, 16]))}
        _agree(_FINETUNE_MEMORY_GB, finetune_memory_gb, args, kwargs)
    _agree(_FINETUNE_MEMORY_GB, finetune_memory_gb, (7e9, 20e6))
    _agree(_FINETUNE_MEMORY_GB, finetune_memory_gb, (np.array([7e9, 13e9, 70e9]), 20e6), note=" [an array of models]")
    _agree(_FINETUNE_MEMORY_GB, finetune_memory_gb, (7e9, [1e6, 2e7]), {"frozen_bits": [4, 16]},
           note=" [lists]")


def finetune_memory_gb_rejects_bad_input(finetune_memory_gb):
    """Negative counts or non-positive sizes raise ValueError."""
    _accepts_good_input(finetune_memory_gb, "finetune_memory_gb", 2016)
    _rejects(_FINETUNE_MEMORY_GB, finetune_memory_gb, "n_frozen", "n_frozen must be non-negative", (-1.0, 1e6))
    _rejects(_FINETUNE_MEMORY_GB, finetune_memory_gb, "n_trainable", "n_trainable must be non-negative",
             (1e9, -5.0))
    _rejects(_FINETUNE_MEMORY_GB, finetune_memory_gb, "frozen_bits", "frozen_bits must be positive", (1e9, 1e6),
             {"frozen_bits": 0})
    for size in (0, -12):
        _rejects(_FINETUNE_MEMORY_GB, finetune_memory_gb, "bytes_per_trainable",
                 "bytes_per_trainable must be positive", (1e9, 1e6), {"bytes_per_trainable": size})


# --------------------------------------------------------------------------- 10. shipping gates


def _metrics(**changes: Any) -> dict[str, Any]:
    """Metrics that pass every gate at the default thresholds, with ``changes`` applied."""
    metrics = {
        "calibration_coverage": 0.9995,
        "loss_baseline": 2.0,
        "loss_quantized": 2.02,
        "latency_baseline_ms": 30.0,
        "latency_quantized_ms": 18.0,
        "task_scores_baseline": {"mmlu": 62.0, "gsm8k": 41.0, "hellaswag": 78.0},
        "task_scores_quantized": {"mmlu": 61.5, "gsm8k": 40.5, "hellaswag": 78.25},
        "safety_pass": True,
    }
    return {**metrics, **changes}


def _scores(**changes: float) -> dict[str, float]:
    """Quantized task scores: the passing ones with ``changes`` applied."""
    return {**_metrics()["task_scores_quantized"], **changes}


def shipping_gates_keys_and_types(shipping_gates):
    """Exactly the keys calibration, heldout_loss, latency, quality, ship; bools."""
    _agree(_SHIPPING_GATES, shipping_gates, (_metrics(),), note=" [every gate passes]")
    _agree(_SHIPPING_GATES, shipping_gates, (_metrics(latency_quantized_ms=45.0, safety_pass=False),),
           note=" [slower and unsafe]")
    _agree(_SHIPPING_GATES, shipping_gates, (_metrics(calibration_coverage=0.95, loss_quantized=2.5),),
           note=" [low coverage, higher loss]")


def shipping_gates_thresholds(shipping_gates):
    """Each gate at and just past its threshold; latency must be strictly lower."""
    loss = {"max_loss_increase": 0.03125}  # 2.0 -> 2.0625 is exactly +3.125%, with no rounding error
    cases = [
        (_metrics(calibration_coverage=0.999), {}, "coverage exactly at min_coverage 0.999"),
        (_metrics(calibration_coverage=0.9989), {}, "coverage 0.9989, below min_coverage 0.999"),
        (_metrics(loss_quantized=2.0625), loss, "loss increase exactly at max_loss_increase 3.125%"),
        (_metrics(loss_quantized=2.0626), loss, "loss increase just above max_loss_increase 3.125%"),
        (_metrics(latency_quantized_ms=30.0), {}, "latency equal to the baseline, 30.0 ms"),
        (_metrics(latency_quantized_ms=29.99), {}, "latency 29.99 ms, just below the baseline 30.0 ms"),
        (_metrics(task_scores_quantized=_scores(mmlu=61.0)), {}, "mmlu drops by exactly max_task_drop 1.0"),
        (_metrics(task_scores_quantized=_scores(mmlu=60.5)), {}, "mmlu drops by 1.5, above max_task_drop 1.0"),
    ]
    for metrics, kwargs, note in cases:
        _agree(_SHIPPING_GATES, shipping_gates, (metrics,), kwargs, note=f" [{note}]")


def shipping_gates_quality_gate(shipping_gates):
    """Any task dropping more than max_task_drop, or a safety failure, blocks."""
    one_task_drops = _metrics(task_scores_quantized=_scores(mmlu=59.0, gsm8k=43.0, hellaswag=80.0))
    cases = [
        (one_task_drops, {}, "mmlu drops by 3 while the other tasks improve (average drop below 1)"),
        (one_task_drops, {"max_task_drop": 5.0}, "mmlu drops by 3 with max_task_drop 5.0"),
        (_metrics(safety_pass=False), {}, "safety_pass False, every score within max_task_drop"),
        (_metrics(task_scores_quantized=_scores(gsm8k=39.5), safety_pass=False), {},
         "gsm8k drops by 1.5 and safety_pass False"),
    ]
    for metrics, kwargs, note in cases:
        _agree(_SHIPPING_GATES, shipping_gates, (metrics,), kwargs, note=f" [{note}]")


def shipping_gates_rejects_missing_metric(shipping_gates):
    """A missing metric raises ValueError naming it."""
    _accepts_good_input(shipping_gates, "shipping_gates", 2100)
    for key in _metrics():
        metrics = {k: v for k, v in _metrics().items() if k != key}
        _rejects(_SHIPPING_GATES, shipping_gates, key,
                 f"metrics without {key!r} must raise ValueError naming {key!r}, not KeyError", (metrics,))


def calibration_coverage_inclusive_clip(calibration_coverage):
    """abs(a) <= clip: activations exactly at +-clip are covered."""
    _agree(_CALIBRATION_COVERAGE, calibration_coverage, ([-1.0, 1.0, 0.5, 1.5], 1.0))
    _agree(_CALIBRATION_COVERAGE, calibration_coverage, (np.array([0.1, -0.1, 0.3]), 0.1))
    _agree(_CALIBRATION_COVERAGE, calibration_coverage, (np.array([[2.0, -2.0], [0.0, -3.0]]), 2.0))


def calibration_coverage_matches_reference(calibration_coverage):
    """Seeded activations, 2-D batches; a Python float."""
    rng = _rng(1001)
    for shape in [(100,), (8, 16), (2, 3, 5)]:
        a = rng.standard_t(3, size=shape)
        for clip in (0.5, 2.0, 6.0):
            _agree(_CALIBRATION_COVERAGE, calibration_coverage, (a, clip))
    _agree(_CALIBRATION_COVERAGE, calibration_coverage, ([0.2, -3.0, 1.1, -0.4], 1.0))


def calibration_coverage_rejects_bad_input(calibration_coverage):
    """Empty activations, negative or non-finite clip raise ValueError."""
    _accepts_good_input(calibration_coverage, "calibration_coverage", 2017)
    _rejects(_CALIBRATION_COVERAGE, calibration_coverage, "activations", "activations must be non-empty",
             ([], 1.0))
    for clip in (-1.0, math.nan, math.inf):
        _rejects(_CALIBRATION_COVERAGE, calibration_coverage, "clip", "clip must be non-negative and finite",
                 ([0.5, -2.0], clip))


# --------------------------------------------------------------------------- capstone: quantizing a real model


def _outlier_matrix(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Gaussian weights whose rows differ in scale, with a few outliers: where granularity matters."""
    w = rng.normal(size=(rows, cols)) * rng.uniform(0.05, 1.0, size=(rows, 1))
    w.flat[rng.choice(w.size, size=max(1, w.size // 50), replace=False)] *= 12.0
    return w


def quantize_tensor_per_tensor(quantize_tensor):
    """One scale for the whole matrix, max|w| / (2^(bits-1) - 1): seeded matrices at 8, 4, 3 and 2 bits."""
    rng = _rng(1101)
    for (rows, cols), bits in [((4, 8), 8), ((6, 16), 4), ((3, 5), 3), ((8, 8), 2)]:
        w = _outlier_matrix(rng, rows, cols)
        _agree(_QUANTIZE_TENSOR, quantize_tensor, (w,), {"bits": bits})
    _agree(_QUANTIZE_TENSOR, quantize_tensor, ([[0.7, -3.5], [1.2, 0.25]],), {"bits": 4, "granularity": "tensor"})


def quantize_tensor_per_channel(quantize_tensor):
    """\"channel\": one scale per row (output channel); rows of very different sizes keep their precision."""
    rng = _rng(1102)
    for (rows, cols), bits in [((4, 8), 8), ((6, 16), 4), ((5, 3), 3), ((1, 7), 4)]:
        w = _outlier_matrix(rng, rows, cols)
        _agree(_QUANTIZE_TENSOR, quantize_tensor, (w,), {"bits": bits, "granularity": "channel"})
    _agree(_QUANTIZE_TENSOR, quantize_tensor, ([[0.7, -3.5, 0.1], [1.2, 0.25, -0.6]],),
           {"bits": 4, "granularity": "channel"})


def quantize_tensor_group_wise(quantize_tensor):
    """\"group\": one scale per group_size consecutive weights of a row; group_size = in_features is per-channel."""
    rng = _rng(1103)
    for (rows, cols), bits, size in [((4, 8), 4, 4), ((3, 12), 4, 3), ((2, 16), 8, 8), ((5, 6), 3, 6), ((2, 4), 4, 1)]:
        w = _outlier_matrix(rng, rows, cols)
        _agree(_QUANTIZE_TENSOR, quantize_tensor, (w,), {"bits": bits, "granularity": "group", "group_size": size})
    _agree(_QUANTIZE_TENSOR, quantize_tensor, ([[0.7, -3.5, 0.1, 0.2], [1.2, 0.25, -0.6, 0.05]],),
           {"bits": 4, "granularity": "group", "group_size": 2})


def quantize_tensor_ties_and_zeros(quantize_tensor):
    """Exact .5 ties round half to even; an all-zero row or group (scale 1.0) stays 0, without a warning."""
    # max |w| 3.5 at 4 bits: scale 0.5, so w / scale hits exact ties 0.5, 1.5, 2.5, -2.5
    ties = np.array([[0.25, 0.75, 1.25, -1.25, 3.5, 0.0]])
    for granularity in ("tensor", "channel"):
        _no_warning(_agree(_QUANTIZE_TENSOR, quantize_tensor, (ties,), {"bits": 4, "granularity": granularity}),
                    "Ties are exact here.")
    zeros = np.array([[0.0, 0.0, 0.0, 0.0], [0.5, -1.0, 0.0, 0.25]])
    for granularity, size in (("channel", 4), ("group", 2), ("tensor", 4)):
        result = _agree(_QUANTIZE_TENSOR, quantize_tensor, (zeros,),
                        {"bits": 4, "granularity": granularity, "group_size": size}, note=" [an all-zero row]")
        _no_warning(result, "An all-zero row or group has scale 1.0: there is no 0 / 0.")
    _no_warning(_agree(_QUANTIZE_TENSOR, quantize_tensor, (np.zeros((2, 3)),), {"bits": 8}),
                "An all-zero tensor has scale 1.0.")


def quantize_tensor_rejects_bad_input(quantize_tensor):
    """1-D, empty or non-finite w, bad bits, an unknown granularity, a group_size that does not divide in_features."""
    _accepts_good_input(quantize_tensor, "quantize_tensor", 2101)
    w = [[0.5, -1.0, 0.25, 2.0], [0.1, 0.2, -0.3, 0.4]]
    for bad in ([0.5, -1.0], [[]], [[0.5, math.nan]], [[[0.5]]]):
        _rejects(_QUANTIZE_TENSOR, quantize_tensor, "w", "w must be a finite, non-empty 2-D matrix", (bad,))
    for bits in (1, 17, 4.5):
        _rejects(_QUANTIZE_TENSOR, quantize_tensor, "bits", "bits must be an integer in [2, 16]", (w,), {"bits": bits})
    for granularity in ("row", "per_channel", None):
        _rejects(_QUANTIZE_TENSOR, quantize_tensor, "granularity", "granularity is tensor, channel or group", (w,),
                 {"granularity": granularity})
    for size in (3, 0, -2, 2.5):
        _rejects(_QUANTIZE_TENSOR, quantize_tensor, "group_size",
                 "group_size must be a positive integer dividing in_features (4)", (w,),
                 {"granularity": "group", "group_size": size})


def weight_stats_excess_kurtosis(weight_stats):
    """Excess kurtosis m4 / m2^2 - 3 on central moments: -2 for two values, large for a rare outlier."""
    _agree(_WEIGHT_STATS, weight_stats, ([1.0, -1.0, 1.0, -1.0],))
    _agree(_WEIGHT_STATS, weight_stats, ([2.0, 4.0, 2.0, 4.0, 2.0, 4.0],), note=" [mean 3, not 0]")
    _agree(_WEIGHT_STATS, weight_stats, (np.r_[np.full(99, 0.01), 5.0],), note=" [one outlier]")


def weight_stats_matches_reference(weight_stats):
    """Seeded Gaussian and heavy-tailed tensors, 1-D and 2-D: exactly the keys max_abs, std, kurtosis."""
    rng = _rng(1104)
    for w in (rng.normal(size=200), rng.standard_t(3, size=(20, 10)), rng.laplace(size=50) - 2.0,
              _outlier_matrix(rng, 8, 16)):
        _agree(_WEIGHT_STATS, weight_stats, (w,))
    _agree(_WEIGHT_STATS, weight_stats, ([0.0, 1.0, -1.0, 4.0],))


def weight_stats_rejects_bad_input(weight_stats):
    """Empty, non-finite or constant w (kurtosis undefined) raise ValueError."""
    _accepts_good_input(weight_stats, "weight_stats", 2102)
    for bad, why in (([], "w must be non-empty"), ([0.5, math.inf], "w must be finite"),
                     ([1.0, 1.0, 1.0], "a constant w has no kurtosis (zero variance)"),
                     (np.zeros((2, 3)), "an all-zero w has no kurtosis")):
        _rejects(_WEIGHT_STATS, weight_stats, "w", why, (bad,))


def cosine_similarity_rowwise(cosine_similarity):
    """2-D inputs give one cosine per row; rows of different lengths; two vectors give a Python float."""
    a = np.array([[1.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
    b = np.array([[2.0, 0.0], [4.0, 3.0], [-1.0, -1.0]])
    _agree(_COSINE_SIMILARITY, cosine_similarity, (a, b))
    _agree(_COSINE_SIMILARITY, cosine_similarity, ([3.0, 4.0], [4.0, 3.0]))
    _agree(_COSINE_SIMILARITY, cosine_similarity, (np.array([[0.5, 2.0, -1.0]]), np.array([[1.0, 4.0, -2.0]])))


def cosine_similarity_matches_reference(cosine_similarity):
    """Seeded embeddings and their noisy copies, as the capstone compares fp32 and quantized embeddings."""
    rng = _rng(1105)
    for n, d in ((4, 8), (1, 16), (10, 3)):
        a = rng.normal(size=(n, d)) * rng.uniform(0.1, 5.0, size=(n, 1))
        _agree(_COSINE_SIMILARITY, cosine_similarity, (a, a + rng.normal(scale=0.3, size=(n, d))))
    v = rng.normal(size=6)
    _agree(_COSINE_SIMILARITY, cosine_similarity, (v, 2.5 * v))


def cosine_similarity_rejects_bad_input(cosine_similarity):
    """Shapes that differ, a zero vector, non-finite values raise ValueError."""
    _accepts_good_input(cosine_similarity, "cosine_similarity", 2103)
    _rejects(_COSINE_SIMILARITY, cosine_similarity, ("a", "b"), "a and b must have the same shape",
             ([[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]))
    _rejects(_COSINE_SIMILARITY, cosine_similarity, ("a", "b"), "a zero vector has no cosine",
             ([[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]))
    _rejects(_COSINE_SIMILARITY, cosine_similarity, ("a", "b"), "a and b must be finite",
             ([1.0, math.nan], [1.0, 1.0]))


def nearest_neighbours_excludes_self(nearest_neighbours):
    """Row i's neighbour is another row, never i itself (whose cosine with itself is 1)."""
    _agree(_NEAREST_NEIGHBOURS, nearest_neighbours, ([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]],))
    _agree(_NEAREST_NEIGHBOURS, nearest_neighbours, ([[1.0, 2.0], [-1.0, 0.5]],))
    _agree(_NEAREST_NEIGHBOURS, nearest_neighbours, ([[1.0, 0.2, 0.1], [0.3, 1.0, 0.0], [0.0, 0.4, 1.0]],))


def nearest_neighbours_first_on_ties(nearest_neighbours):
    """Equal similarities: the lowest index wins (np.argmax)."""
    # axis-aligned vectors: cosines are exactly 0, 1 or -1 whatever the order of the arithmetic
    _agree(_NEAREST_NEIGHBOURS, nearest_neighbours, ([[2.0, 0.0], [0.0, 3.0], [0.0, -1.0], [5.0, 0.0]],))
    _agree(_NEAREST_NEIGHBOURS, nearest_neighbours, ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],))


def nearest_neighbours_matches_reference(nearest_neighbours):
    """Seeded embeddings of different lengths (cosine, not Euclidean distance), 2 to 30 rows."""
    rng = _rng(1106)
    for n, d in ((2, 3), (6, 4), (30, 8)):
        e = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0, size=(n, 1))
        _agree(_NEAREST_NEIGHBOURS, nearest_neighbours, (e,))
    _agree(_NEAREST_NEIGHBOURS, nearest_neighbours, ([[1.0, 0.1], [10.0, 0.0], [0.1, 1.0], [0.0, 10.0]],))


def nearest_neighbours_rejects_bad_input(nearest_neighbours):
    """Fewer than 2 rows, a 1-D array, a zero row, non-finite values raise ValueError."""
    _accepts_good_input(nearest_neighbours, "nearest_neighbours", 2104)
    for bad, why in (([[1.0, 2.0]], "one row has no other row"), ([1.0, 2.0, 3.0], "embeddings must be 2-D"),
                     ([[1.0, 0.0], [0.0, 0.0]], "a zero row has no cosine"),
                     ([[1.0, math.nan], [0.0, 1.0]], "embeddings must be finite")):
        _rejects(_NEAREST_NEIGHBOURS, nearest_neighbours, "embeddings", why, (bad,))

"""Figures for the lesson and the exercises.

Every plot takes ``ax=None``: it draws on the given Axes, or on a new figure
made with ``plt.subplots``, and returns the Axes.  Nothing here calls
``plt.show()`` or changes matplotlib's settings; call ``use_course_style()``
once in a notebook to get the course look.

The few formulas the plots need (fake-quantization, softmax, KL) are written
out below instead of imported from ``grader.course``: the plots must keep working
in student kernels, where ``grader.course`` is not importable.

Drawing your own functions.  Some plots take a keyword-only argument per formula
they show, named after the exercise function: ``quantize=`` and ``dequantize=``
(``plot_quantization_grid``, ``plot_rounding_error``), ``softmax=``
(``plot_softmax_curves``), ``clip_mse=`` (``plot_clipping_tradeoff``) and
``memory_gb=`` (``plot_memory``).  Given one, the plot computes that formula with
it, with the course signatures::

    plots.plot_quantization_grid(x, 0.25, quantize=quantize, dequantize=dequantize)

so a mistake in it shows up in the figure.  A function that raises (for
instance ``NotImplementedError`` before you have written it) or returns
something that cannot be drawn (wrong shape, not numbers, NaN) never makes the
plot fail: the plot draws that formula with the course's version instead and
writes a note in the middle of the Axes saying why.  A function that only warns
is drawn, and its first warning becomes the note.  The title says which
functions were yours.  Nothing is printed and no warning escapes.  Without these
arguments the plots draw the course's formulas.
"""

from __future__ import annotations

import reprlib
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib import font_manager, ft2font
from matplotlib.axes import Axes

__all__ = [
    "plot_clipping_tradeoff",
    "plot_kd_temperature",
    "plot_memory",
    "plot_quantization_grid",
    "plot_rounding_error",
    "plot_softmax_curves",
    "use_course_style",
]

_COLORS = sns.color_palette("deep")
_BLUE, _ORANGE, _GREEN, _RED, _GREY = _COLORS[0], _COLORS[1], _COLORS[2], _COLORS[3], _COLORS[7]


def use_course_style() -> None:
    """Set the course look (seaborn's white grid, notebook sizes) for every later figure."""
    sns.set_theme(style="whitegrid", context="notebook", palette="deep")


# ---------------------------------------------------------------- validation


def _array(name: str, value, positive: bool = False) -> np.ndarray:
    """A non-empty float64 array of finite (and, if asked, positive) numbers."""
    what = "positive finite numbers" if positive else "finite numbers"
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of {what}, got {value!r}") from None
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)) or (positive and not np.all(arr > 0)):
        raise ValueError(f"{name} must contain only {what}, got {value!r}")
    return arr


def _positive(name: str, value) -> float:
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a single number, got {value!r}")
    return float(_array(name, value, positive=True))


def _integer(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def _qrange(bits, signed: bool) -> tuple[int, int]:
    bits = _integer("bits", bits, 2, 16)
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


# ------------------------------------------- the math the plots need (local)


def _fake_quant(x: np.ndarray, scale: float, zero_point: int, qmin: int, qmax: int) -> np.ndarray:
    """dequantize(quantize(x)): clip(rint(x/scale) + zero_point, qmin, qmax), back to scale*(q - zero_point)."""
    q = np.clip(np.rint(x / scale) + zero_point, qmin, qmax)
    return scale * (q - zero_point)


def _log_softmax(logits: np.ndarray, tau: float) -> np.ndarray:
    """log softmax(logits/tau) over the last axis, shifted by the max so that exp never overflows."""
    z = logits / tau
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


# ------------------------------------------------- the student's own functions

_COURSE = "showing the course's formula"


class _Unusable(Exception):
    """What a student's function returned cannot be drawn; the message says what it was."""


def _function(name: str, value) -> Callable | None:
    """The keyword argument naming a student's function: None or a callable (ValueError otherwise)."""
    if value is not None and not callable(value):
        raise ValueError(f"{name} must be a function (such as your {name}) or None, got {reprlib.repr(value)}")
    return value


def _checked(result, shape: tuple[int, ...]) -> np.ndarray:
    """result as an array of finite real numbers of the given shape (any size-1 result for shape ())."""
    try:
        arr = np.asarray(result)
    except Exception:  # noqa: BLE001 - a ragged list, an object that refuses conversion, ...
        arr = np.asarray(None)
    if arr.dtype.kind not in "iuf":
        raise _Unusable(f"{reprlib.repr(result)}, not numbers")
    if arr.shape != shape and not (shape == () and arr.size == 1):
        wanted = "instead of a single number" if shape == () else f"for an input of shape {shape}"
        raise _Unusable(f"shape {arr.shape} {wanted}")
    finite = np.isfinite(arr)
    if not finite.all():
        raise _Unusable(f"a non-finite value ({arr[~finite].flat[0]})")
    return arr.reshape(shape)


def _message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - an exception whose message cannot even be formatted
        text = ""
    return textwrap.shorten(" ".join(text.split()), 120, placeholder=" ...")


@dataclass
class _Yours:
    """What became of the student's functions in one plot: for the title and the note."""

    used: list[str] = field(default_factory=list)
    failed: dict[str, list[str]] = field(default_factory=dict)  # why (for the title) -> functions
    notes: list[str] = field(default_factory=list)

    def attempt(self, name: str, compute: Callable[[], np.ndarray]) -> np.ndarray | None:
        """compute(), which calls the student's function `name`; None (and a note) when it cannot be drawn.

        Warnings are recorded, never shown: on success they become a note, the result is still drawn.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = compute()
            except _Unusable as exc:
                self.failed.setdefault("returned values that cannot be drawn", []).append(name)
                self.notes.append(f"your {name} returned {exc}; {_COURSE}")
                return None
            except NotImplementedError:
                self.failed.setdefault("not written yet", []).append(name)
                self.notes.append(f"{name} is not written yet: {_COURSE}")
                return None
            except Exception as exc:  # noqa: BLE001 - whatever the student's code raises, the plot draws
                kind, text = type(exc).__name__, _message(exc)
                self.failed.setdefault(f"raised {kind}", []).append(name)
                self.notes.append(f"your {name} raised {kind}{': ' + text if text else ''}; {_COURSE}")
                return None
        self.used.append(name)
        if caught:
            first = caught[0]
            more = f" (and {len(caught) - 1} more)" if len(caught) > 1 else ""
            self.notes.append(f"your {name} warned {first.category.__name__}: "
                              f"{_message(first.message)}{more}; its result is drawn")
        return result

    def finish(self, ax: Axes) -> None:
        """Add the line about the student's functions to the title, and the note in the middle."""
        if not self.used and not self.failed:
            return
        parts = [f"with your {' and '.join(self.used)}"] if self.used else []
        for why, names in self.failed.items():
            if why == "not written yet":
                why = f"{'are' if len(names) > 1 else 'is'} {why}"
            parts.append(f"the course's {' and '.join(names)} (yours {why})")
        ax.set_title(f"{ax.get_title()}\n{'; '.join(parts)}")
        if self.notes:
            text = "\n".join(textwrap.fill(_drawable(note), 60) for note in self.notes)
            ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize="small",
                    color=_RED, zorder=10, gid="note", parse_math=False,
                    bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": _RED, "alpha": 0.95})


@lru_cache(maxsize=1)
def _font_chars() -> frozenset[int]:
    """Code points of the default font, or just printable ASCII if it cannot be read."""
    try:
        path = font_manager.findfont(font_manager.FontProperties(), fallback_to_default=True)
        return frozenset(ft2font.FT2Font(path).get_charmap())
    except Exception:  # noqa: BLE001 - any trouble with fonts: keep to what every font has
        return frozenset(range(32, 127))


def _drawable(text: str) -> str:
    """text with every character the font lacks (which would warn when drawn) replaced by '?'."""
    chars = _font_chars()
    return "".join(c if c == "\n" or (c.isprintable() and ord(c) in chars) else "?" for c in text)


def _round_trip(x: np.ndarray, scale: float, zero_point: int, bits, signed: bool,
                quantize: Callable | None, dequantize: Callable | None, yours: _Yours) -> np.ndarray:
    """dequantize(quantize(x)), with the student's functions where given and usable, else the course's."""
    qmin, qmax = _qrange(bits, signed)
    codes = None  # what is passed on to the student's dequantize
    if quantize is not None:
        codes = yours.attempt("quantize", lambda: _checked(quantize(x.copy(), scale, zero_point, bits, signed),
                                                           x.shape))
    if codes is None:
        q = np.clip(np.rint(x / scale) + zero_point, qmin, qmax)
    else:
        q = codes.astype(np.float64)
    x_hat = None
    if dequantize is not None:
        given = q.astype(np.int64) if codes is None else codes.copy()
        x_hat = yours.attempt("dequantize", lambda: _checked(dequantize(given, scale, zero_point), x.shape))
    if x_hat is None:
        return scale * (q - zero_point)
    return x_hat.astype(np.float64)


# ------------------------------------------------------------------ helpers


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _limits(x: np.ndarray, lo: float, hi: float, scale: float) -> tuple[float, float]:
    """x-limits around the inputs and the clipping range [lo, hi]."""
    left, right = min(lo, x.min()), max(hi, x.max())
    pad = max(0.08 * (right - left), scale)
    return left - pad, right + pad


def _frame_range(ax: Axes, left: float, right: float, lo: float, hi: float) -> None:
    """Set the x-limits; shade where values saturate."""
    ax.axvspan(left, lo, color=_RED, alpha=0.12, lw=0, label=f"beyond the clipping range [{lo:.3g}, {hi:.3g}]: saturates")
    ax.axvspan(hi, right, color=_RED, alpha=0.12, lw=0)
    ax.set_xlim(left, right)


def _count(n: float) -> str:
    """13e9 -> '13B', 125e6 -> '125M'."""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:.4g}{suffix}"
    return f"{n:.4g}"


# -------------------------------------------------------------------- plots


def plot_quantization_grid(x, scale, zero_point=0, bits=4, signed=True, ax: Axes | None = None, *,
                           quantize: Callable | None = None, dequantize: Callable | None = None) -> Axes:
    """The quantization grid as a transfer function: where each input lands after quantize -> dequantize.

    Horizontal lines are the representable levels ``scale*(q - zero_point)`` for every code q in the
    range, the staircase is ``dequantize(quantize(x))``, the red bands are beyond the clipping range
    (values there saturate), and an arrow goes from each input (on the dashed line x̂ = x) to where it
    lands. Rounding is half to even.

    Args:
        x: the inputs to show (a handful reads best); any shape, flattened.
        scale: step between levels, positive.
        zero_point: integer code that represents 0.0, inside the range.
        bits: integer in [2, 16].
        signed: signed range [-2^(b-1), 2^(b-1)-1] or unsigned [0, 2^b-1].
        ax: Axes to draw on; a new figure when None.
        quantize: your ``quantize(x, scale, zero_point, bits, signed)``, called once with a 1-D float
            array (the inputs followed by the staircase's points); None for the course's formula.
        dequantize: your ``dequantize(q, scale, zero_point)``, given the codes (yours, or the course's
            int64 codes); None for the course's formula. See the module docstring for what happens
            when one of them raises or returns something that cannot be drawn.

    Returns:
        The Axes.

    Raises:
        ValueError: naming the argument, for empty or non-finite x, non-positive scale, bits outside
            [2, 16], a zero_point outside the range, or a quantize/dequantize that is not callable.
    """
    x = _array("x", x).ravel()
    scale = _positive("scale", scale)
    qmin, qmax = _qrange(bits, signed)
    zero_point = _integer("zero_point", zero_point, qmin, qmax)
    quantize, dequantize = _function("quantize", quantize), _function("dequantize", dequantize)
    levels = scale * (np.arange(qmin, qmax + 1) - zero_point)
    left, right = _limits(x, levels[0], levels[-1], scale)
    dense = np.linspace(left, right, 2001)
    yours = _Yours()
    landed = _round_trip(np.concatenate([x, dense]), scale, zero_point, bits, signed, quantize, dequantize, yours)
    x_hat, stairs = landed[: x.size], landed[x.size :]

    ax = _axes(ax, (7, 5))
    _frame_range(ax, left, right, levels[0], levels[-1])
    ax.grid(False, axis="y")  # the levels are the horizontal grid
    ax.hlines(levels, left, right, colors=_GREEN, lw=0.8, alpha=0.7, label=f"{levels.size} representable levels")
    ax.plot(dense, dense, ls="--", lw=1, color=_GREY, label="x̂ = x (no error)")
    ax.plot(dense, stairs, color=_BLUE, lw=1.8, label="x̂ = dequantize(quantize(x))")
    ax.scatter(x, x, s=40, facecolors="white", edgecolors=_ORANGE, lw=1.5, zorder=3, label="input x")
    ax.scatter(x, x_hat, s=40, color=_ORANGE, zorder=4, label="where it lands, x̂")
    for xi, yi in zip(x, x_hat, strict=True):
        if abs(yi - xi) > 1e-9 * scale:  # no arrow for an input already on a level
            ax.annotate("", xy=(xi, yi), xytext=(xi, xi), zorder=4,
                        arrowprops={"arrowstyle": "->", "color": _ORANGE, "lw": 1.3, "shrinkA": 4, "shrinkB": 4})
    kind = "signed" if signed else "unsigned"
    ax.set(xlabel="input x", ylabel="dequantized x̂ = scale · (q − zero_point)",
           title=f"{bits}-bit {kind} grid: scale = {scale:g}, zero_point = {zero_point}")
    ax.legend(loc="upper left", fontsize="small", framealpha=0.95)
    yours.finish(ax)
    return ax


def plot_rounding_error(x, scale, zero_point=0, bits=4, signed=True, ax: Axes | None = None, *,
                        quantize: Callable | None = None, dequantize: Callable | None = None) -> Axes:
    """The round-trip error x̂ − x against x: a sawtooth within ±scale/2 inside the range, growing beyond it.

    Args:
        x: where to evaluate the error, e.g. ``np.linspace(-1.5, 1.5, 1001)``; flattened and sorted.
        scale, zero_point, bits, signed: as in ``plot_quantization_grid``.
        ax: Axes to draw on; a new figure when None.
        quantize, dequantize: your functions, as in ``plot_quantization_grid`` (called with the sorted x).

    Returns:
        The Axes.

    Raises:
        ValueError: as ``plot_quantization_grid``.
    """
    x = np.sort(_array("x", x).ravel())
    scale = _positive("scale", scale)
    qmin, qmax = _qrange(bits, signed)
    zero_point = _integer("zero_point", zero_point, qmin, qmax)
    quantize, dequantize = _function("quantize", quantize), _function("dequantize", dequantize)
    yours = _Yours()
    error = _round_trip(x, scale, zero_point, bits, signed, quantize, dequantize, yours) - x

    ax = _axes(ax, (7, 4))
    lo, hi = scale * (qmin - zero_point), scale * (qmax - zero_point)
    _frame_range(ax, *_limits(x, lo, hi, scale), lo, hi)
    ax.axhspan(-scale / 2, scale / 2, color=_GREEN, alpha=0.15, lw=0, label="±scale/2: the bound inside the range")
    ax.plot(x, error, color=_BLUE, lw=1.5, label="x̂ − x")
    kind = "signed" if signed else "unsigned"
    ax.set(xlabel="input x", ylabel="round-trip error x̂ − x",
           title=f"Rounding error, {bits}-bit {kind}: scale = {scale:g}, zero_point = {zero_point}")
    ax.legend(loc="upper center", fontsize="small", framealpha=0.95)
    yours.finish(ax)
    return ax


def plot_softmax_curves(logits, taus, ax: Axes | None = None, *, softmax: Callable | None = None) -> Axes:
    """Each class's probability softmax(logits/tau) against the temperature tau (log axis).

    Low tau tends to one-hot on the largest logit, high tau to the uniform 1/K (dotted line).

    Args:
        logits: one vector of K logits.
        taus: positive temperatures; drawn in increasing order.
        ax: Axes to draw on; a new figure when None.
        softmax: your ``softmax(logits, tau)``, called once per temperature with the logits vector;
            None for the course's formula.

    Returns:
        The Axes, with one line per class (in class order) and then the uniform line.

    Raises:
        ValueError: naming the argument, for logits that are not a finite non-empty vector, taus that
            are empty or not positive and finite, or a softmax that is not callable.
    """
    logits = _array("logits", logits)
    if logits.ndim != 1:
        raise ValueError(f"logits must be one vector of class logits, got shape {logits.shape}")
    taus = np.sort(_array("taus", taus, positive=True).ravel())
    softmax = _function("softmax", softmax)
    yours, probs = _Yours(), None
    if softmax is not None:
        probs = yours.attempt("softmax", lambda: np.array(
            [_checked(softmax(logits.copy(), float(tau)), logits.shape) for tau in taus], dtype=np.float64))
    if probs is None:
        probs = np.exp(_log_softmax(logits[None, :], taus[:, None]))  # shape (n_taus, K)

    ax = _axes(ax, (7, 4))
    k = logits.size
    colors = sns.color_palette("deep" if k <= 10 else "husl", k)
    for c in range(k):
        ax.plot(taus, probs[:, c], color=colors[c], lw=2, label=f"class {c} (logit {logits[c]:g})")
    ax.axhline(1 / k, ls=":", color=_GREY, label=f"uniform 1/{k}")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set(xlabel="temperature τ (log scale)", ylabel="probability softmax(z / τ)",
           title="Softmax probabilities against temperature")
    ax.legend(loc="best", fontsize="small")
    yours.finish(ax)
    return ax


def plot_clipping_tradeoff(w, clips, bits=4, ax: Axes | None = None, *, clip_mse: Callable | None = None) -> Axes:
    """MSE of symmetric fake-quantization of w against the clip, split into rounding and clipping error.

    For each clip: scale = clip / (2^(bits-1) - 1), codes rint(w/scale) clipped to [-qmax, qmax] (the
    restricted range), so weights beyond ±clip saturate at ±clip. The best clip (lowest MSE, the first
    in the given order on ties) is marked with a star.

    Args:
        w: the weights; any shape, flattened.
        clips: positive clip values; drawn in increasing order.
        bits: integer in [2, 16].
        ax: Axes to draw on; a new figure when None.
        clip_mse: your ``clip_mse(w, clip, bits)``, called once per clip with the flattened w; it
            draws the total MSE and places the star. The rounding and clipping parts are always the
            course's. None for the course's formula.

    Returns:
        The Axes: lines total MSE, rounding part, clipping part; the star is the only scatter.

    Raises:
        ValueError: naming the argument, for empty or non-finite w, clips that are empty or not
            positive and finite, bits outside [2, 16], or a clip_mse that is not callable.
    """
    w = _array("w", w).ravel()
    clips = _array("clips", clips, positive=True).ravel()
    _, qmax = _qrange(bits, signed=True)
    clip_mse = _function("clip_mse", clip_mse)
    mse, clipping = np.empty(clips.size), np.empty(clips.size)
    for i, clip in enumerate(clips):
        squared = (_fake_quant(w, clip / qmax, 0, -qmax, qmax) - w) ** 2
        mse[i] = squared.mean()
        clipping[i] = squared[np.abs(w) > clip].sum() / w.size
    rounding = mse - clipping
    yours = _Yours()
    if clip_mse is not None:
        total = yours.attempt("clip_mse", lambda: np.array(
            [_checked(clip_mse(w.copy(), float(clip), bits), ()) for clip in clips], dtype=np.float64))
        if total is not None:
            mse = total
    best = int(np.argmin(mse))  # first minimum on ties, like best_clip
    order = np.argsort(clips, kind="stable")

    ax = _axes(ax, (7, 4))
    ax.plot(clips[order], mse[order], color=_BLUE, lw=2, marker="o", ms=3, label="MSE (total)")
    ax.plot(clips[order], rounding[order], ls="--", color=_GREEN, label="rounding error (|w| ≤ clip)")
    ax.plot(clips[order], clipping[order], ls="--", color=_ORANGE, label="clipping error (|w| > clip)")
    ax.axvline(clips[best], ls=":", color=_RED)
    ax.scatter([clips[best]], [mse[best]], marker="*", s=220, color=_RED, zorder=4,
               label=f"best clip {clips[best]:.3g} (MSE {mse[best]:.3g})")
    ax.set(xlabel="clip (weights beyond ±clip saturate)", ylabel="mean squared error",
           title=f"The clipping trade-off at {bits} bits (symmetric)")
    ax.legend(loc="upper center", fontsize="small")
    yours.finish(ax)
    return ax


def plot_memory(n_params, bits=(32, 16, 8, 4), ax: Axes | None = None, *,
                memory_gb: Callable | None = None) -> Axes:
    """Weight memory per format as bars: n_params * bits / 8 / 1e9 decimal GB, each bar labelled.

    Args:
        n_params: number of parameters, positive (e.g. 13e9).
        bits: bits per parameter of each format, positive (effective bits such as 4.25 are fine).
        ax: Axes to draw on; a new figure when None.
        memory_gb: your ``memory_gb(n_params, bits)``, called once per format with two floats;
            None for the course's formula.

    Returns:
        The Axes, one bar per entry of bits in the given order.

    Raises:
        ValueError: naming the argument, for non-positive n_params or bits, or a memory_gb that is
            not callable.
    """
    n_params = _positive("n_params", n_params)
    bits = _array("bits", bits, positive=True).ravel()
    memory_gb = _function("memory_gb", memory_gb)
    yours, gb = _Yours(), None
    if memory_gb is not None:
        gb = yours.attempt("memory_gb", lambda: np.array(
            [_checked(memory_gb(n_params, float(b)), ()) for b in bits], dtype=np.float64))
    if gb is None:
        gb = n_params * bits / 8 / 1e9

    ax = _axes(ax, (6, 4))
    bars = ax.bar(np.arange(bits.size), gb, tick_label=[f"{b:g}-bit" for b in bits],
                  color=sns.color_palette("crest", bits.size))
    ax.bar_label(bars, labels=[f"{v:.3g} GB" for v in gb], padding=3)
    ax.grid(False, axis="x")
    ax.margins(y=0.12)
    ax.set(xlabel="bits per parameter", ylabel="memory (GB, 1 GB = 10⁹ bytes)",
           title=f"Weight memory of a {_count(n_params)}-parameter model")
    yours.finish(ax)
    return ax


def plot_kd_temperature(student_logits, teacher_logits, taus, ax: Axes | None = None) -> Axes:
    """KL(teacher ‖ student) at temperature tau, and tau² times it (the kd_loss), against tau (log axis).

    The KL of softened distributions shrinks roughly like 1/tau², and so do its gradients; multiplying
    by tau² (Hinton et al. 2015) keeps the distillation term on the same scale at every temperature.

    Args:
        student_logits, teacher_logits: same shape, one vector or a batch (rows); batch-mean KL.
        taus: positive temperatures; drawn in increasing order.
        ax: Axes to draw on; a new figure when None.

    Returns:
        The Axes: line 0 is the KL, line 1 is tau² · KL.

    Raises:
        ValueError: naming the argument, for shapes that differ or are not 1-D/2-D, non-finite logits,
            or taus that are empty or not positive and finite.
    """
    student = np.atleast_2d(_array("student_logits", student_logits))
    teacher = np.atleast_2d(_array("teacher_logits", teacher_logits))
    if student.shape != teacher.shape or student.ndim != 2:
        raise ValueError(f"student_logits and teacher_logits must have the same 1-D or 2-D shape, "
                         f"got {np.shape(student_logits)} and {np.shape(teacher_logits)}")
    taus = np.sort(_array("taus", taus, positive=True).ravel())
    kl = np.empty(taus.size)
    for i, tau in enumerate(taus):
        log_p, log_q = _log_softmax(teacher, tau), _log_softmax(student, tau)
        kl[i] = (np.exp(log_p) * (log_p - log_q)).sum(axis=-1).mean()

    ax = _axes(ax, (7, 4))
    ax.plot(taus, kl, color=_ORANGE, lw=2, label="KL(teacher ‖ student) at τ")
    ax.plot(taus, taus**2 * kl, color=_BLUE, lw=2, label="τ² · KL  (the kd_loss)")
    ax.set_xscale("log")
    ax.set(xlabel="temperature τ (log scale)", ylabel="nats",
           title="Why kd_loss multiplies the KL by τ²")
    ax.legend(loc="best", fontsize="small")
    return ax

"""Tests of grader.student.plots: the plotted data, labels and Axes handling, never pixels."""

import matplotlib

matplotlib.use("Agg")

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from grader.student import plots

RTOL = 1e-12
ROOT = Path(__file__).resolve().parents[1]

# One valid call per plot; the generic tests below run them all.
CASES = {
    "plot_quantization_grid": (plots.plot_quantization_grid, ([-1.1, 0.25, 0.93], 0.2), {"bits": 3}),
    "plot_rounding_error": (plots.plot_rounding_error, (np.linspace(-1.5, 1.5, 301), 0.2), {"bits": 3}),
    "plot_softmax_curves": (plots.plot_softmax_curves, ([2.0, 0.0, -1.0], np.logspace(-1, 2, 50)), {}),
    "plot_clipping_tradeoff": (plots.plot_clipping_tradeoff, ([0.1, -0.4, 0.9, -1.6], [0.5, 1.0, 1.5, 2.0]), {}),
    "plot_memory": (plots.plot_memory, (13e9,), {}),
    "plot_kd_temperature": (plots.plot_kd_temperature, ([1.0, 0.0, -1.0], [2.0, 0.5, -1.0], [0.5, 1, 2, 4]), {}),
}


@pytest.fixture(autouse=True)
def _close_figures():
    plt.close("all")
    yield
    plt.close("all")


def _draw(name, ax=None, **functions):
    function, args, kwargs = CASES[name]
    return function(*args, **kwargs, ax=ax, **functions)


def _labelled(artists, prefix):
    """The one artist whose legend label starts with prefix."""
    found = [a for a in artists if a.get_label().startswith(prefix)]
    assert len(found) == 1, [a.get_label() for a in artists]
    return found[0]


def _fake_quant(x, scale, zero_point, qmin, qmax):
    """Written out again on purpose: an independent check of the plotted values."""
    x = np.asarray(x, dtype=float)
    return scale * (np.clip(np.rint(x / scale) + zero_point, qmin, qmax) - zero_point)


def _softmax(z):
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------ every plot


@pytest.mark.parametrize("name", CASES)
def test_new_figure_when_ax_is_none(name, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show() was called"))
    ax = _draw(name)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert plt.get_fignums() == [ax.figure.number]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


@pytest.mark.parametrize("name", CASES)
def test_draws_on_the_given_ax_and_returns_it(name):
    fig, (left, right) = plt.subplots(1, 2)
    assert _draw(name, ax=right) is right
    assert plt.get_fignums() == [fig.number]
    assert right.has_data() and not left.has_data()


@pytest.mark.parametrize("name", CASES)
def test_leaves_rcparams_alone(name):
    before = dict(matplotlib.rcParams)
    _draw(name)
    assert dict(matplotlib.rcParams) == before


def test_use_course_style_sets_a_seaborn_theme():
    with matplotlib.rc_context():
        plots.use_course_style()
        assert matplotlib.rcParams["axes.grid"]
        assert matplotlib.rcParams["axes.facecolor"] == "white"


def test_import_has_no_side_effects_and_needs_no_reference():
    script = textwrap.dedent("""
        import sys
        import matplotlib
        import matplotlib.pyplot as plt
        import numpy as np
        before = dict(matplotlib.rcParams)
        import grader.student.plots as plots
        assert "grader.course.reference" not in sys.modules, "importing grader.student.plots imported grader.course.reference"
        course_side = [m for m in sys.modules if m.startswith(("grader.course", "grader.grading"))]
        assert not course_side, f"importing grader.student.plots imported {course_side}"
        changed = sorted(k for k, v in before.items() if matplotlib.rcParams[k] != v)
        assert not changed, f"importing grader.student.plots changed rcParams: {changed}"
        assert not plt.get_fignums(), "importing grader.student.plots opened a figure"
        plots.plot_quantization_grid([0.3, -2.0], 0.1)
        plots.plot_rounding_error(np.linspace(-1, 1, 11), 0.1)
        plots.plot_softmax_curves([2.0, 0.0], [0.5, 1.0, 2.0])
        plots.plot_clipping_tradeoff([0.1, -0.5], [0.25, 0.5])
        plots.plot_memory(7e9)
        plots.plot_kd_temperature([1.0, 0.0], [0.0, 1.0], [1.0, 2.0])
        def todo(*args):
            raise NotImplementedError()
        plots.plot_quantization_grid([0.3, -2.0], 0.1, quantize=todo, dequantize=todo)
        plots.plot_softmax_curves([2.0, 0.0], [0.5, 1.0, 2.0], softmax=todo)
        assert "grader.course.reference" not in sys.modules, "a plot imported grader.course.reference"
        course_side = [m for m in sys.modules if m.startswith(("grader.course", "grader.grading"))]
        assert not course_side, f"a plot imported {course_side}"
    """)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


# ------------------------------------------------------- quantization grid


def test_grid_levels_are_every_code_of_the_range():
    ax = plots.plot_quantization_grid([0.3], 0.25, zero_point=3, bits=4, signed=False)
    levels = _labelled(ax.collections, "16 representable levels")
    heights = [segment[0, 1] for segment in levels.get_segments()]
    np.testing.assert_allclose(heights, 0.25 * (np.arange(0, 16) - 3), rtol=RTOL)
    assert "4-bit unsigned" in ax.get_title() and "zero_point = 3" in ax.get_title()


def test_grid_inputs_and_where_they_land():
    x = [-1.1, 0.25, 0.93, 0.6]  # saturates low, rounds, saturates high, already on the grid
    ax = plots.plot_quantization_grid(x, 0.2, bits=3)
    inputs = _labelled(ax.collections, "input x").get_offsets()
    landed = _labelled(ax.collections, "where it lands").get_offsets()
    np.testing.assert_allclose(inputs, np.column_stack([x, x]), rtol=RTOL)
    np.testing.assert_allclose(landed, np.column_stack([x, [-0.8, 0.2, 0.6, 0.6]]), rtol=RTOL)
    arrows = [(t.xyann, t.xy) for t in ax.texts]
    assert len(arrows) == 3  # none for the input that is already a level
    for (x0, y0), (x1, _) in arrows:
        assert x0 == x1 == y0  # from (x, x) straight down or up to (x, x_hat)
    np.testing.assert_allclose(sorted(y for _, (_, y) in arrows), [-0.8, 0.2, 0.6], rtol=RTOL)


def test_grid_rounds_half_to_even():
    ax = plots.plot_quantization_grid([0.25, 0.75, -0.25], 0.5, bits=4)
    landed = _labelled(ax.collections, "where it lands").get_offsets()
    np.testing.assert_array_equal(landed[:, 1], [0.0, 1.0, -0.0])


def test_grid_staircase_and_clipping_range():
    ax = plots.plot_quantization_grid([-3.0, 0.1], 0.1, bits=4)
    stairs = _labelled(ax.lines, "x̂ = dequantize(quantize(x))")
    np.testing.assert_allclose(stairs.get_ydata(), _fake_quant(stairs.get_xdata(), 0.1, 0, -8, 7), rtol=RTOL)
    identity = _labelled(ax.lines, "x̂ = x")
    np.testing.assert_array_equal(identity.get_xdata(), identity.get_ydata())
    low = _labelled(ax.patches, "beyond the clipping range [-0.8, 0.7]")
    high = next(p for p in ax.patches if p is not low)
    left, right = ax.get_xlim()
    assert left < -3.0 and right > 0.7
    np.testing.assert_allclose([low.get_x(), low.get_x() + low.get_width()], [left, -0.8], rtol=RTOL)
    np.testing.assert_allclose([high.get_x(), high.get_x() + high.get_width()], [0.7, right], rtol=RTOL)
    assert ax.get_legend() is not None


# ----------------------------------------------------------- rounding error


@pytest.mark.parametrize(("scale", "zero_point", "bits", "signed"), [(0.2, 0, 3, True), (0.05, 10, 5, False)])
def test_rounding_error_is_bounded_inside_the_range(scale, zero_point, bits, signed):
    x = np.random.default_rng(0).uniform(-3, 3, 500)
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    ax = plots.plot_rounding_error(x, scale, zero_point=zero_point, bits=bits, signed=signed)
    line = _labelled(ax.lines, "x̂ − x")
    xs, error = line.get_xdata(), line.get_ydata()
    np.testing.assert_array_equal(xs, np.sort(x))
    np.testing.assert_allclose(error, _fake_quant(xs, scale, zero_point, qmin, qmax) - xs, rtol=RTOL, atol=1e-15)
    inside = (xs >= scale * (qmin - zero_point)) & (xs <= scale * (qmax - zero_point))
    assert np.all(np.abs(error[inside]) <= scale / 2 * (1 + 1e-9))
    assert np.abs(error[~inside]).max() > scale / 2
    band = _labelled(ax.patches, "±scale/2")
    np.testing.assert_allclose([band.get_y(), band.get_y() + band.get_height()], [-scale / 2, scale / 2])


# ---------------------------------------------------------- softmax curves


def test_softmax_curves_match_an_independent_softmax():
    logits, taus = np.array([2.0, 1.0, 0.2, -1.0]), np.array([10.0, 0.1, 1.0, 3.0, 0.5])
    ax = plots.plot_softmax_curves(logits, taus)
    assert ax.get_xscale() == "log"
    assert len(ax.lines) == logits.size + 1
    curves = np.array([line.get_ydata() for line in ax.lines[:-1]])  # (class, tau)
    for line in ax.lines[:-1]:
        np.testing.assert_array_equal(line.get_xdata(), np.sort(taus))
    expected = _softmax(logits[None, :] / np.sort(taus)[:, None]).T
    np.testing.assert_allclose(curves, expected, rtol=1e-9)
    np.testing.assert_allclose(curves.sum(axis=0), 1.0, rtol=1e-12)
    assert [line.get_label() for line in ax.lines[:2]] == ["class 0 (logit 2)", "class 1 (logit 1)"]
    np.testing.assert_allclose(_labelled(ax.lines, "uniform 1/4").get_ydata(), 0.25)


def test_softmax_curves_limits_and_large_logits():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plots.plot_softmax_curves([1e4, 0.0, -1e4], [1e-2, 1.0, 1e12])
    curves = np.array([line.get_ydata() for line in ax.lines[:-1]])
    assert np.all(np.isfinite(curves))
    np.testing.assert_allclose(curves[:, 0], [1.0, 0.0, 0.0], atol=1e-12)  # one-hot at low tau
    np.testing.assert_allclose(curves[:, -1], 1 / 3, rtol=1e-6)  # uniform at high tau


# --------------------------------------------------------- clipping trade-off


def _clip_mse(w, clip, bits):
    qmax = 2 ** (bits - 1) - 1
    return np.mean((_fake_quant(w, clip / qmax, 0, -qmax, qmax) - w) ** 2)


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_clipping_tradeoff_marks_the_argmin(bits):
    rng = np.random.default_rng(bits)
    w = rng.standard_t(3, size=2000)
    clips = rng.permutation(np.linspace(0.2, np.abs(w).max(), 40))  # unsorted on purpose
    ax = plots.plot_clipping_tradeoff(w, clips, bits=bits)
    mse = np.array([_clip_mse(w, c, bits) for c in clips])
    total = _labelled(ax.lines, "MSE (total)")
    np.testing.assert_array_equal(total.get_xdata(), np.sort(clips))
    np.testing.assert_allclose(total.get_ydata(), mse[np.argsort(clips)], rtol=1e-9)
    star = _labelled(ax.collections, "best clip")
    np.testing.assert_allclose(star.get_offsets(), [[clips[np.argmin(mse)], mse.min()]], rtol=1e-9)
    rounding, clipping = _labelled(ax.lines, "rounding error"), _labelled(ax.lines, "clipping error")
    np.testing.assert_allclose(rounding.get_ydata() + clipping.get_ydata(), total.get_ydata(), rtol=1e-9)
    assert f"{bits} bits" in ax.get_title()


def test_clipping_tradeoff_first_clip_wins_ties():
    ax = plots.plot_clipping_tradeoff([0.0, 0.0], [3.0, 1.0, 2.0])  # MSE 0 at every clip
    star = _labelled(ax.collections, "best clip 3")
    np.testing.assert_array_equal(star.get_offsets(), [[3.0, 0.0]])


def test_clipping_tradeoff_seed_case():
    # clip_mse([0.5, -1.5], 1.0, 2) is 0.25: 0.5 rounds to 0 (error 0.25), -1.5 saturates at -1 (0.25).
    ax = plots.plot_clipping_tradeoff([0.5, -1.5], [1.0], bits=2)
    np.testing.assert_allclose(_labelled(ax.lines, "MSE (total)").get_ydata(), [0.25], rtol=RTOL)
    np.testing.assert_allclose(_labelled(ax.lines, "clipping error").get_ydata(), [0.125], rtol=RTOL)


# ------------------------------------------------------------------ memory


def test_memory_bars_follow_the_formula():
    bits = (32, 16, 8, 4.25)
    ax = plots.plot_memory(13e9, bits=bits)
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, [13e9 * b / 8 / 1e9 for b in bits], rtol=RTOL)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["32-bit", "16-bit", "8-bit", "4.25-bit"]
    assert [t.get_text() for t in ax.texts] == ["52 GB", "26 GB", "13 GB", "6.91 GB"]
    assert "13B" in ax.get_title() and "GB" in ax.get_ylabel()


def test_memory_seed_example_and_repeated_formats():
    ax = plots.plot_memory(13e9, bits=[16, 4, 4])
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], [26.0, 6.5, 6.5], rtol=RTOL)


# ------------------------------------------------------ distillation temperature


def _kl(teacher, student):
    p, q = _softmax(teacher), _softmax(student)
    return float(np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=-1)))


def test_kd_temperature_curves_are_kl_and_tau_squared_kl():
    rng = np.random.default_rng(7)
    student, teacher = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    taus = np.array([4.0, 0.5, 1.0, 2.0])
    ax = plots.plot_kd_temperature(student, teacher, taus)
    kl_line, kd_line = ax.lines
    expected = [_kl(teacher / t, student / t) for t in np.sort(taus)]
    np.testing.assert_array_equal(kl_line.get_xdata(), np.sort(taus))
    np.testing.assert_allclose(kl_line.get_ydata(), expected, rtol=1e-9)
    np.testing.assert_allclose(kd_line.get_ydata(), np.sort(taus) ** 2 * expected, rtol=1e-9)
    assert ax.get_xscale() == "log"


def test_kd_temperature_one_vector_is_a_batch_of_one_and_equal_logits_give_zero():
    one = plots.plot_kd_temperature([1.0, 0.0], [0.0, 1.0], [1.0, 2.0]).lines[0].get_ydata()
    batch = plots.plot_kd_temperature([[1.0, 0.0]], [[0.0, 1.0]], [1.0, 2.0]).lines[0].get_ydata()
    np.testing.assert_array_equal(one, batch)
    same = plots.plot_kd_temperature([3.0, 1.0], [3.0, 1.0], [0.5, 5.0])
    np.testing.assert_allclose(same.lines[1].get_ydata(), 0.0, atol=1e-15)


# --------------------------------------------------------------- bad input


BAD_CALLS = [
    ("scale", plots.plot_quantization_grid, ([0.1], -0.1), {}),
    ("scale", plots.plot_rounding_error, ([0.1], float("inf")), {}),
    ("scale", plots.plot_quantization_grid, ([0.1], [0.1, 0.2]), {}),
    ("bits", plots.plot_quantization_grid, ([0.1], 0.1), {"bits": 1}),
    ("bits", plots.plot_quantization_grid, ([0.1], 0.1), {"bits": 4.0}),
    ("bits", plots.plot_clipping_tradeoff, ([0.1], [1.0]), {"bits": True}),
    ("zero_point", plots.plot_quantization_grid, ([0.1], 0.1), {"zero_point": 8, "bits": 4}),
    ("zero_point", plots.plot_quantization_grid, ([0.1], 0.1), {"zero_point": -1, "signed": False}),
    ("x", plots.plot_quantization_grid, ([], 0.1), {}),
    ("x", plots.plot_rounding_error, ([0.1, np.nan], 0.1), {}),
    ("x", plots.plot_quantization_grid, ("abc", 0.1), {}),
    ("taus", plots.plot_softmax_curves, ([1.0, 2.0], []), {}),
    ("taus", plots.plot_softmax_curves, ([1.0, 2.0], [1.0, 0.0]), {}),
    ("logits", plots.plot_softmax_curves, ([[1.0, 2.0]], [1.0]), {}),
    ("w", plots.plot_clipping_tradeoff, ([], [1.0]), {}),
    ("clips", plots.plot_clipping_tradeoff, ([0.1], [1.0, -1.0]), {}),
    ("n_params", plots.plot_memory, (-1,), {}),
    ("bits", plots.plot_memory, (1e9,), {"bits": ()}),
    ("bits", plots.plot_memory, (1e9,), {"bits": (8, 0)}),
    ("student_logits", plots.plot_kd_temperature, ([1.0, 0.0], [1.0, 0.0, 2.0], [1.0]), {}),
    ("teacher_logits", plots.plot_kd_temperature, ([1.0, 0.0], [1.0, np.inf], [1.0]), {}),
    ("taus", plots.plot_kd_temperature, ([1.0, 0.0], [0.0, 1.0], [-2.0]), {}),
    ("quantize", plots.plot_quantization_grid, ([0.1], 0.1), {"quantize": np.zeros(3)}),
    ("dequantize", plots.plot_rounding_error, ([0.1], 0.1), {"dequantize": "dequantize"}),
    ("softmax", plots.plot_softmax_curves, ([1.0, 2.0], [1.0]), {"softmax": [0.5, 0.5]}),
    ("clip_mse", plots.plot_clipping_tradeoff, ([0.1], [1.0]), {"clip_mse": 0.25}),
    ("memory_gb", plots.plot_memory, (1e9,), {"memory_gb": 1.0}),
]


@pytest.mark.parametrize(("argument", "function", "args", "kwargs"), BAD_CALLS,
                         ids=[f"{f.__name__}-{a}-{i}" for i, (a, f, _, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_argument(argument, function, args, kwargs):
    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        function(*args, **kwargs)
    assert not plt.get_fignums()  # validation happens before any figure is made


# ------------------------------------------- agreement with the reference


def test_local_math_agrees_with_the_reference():
    from grader.course import reference
    rng = np.random.default_rng(3)
    w, clips = rng.normal(size=300), np.array([0.5, 1.0, 2.0])
    total = _labelled(plots.plot_clipping_tradeoff(w, clips).lines, "MSE (total)").get_ydata()
    np.testing.assert_allclose(total, [reference.clip_mse(w, c, 4) for c in clips], rtol=1e-9)

    logits, taus = np.array([2.0, 0.0, -1.0]), np.array([0.5, 2.0])
    curves = np.array([line.get_ydata() for line in plots.plot_softmax_curves(logits, taus).lines[:-1]])
    np.testing.assert_allclose(curves.T, [reference.softmax(logits, tau=t) for t in taus], rtol=1e-9)

    student, teacher = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    kd = plots.plot_kd_temperature(student, teacher, taus).lines[1].get_ydata()
    np.testing.assert_allclose(kd, [reference.kd_loss(student, teacher, t) for t in taus], rtol=1e-9)

    bars = [bar.get_height() for bar in plots.plot_memory(13e9).patches]
    np.testing.assert_allclose(bars, [reference.memory_gb(13e9, b) for b in (32, 16, 8, 4)], rtol=1e-12)


# ------------------------------------------------- the student's own functions
#
# Student-style implementations with the course signatures, written out here: the right ones, and
# each with one classic mistake that the plot must show.


def _qrange(bits, signed):
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


def _quantize(x, scale, zero_point=0, bits=8, signed=True):
    qmin, qmax = _qrange(bits, signed)
    return np.clip(np.rint(np.asarray(x, dtype=float) / scale) + zero_point, qmin, qmax).astype(np.int64)


def _dequantize(q, scale, zero_point=0):
    return scale * (np.asarray(q, dtype=float) - zero_point)


def _softmax_tau(logits, tau=1.0, axis=-1):
    z = np.asarray(logits, dtype=float) / tau
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _student_clip_mse(w, clip, bits=4):
    return float(_clip_mse(np.asarray(w, dtype=float), clip, bits))


def _memory_gb(n_params, bits):
    return n_params * bits / 8 / 1e9


def _floor_quantize(x, scale, zero_point=0, bits=8, signed=True):  # rounds down instead of to nearest
    qmin, qmax = _qrange(bits, signed)
    return np.clip(np.floor(np.asarray(x) / scale) + zero_point, qmin, qmax).astype(np.int64)


def _not_written(*args, **kwargs):
    raise NotImplementedError()


RIGHT = {  # plot -> keyword arguments handing it the student's (right) functions
    "plot_quantization_grid": {"quantize": _quantize, "dequantize": _dequantize},
    "plot_rounding_error": {"quantize": _quantize, "dequantize": _dequantize},
    "plot_softmax_curves": {"softmax": _softmax_tau},
    "plot_clipping_tradeoff": {"clip_mse": _student_clip_mse},
    "plot_memory": {"memory_gb": _memory_gb},
}
ONE_FUNCTION = [(name, keyword) for name, functions in RIGHT.items() for keyword in functions]


def _plotted(ax):
    """The data of every line, collection (offsets and segments), patch and text (position and string)."""
    data = [np.column_stack([line.get_xdata(), line.get_ydata()]) for line in ax.lines]
    for collection in ax.collections:
        data.append(np.asarray(collection.get_offsets()))
        data.extend(np.asarray(segment) for segment in getattr(collection, "get_segments", list)())
    data += [np.asarray(patch.get_bbox().bounds) for patch in ax.patches]
    data += [np.asarray([*t.get_position(), *getattr(t, "xy", ())]) for t in ax.texts if t.get_gid() != "note"]
    return data, [t.get_text() for t in ax.texts if t.get_gid() != "note"]


def _assert_same_data(ax, expected):
    (got, got_texts), (want, want_texts) = _plotted(ax), _plotted(expected)
    assert len(got) == len(want) and got_texts == want_texts
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)


def _note(ax):
    """The note's text with its line breaks undone, or None when the Axes has no note."""
    notes = [t.get_text() for t in ax.texts if t.get_gid() == "note"]
    assert len(notes) <= 1
    return " ".join(notes[0].split()) if notes else None


def _quietly(draw):
    """draw(), then render the figure, failing on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = draw()
        ax.figure.canvas.draw()
    return ax


@pytest.mark.parametrize("name", RIGHT)
def test_right_functions_plot_the_same_data_as_the_course_formula(name):
    course = _draw(name)
    yours = _quietly(lambda: _draw(name, **RIGHT[name]))
    _assert_same_data(yours, course)
    assert _note(yours) is None
    assert yours.get_title() == f"{course.get_title()}\nwith your {' and '.join(RIGHT[name])}"


@pytest.mark.parametrize(("name", "keyword"), ONE_FUNCTION)
def test_a_right_function_alone_plots_the_same_data(name, keyword):
    _assert_same_data(_quietly(lambda: _draw(name, **{keyword: RIGHT[name][keyword]})), _draw(name))


@pytest.mark.parametrize(("name", "keyword"), ONE_FUNCTION)
def test_a_function_not_written_yet_draws_the_course_formula_with_a_note(name, keyword, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ax = _draw(name, **{keyword: _not_written})
        ax.figure.canvas.draw()
    assert caught == []
    assert capsys.readouterr() == ("", "")
    assert isinstance(ax, matplotlib.axes.Axes)
    _assert_same_data(ax, _draw(name))
    assert _note(ax) == f"{keyword} is not written yet: showing the course's formula"
    assert ax.get_title().endswith(f"\nthe course's {keyword} (yours is not written yet)")
    note = next(t for t in ax.texts if t.get_gid() == "note")
    assert note.get_position() == (0.5, 0.5) and note.get_transform() == ax.transAxes
    assert (note.get_ha(), note.get_va()) == ("center", "center")


def test_both_quantization_functions_not_written_yet_share_one_title_line():
    ax = _quietly(lambda: plots.plot_quantization_grid([0.3], 0.1, quantize=_not_written, dequantize=_not_written))
    assert ax.get_title().endswith("\nthe course's quantize and dequantize (yours are not written yet)")
    assert _note(ax) == ("quantize is not written yet: showing the course's formula "
                         "dequantize is not written yet: showing the course's formula")


def test_a_function_that_raises_is_named_with_its_error():
    def strict(q, scale, zero_point=0):
        raise ValueError("q must be integer codes, got $3.5$ \x00 and 中文")

    ax = _quietly(lambda: plots.plot_quantization_grid([-1.1, 0.25], 0.2, bits=3, quantize=_quantize,
                                                       dequantize=strict))
    assert _note(ax).startswith("your dequantize raised ValueError: q must be integer codes, got $3.5$")
    assert _note(ax).endswith("; showing the course's formula")
    assert ax.get_title().endswith("\nwith your quantize; the course's dequantize (yours raised ValueError)")
    _assert_same_data(ax, plots.plot_quantization_grid([-1.1, 0.25], 0.2, bits=3))


@pytest.mark.parametrize("result", [None, "codes", np.zeros(2), np.full(2004, np.nan), [[1, 2], [3]]],
                         ids=["None", "str", "wrong-shape", "nan", "ragged"])
def test_a_result_that_cannot_be_drawn_falls_back_with_a_note(result):
    ax = _quietly(lambda: plots.plot_quantization_grid([0.3, -2.0, 0.05, 1.0], 0.1,
                                                       quantize=lambda *args: result))
    assert _note(ax).startswith("your quantize returned ")
    assert ax.get_title().endswith("\nthe course's quantize (yours returned values that cannot be drawn)")
    _assert_same_data(ax, plots.plot_quantization_grid([0.3, -2.0, 0.05, 1.0], 0.1))


def test_a_function_that_warns_is_drawn_and_its_warning_becomes_a_note():
    def noisy(x, scale, zero_point=0, bits=8, signed=True):
        np.log(np.zeros(1))  # RuntimeWarning: divide by zero
        return _quantize(x, scale, zero_point, bits, signed)

    ax = _quietly(lambda: plots.plot_quantization_grid([0.3, -2.0], 0.1, quantize=noisy))
    assert _note(ax).startswith("your quantize warned RuntimeWarning: divide by zero")
    assert ax.get_title().endswith("\nwith your quantize")
    _assert_same_data(ax, plots.plot_quantization_grid([0.3, -2.0], 0.1))


def test_a_floor_quantize_shows_on_the_grid():
    x = np.array([-1.1, 0.25, 0.93, 0.35])  # 0.35 / 0.2 = 1.75: rint gives 2, floor gives 1
    ax = _quietly(lambda: plots.plot_quantization_grid(x, 0.2, bits=3, quantize=_floor_quantize))
    landed = _labelled(ax.collections, "where it lands").get_offsets()
    np.testing.assert_allclose(landed[:, 1], [-0.8, 0.2, 0.6, 0.2], rtol=RTOL)
    stairs = _labelled(ax.lines, "x̂ = dequantize(quantize(x))")
    floor = 0.2 * np.clip(np.floor(stairs.get_xdata() / 0.2), -4, 3)
    np.testing.assert_allclose(stairs.get_ydata(), floor, rtol=RTOL, atol=1e-15)
    assert not np.allclose(stairs.get_ydata(), _fake_quant(stairs.get_xdata(), 0.2, 0, -4, 3))
    np.testing.assert_allclose(_labelled(ax.collections, "input x").get_offsets(), np.column_stack([x, x]))
    assert _note(ax) is None and ax.get_title().endswith("\nwith your quantize")


def test_a_floor_quantize_shows_as_a_one_sided_rounding_error():
    x = np.linspace(-0.7, 0.5, 601)  # inside the 3-bit range [-0.8, 0.6]
    ax = _quietly(lambda: plots.plot_rounding_error(x, 0.2, bits=3, quantize=_floor_quantize,
                                                    dequantize=_dequantize))
    error = _labelled(ax.lines, "x̂ − x").get_ydata()
    np.testing.assert_allclose(error, 0.2 * np.floor(x / 0.2) - x, rtol=RTOL, atol=1e-15)
    assert error.max() <= 1e-12 and error.min() < -0.19  # always down, by up to a whole step


def test_a_dequantize_adding_the_zero_point_gets_the_course_codes_as_integers():
    received = []

    def adds_zero_point(q, scale, zero_point=0):
        received.append((np.asarray(q).dtype.kind, scale, zero_point))
        return scale * (np.asarray(q) + zero_point)

    x = np.array([0.3, 1.1])
    ax = _quietly(lambda: plots.plot_quantization_grid(x, 0.25, zero_point=3, bits=4, signed=False,
                                                       dequantize=adds_zero_point))
    codes = np.clip(np.rint(x / 0.25) + 3, 0, 15)
    np.testing.assert_allclose(_labelled(ax.collections, "where it lands").get_offsets()[:, 1],
                               0.25 * (codes + 3), rtol=RTOL)
    assert received == [("i", 0.25, 3)]  # called once, with integer codes and the plot's parameters


def test_the_student_quantize_gets_the_course_arguments_and_cannot_change_the_inputs():
    received = []

    def in_place(x, scale, zero_point=0, bits=8, signed=True):
        received.append((x.shape, scale, zero_point, bits, signed))
        x /= scale  # a student's in-place edit must not move the plotted inputs
        return np.clip(np.rint(x) + zero_point, *_qrange(bits, signed))

    x = [0.3, -2.0, 0.05]
    ax = _quietly(lambda: plots.plot_quantization_grid(x, 0.1, zero_point=1, bits=5, signed=True,
                                                       quantize=in_place))
    assert received == [((3 + 2001,), 0.1, 1, 5, True)]  # the inputs, then the staircase's points
    np.testing.assert_allclose(_labelled(ax.collections, "input x").get_offsets(), np.column_stack([x, x]))
    _assert_same_data(ax, plots.plot_quantization_grid(x, 0.1, zero_point=1, bits=5, signed=True))


def test_a_softmax_ignoring_tau_draws_flat_curves():
    def ignores_tau(logits, tau=1.0, axis=-1):
        return _softmax_tau(logits)

    logits, taus = np.array([2.0, 0.0, -1.0]), np.logspace(-1, 1, 20)
    ax = _quietly(lambda: plots.plot_softmax_curves(logits, taus, softmax=ignores_tau))
    curves = np.array([line.get_ydata() for line in ax.lines[:-1]])
    np.testing.assert_allclose(curves, np.repeat(_softmax(logits)[:, None], taus.size, axis=1), rtol=1e-12)


def test_a_clip_mse_without_saturation_draws_its_total_and_moves_the_star():
    def no_saturation(w, clip, bits=4):  # forgets to clip the codes: no clipping error at all
        scale = clip / (2 ** (bits - 1) - 1)
        return float(np.mean((scale * np.rint(w / scale) - w) ** 2))

    w, clips = np.random.default_rng(11).standard_t(3, 3000), np.linspace(0.5, 6.0, 30)
    course = plots.plot_clipping_tradeoff(w, clips)
    ax = _quietly(lambda: plots.plot_clipping_tradeoff(w, clips, clip_mse=no_saturation))
    wrong = np.array([no_saturation(w, c) for c in clips])
    np.testing.assert_allclose(_labelled(ax.lines, "MSE (total)").get_ydata(), wrong, rtol=1e-12)
    np.testing.assert_allclose(_labelled(ax.collections, "best clip").get_offsets(),
                               [[clips[np.argmin(wrong)], wrong.min()]], rtol=1e-12)
    for part in ("rounding error", "clipping error"):  # always the course's split
        np.testing.assert_array_equal(_labelled(ax.lines, part).get_ydata(),
                                      _labelled(course.lines, part).get_ydata())


def test_a_memory_gb_in_gib_draws_its_bars():
    bits = (16, 8, 4)
    ax = _quietly(lambda: plots.plot_memory(13e9, bits=bits, memory_gb=lambda n, b: n * b / 8 / 2**30))
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], [13e9 * b / 8 / 2**30 for b in bits],
                               rtol=RTOL)
    assert [t.get_text() for t in ax.texts] == ["24.2 GB", "12.1 GB", "6.05 GB"]

"""Tests of grader.plots: the plotted data, labels and Axes handling, never pixels."""

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

from grader import plots

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


def _draw(name, ax=None):
    function, args, kwargs = CASES[name]
    return function(*args, **kwargs, ax=ax)


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
        import grader.plots as plots
        assert "grader.reference" not in sys.modules, "importing grader.plots imported grader.reference"
        changed = sorted(k for k, v in before.items() if matplotlib.rcParams[k] != v)
        assert not changed, f"importing grader.plots changed rcParams: {changed}"
        assert not plt.get_fignums(), "importing grader.plots opened a figure"
        plots.plot_quantization_grid([0.3, -2.0], 0.1)
        plots.plot_rounding_error(np.linspace(-1, 1, 11), 0.1)
        plots.plot_softmax_curves([2.0, 0.0], [0.5, 1.0, 2.0])
        plots.plot_clipping_tradeoff([0.1, -0.5], [0.25, 0.5])
        plots.plot_memory(7e9)
        plots.plot_kd_temperature([1.0, 0.0], [0.0, 1.0], [1.0, 2.0])
        assert "grader.reference" not in sys.modules, "a plot imported grader.reference"
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
]


@pytest.mark.parametrize(("argument", "function", "args", "kwargs"), BAD_CALLS,
                         ids=[f"{f.__name__}-{a}-{i}" for i, (a, f, _, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_argument(argument, function, args, kwargs):
    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        function(*args, **kwargs)
    assert not plt.get_fignums()  # validation happens before any figure is made


# ------------------------------------------- agreement with the reference


def test_local_math_agrees_with_the_reference():
    from grader import reference
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

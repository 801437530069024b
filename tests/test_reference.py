"""Unit tests of grader.course.reference: the spec's examples, exact ties, range edges, every error path,
properties (hypothesis) and comparisons with independent plain-Python computations.

Every warning is an error here: nbgrader scores a test cell 0 when anything reaches stderr.
"""

from __future__ import annotations

import inspect
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.course import capstone, contract, reference
from grader.course.reference import (
    adam_state_gb,
    affine_params,
    best_clip,
    calibration_coverage,
    clip_mse,
    combined_loss,
    dequantize,
    distillation_loss,
    effective_bits,
    entropy,
    finetune_memory_gb,
    kd_loss,
    kl_divergence,
    memory_gb,
    qrange,
    quantization_mse,
    quantize,
    shipping_gates,
    softmax,
    sqnr_db,
    symmetric_scale,
)

pytestmark = pytest.mark.filterwarnings("error")

RTOL = 1e-9
BITS = range(2, 17)
TAUS = (0.5, 1.0, 2.0, 4.0, 10.0)
BATCH_SHAPES = ((5,), (1, 5), (3, 5), (2, 3, 5))
PROPERTY = settings(max_examples=60, deadline=None)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


# ------------------------------------------------------------------ independent plain-Python versions


def py_log_softmax(row, tau=1.0):
    m = max(row)
    z = [(v - m) / tau for v in row]
    lse = math.log(math.fsum(math.exp(v) for v in z))
    return [v - lse for v in z]


def py_softmax(row, tau=1.0):
    return [math.exp(v) for v in py_log_softmax(row, tau)]


def py_kl(p, q):
    return math.fsum(pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p, q, strict=True) if pi > 0)


def py_kd_loss_batchmean(student, teacher, tau):
    """PyTorch kl_div(log_softmax(s/tau), softmax(t/tau), reduction="batchmean") * tau**2, by hand."""
    total = math.fsum(
        p * (math.log(p) - log_q)
        for s_row, t_row in zip(student, teacher, strict=True)
        for p, log_q in zip(py_softmax(t_row, tau), py_log_softmax(s_row, tau), strict=True)
        if p > 0
    )
    return tau**2 * total / len(student)


def reals(bound):
    """Floats in [-bound, bound], with magnitudes below 1e-100 set to 0 so squares do not underflow."""
    return st.floats(-bound, bound).map(lambda v: v if abs(v) > 1e-100 else 0.0)


def random_distributions(rng, shape, zeros=False):
    p = rng.random(shape)
    if zeros:
        p[..., 0] = 0.0
    return p / p.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- the contract


def test_reference_defines_the_graded_functions_in_exercise_order():
    public = [name for name, obj in vars(reference).items()
              if inspect.isfunction(obj) and obj.__module__ == reference.__name__
              and not name.startswith("_")]
    assert public == list(contract.FUNCTIONS + capstone.NEW_FUNCTIONS)


SIGNATURES = {
    "quantize": "(x, scale, zero_point=0, bits=8, signed=True)",
    "dequantize": "(q, scale, zero_point=0)",
    "qrange": "(bits, signed=True)",
    "symmetric_scale": "(max_abs, bits=4)",
    "affine_params": "(x_min, x_max, bits=8)",
    "memory_gb": "(n_params, bits)",
    "effective_bits": "(bits, group_size=None, scale_bits=16, zero_bits=0)",
    "quantization_mse": "(w, w_hat)",
    "sqnr_db": "(w, w_hat)",
    "best_clip": "(clips, mse)",
    "clip_mse": "(w, clip, bits=4)",
    "softmax": "(logits, tau=1.0, axis=-1)",
    "entropy": "(p, axis=-1)",
    "kl_divergence": "(p, q, axis=-1)",
    "kd_loss": "(student_logits, teacher_logits, tau)",
    "combined_loss": "(ce, kd, alpha)",
    "distillation_loss": "(student_logits, teacher_logits, labels, tau, alpha)",
    "adam_state_gb": "(n_trainable, bytes_per_value=4, n_moments=2)",
    "finetune_memory_gb": "(n_frozen, n_trainable, frozen_bits=16, bytes_per_trainable=12)",
    "shipping_gates": "(metrics, max_loss_increase=0.02, min_coverage=0.999, max_task_drop=1.0)",
    "calibration_coverage": "(activations, clip)",
    "quantize_tensor": "(w, bits=8, granularity='tensor', group_size=128)",
    "weight_stats": "(w)",
    "cosine_similarity": "(a, b)",
    "nearest_neighbours": "(embeddings)",
}


@pytest.mark.parametrize("name", contract.FUNCTIONS + capstone.NEW_FUNCTIONS)
def test_signature_and_docstring_follow_the_spec(name):
    fn = getattr(reference, name)
    sig = inspect.signature(fn)
    bare = sig.replace(parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
                       return_annotation=sig.empty)
    assert str(bare) == SIGNATURES[name]
    assert all(p.annotation is not p.empty for p in sig.parameters.values())
    assert sig.return_annotation is not sig.empty
    for section in ("Args:", "Returns:", "Raises:"):
        assert section in fn.__doc__, f"{name} docstring lacks {section}"


# --------------------------------------------------------------------------- 1. quantize, dequantize, qrange


def test_quantize_seed_example():
    q = quantize(0.3, 0.1, 0)
    assert q == 3
    assert isinstance(q, np.ndarray) and q.dtype == np.int64 and q.shape == ()
    x_hat = dequantize(3, 0.1, 0)
    assert x_hat.dtype == np.float64
    np.testing.assert_allclose(x_hat, 0.3, rtol=RTOL)


def test_quantize_rounds_half_to_even():
    x = [-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5]
    np.testing.assert_array_equal(quantize(x, 1.0), [-4, -2, -2, 0, 0, 2, 2, 4])
    np.testing.assert_array_equal(quantize([0.125, 0.375, 0.625], 0.25), [0, 2, 2])
    # the tie is rounded before the zero point is added: rint(0.5) + 3 = 3, not rint(3.5) = 4
    assert quantize(0.5, 1.0, zero_point=3, signed=False) == 3


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("bits", BITS)
def test_quantize_saturates_at_the_range_edges(bits, signed):
    qmin, qmax = qrange(bits, signed)
    scale = 0.5
    x = np.array([qmin - 1000, qmin - 1, qmin, qmax, qmax + 1, qmax + 1000]) * scale
    np.testing.assert_array_equal(quantize(x, scale, bits=bits, signed=signed),
                                  [qmin, qmin, qmin, qmax, qmax, qmax])


def test_quantize_saturates_instead_of_wrapping_around():
    assert quantize(200.0, 1.0) == 127  # int8 wrap-around would give -56
    assert quantize(-200.0, 1.0) == -128
    assert quantize(-5.0, 1.0, signed=False) == 0
    assert quantize(300.0, 1.0, signed=False) == 255


def test_quantize_huge_ratio_saturates_without_warning():
    np.testing.assert_array_equal(quantize([1e300, -1e300, 0.0], 1e-300), [127, -128, 0])


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("bits", [2, 3, 4, 8, 12, 16])
def test_quantize_matches_a_python_loop(rng, bits, signed):
    qmin, qmax = qrange(bits, signed)
    scale = float(rng.uniform(0.01, 2.0))
    zero_point = int(rng.integers(qmin, qmax + 1))
    x = rng.normal(0.0, scale * (qmax - qmin) / 3, size=200)
    expected = [min(max(round(v / scale) + zero_point, qmin), qmax) for v in x]
    np.testing.assert_array_equal(quantize(x, scale, zero_point, bits, signed), expected)
    q = np.array(expected)
    np.testing.assert_allclose(dequantize(q, scale, zero_point),
                               [scale * (k - zero_point) for k in expected], rtol=RTOL)


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_quantize_and_dequantize_keep_the_shape(rng, shape):
    x = rng.normal(size=shape)
    q = quantize(x, 0.05)
    assert q.shape == shape and q.dtype == np.int64
    x_hat = dequantize(q, 0.05)
    assert x_hat.shape == shape and x_hat.dtype == np.float64


def test_quantize_per_channel_scales_broadcast(rng):
    w = rng.normal(size=(3, 8))
    scales = symmetric_scale(np.abs(w).max(axis=1), bits=8)[:, None]
    q = quantize(w, scales)
    for row, scale, codes in zip(w, scales[:, 0], q, strict=True):
        np.testing.assert_array_equal(codes, quantize(row, scale))
    np.testing.assert_allclose(dequantize(q, scales), w, atol=scales.max() / 2)


def test_quantize_accepts_python_and_numpy_types():
    assert quantize(np.float32(0.5), np.float64(0.25), np.int64(1), np.int8(4)) == 3
    assert quantize(0.3, 0.1, 0, 8.0) == 3  # an integral float is an integer
    np.testing.assert_array_equal(quantize([0.1, 0.2], [0.1, 0.1]), [1, 2])
    np.testing.assert_array_equal(dequantize([3.0, -2], 0.5, zero_point=np.int16(1)), [1.0, -1.5])
    assert quantize(0.3, 0.1, signed=np.True_) == 3


@PROPERTY
@given(bits=st.integers(2, 16), signed=st.booleans(), scale=st.floats(1e-6, 1e6), data=st.data())
def test_quantize_dequantize_is_the_identity_on_the_grid(bits, signed, scale, data):
    qmin, qmax = qrange(bits, signed)
    zero_point = data.draw(st.integers(qmin, qmax))
    q = np.array(data.draw(st.lists(st.integers(qmin, qmax), min_size=1, max_size=20)))
    x = dequantize(q, scale, zero_point)
    np.testing.assert_array_equal(quantize(x, scale, zero_point, bits, signed), q)


@PROPERTY
@given(bits=st.integers(2, 16), signed=st.booleans(), scale=st.floats(1e-4, 1e4),
       fractions=st.lists(st.floats(0, 1), min_size=1, max_size=20), data=st.data())
def test_round_trip_error_is_at_most_half_a_step_inside_the_range(bits, signed, scale, fractions, data):
    qmin, qmax = qrange(bits, signed)
    zero_point = data.draw(st.integers(qmin, qmax))
    lo, hi = scale * (qmin - zero_point), scale * (qmax - zero_point)
    x = lo + np.array(fractions) * (hi - lo)
    x_hat = dequantize(quantize(x, scale, zero_point, bits, signed), scale, zero_point)
    assert np.all(np.abs(x_hat - x) <= scale / 2 * (1 + 1e-9))


def test_qrange_seed_example():
    assert qrange(8) == (-128, 127)
    assert qrange(8, signed=False) == (0, 255)


@pytest.mark.parametrize("bits", BITS)
def test_qrange_every_bit_width_gives_python_ints(bits):
    signed, unsigned = qrange(bits), qrange(bits, signed=False)
    assert signed == (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    assert unsigned == (0, (1 << bits) - 1)
    assert all(type(v) is int for v in signed + unsigned)
    assert qrange(np.int32(bits)) == signed


def test_qrange_small_table():
    assert [qrange(b) for b in (2, 4, 16)] == [(-2, 1), (-8, 7), (-32768, 32767)]
    assert [qrange(b, False) for b in (2, 4, 16)] == [(0, 3), (0, 15), (0, 65535)]


# --------------------------------------------------------------------------- 2. symmetric and affine scales


def test_symmetric_scale_seed_example():
    scale = symmetric_scale(2.1, 4)
    assert type(scale) is float
    np.testing.assert_allclose(scale, 0.3, rtol=RTOL)


@pytest.mark.parametrize("bits", BITS)
def test_symmetric_scale_uses_the_restricted_range(bits):
    qmax = 2 ** (bits - 1) - 1
    assert symmetric_scale(3.0, bits) == 3.0 / qmax
    codes = quantize(np.linspace(-3.0, 3.0, 101), symmetric_scale(3.0, bits), bits=bits)
    assert codes.min() == -qmax and codes.max() == qmax  # qmin = -qmax - 1 is never used


def test_symmetric_scale_all_zero_and_per_channel():
    assert symmetric_scale(0.0) == 1.0
    assert symmetric_scale(0) == 1.0
    scales = symmetric_scale([0.0, 2.1, 7.0], 4)
    assert isinstance(scales, np.ndarray) and scales.dtype == np.float64
    np.testing.assert_allclose(scales, [1.0, 0.3, 1.0], rtol=RTOL)
    assert symmetric_scale(np.ones((2, 3)), 8).shape == (2, 3)


def test_affine_params_seed_example():
    scale, zero_point = affine_params(-1.0, 3.0, 8)
    assert (scale, zero_point) == (4 / 255, 64)
    assert type(scale) is float and type(zero_point) is int


def test_affine_params_widens_the_range_to_include_zero():
    assert affine_params(2.0, 5.0) == (5.0 / 255, 0)  # [2, 5] becomes [0, 5]
    assert affine_params(-5.0, -2.0) == (5.0 / 255, 255)  # [-5, -2] becomes [-5, 0]
    assert affine_params(-1.0, 3.0, 4) == (4 / 15, 4)  # rint(3.75) = 4


def test_affine_params_empty_range():
    assert affine_params(0, 0) == (1.0, 0)
    assert affine_params(-0.0, 0.0, 4) == (1.0, 0)


def test_affine_params_zero_point_rounds_half_to_even():
    assert affine_params(-0.5, 254.5) == (1.0, 0)  # -x_min / scale = 0.5
    assert affine_params(-1.5, 253.5) == (1.0, 2)
    assert affine_params(-2.5, 252.5) == (1.0, 2)


@PROPERTY
@given(bits=st.integers(2, 16), a=reals(1e6), b=reals(1e6))
def test_affine_params_make_zero_exact_and_cover_the_range(bits, a, b):
    x_min, x_max = min(a, b), max(a, b)
    scale, zero_point = affine_params(x_min, x_max, bits)
    qmax = 2**bits - 1
    assert 0 <= zero_point <= qmax and scale > 0
    assert dequantize(quantize(0.0, scale, zero_point, bits, signed=False), scale, zero_point) == 0.0
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    if hi > lo:
        np.testing.assert_allclose(scale * qmax, hi - lo, rtol=RTOL)
        ends = dequantize(quantize([lo, hi], scale, zero_point, bits, signed=False), scale, zero_point)
        assert np.all(np.abs(ends - [lo, hi]) <= scale / 2 * (1 + 1e-9))


# --------------------------------------------------------------------------- 3. inference memory


def test_memory_gb_seed_example():
    bf16, int4 = memory_gb(13e9, 16), memory_gb(13e9, 4)
    assert (bf16, int4, bf16 / int4) == (26.0, 6.5, 4.0)
    assert type(bf16) is float


def test_memory_gb_uses_decimal_gigabytes():
    assert memory_gb(1e9, 8) == 1.0
    assert memory_gb(2**30, 8) == 1.073741824  # a GiB of bytes is not a GB


def test_memory_gb_accepts_lists_and_broadcasts():
    np.testing.assert_allclose(memory_gb(13e9, [32, 16, 8, 4]), [52.0, 26.0, 13.0, 6.5], rtol=RTOL)
    grid = memory_gb([[7e9], [70e9]], [16, 4])
    assert grid.shape == (2, 2)
    np.testing.assert_allclose(grid, [[14.0, 3.5], [140.0, 35.0]], rtol=RTOL)


def test_memory_gb_matches_exact_fractions(rng):
    n = rng.integers(0, 10**12, size=20)
    bits = rng.choice([2, 3, 4, 8, 16, 32], size=20)
    expected = [float(Fraction(int(k)) * int(b) / 8 / 10**9) for k, b in zip(n, bits, strict=True)]
    np.testing.assert_allclose(memory_gb(n, bits), expected, rtol=RTOL)


def test_effective_bits_seed_example_and_per_tensor():
    assert effective_bits(4, 128) == 4.125
    assert effective_bits(4) == 4.0 and type(effective_bits(4)) is float
    assert effective_bits(4, None, scale_bits=32, zero_bits=8) == 4.0


def test_effective_bits_matches_the_formula(rng):
    bits = rng.choice([2, 3, 4, 8], size=30)
    group = rng.choice([32, 64, 128, 256], size=30)
    scale_bits = rng.choice([8, 16, 32], size=30)
    zero_bits = rng.choice([0, 4, 8, 16], size=30)
    expected = [float(b + Fraction(int(s) + int(z), int(g)))
                for b, g, s, z in zip(bits, group, scale_bits, zero_bits, strict=True)]
    np.testing.assert_allclose(effective_bits(bits, group, scale_bits, zero_bits), expected, rtol=RTOL)
    assert effective_bits(4, [32, 64, 128]).tolist() == [4.5, 4.25, 4.125]
    assert effective_bits(4, 64.0, zero_bits=16) == 4.5


def test_effective_bits_feeds_memory_gb():
    np.testing.assert_allclose(memory_gb(7e9, effective_bits(4, 128)), 3.609375, rtol=RTOL)


# --------------------------------------------------------------------------- 4. quantization error


def test_quantization_mse_seed_example():
    mse = quantization_mse([0.1, 0.4, -0.2], [0.0, 0.5, -0.25])
    assert type(mse) is float
    np.testing.assert_allclose(mse, 0.0075, rtol=RTOL)


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_quantization_mse_matches_a_python_loop(rng, shape):
    w = rng.normal(size=shape)
    w_hat = dequantize(quantize(w, 0.1, bits=4), 0.1)
    flat = list(zip(w.ravel(), w_hat.ravel(), strict=True))
    expected = math.fsum((a - b) ** 2 for a, b in flat) / len(flat)
    np.testing.assert_allclose(quantization_mse(w, w_hat), expected, rtol=RTOL)
    assert quantization_mse(w, w) == 0.0


def test_sqnr_db_seed_example():
    value = sqnr_db([1, 1], [1, 0])
    assert type(value) is float
    np.testing.assert_allclose(value, 10 * math.log10(2), rtol=RTOL)


def test_sqnr_db_without_error_is_inf():
    assert sqnr_db([0.5, -1.0, 0.0], [0.5, -1.0, 0.0]) == math.inf


def test_sqnr_db_matches_math_log10(rng):
    for bits in (2, 4, 8):
        w = rng.normal(size=(4, 16))
        scale = symmetric_scale(np.abs(w).max(), bits)
        w_hat = dequantize(quantize(w, scale, bits=bits), scale)
        signal = math.fsum(v * v for v in w.ravel())
        noise = math.fsum((a - b) ** 2 for a, b in zip(w.ravel(), w_hat.ravel(), strict=True))
        np.testing.assert_allclose(sqnr_db(w, w_hat), 10 * math.log10(signal / noise), rtol=RTOL)


@PROPERTY
@given(w=hnp.arrays(np.float64, st.integers(1, 20), elements=reals(100)),
       power=st.integers(-40, 40))
def test_sqnr_db_matches_math_and_ignores_a_common_scale(w, power):
    w_hat = np.round(w, 1)
    if np.any(w != 0) and np.any(w != w_hat):
        signal = math.fsum(v * v for v in w.tolist())
        noise = math.fsum((a - b) ** 2 for a, b in zip(w.tolist(), w_hat.tolist(), strict=True))
        np.testing.assert_allclose(sqnr_db(w, w_hat), 10 * math.log10(signal / noise), rtol=1e-9)
        c = 2.0**power  # exact scaling
        np.testing.assert_allclose(sqnr_db(c * w, c * w_hat), sqnr_db(w, w_hat), rtol=1e-12)


# --------------------------------------------------------------------------- 5. the clipping trade-off


def test_best_clip_seed_example():
    clip = best_clip([1, 2, 3], [0.05, 0.02, 0.03])
    assert clip == 2.0 and type(clip) is float


def test_best_clip_first_on_ties():
    assert best_clip([0.5, 1.0, 1.5, 2.0], [0.2, 0.1, 0.1, 0.3]) == 1.0
    assert best_clip([3.0, 1.0], [math.inf, math.inf]) == 3.0
    assert best_clip([3.0], [0.0]) == 3.0


@PROPERTY
@given(mse=st.lists(st.floats(0, 10).map(lambda v: round(v, 1)), min_size=1, max_size=30))
def test_best_clip_matches_python_min(mse):
    clips = [0.1 * (i + 1) for i in range(len(mse))]
    first_best = min(range(len(mse)), key=mse.__getitem__)  # Python's min keeps the first on ties
    assert best_clip(clips, mse) == clips[first_best]


def test_clip_mse_seed_example():
    value = clip_mse([0.5, -1.5], 1.0, 2)
    assert type(value) is float
    assert value == 0.25


def test_clip_mse_restricted_range_and_saturation():
    # bits 4, clip 7: scale 1, codes in [-7, 7]; -8 is never used, beyond +-7 saturates
    np.testing.assert_allclose(clip_mse([-7.0, -7.4, -8.0], 7.0, 4), (0.0 + 0.16 + 1.0) / 3, rtol=RTOL)
    assert clip_mse([10.0], 1.0, 4) == 81.0
    assert clip_mse([0.5, 1.5, 2.5], 7.0, 4) == 0.25  # ties to even: 0, 2, 2


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_clip_mse_matches_a_python_loop(rng, bits):
    qmax = 2 ** (bits - 1) - 1
    w = rng.normal(size=100)
    for clip in (0.5, 1.0, 2.0, 4.0):
        scale = clip / qmax
        errors = [(v - scale * min(max(round(v / scale), -qmax), qmax)) ** 2 for v in w]
        np.testing.assert_allclose(clip_mse(w, clip, bits), math.fsum(errors) / len(errors), rtol=RTOL)


def test_clip_mse_agrees_with_quantize_inside_the_clip(rng):
    w = rng.uniform(-1.0, 1.0, size=(4, 25))
    scale = 1.0 / 7
    w_hat = dequantize(quantize(w, scale, bits=4), scale)
    np.testing.assert_allclose(clip_mse(w, 1.0, 4), quantization_mse(w, w_hat), rtol=RTOL)


def test_clip_mse_sweep_has_an_interior_minimum(rng):
    w = rng.standard_t(df=3, size=2000)
    clips = np.linspace(0.2, np.abs(w).max(), 40)
    errors = [clip_mse(w, c, 4) for c in clips]
    assert clips[0] < best_clip(clips, errors) < clips[-1]


# --------------------------------------------------------------------------- 6. softmax and entropy


def test_softmax_seed_example():
    p = softmax([2, 0], tau=2)
    np.testing.assert_allclose(p, [0.7311, 0.2689], atol=5e-5)
    np.testing.assert_allclose(p, [1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))], rtol=RTOL)
    assert p.dtype == np.float64


@pytest.mark.parametrize("tau", TAUS)
def test_softmax_matches_math_exp(rng, tau):
    logits = rng.normal(0, 3, size=(4, 6))
    expected = [py_softmax(row, tau) for row in logits.tolist()]
    np.testing.assert_allclose(softmax(logits, tau), expected, rtol=RTOL)
    np.testing.assert_allclose(softmax(logits, tau), softmax(logits / tau), rtol=RTOL)


def test_softmax_temperature_flattens_and_sharpens():
    logits = [3.0, 1.0, 0.0]
    assert softmax(logits, 1e6).max() - softmax(logits, 1e6).min() < 1e-5
    np.testing.assert_allclose(softmax(logits, 1e-3), [1.0, 0.0, 0.0], atol=1e-300)
    assert softmax(logits, 0.5)[0] > softmax(logits, 1.0)[0] > softmax(logits, 2.0)[0]


def test_softmax_is_stable_for_large_logits():
    np.testing.assert_array_equal(softmax([1e4, -1e4, 0.0]), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(softmax([1000.0, 1001.0]), softmax([0.0, 1.0]), rtol=RTOL)
    big = softmax(np.array([[1e4, 1e4 - 1.0], [-1e4, -1e4]]), tau=0.5)
    assert np.all(np.isfinite(big))
    np.testing.assert_allclose(big[1], [0.5, 0.5], rtol=RTOL)
    # gaps / tau overflow to -inf: exactly 0, no warning; tied maxima share the mass
    np.testing.assert_array_equal(softmax([1.0, 3.0, 3.0], tau=1e-300), [0.0, 0.5, 0.5])


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_softmax_batches_and_axis(rng, shape):
    logits = rng.normal(0, 5, size=shape)
    p = softmax(logits, 2.0)
    assert p.shape == shape
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=RTOL)
    np.testing.assert_allclose(softmax(logits, 2.0, axis=0), np.moveaxis(
        softmax(np.moveaxis(logits, 0, -1), 2.0), -1, 0), rtol=RTOL)


@PROPERTY
@given(logits=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                         elements=st.floats(-1e4, 1e4)),
       tau=st.floats(0.05, 100), shift=st.floats(-1e3, 1e3))
def test_softmax_rows_sum_to_one_and_ignore_a_shift(logits, tau, shift):
    p = softmax(logits, tau)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(softmax(logits + shift, tau), p, rtol=1e-6, atol=1e-12)


def test_entropy_seed_example():
    h = entropy([0.5, 0.5])
    assert type(h) is float
    np.testing.assert_allclose(h, math.log(2), rtol=RTOL)


def test_entropy_zero_probabilities():
    h = entropy([1.0, 0.0, 0.0])
    assert h == 0.0 and math.copysign(1.0, h) == 1.0  # 0.0, not -0.0
    np.testing.assert_allclose(entropy([0.5, 0.0, 0.5]), math.log(2), rtol=RTOL)


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_entropy_matches_math_log(rng, shape):
    p = random_distributions(rng, shape, zeros=True)
    h = entropy(p)
    assert np.shape(h) == shape[:-1]
    rows = p.reshape(-1, shape[-1]).tolist()
    expected = [-math.fsum(v * math.log(v) for v in row if v > 0) for row in rows]
    np.testing.assert_allclose(np.reshape(h, -1), expected, rtol=RTOL)
    np.testing.assert_allclose(entropy(np.moveaxis(p, -1, 0), axis=0), h, rtol=RTOL)


def test_entropy_accepts_rows_within_the_tolerance():
    np.testing.assert_allclose(entropy([0.5 + 4e-7, 0.5]), entropy([0.5, 0.5]), rtol=1e-5)


@PROPERTY
@given(n=st.integers(1, 8), weights=st.lists(st.floats(0, 1), min_size=8, max_size=8))
def test_entropy_lies_between_zero_and_log_n(n, weights):
    p = np.array(weights[:n]) + 1e-3
    h = entropy(p / p.sum())
    assert -1e-12 <= h <= math.log(n) + 1e-12


# --------------------------------------------------------------------------- 7. KL divergence and KD loss


def test_kl_divergence_seed_example():
    kl = kl_divergence([0.7, 0.3], [0.6, 0.4])
    assert type(kl) is float
    np.testing.assert_allclose(kl, 0.021601, atol=5e-7)
    np.testing.assert_allclose(kl, 0.7 * math.log(0.7 / 0.6) + 0.3 * math.log(0.3 / 0.4), rtol=RTOL)


def test_kl_divergence_direction_is_teacher_to_student():
    forward, reverse = kl_divergence([0.7, 0.3], [0.6, 0.4]), kl_divergence([0.6, 0.4], [0.7, 0.3])
    np.testing.assert_allclose(reverse, 0.6 * math.log(0.6 / 0.7) + 0.4 * math.log(0.4 / 0.3), rtol=RTOL)
    assert abs(forward - reverse) > 1e-4


def test_kl_divergence_zero_probabilities():
    np.testing.assert_allclose(kl_divergence([1.0, 0.0], [0.5, 0.5]), math.log(2), rtol=RTOL)
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert kl_divergence([0.0, 1.0], [0.0, 1.0]) == 0.0


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_kl_divergence_batches_match_a_python_loop(rng, shape):
    p, q = random_distributions(rng, shape, zeros=True), random_distributions(rng, shape)
    kl = kl_divergence(p, q)
    assert np.shape(kl) == shape[:-1]
    expected = [py_kl(a, b) for a, b in zip(p.reshape(-1, shape[-1]).tolist(),
                                            q.reshape(-1, shape[-1]).tolist(), strict=True)]
    np.testing.assert_allclose(np.reshape(kl, -1), expected, rtol=RTOL)
    np.testing.assert_allclose(kl_divergence(p.T, q.T, axis=0), np.transpose(kl), rtol=RTOL)


def test_kl_divergence_is_cross_entropy_minus_entropy(rng):
    p, q = random_distributions(rng, (5, 7)), random_distributions(rng, (5, 7))
    cross_entropy = -np.sum(p * np.log(q), axis=-1)
    np.testing.assert_allclose(kl_divergence(p, q), cross_entropy - entropy(p), rtol=1e-9, atol=1e-12)


@PROPERTY
@given(data=st.data(), n=st.integers(2, 8))
def test_kl_divergence_is_non_negative_and_zero_only_for_equal_inputs(data, n):
    weights = st.lists(st.floats(0, 1), min_size=n, max_size=n)
    p, q = (np.array(data.draw(weights)) + 1e-3 for _ in range(2))
    p, q = p / p.sum(), q / q.sum()
    assert kl_divergence(p, p) == 0.0
    l1 = float(np.abs(p - q).sum())
    assert kl_divergence(p, q) >= 0.5 * l1**2 - 1e-12  # Pinsker: > 0 whenever p != q


def test_kd_loss_seed_example():
    student, teacher = [1.0, 2.0, 0.5], [2.0, 0.0, 1.0]
    loss = kd_loss(student, teacher, 2.0)
    assert type(loss) is float
    expected = 4.0 * kl_divergence(softmax(teacher, 2.0), softmax(student, 2.0))
    np.testing.assert_allclose(loss, expected, rtol=RTOL)


@pytest.mark.parametrize("tau", TAUS)
@pytest.mark.parametrize("batch", [1, 3, 8])
def test_kd_loss_is_pytorch_batchmean_times_tau_squared(rng, tau, batch):
    student, teacher = rng.normal(0, 3, size=(2, batch, 5))
    expected = py_kd_loss_batchmean(student.tolist(), teacher.tolist(), tau)
    np.testing.assert_allclose(kd_loss(student, teacher, tau), expected, rtol=RTOL)


def test_kd_loss_tau_squared_and_batchmean(rng):
    student, teacher = rng.normal(size=(2, 4, 6))
    per_example = kl_divergence(softmax(teacher, 3.0), softmax(student, 3.0))
    np.testing.assert_allclose(kd_loss(student, teacher, 3.0), 9.0 * per_example.mean(), rtol=RTOL)
    np.testing.assert_allclose(kd_loss(student[0], teacher[0], 3.0), kd_loss(student[:1], teacher[:1], 3.0),
                               rtol=RTOL)


def test_kd_loss_is_stable_for_large_logits_and_high_temperature(rng):
    student, teacher = rng.normal(0, 1e4, size=(2, 4, 10))
    for tau in (1.0, 100.0, 1e4):
        loss = kd_loss(student, teacher, tau)
        assert math.isfinite(loss) and loss >= 0
    np.testing.assert_allclose(kd_loss(student + 1e4, teacher - 1e4, 100.0), kd_loss(student, teacher, 100.0),
                               rtol=1e-9)


@PROPERTY
@given(shape=st.sampled_from([(4,), (1, 4), (3, 4)]), tau=st.floats(0.1, 50), data=st.data())
def test_kd_loss_is_non_negative_and_zero_for_equal_logits(shape, tau, data):
    logits = hnp.arrays(np.float64, shape, elements=st.floats(-50, 50))
    student, teacher = data.draw(logits), data.draw(logits)
    assert kd_loss(student, student, tau) == 0.0
    assert kd_loss(student, teacher, tau) >= -1e-12


# --------------------------------------------------------------------------- 8. hard and soft targets


def test_combined_loss_seed_example():
    loss = combined_loss(1.0, 0.4, 0.25)
    assert type(loss) is float
    np.testing.assert_allclose(loss, 0.55, rtol=RTOL)


def test_combined_loss_alpha_weights_the_cross_entropy():
    assert combined_loss(1.0, 0.4, 1.0) == 1.0
    assert combined_loss(1.0, 0.4, 0.0) == 0.4
    sweep = combined_loss(1.0, 0.4, np.linspace(0, 1, 5))
    np.testing.assert_allclose(sweep, [0.4, 0.55, 0.7, 0.85, 1.0], rtol=RTOL)
    np.testing.assert_allclose(combined_loss([1.0, 2.0], [0.0, 1.0], 0.5), [0.5, 1.5], rtol=RTOL)


@PROPERTY
@given(ce=st.floats(0, 100), kd=st.floats(0, 100), alpha=st.floats(0, 1))
def test_combined_loss_lies_between_its_terms(ce, kd, alpha):
    loss = combined_loss(ce, kd, alpha)
    assert min(ce, kd) - 1e-12 <= loss <= max(ce, kd) + 1e-12


def test_distillation_loss_seed_example():
    student = [[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]]
    teacher = [[3.0, 0.0, -2.0], [-1.0, 2.0, 0.5]]
    labels, tau, alpha = [0, 1], 2.0, 0.5
    ce = -(py_log_softmax(student[0])[0] + py_log_softmax(student[1])[1]) / 2
    kd = py_kd_loss_batchmean(student, teacher, tau)
    loss = distillation_loss(student, teacher, labels, tau, alpha)
    assert type(loss) is float
    np.testing.assert_allclose(loss, alpha * ce + (1 - alpha) * kd, rtol=RTOL)


@pytest.mark.parametrize("tau", TAUS)
def test_distillation_loss_ends_are_cross_entropy_and_kd(rng, tau):
    student, teacher = rng.normal(0, 2, size=(2, 6, 4))
    labels = rng.integers(0, 4, size=6)
    ce = -np.mean([py_log_softmax(row)[k] for row, k in zip(student.tolist(), labels, strict=True)])
    np.testing.assert_allclose(distillation_loss(student, teacher, labels, tau, 1.0), ce, rtol=RTOL)
    np.testing.assert_allclose(distillation_loss(student, teacher, labels, tau, 0.0),
                               kd_loss(student, teacher, tau), rtol=RTOL)
    np.testing.assert_allclose(distillation_loss(student, teacher, labels, tau, 0.3),
                               combined_loss(ce, kd_loss(student, teacher, tau), 0.3), rtol=RTOL)


def test_distillation_loss_single_example_and_label_types():
    student, teacher = [0.2, 1.5, -0.3], [1.0, 0.0, 0.0]
    single = distillation_loss(student, teacher, 1, 2.0, 0.5)
    assert distillation_loss([student], [teacher], [1], 2.0, 0.5) == single
    assert distillation_loss(student, teacher, [1.0], 2.0, 0.5) == single
    assert distillation_loss(np.array(student), np.array(teacher), np.int64(1), 2.0, 0.5) == single


def test_distillation_loss_is_stable_for_large_logits(rng):
    student, teacher = rng.normal(0, 1e4, size=(2, 3, 5))
    loss = distillation_loss(student, teacher, [0, 4, 2], 50.0, 0.5)
    assert math.isfinite(loss) and loss >= 0


# --------------------------------------------------------------------------- 9. fine-tuning memory


def test_adam_state_gb_seed_example():
    state = adam_state_gb(20e6)
    assert type(state) is float
    np.testing.assert_allclose(state, 0.16, rtol=RTOL)


def test_adam_state_gb_matches_exact_fractions(rng):
    n = rng.integers(0, 10**11, size=10)
    size = rng.choice([2, 4, 8], size=10)
    moments = rng.integers(0, 3, size=10)
    expected = [float(Fraction(int(a) * int(b) * int(c), 10**9))
                for a, b, c in zip(n, size, moments, strict=True)]
    np.testing.assert_allclose(adam_state_gb(n, size, moments), expected, rtol=RTOL)
    assert adam_state_gb(7e9, 4, 0) == 0.0  # plain SGD keeps no moments
    np.testing.assert_allclose(adam_state_gb([1e9, 7e9], 2, 2), [4.0, 28.0], rtol=RTOL)


def test_finetune_memory_gb_seed_example():
    total = finetune_memory_gb(7e9, 20e6, 4)
    assert type(total) is float
    np.testing.assert_allclose(total, 3.74, rtol=RTOL)


def test_finetune_memory_gb_frozen_bits_and_trainable_bytes():
    assert finetune_memory_gb(7e9, 0) == 14.0  # bf16 frozen weights by default
    np.testing.assert_allclose(finetune_memory_gb(0, 1e9), 12.0, rtol=RTOL)
    np.testing.assert_allclose(finetune_memory_gb(0, 1e9, bytes_per_trainable=16), 16.0, rtol=RTOL)
    np.testing.assert_allclose(finetune_memory_gb(7e9, 20e6, [16, 8, 4]), [14.24, 7.24, 3.74], rtol=RTOL)


def test_finetune_memory_gb_is_weights_plus_trainable_state(rng):
    n_frozen, n_trainable = rng.integers(0, 10**11, size=(2, 10))
    bits = rng.choice([2, 4, 8, 16], size=10)
    np.testing.assert_allclose(finetune_memory_gb(n_frozen, n_trainable, bits),
                               memory_gb(n_frozen, bits) + n_trainable * 12 / 1e9, rtol=RTOL)


# --------------------------------------------------------------------------- 10. shipping gates


def seed_metrics(**overrides):
    metrics = {
        "calibration_coverage": 0.9995,
        "loss_baseline": 2.0,
        "loss_quantized": 2.02,
        "latency_baseline_ms": 42.0,
        "latency_quantized_ms": 25.0,
        "task_scores_baseline": {"mmlu": 70.0, "gsm8k": 55.0},
        "task_scores_quantized": {"mmlu": 69.5, "gsm8k": 54.5},
        "safety_pass": True,
    }
    return {**metrics, **overrides}


GATES = ("calibration", "heldout_loss", "latency", "quality")


def test_shipping_gates_seed_example():
    gates = shipping_gates(seed_metrics())
    assert list(gates) == [*GATES, "ship"]
    assert all(type(v) is bool for v in gates.values())
    assert gates == dict.fromkeys([*GATES, "ship"], True)


@pytest.mark.parametrize(("overrides", "gate"), [
    ({"calibration_coverage": 0.9989}, "calibration"),
    ({"loss_quantized": 2.1}, "heldout_loss"),
    ({"latency_quantized_ms": 42.0}, "latency"),
    ({"latency_quantized_ms": 50.0}, "latency"),
    ({"task_scores_quantized": {"mmlu": 68.9, "gsm8k": 55.0}}, "quality"),
    ({"safety_pass": False}, "quality"),
])
def test_shipping_gates_one_failure_blocks_shipping(overrides, gate):
    gates = shipping_gates(seed_metrics(**overrides))
    assert gates == {**dict.fromkeys(GATES, True), gate: False, "ship": False}


def test_shipping_gates_thresholds_are_inclusive_except_latency():
    at = seed_metrics(calibration_coverage=0.999, loss_baseline=1.0, loss_quantized=1.25,
                      latency_quantized_ms=41.999, task_scores_quantized={"mmlu": 69.0, "gsm8k": 60.0})
    assert shipping_gates(at, max_loss_increase=0.25)["ship"] is True
    assert shipping_gates(at, max_loss_increase=0.25, max_task_drop=0.5)["quality"] is False
    assert shipping_gates(at, max_loss_increase=0.2)["heldout_loss"] is False
    assert shipping_gates(at, max_loss_increase=0.25, min_coverage=0.9995)["calibration"] is False
    assert shipping_gates(seed_metrics(loss_quantized=1.9))["heldout_loss"] is True  # lower loss is fine


def test_shipping_gates_accepts_numpy_values_and_extra_keys():
    metrics = seed_metrics(calibration_coverage=np.float64(1.0), safety_pass=np.True_, notes="ok")
    assert shipping_gates(metrics)["ship"] is True


@pytest.mark.parametrize("key", list(seed_metrics()))
def test_shipping_gates_names_a_missing_metric(key):
    metrics = seed_metrics()
    del metrics[key]
    with pytest.raises(ValueError, match=key):
        shipping_gates(metrics)


def test_calibration_coverage_seed_example():
    coverage = calibration_coverage([0.5, -1.0, 2.0, 0.1], 1.0)
    assert coverage == 0.75 and type(coverage) is float


def test_calibration_coverage_is_inclusive_and_counts_inf_as_outside():
    assert calibration_coverage([1.0, -1.0], 1.0) == 1.0
    assert calibration_coverage([0.0, 0.0, 3.0, -0.0], 0) == 0.75
    assert calibration_coverage([np.inf, -np.inf, 0.5, 1e300], 1.0) == 0.25


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_calibration_coverage_matches_a_python_loop(rng, shape):
    a = rng.standard_t(df=2, size=shape)
    values = a.ravel().tolist()
    for clip in (0.0, 0.5, 2.0, 10.0):
        expected = sum(abs(v) <= clip for v in values) / len(values)
        assert calibration_coverage(a, clip) == expected


@PROPERTY
@given(a=hnp.arrays(np.float64, st.integers(1, 30), elements=st.floats(-1e3, 1e3)),
       c1=st.floats(0, 1e3), c2=st.floats(0, 1e3))
def test_calibration_coverage_grows_with_the_clip(a, c1, c2):
    low, high = calibration_coverage(a, min(c1, c2)), calibration_coverage(a, max(c1, c2))
    assert 0.0 <= low <= high <= 1.0
    assert calibration_coverage(a, np.abs(a).max()) == 1.0


# ------------------------------------------------------------------ bad input: ValueError naming the argument

_P = [0.5, 0.5]
_L = [[1.0, 2.0], [0.0, 1.0]]

BAD_INPUT = [
    (quantize, (0.3, -0.1), {}, "scale"),
    (quantize, (0.3, 0.0), {}, "scale"),
    (quantize, (0.3, np.inf), {}, "scale"),
    (quantize, (0.3, np.nan), {}, "scale"),
    (quantize, ([1.0, 2.0], [0.1, 0.2, 0.3]), {}, "scale"),
    (quantize, (np.nan, 0.1), {}, "x"),
    (quantize, ([0.1, np.inf], 0.1), {}, "x"),
    (quantize, ("0.3", 0.1), {}, "x"),
    (quantize, ([[1.0], [1.0, 2.0]], 0.1), {}, "x"),
    (quantize, (0.3, 0.1), {"bits": 8.5}, "bits"),
    (quantize, (0.3, 0.1), {"bits": 1}, "bits"),
    (quantize, (0.3, 0.1), {"bits": 17}, "bits"),
    (quantize, (0.3, 0.1), {"bits": True}, "bits"),
    (quantize, (0.3, 0.1), {"bits": "8"}, "bits"),
    (quantize, (0.3, 0.1), {"zero_point": 128}, "zero_point"),
    (quantize, (0.3, 0.1), {"zero_point": -1, "signed": False}, "zero_point"),
    (quantize, (0.3, 0.1), {"zero_point": 1.5}, "zero_point"),
    (quantize, (0.3, 0.1), {"zero_point": [0, 1]}, "zero_point"),
    (quantize, (0.3, 0.1), {"signed": 1}, "signed"),
    (dequantize, ([1, 2.5], 0.1), {}, "q"),
    (dequantize, (np.nan, 0.1), {}, "q"),
    (dequantize, (3, 0.0), {}, "scale"),
    (dequantize, (3, -1.0), {}, "scale"),
    (dequantize, (3, 0.1, 0.5), {}, "zero_point"),
    (qrange, (1,), {}, "bits"),
    (qrange, (17,), {}, "bits"),
    (qrange, (8.5,), {}, "bits"),
    (qrange, (np.True_,), {}, "bits"),
    (qrange, (8, "yes"), {}, "signed"),
    (symmetric_scale, (-1.0,), {}, "max_abs"),
    (symmetric_scale, ([1.0, np.nan],), {}, "max_abs"),
    (symmetric_scale, (np.inf,), {}, "max_abs"),
    (symmetric_scale, (1.0, 1), {}, "bits"),
    (symmetric_scale, (1.0, 4.5), {}, "bits"),
    (affine_params, (3.0, 1.0), {}, "x_min"),
    (affine_params, (np.nan, 1.0), {}, "x_min"),
    (affine_params, (0.0, np.inf), {}, "x_max"),
    (affine_params, ([0.0, 1.0], 2.0), {}, "x_min"),
    (affine_params, (-1.0, 1.0, 17), {}, "bits"),
    (memory_gb, (-1.0, 8), {}, "n_params"),
    (memory_gb, (np.nan, 8), {}, "n_params"),
    (memory_gb, (1e9, 0), {}, "bits"),
    (memory_gb, (1e9, -4), {}, "bits"),
    (memory_gb, (1e9, np.inf), {}, "bits"),
    (memory_gb, ([1e9, 2e9], [4, 8, 16]), {}, "n_params"),
    (effective_bits, (0, 128), {}, "bits"),
    (effective_bits, (4, 0), {}, "group_size"),
    (effective_bits, (4, -128), {}, "group_size"),
    (effective_bits, (4, 2.5), {}, "group_size"),
    (effective_bits, (4, 128, -16), {}, "scale_bits"),
    (effective_bits, (4, 128, 16, -1), {}, "zero_bits"),
    (effective_bits, (4, 128, 16, np.nan), {}, "zero_bits"),
    (quantization_mse, ([1.0, 2.0, 3.0], [[1.0, 2.0, 3.0]]), {}, "w_hat"),
    (quantization_mse, ([1.0, 2.0], 1.0), {}, "w_hat"),
    (quantization_mse, ([], []), {}, "w"),
    (quantization_mse, ([1.0, np.nan], [1.0, 2.0]), {}, "w"),
    (quantization_mse, ([1.0, 2.0], [1.0, np.inf]), {}, "w_hat"),
    (sqnr_db, ([1.0, 2.0], [1.0, 2.0, 3.0]), {}, "w_hat"),
    (sqnr_db, ([], []), {}, "w"),
    (sqnr_db, ([0.0, 0.0], [0.0, 0.1]), {}, "w"),
    (sqnr_db, ([np.nan, 1.0], [0.0, 1.0]), {}, "w"),
    (best_clip, ([1, 2, 3], [0.1, 0.2]), {}, "mse"),
    (best_clip, ([], []), {}, "clips"),
    (best_clip, ([1, 2], [0.1, np.nan]), {}, "mse"),
    (best_clip, ([1, np.nan], [0.1, 0.2]), {}, "clips"),
    (best_clip, ([[1, 2]], [[0.1, 0.2]]), {}, "clips"),
    (clip_mse, ([0.5], 0.0), {}, "clip"),
    (clip_mse, ([0.5], -1.0), {}, "clip"),
    (clip_mse, ([0.5], np.inf), {}, "clip"),
    (clip_mse, ([0.5], [1.0, 2.0]), {}, "clip"),
    (clip_mse, ([], 1.0), {}, "w"),
    (clip_mse, ([np.nan], 1.0), {}, "w"),
    (clip_mse, ([0.5], 1.0, 1), {}, "bits"),
    (softmax, ([1.0, 2.0], 0.0), {}, "tau"),
    (softmax, ([1.0, 2.0], -1.0), {}, "tau"),
    (softmax, ([1.0, 2.0], np.inf), {}, "tau"),
    (softmax, ([1.0, 2.0], np.nan), {}, "tau"),
    (softmax, ([1.0, 2.0], [1.0, 2.0]), {}, "tau"),
    (softmax, ([],), {}, "logits"),
    (softmax, (1.0,), {}, "logits"),
    (softmax, ([1.0, np.nan],), {}, "logits"),
    (softmax, ([1.0, np.inf],), {}, "logits"),
    (softmax, ([1.0, 2.0],), {"axis": 1}, "axis"),
    (entropy, ([1.2, -0.2],), {}, "p"),
    (entropy, ([0.5, 0.6],), {}, "p"),
    (entropy, ([[0.5, 0.5], [0.2, 0.2]],), {}, "p"),
    (entropy, ([0.5, np.nan],), {}, "p"),
    (entropy, ([],), {}, "p"),
    (kl_divergence, ([1.2, -0.2], _P), {}, "p"),
    (kl_divergence, (_P, [1.2, -0.2]), {}, "q"),
    (kl_divergence, (_P, [0.5, 0.6]), {}, "q"),
    (kl_divergence, (_P, [0.5, 0.5, 0.0]), {}, "q"),
    (kl_divergence, ([_P, _P], _P), {}, "q"),
    (kd_loss, ([1.0, 2.0], [1.0, 2.0, 3.0], 2.0), {}, "teacher_logits"),
    (kd_loss, (_L, [1.0, 2.0], 2.0), {}, "teacher_logits"),
    (kd_loss, ([1.0, 2.0], [1.0, 2.0], 0.0), {}, "tau"),
    (kd_loss, ([1.0, 2.0], [1.0, 2.0], -2.0), {}, "tau"),
    (kd_loss, ([np.nan, 2.0], [1.0, 2.0], 2.0), {}, "student_logits"),
    (kd_loss, (np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), 2.0), {}, "student_logits"),
    (kd_loss, ([], [], 2.0), {}, "student_logits"),
    (combined_loss, (1.0, 0.4, -0.1), {}, "alpha"),
    (combined_loss, (1.0, 0.4, 1.1), {}, "alpha"),
    (combined_loss, (1.0, 0.4, np.nan), {}, "alpha"),
    (combined_loss, (np.nan, 0.4, 0.5), {}, "ce"),
    (combined_loss, (1.0, np.inf, 0.5), {}, "kd"),
    (combined_loss, ([1.0, 2.0], [0.1, 0.2, 0.3], 0.5), {}, "ce"),
    (distillation_loss, (_L, _L, [0, 2], 2.0, 0.5), {}, "labels"),
    (distillation_loss, (_L, _L, [0, -1], 2.0, 0.5), {}, "labels"),
    (distillation_loss, (_L, _L, [0, 0.5], 2.0, 0.5), {}, "labels"),
    (distillation_loss, (_L, _L, [0, 1, 1], 2.0, 0.5), {}, "labels"),
    (distillation_loss, (_L, _L, 0, 2.0, 0.5), {}, "labels"),
    (distillation_loss, (_L, _L, [0, 1], 2.0, 1.5), {}, "alpha"),
    (distillation_loss, (_L, _L, [0, 1], 2.0, [0.5, 0.5]), {}, "alpha"),
    (distillation_loss, (_L, _L, [0, 1], 0.0, 0.5), {}, "tau"),
    (distillation_loss, (_L, [1.0, 2.0], [0, 1], 2.0, 0.5), {}, "teacher_logits"),
    (adam_state_gb, (-1,), {}, "n_trainable"),
    (adam_state_gb, (1e6, 0), {}, "bytes_per_value"),
    (adam_state_gb, (1e6, -4), {}, "bytes_per_value"),
    (adam_state_gb, (1e6, 4, -1), {}, "n_moments"),
    (adam_state_gb, (1e6, 4, 1.5), {}, "n_moments"),
    (finetune_memory_gb, (-1, 1e6), {}, "n_frozen"),
    (finetune_memory_gb, (1e9, -1), {}, "n_trainable"),
    (finetune_memory_gb, (1e9, 1e6, 0), {}, "frozen_bits"),
    (finetune_memory_gb, (1e9, 1e6, 4, 0), {}, "bytes_per_trainable"),
    (finetune_memory_gb, (1e9, 1e6, np.nan), {}, "frozen_bits"),
    (shipping_gates, ([("calibration_coverage", 1.0)],), {}, "metrics"),
    (shipping_gates, (seed_metrics(calibration_coverage=1.5),), {}, "calibration_coverage"),
    (shipping_gates, (seed_metrics(loss_baseline=0.0),), {}, "loss_baseline"),
    (shipping_gates, (seed_metrics(loss_quantized=np.nan),), {}, "loss_quantized"),
    (shipping_gates, (seed_metrics(latency_baseline_ms=-1.0),), {}, "latency_baseline_ms"),
    (shipping_gates, (seed_metrics(latency_quantized_ms="fast"),), {}, "latency_quantized_ms"),
    (shipping_gates, (seed_metrics(safety_pass="yes"),), {}, "safety_pass"),
    (shipping_gates, (seed_metrics(task_scores_quantized={"mmlu": 70.0}),), {}, "task_scores_quantized"),
    (shipping_gates, (seed_metrics(task_scores_baseline={}),), {}, "task_scores_baseline"),
    (shipping_gates, (seed_metrics(task_scores_baseline=[70.0]),), {}, "task_scores_baseline"),
    (shipping_gates, (seed_metrics(task_scores_quantized={"mmlu": 70.0, "gsm8k": np.nan}),), {}, "gsm8k"),
    (shipping_gates, (seed_metrics(),), {"max_loss_increase": -0.01}, "max_loss_increase"),
    (shipping_gates, (seed_metrics(),), {"min_coverage": 1.5}, "min_coverage"),
    (shipping_gates, (seed_metrics(),), {"max_task_drop": np.inf}, "max_task_drop"),
    (calibration_coverage, ([], 1.0), {}, "activations"),
    (calibration_coverage, ([0.5, np.nan], 1.0), {}, "activations"),
    (calibration_coverage, ([0.5], -1.0), {}, "clip"),
    (calibration_coverage, ([0.5], np.nan), {}, "clip"),
    (calibration_coverage, ([0.5], [1.0, 2.0]), {}, "clip"),
]


@pytest.mark.parametrize(("fn", "args", "kwargs", "name"), [
    pytest.param(*case, id=f"{case[0].__name__}-{case[3]}-{i}") for i, case in enumerate(BAD_INPUT)
])
def test_bad_input_raises_value_error_naming_the_argument(fn, args, kwargs, name):
    with pytest.raises(ValueError, match=re.escape(name)):
        fn(*args, **kwargs)


def test_error_message_shows_the_bad_value():
    with pytest.raises(ValueError, match=r"^scale must be positive and finite, got -0\.1$"):
        quantize(0.3, -0.1)
    with pytest.raises(ValueError, match=r"^bits must be an integer in \[2, 16\], got 17$"):
        qrange(17)
    with pytest.raises(ValueError, match=r"^labels must be integers in \[0, 2\), got 2$"):
        distillation_loss(_L, _L, [0, 2], 2.0, 0.5)
    row_sum = r"^p must sum to 1 along axis -1 \(within 1e-6\), got a sum of 0\.4"
    with pytest.raises(ValueError, match=row_sum):
        entropy([[0.5, 0.5], [0.2, 0.2]])


# --------------------------------------------------------------------------- capstone


def test_quantize_tensor_by_hand():
    w = [[0.7, -3.5], [1.2, 0.25]]
    # per tensor: scale 3.5 / 7 = 0.5; 0.7 -> 1.4 -> 1; 1.2 -> 2.4 -> 2; 0.25 -> 0.5, a tie -> 0
    assert reference.quantize_tensor(w, 4).tolist() == [[0.5, -3.5], [1.0, 0.0]]
    channel = reference.quantize_tensor(w, 4, "channel")
    assert channel[0].tolist() == [0.5, -3.5] and np.allclose(channel[1], [1.2, 1.2 / 7], rtol=1e-15)
    # two groups; the second has max 0.875, scale 0.125: 0.3125 / 0.125 = 2.5, a tie -> 2
    grouped = reference.quantize_tensor([[0.7, -3.5, 0.3125, 0.875]], 4, "group", 2)
    assert grouped.tolist() == [[0.5, -3.5, 0.25, 0.875]]
    assert reference.quantize_tensor(np.zeros((2, 4)), 4, "group", 2).tolist() == [[0.0] * 4] * 2


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8),
                  elements=st.floats(-100, 100, allow_subnormal=False)), st.integers(2, 8))
def test_quantize_tensor_properties(w, bits):
    qmax = 2 ** (bits - 1) - 1
    per_row = reference.quantize_tensor(w, bits, "channel")
    # one group spanning the row is per-channel; the error is at most half a step of the row's scale
    assert np.array_equal(reference.quantize_tensor(w, bits, "group", w.shape[1]), per_row)
    steps = np.where(np.abs(w).max(axis=1, keepdims=True) > 0, np.abs(w).max(axis=1, keepdims=True) / qmax, 1.0)
    assert np.all(np.abs(per_row - w) <= steps / 2 * (1 + 1e-12) + 1e-300)
    assert np.all(np.abs(np.rint(per_row / steps)) <= qmax)
    # per tensor with a single row is per-channel
    assert np.array_equal(reference.quantize_tensor(w[:1], bits), reference.quantize_tensor(w[:1], bits, "channel"))


def test_weight_stats_against_plain_python():
    values = [0.3, -1.2, 4.0, 0.0, 0.7, -0.1]
    mean = sum(values) / len(values)
    m2 = sum((v - mean) ** 2 for v in values) / len(values)
    m4 = sum((v - mean) ** 4 for v in values) / len(values)
    got = reference.weight_stats(values)
    assert got == pytest.approx({"max_abs": 4.0, "std": math.sqrt(m2), "kurtosis": m4 / m2**2 - 3}, rel=1e-12)
    gaussian = reference.weight_stats(np.random.default_rng(0).normal(size=200_000))
    assert abs(gaussian["kurtosis"]) < 0.05


def test_cosine_and_nearest_neighbours_by_hand():
    assert reference.cosine_similarity([3.0, 4.0], [4.0, 3.0]) == pytest.approx(24 / 25, rel=1e-15)
    assert reference.cosine_similarity([[1.0, 0.0], [1.0, 1.0]], [[0.0, 2.0], [2.0, 2.0]]).tolist() == \
        pytest.approx([0.0, 1.0], abs=1e-15)
    # lengths do not matter; the lowest index wins a tie; never a row itself
    assert reference.nearest_neighbours([[1.0, 0.0], [10.0, 0.1], [0.1, 1.0], [0.0, 5.0]]).tolist() == [1, 0, 3, 2]
    assert reference.nearest_neighbours([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]).tolist() == [1, 2, 1]

"""The course contract in one place: exercises, graded functions and test cells.

Everything that needs to know "which exercise does this belong to" or "how
many points is that worth" reads it from here: the grading checks, the
sample-class builder, the grade report and the tests.  The source notebook
must carry exactly these grade_ids with these points; a test enforces it.
"""

from __future__ import annotations

from dataclasses import dataclass

ASSIGNMENT = "quantization_distillation"
NOTEBOOK = "exercises.ipynb"
CHECKS = "grader.course.checks"  # the hidden checks, seeded by the grading secret


@dataclass(frozen=True)
class TestCell:
    """One autograded test cell of the source notebook."""

    grade_id: str
    function: str
    points: int
    hidden: bool
    checks: str  # one line: what the cell checks (its docstring in the notebook)


@dataclass(frozen=True)
class Exercise:
    number: int
    title: str
    functions: tuple[str, ...]
    tests: tuple[TestCell, ...]

    @property
    def points(self) -> int:
        return sum(t.points for t in self.tests)


def _t(grade_id: str, points: int, checks: str, hidden: bool = True) -> TestCell:
    function = next(f for f in _FUNCTION_ORDER if grade_id.startswith(f + "_"))
    return TestCell(grade_id, function, points, hidden, checks)


# Longest names first so that "quantize_dequantize_roundtrip" maps to quantize
# and "kd_loss_..." is not mistaken for another prefix.
_FUNCTION_ORDER = sorted(
    [
        "quantize", "dequantize", "qrange",
        "symmetric_scale", "affine_params",
        "memory_gb", "effective_bits",
        "quantization_mse", "sqnr_db",
        "best_clip", "clip_mse",
        "softmax", "entropy",
        "kl_divergence", "kd_loss",
        "combined_loss", "distillation_loss",
        "adam_state_gb", "finetune_memory_gb",
        "shipping_gates", "calibration_coverage",
    ],
    key=len,
    reverse=True,
)

EXERCISES: tuple[Exercise, ...] = (
    Exercise(1, "Quantize and dequantize", ("quantize", "dequantize", "qrange"), (
        _t("quantize_seed_example", 1, "quantize(0.3, 0.1, 0) == 3, the seed example.", hidden=False),
        _t("quantize_half_to_even", 1, "Exact .5 ties round half to even (np.rint), never floor or half away from zero."),
        _t("quantize_clips_to_range", 1, "Values beyond the range saturate at qmin/qmax; no wrap-around."),
        _t("quantize_matches_reference", 1, "Seeded inputs over bit widths, signed/unsigned, zero points, batch shapes and per-channel scales."),
        _t("quantize_rejects_bad_input", 1, "Bad scale, bits or zero_point, and non-finite x, raise ValueError naming the argument."),
        _t("dequantize_seed_example", 1, "dequantize(3, 0.1, 0) is 0.3 (rtol 1e-9).", hidden=False),
        _t("dequantize_matches_reference", 1, "Seeded codes, zero points, batches, per-channel scales; bad scale, q or zero_point raise ValueError."),
        _t("quantize_dequantize_roundtrip", 1, "Property: identity on the grid; error at most scale/2 inside the range."),
        _t("qrange_seed_example", 1, "qrange(8) == (-128, 127) and qrange(8, signed=False) == (0, 255).", hidden=False),
        _t("qrange_matches_reference", 1, "Every bit width 2..16, both signs; bad bits raise ValueError."),
    )),
    Exercise(2, "Symmetric and asymmetric scales", ("symmetric_scale", "affine_params"), (
        _t("symmetric_scale_seed_example", 1, "symmetric_scale(2.1, 4) is 0.3, the seed example.", hidden=False),
        _t("symmetric_scale_restricted_range", 1, "Divides by 2^(bits-1) - 1 (restricted range) at every bit width."),
        _t("symmetric_scale_all_zero", 1, "max_abs 0 (an all-zero tensor) gives scale 1.0."),
        _t("symmetric_scale_per_channel", 1, "An array of max_abs gives an array of scales (per-channel)."),
        _t("symmetric_scale_rejects_bad_input", 1, "Negative or non-finite max_abs and bad bits raise ValueError."),
        _t("affine_params_seed_example", 1, "affine_params(-1.0, 3.0, 8) == (4/255, 64).", hidden=False),
        _t("affine_params_zero_exact", 1, "The range is widened to include 0, so 0.0 is exactly representable; ties round half to even."),
        _t("affine_params_empty_range", 1, "The empty range (0, 0) gives (1.0, 0)."),
        _t("affine_params_matches_reference", 1, "Seeded ranges and bit widths; zero_point is a Python int."),
        _t("affine_params_rejects_bad_input", 1, "x_min > x_max, non-finite bounds and bad bits raise ValueError."),
    )),
    Exercise(3, "Memory budgets for inference", ("memory_gb", "effective_bits"), (
        _t("memory_gb_seed_example", 1, "13e9 parameters: bf16 26.0 GB, int4 6.5 GB, reduction 4.0.", hidden=False),
        _t("memory_gb_decimal_units", 2, "Decimal gigabytes (1e9 bytes), bits / 8 bytes; not GiB."),
        _t("memory_gb_accepts_arrays", 1, "Lists and arrays of parameter counts or bit widths give arrays."),
        _t("memory_gb_rejects_bad_input", 1, "Negative n_params or non-positive bits raise ValueError."),
        _t("effective_bits_seed_example", 1, "effective_bits(4, 128) is 4.125 (one fp16 scale per 128 weights).", hidden=False),
        _t("effective_bits_per_tensor", 1, "group_size None means per-tensor: no overhead."),
        _t("effective_bits_matches_reference", 2, "Seeded group sizes with scale and zero-point bits; lists and arrays give arrays."),
        _t("effective_bits_rejects_bad_input", 1, "Non-positive group_size or negative overhead bits raise ValueError."),
    )),
    Exercise(4, "Measuring quantization error", ("quantization_mse", "sqnr_db"), (
        _t("quantization_mse_seed_example", 1, "[0.1, 0.4, -0.2] vs [0.0, 0.5, -0.25] gives 0.0075.", hidden=False),
        _t("quantization_mse_matches_reference", 2, "Seeded 1-D and 2-D tensors; the result is a Python float."),
        _t("quantization_mse_rejects_bad_input", 2, "Mismatched shapes (no broadcasting) and empty input raise ValueError."),
        _t("sqnr_db_seed_example", 1, "sqnr_db([1, 1], [1, 0]) is 10*log10(2) dB.", hidden=False),
        _t("sqnr_db_matches_reference", 2, "Seeded tensors: 10*log10(signal power / noise power), decibels."),
        _t("sqnr_db_no_error_is_inf", 1, "No error gives inf, without a warning."),
        _t("sqnr_db_rejects_bad_input", 1, "Mismatched shapes, empty or all-zero w raise ValueError."),
    )),
    Exercise(5, "The clipping trade-off", ("best_clip", "clip_mse"), (
        _t("best_clip_seed_example", 1, "clips [1, 2, 3], mse [0.05, 0.02, 0.03] gives 2.0.", hidden=False),
        _t("best_clip_first_on_ties", 1, "On equal MSE the first clip wins."),
        _t("best_clip_matches_reference", 1, "Seeded sweeps; the result is a Python float."),
        _t("best_clip_rejects_bad_input", 1, "Lengths that differ, empty sweeps and NaN MSE raise ValueError."),
        _t("clip_mse_seed_example", 1, "clip_mse([0.5, -1.5], 1.0, 2) is 0.25.", hidden=False),
        _t("clip_mse_restricted_range", 1, "Scale is clip / (2^(bits-1) - 1); codes stay in [-qmax, qmax]; ties round half to even."),
        _t("clip_mse_saturates", 1, "Weights beyond +-clip saturate at +-clip."),
        _t("clip_mse_matches_reference", 2, "Seeded weights, clips and bit widths."),
        _t("clip_mse_rejects_bad_input", 1, "Non-positive or non-finite clip, empty w and bad bits raise ValueError."),
    )),
    Exercise(6, "Softmax with temperature", ("softmax", "entropy"), (
        _t("softmax_seed_example", 1, "softmax([2, 0], tau=2) is [0.7311, 0.2689].", hidden=False),
        _t("softmax_temperature", 1, "Logits are divided by tau; high tau flattens, low tau sharpens."),
        _t("softmax_stable_large_logits", 2, "Logits of magnitude 1e4: no overflow, no NaN, no warning."),
        _t("softmax_batches_and_axis", 1, "Rows sum to 1 along axis, a constant shift changes nothing, batches work."),
        _t("softmax_rejects_bad_input", 1, "tau <= 0 or non-finite, and empty logits raise ValueError."),
        _t("entropy_seed_example", 1, "entropy([0.5, 0.5]) is ln 2 nats.", hidden=False),
        _t("entropy_zero_probabilities", 1, "0 log 0 = 0, without a warning."),
        _t("entropy_matches_reference", 1, "Seeded distributions and batches, in nats (natural log); sums within 1e-6 of 1 accepted."),
        _t("entropy_rejects_bad_input", 1, "Negative probabilities or rows not summing to 1 raise ValueError."),
    )),
    Exercise(7, "KL divergence and the distillation loss", ("kl_divergence", "kd_loss"), (
        _t("kl_divergence_seed_example", 1, "KL([0.7, 0.3] || [0.6, 0.4]) is 0.021601.", hidden=False),
        _t("kl_divergence_direction", 1, "KL(teacher p || student q): sum p log(p/q), not the reverse."),
        _t("kl_divergence_zero_probabilities", 1, "p = 0 terms are 0; q = 0 where p > 0 gives inf; no warning."),
        _t("kl_divergence_batches", 1, "One value per row; KL >= 0 and 0 only for equal inputs; sums within 1e-6 of 1 accepted."),
        _t("kl_divergence_rejects_bad_input", 1, "Negative entries, rows not summing to 1, shape mismatch raise ValueError."),
        _t("kd_loss_seed_example", 1, "kd_loss for one example at tau 2 matches tau^2 * KL.", hidden=False),
        _t("kd_loss_tau_squared", 1, "The KL is multiplied by tau^2 (Hinton et al. 2015)."),
        _t("kd_loss_batchmean", 1, "Mean over the batch (batchmean), not over every element."),
        _t("kd_loss_stable_large_logits", 1, "Large logits and high temperature: finite, no warning; direction teacher || student."),
        _t("kd_loss_rejects_bad_input", 1, "Shape mismatch and tau not positive and finite raise ValueError."),
    )),
    Exercise(8, "Combining hard and soft targets", ("combined_loss", "distillation_loss"), (
        _t("combined_loss_seed_example", 1, "ce 1.0, kd 0.4, alpha 0.25 gives 0.55.", hidden=False),
        _t("combined_loss_alpha_weights_ce", 1, "alpha weights the cross-entropy and 1 - alpha the KD term."),
        _t("combined_loss_matches_reference", 1, "Seeded values, alpha at 0 and 1, arrays."),
        _t("combined_loss_rejects_bad_input", 1, "alpha outside [0, 1] or non-finite raises ValueError."),
        _t("distillation_loss_seed_example", 1, "A two-example batch against its hand computation.", hidden=False),
        _t("distillation_loss_cross_entropy_at_tau_1", 1, "alpha 1 gives the batch-mean cross-entropy at temperature 1."),
        _t("distillation_loss_kd_term", 1, "alpha 0 gives kd_loss (tau^2, batchmean, teacher || student)."),
        _t("distillation_loss_matches_reference", 2, "Seeded batches, temperatures and alphas; float labels; a 1-D batch of one."),
        _t("distillation_loss_rejects_bad_input", 1, "Labels out of range or not integers, bad alpha or tau raise ValueError."),
    )),
    Exercise(9, "Memory budgets for fine-tuning", ("adam_state_gb", "finetune_memory_gb"), (
        _t("adam_state_gb_seed_example", 1, "20e6 trainable parameters: 0.16 GB of Adam state.", hidden=False),
        _t("adam_state_gb_matches_reference", 2, "Seeded counts, bytes per value and moments; lists and arrays; decimal GB."),
        _t("adam_state_gb_rejects_bad_input", 1, "Negative counts, non-positive sizes or a non-integer n_moments raise ValueError."),
        _t("finetune_memory_gb_seed_example", 1, "7e9 frozen at 4 bits plus 20e6 trainable is 3.74 GB.", hidden=False),
        _t("finetune_memory_gb_frozen_bits", 2, "Frozen weights cost frozen_bits / 8 bytes each, trainable ones 12 bytes."),
        _t("finetune_memory_gb_matches_reference", 2, "Seeded model sizes and precisions; lists and arrays give arrays."),
        _t("finetune_memory_gb_rejects_bad_input", 1, "Negative counts or non-positive sizes raise ValueError."),
    )),
    Exercise(10, "Shipping gates", ("shipping_gates", "calibration_coverage"), (
        _t("shipping_gates_seed_example", 1, "The seed's four checks, all passing: ship is True.", hidden=False),
        _t("shipping_gates_keys_and_types", 1, "Exactly the keys calibration, heldout_loss, latency, quality, ship; bools."),
        _t("shipping_gates_thresholds", 2, "Each gate at and just past its threshold; latency must be strictly lower."),
        _t("shipping_gates_quality_gate", 1, "Any task dropping more than max_task_drop, or a safety failure, blocks."),
        _t("shipping_gates_rejects_missing_metric", 1, "A missing metric raises ValueError naming it."),
        _t("calibration_coverage_seed_example", 1, "[0.5, -1.0, 2.0, 0.1] with clip 1.0 gives 0.75.", hidden=False),
        _t("calibration_coverage_inclusive_clip", 1, "abs(a) <= clip: activations exactly at +-clip are covered."),
        _t("calibration_coverage_matches_reference", 1, "Seeded activations, 2-D batches; a Python float."),
        _t("calibration_coverage_rejects_bad_input", 1, "Empty activations, negative or non-finite clip raise ValueError."),
    )),
)

FUNCTIONS: tuple[str, ...] = tuple(f for ex in EXERCISES for f in ex.functions)
TESTS: tuple[TestCell, ...] = tuple(t for ex in EXERCISES for t in ex.tests)
TOTAL_POINTS: int = sum(ex.points for ex in EXERCISES)
# Report columns: exercise -> the grade_ids whose points it sums (read by grader.grading.assignments).
SECTIONS: dict[str, tuple[str, ...]] = {f"ex{ex.number}": tuple(t.grade_id for t in ex.tests) for ex in EXERCISES}


def find(exercises: tuple[Exercise, ...], name: str, where: str) -> Exercise:
    """The first of ``exercises`` that has the function or test grade_id ``name``."""
    for ex in exercises:
        if name in ex.functions or any(t.grade_id == name for t in ex.tests):
            return ex
    raise KeyError(f"{name!r} is neither a graded function nor a test grade_id of {where}")


def exercise_of(name: str) -> Exercise:
    """The exercise a function name or grade_id belongs to."""
    return find(EXERCISES, name, "the exercises")

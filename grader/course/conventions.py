"""Every convention the exercises and the capstone state as graded, and the test cells that grade it.

Each exercise's "Conventions that are graded" list in the source notebook is generated from this
table (``python -m grader.publish.source sync``; ``check`` fails on drift), so what the notebook
states and what the checks grade are one list. The tests (tests/test_conventions.py) require that
every convention names test cells that exist in its exercise, that every test cell grades at least
one stated convention, that every test cell fails on some implementation in the bank of wrong
implementations, and that every misconception a check can diagnose is diagnosed on some entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Convention:
    """One line of an exercise's "Conventions that are graded", and the test cells that grade it."""

    text: str  # markdown, as the notebook states it
    checks: tuple[str, ...]  # grade_ids of the test cells that grade it


def _c(text: str, *checks: str) -> Convention:
    return Convention(" ".join(text.split()), checks)


CONVENTIONS: dict[int, tuple[Convention, ...]] = {
    1: (
        _c("`quantize` computes $\\operatorname{clip}(\\operatorname{rint}(x/\\Delta) + z,\\ q_{\\min},\\ q_{\\max})$: "
           "`round` is **round half to even** (`np.rint`): $x/\\Delta = 2.5 \\to 2$, $3.5 \\to 4$, $-0.5 \\to 0$.",
           "quantize_seed_example", "quantize_half_to_even", "quantize_matches_reference"),
        _c("The zero point is added **after** rounding, and the code is clipped **after** adding it.",
           "quantize_half_to_even", "quantize_clips_to_range"),
        _c("Values beyond the range **saturate** at $q_{\\min}$ / $q_{\\max}$ of `qrange(bits, signed)`; they never "
           "wrap around (casting 130 to `np.int8` gives $-126$: that is the bug to avoid).",
           "quantize_clips_to_range", "quantize_matches_reference"),
        _c("`scale` is a scalar, or an array that broadcasts against `x` (**per-channel** scales, e.g. one per "
           "row of shape `(rows, 1)`); lists work as arrays do. The same holds for `dequantize`.",
           "quantize_matches_reference", "dequantize_matches_reference"),
        _c("`quantize` rejects, with a `ValueError` naming the argument: `bits` that is not an integer in "
           "$[2, 16]$ (`8` and `8.0` are fine, `8.5` is not), a `zero_point` that is not an integer inside "
           "$[q_{\\min}, q_{\\max}]$, a `scale` that is not positive and finite (anywhere in a per-channel "
           "array), and an `x` that is not finite (NaN or inf has no code).",
           "quantize_rejects_bad_input", "quantize_matches_reference"),
        _c("`dequantize` computes $\\Delta\\,(q - z)$ for integer codes `q` (`3` or `3.0`, not `3.5`) and an "
           "integer `zero_point`; anything else, or a `scale` that is not positive and finite, raises `ValueError`.",
           "dequantize_seed_example", "dequantize_matches_reference"),
        _c("`qrange(bits, signed)` is $(-2^{b-1},\\ 2^{b-1}-1)$ when signed and $(0,\\ 2^b-1)$ when unsigned, for "
           "every integer `bits` in $[2, 16]$; any other `bits` raises `ValueError`.",
           "qrange_seed_example", "qrange_matches_reference"),
        _c("Return types: `quantize` an `int64` array (0-d for a scalar input), `dequantize` a `float64` array, "
           "`qrange` a tuple of two Python ints (a tuple subclass such as a `NamedTuple` is fine).",
           "quantize_matches_reference", "dequantize_matches_reference", "qrange_matches_reference"),
        _c("Properties: on the grid, `quantize(dequantize(q)) == q`; inside the range the round-trip error "
           "$|x - \\hat{x}|$ is at most $\\Delta/2$.",
           "quantize_dequantize_roundtrip"),
    ),
    2: (
        _c("`symmetric_scale` divides by $2^{b-1}-1$ (7 at 4 bits, 127 at 8 bits), the restricted range, "
           "**not** by $2^{b-1}$ or $2^b - 1$.",
           "symmetric_scale_seed_example", "symmetric_scale_restricted_range"),
        _c("An all-zero tensor ($\\max|x| = 0$) gets scale `1.0` (no division by zero; any positive scale "
           "represents 0 exactly).",
           "symmetric_scale_all_zero"),
        _c("An array (or list) of `max_abs`, one per output channel, gives a `float64` array of scales "
           "(per-channel quantization); a scalar gives a Python `float`.",
           "symmetric_scale_per_channel", "symmetric_scale_restricted_range"),
        _c("Negative or non-finite `max_abs` (anywhere in an array), and `bits` that is not an integer in "
           "$[2, 16]$, raise `ValueError`.",
           "symmetric_scale_rejects_bad_input"),
        _c("`affine_params` first widens the range to include 0, then $\\Delta = (x_{\\max} - x_{\\min})/(2^b-1)$ "
           "and $z = \\operatorname{clip}(\\operatorname{rint}(-x_{\\min}/\\Delta), 0, 2^b-1)$, rounding half to "
           "even: so **0.0 is exactly representable** (it is the code $z$).",
           "affine_params_seed_example", "affine_params_zero_exact", "affine_params_matches_reference"),
        _c("The empty range `(0, 0)` gives `(1.0, 0)`.", "affine_params_empty_range"),
        _c("`affine_params` returns `(scale, zero_point)` as a Python `float` and a Python `int` (a tuple "
           "subclass is fine).",
           "affine_params_matches_reference", "affine_params_seed_example"),
        _c("`x_min > x_max`, non-finite bounds or a bad `bits` raise `ValueError`.",
           "affine_params_rejects_bad_input"),
    ),
    3: (
        _c("**Decimal gigabytes**, $1\\ \\text{GB} = 10^9$ bytes (not GiB $= 2^{30}$), and $b/8$ bytes per value; "
           "`bits` need not be an integer (4.125 effective bits are fine).",
           "memory_gb_seed_example", "memory_gb_decimal_units"),
        _c("`memory_gb` returns a Python `float` for scalar inputs and a `float64` array when an input is a "
           "list or an array (they broadcast).",
           "memory_gb_accepts_arrays", "memory_gb_decimal_units"),
        _c("Negative `n_params` and non-positive `bits` raise `ValueError`.", "memory_gb_rejects_bad_input"),
        _c("`effective_bits` is $b + (\\text{scale\\_bits} + \\text{zero\\_bits})/\\text{group\\_size}$; `group_size` "
           "is a positive integer.",
           "effective_bits_seed_example", "effective_bits_matches_reference"),
        _c("`group_size=None` means per-tensor quantization: one scale for millions of weights, whose overhead "
           "is taken as 0.",
           "effective_bits_per_tensor"),
        _c("`effective_bits` returns a Python `float` for scalar inputs and a `float64` array when `bits`, "
           "`scale_bits` or `zero_bits` is a list or an array.",
           "effective_bits_matches_reference", "effective_bits_per_tensor"),
        _c("A `group_size` that is not a positive integer, and negative `scale_bits` / `zero_bits`, raise "
           "`ValueError`.",
           "effective_bits_rejects_bad_input"),
    ),
    4: (
        _c("`quantization_mse` is the mean of $(w - \\hat{w})^2$ over every element, a Python `float`.",
           "quantization_mse_seed_example", "quantization_mse_matches_reference"),
        _c("The shapes of `w` and `w_hat` must match **exactly**: no broadcasting (`[1, 2, 3]` against `0.0` is "
           "an error, not a comparison with zero). Empty input is an error. Both functions raise `ValueError`.",
           "quantization_mse_rejects_bad_input", "sqnr_db_rejects_bad_input"),
        _c("`sqnr_db` is $10\\log_{10}(\\sum w^2 / \\sum (w-\\hat{w})^2)$: a power ratio in decibels (base-10 log), "
           "a Python `float`.",
           "sqnr_db_seed_example", "sqnr_db_matches_reference"),
        _c("`sqnr_db` returns `float(\"inf\")` when there is no error at all, **without** a division-by-zero "
           "warning; an all-zero `w` (no signal) raises `ValueError`.",
           "sqnr_db_no_error_is_inf", "sqnr_db_rejects_bad_input"),
    ),
    5: (
        _c("`clip_mse`: scale $c / (2^{b-1}-1)$, codes on the **restricted range** $[-q_{\\max}, q_{\\max}]$, "
           "rounding half to even.",
           "clip_mse_seed_example", "clip_mse_restricted_range", "clip_mse_matches_reference"),
        _c("A weight beyond $\\pm c$ **saturates** at $\\pm c$, and the error is measured against the original "
           "weights. `clip_mse` returns a Python `float`.",
           "clip_mse_saturates", "clip_mse_matches_reference"),
        _c("A non-positive or non-finite clip, empty `w` or a bad `bits` raise `ValueError`.",
           "clip_mse_rejects_bad_input"),
        _c("`best_clip`: the clip with the lowest MSE, the **first one on ties** (in the given order), as a "
           "Python `float`.",
           "best_clip_seed_example", "best_clip_first_on_ties", "best_clip_matches_reference"),
        _c("Lengths that differ, an empty sweep or NaN in `mse` raise `ValueError`.", "best_clip_rejects_bad_input"),
    ),
    6: (
        _c("`softmax` divides the logits by `tau` (a high `tau` flattens, a low one sharpens).",
           "softmax_seed_example", "softmax_temperature"),
        _c("`softmax` works along `axis` (batches: one distribution per row by default), returns a `float64` "
           "array whose entries sum to 1 along `axis`, and ignores a constant shift of the logits.",
           "softmax_batches_and_axis"),
        _c("Logits of magnitude $10^4$ give no overflow, no NaN and **no warning**.",
           "softmax_stable_large_logits"),
        _c("`tau` that is not positive and finite, and empty logits, raise `ValueError`.",
           "softmax_rejects_bad_input"),
        _c("`entropy` is $-\\sum p \\ln p$ with the natural log (nats), a Python `float` for one distribution and "
           "an array (one value per row) for a batch, along `axis`.",
           "entropy_seed_example", "entropy_matches_reference"),
        _c("`entropy` treats $0 \\ln 0$ as 0 **without a warning**.", "entropy_zero_probabilities"),
        _c("Negative entries, or rows that do not sum to 1 within $10^{-6}$, raise `ValueError` (a sum within "
           "$10^{-6}$ of 1 is accepted).",
           "entropy_rejects_bad_input", "entropy_matches_reference"),
    ),
    7: (
        _c("**Direction**: $\\operatorname{KL}(\\text{teacher } p \\,\\|\\, \\text{student } q) = \\sum p\\,(\\ln p - "
           "\\ln q)$; the first argument of `kl_divergence` is $p$. Natural log (nats).",
           "kl_divergence_seed_example", "kl_divergence_direction"),
        _c("`kl_divergence`: terms with $p_i = 0$ are 0; $q_i = 0$ where $p_i > 0$ gives `inf`; **no warning** "
           "either way.",
           "kl_divergence_zero_probabilities"),
        _c("A 1-D input gives a Python `float`, a batch one value per row along `axis`; KL is $\\ge 0$, and 0 only "
           "for equal inputs.",
           "kl_divergence_batches"),
        _c("Inputs must have the same shape, be non-negative and sum to 1 within $10^{-6}$ along `axis` (a sum "
           "within $10^{-6}$ is accepted); anything else raises `ValueError`.",
           "kl_divergence_rejects_bad_input", "kl_divergence_batches"),
        _c("`kd_loss(student_logits, teacher_logits, tau)` (student first!) is $\\tau^2 \\cdot "
           "\\operatorname{KL}(\\operatorname{softmax}(t/\\tau) \\,\\|\\, \\operatorname{softmax}(s/\\tau))$: the "
           "**$\\tau^2$** factor, both logits divided by $\\tau$.",
           "kd_loss_seed_example", "kd_loss_tau_squared"),
        _c("**batchmean**: sum the KL over the classes of each example, then average over the $B$ examples (not "
           "over all $B \\cdot C$ elements). A 1-D input is a batch of one. `kd_loss` returns a Python `float`.",
           "kd_loss_batchmean", "kd_loss_tau_squared"),
        _c("Large logits at high temperature stay finite **without warnings** (use a stable log-softmax).",
           "kd_loss_stable_large_logits"),
        _c("Shape mismatch and a `tau` that is not positive and finite raise `ValueError`.",
           "kd_loss_rejects_bad_input"),
    ),
    8: (
        _c("`combined_loss` is $\\alpha \\cdot \\text{ce} + (1 - \\alpha) \\cdot \\text{kd}$: **$\\alpha$ weights the "
           "cross-entropy**, $1 - \\alpha$ the KD term; a Python `float` for scalars, an array for arrays.",
           "combined_loss_seed_example", "combined_loss_alpha_weights_ce", "combined_loss_matches_reference"),
        _c("$\\alpha$ must be a finite number in $[0, 1]$, otherwise `ValueError` (in both functions).",
           "combined_loss_rejects_bad_input", "distillation_loss_rejects_bad_input"),
        _c("`distillation_loss(student_logits, teacher_logits, labels, tau, alpha)`: the cross-entropy is the "
           "batch mean of $-\\ln \\operatorname{softmax}(s)[\\text{label}]$ at $\\tau = 1$; with $\\alpha = 1$ it is "
           "that plain cross-entropy.",
           "distillation_loss_seed_example", "distillation_loss_cross_entropy_at_tau_1"),
        _c("The KD term is `kd_loss`: `tau`, $\\tau^2$, batchmean and the direction teacher ‖ student; with "
           "$\\alpha = 0$ the loss is `kd_loss`.",
           "distillation_loss_kd_term", "distillation_loss_matches_reference"),
        _c("A 1-D input is a batch of one (its label a scalar or a list of one). Labels are integer class "
           "indices (`1` or `1.0`, not `0.5`), one per example, in $[0, C-1]$; `tau` is positive and finite. "
           "Returns a Python `float`.",
           "distillation_loss_matches_reference", "distillation_loss_rejects_bad_input"),
    ),
    9: (
        _c("`adam_state_gb` is $n \\cdot \\text{bytes\\_per\\_value} \\cdot \\text{n\\_moments} / 10^9$, decimal GB.",
           "adam_state_gb_seed_example", "adam_state_gb_matches_reference"),
        _c("A frozen weight costs `frozen_bits / 8` bytes (2 in bf16, 0.5 at 4 bits), decimal GB ($10^9$ bytes).",
           "finetune_memory_gb_seed_example", "finetune_memory_gb_frozen_bits"),
        _c("The default **12 bytes per trainable parameter** are a bf16 weight (2) + a bf16 gradient (2) + two "
           "fp32 Adam moments (8). A full mixed-precision setup that also keeps an **fp32 master copy** of the "
           "weights needs **16** bytes (2 + 2 + 4 + 8): pass `bytes_per_trainable=16` for it. Activations, the KV "
           "cache and framework workspace are not included.",
           "finetune_memory_gb_frozen_bits", "finetune_memory_gb_matches_reference"),
        _c("Both functions return a Python `float` for scalar inputs and a `float64` array when an input is a "
           "list or an array (they broadcast).",
           "adam_state_gb_matches_reference", "finetune_memory_gb_matches_reference"),
        _c("Negative counts or non-positive sizes raise `ValueError`; `n_moments` is a non-negative integer "
           "(2 for Adam, 0 for plain SGD).",
           "adam_state_gb_rejects_bad_input", "finetune_memory_gb_rejects_bad_input"),
    ),
    10: (
        _c("`shipping_gates` returns a dict with **exactly** the keys `calibration`, `heldout_loss`, `latency`, "
           "`quality`, `ship`, each a bool (a dict subclass such as an `OrderedDict` is fine); `ship` is all "
           "four.",
           "shipping_gates_seed_example", "shipping_gates_keys_and_types"),
        _c("It reads the `metrics` keys `calibration_coverage`, `loss_baseline`, `loss_quantized`, "
           "`latency_baseline_ms`, `latency_quantized_ms`, `task_scores_baseline`, `task_scores_quantized` "
           "(dicts task → score over the same tasks) and `safety_pass`; a missing key raises `ValueError` "
           "naming it.",
           "shipping_gates_rejects_missing_metric"),
        _c("The held-out loss gate uses the **relative** increase $(\\text{loss\\_quantized} - "
           "\\text{loss\\_baseline})/\\text{loss\\_baseline}$. A gate exactly at its threshold passes (`>=` / "
           "`<=`), except latency, which must be strictly lower.",
           "shipping_gates_thresholds", "shipping_gates_keys_and_types"),
        _c("The quality gate passes when **every** task drops by at most `max_task_drop` points (not the "
           "average) and `safety_pass` is true.",
           "shipping_gates_quality_gate"),
        _c("`calibration_coverage` is the fraction of activations with $|a| \\le c$, **inclusive** (an activation "
           "exactly at $\\pm c$ is covered), on arrays of any shape, as a Python `float`.",
           "calibration_coverage_seed_example", "calibration_coverage_inclusive_clip",
           "calibration_coverage_matches_reference"),
        _c("Empty activations, a negative or non-finite clip raise `ValueError`.",
           "calibration_coverage_rejects_bad_input"),
    ),
}


# The capstone (grader.course.capstone), by part.
CAPSTONE_CONVENTIONS: dict[int, tuple[Convention, ...]] = {
    1: (
        _c("Each function is the one you wrote in the exercises, with the same name, signature and conventions; "
           "each is graded again by one hidden check of its exercise (the table below names it). Paste any "
           "helper of yours that they call into the helpers cell.",
           "quantize_matches_reference", "dequantize_matches_reference", "symmetric_scale_per_channel",
           "memory_gb_decimal_units", "effective_bits_matches_reference", "sqnr_db_matches_reference",
           "clip_mse_matches_reference", "best_clip_matches_reference", "softmax_batches_and_axis",
           "distillation_loss_matches_reference", "shipping_gates_thresholds"),
    ),
    2: (
        _c("`quantize_tensor(w, bits, granularity, group_size)` returns the **dequantized** weights "
           "$\\hat w = s\\,\\operatorname{clip}(\\operatorname{rint}(w/s), -q_{\\max}, q_{\\max})$ with "
           "$q_{\\max} = 2^{b-1} - 1$ (the restricted range) and $s = \\max|w| / q_{\\max}$, as a float64 array "
           "of the shape of `w`; rounding is half to even.",
           "quantize_tensor_seed_example", "quantize_tensor_per_tensor", "quantize_tensor_ties_and_zeros"),
        _c("`w` is a 2-D matrix `(out_features, in_features)`, as PyTorch and safetensors store linear layers. "
           "`\"tensor\"`: one scale for the matrix; `\"channel\"`: one scale per **row** (output channel); "
           "`\"group\"`: one scale per `group_size` **consecutive** weights of a row.",
           "quantize_tensor_seed_example", "quantize_tensor_per_channel", "quantize_tensor_group_wise"),
        _c("An all-zero tensor, row or group gets scale 1.0 (its weights stay 0), with no warning.",
           "quantize_tensor_ties_and_zeros"),
        _c("A `w` that is not a finite, non-empty 2-D array, `bits` not an integer in [2, 16], an unknown "
           "`granularity`, or (for `\"group\"`) a `group_size` that is not a positive integer dividing "
           "`in_features` raise `ValueError` naming the argument.",
           "quantize_tensor_rejects_bad_input"),
    ),
    3: (
        _c("`weight_stats(w)` returns a dict with exactly the keys `max_abs` ($\\max|w|$), `std` (the "
           "**population** standard deviation, `np.std`, ddof 0) and `kurtosis`, Python floats.",
           "weight_stats_seed_example", "weight_stats_matches_reference"),
        _c("`kurtosis` is the **excess** kurtosis $m_4 / m_2^2 - 3$ with central moments "
           "$m_k = \\operatorname{mean}((w - \\bar w)^k)$: 0 for a Gaussian, large when a few weights are outliers.",
           "weight_stats_seed_example", "weight_stats_excess_kurtosis", "weight_stats_matches_reference"),
        _c("Empty or non-finite `w`, and a constant `w` (zero variance: the kurtosis is undefined), raise "
           "`ValueError` naming `w`.",
           "weight_stats_rejects_bad_input"),
    ),
    4: (
        _c("`cosine_similarity(a, b)` is $a_i \\cdot b_i / (\\lVert a_i\\rVert\\,\\lVert b_i\\rVert)$ **per "
           "row** of two 2-D arrays of the same shape (a float64 array, one value per row), or a Python float for "
           "two vectors.",
           "cosine_similarity_seed_example", "cosine_similarity_rowwise", "cosine_similarity_matches_reference"),
        _c("Shapes that differ, a zero vector and non-finite values raise `ValueError` naming `a` or `b`.",
           "cosine_similarity_rejects_bad_input"),
        _c("`nearest_neighbours(embeddings)` gives, for each row $i$, the index $j \\ne i$ of the row with the "
           "highest cosine similarity (never $i$ itself; the **lowest** $j$ on ties, as `np.argmax`), as an "
           "int64 array.",
           "nearest_neighbours_seed_example", "nearest_neighbours_excludes_self", "nearest_neighbours_first_on_ties",
           "nearest_neighbours_matches_reference"),
        _c("`embeddings` must be 2-D with at least 2 rows, finite, with no zero row; otherwise `ValueError` "
           "naming `embeddings`.",
           "nearest_neighbours_rejects_bad_input"),
    ),
}

"""The capstone's contract: the second assignment, on a real transformer and a real classifier.

Students re-enter the exercise functions the capstone uses (part 1, each graded again by one hidden
check of its exercise) and write four new ones that a real model needs (parts 2-4). The notebook then
runs their functions on all-MiniLM-L6-v2 and on scikit-learn's digits (``grader.student.minilm``,
``grader.student.digits``); that analysis is not graded. Same shape as ``grader.course.contract``,
read by the same machinery (``c.GradedAssignments.contracts`` in nbgrader_config.py).
"""

from __future__ import annotations

from grader.course import contract
from grader.course.contract import Exercise, TestCell

ASSIGNMENT = "capstone"
NOTEBOOK = "capstone.ipynb"
CHECKS = "grader.course.checks"  # the same checks module: its functions are named after grade_ids

# Part 1: the exercise functions the capstone calls, in the order the notebook asks for them, and the
# check of their exercise that grades each one again.
REENTERED: tuple[tuple[str, str], ...] = (
    ("quantize", "quantize_matches_reference"),
    ("dequantize", "dequantize_matches_reference"),
    ("symmetric_scale", "symmetric_scale_per_channel"),
    ("memory_gb", "memory_gb_decimal_units"),
    ("effective_bits", "effective_bits_matches_reference"),
    ("sqnr_db", "sqnr_db_matches_reference"),
    ("clip_mse", "clip_mse_matches_reference"),
    ("best_clip", "best_clip_matches_reference"),
    ("softmax", "softmax_batches_and_axis"),
    ("distillation_loss", "distillation_loss_matches_reference"),
    ("shipping_gates", "shipping_gates_thresholds"),
)


def _t(grade_id: str, function: str, points: int, checks: str, hidden: bool = True) -> TestCell:
    return TestCell(grade_id, function, points, hidden, checks)


EXERCISES: tuple[Exercise, ...] = (
    Exercise(1, "Your functions from the exercises", tuple(f for f, _ in REENTERED), tuple(
        _t(check, function, 1, f"Exercise {contract.exercise_of(check).number} again: "
           + next(t.checks for t in contract.TESTS if t.grade_id == check))
        for function, check in REENTERED
    )),
    Exercise(2, "Quantizing a weight matrix", ("quantize_tensor",), (
        _t("quantize_tensor_seed_example", "quantize_tensor", 1,
           "quantize_tensor([[0.7, -3.5], [1.2, 0.25]], bits=4) per tensor and per channel.", hidden=False),
        _t("quantize_tensor_per_tensor", "quantize_tensor", 2,
           "One scale for the whole matrix, max|w| / (2^(bits-1) - 1): seeded matrices at 8, 4, 3 and 2 bits."),
        _t("quantize_tensor_per_channel", "quantize_tensor", 2,
           "\"channel\": one scale per row (output channel); rows of very different sizes keep their precision."),
        _t("quantize_tensor_group_wise", "quantize_tensor", 2,
           "\"group\": one scale per group_size consecutive weights of a row; group_size = in_features is "
           "per-channel."),
        _t("quantize_tensor_ties_and_zeros", "quantize_tensor", 1,
           "Exact .5 ties round half to even; an all-zero row or group (scale 1.0) stays 0, without a warning."),
        _t("quantize_tensor_rejects_bad_input", "quantize_tensor", 2,
           "1-D, empty or non-finite w, bad bits, an unknown granularity, a group_size that does not divide "
           "in_features."),
    )),
    Exercise(3, "Weight statistics and outliers", ("weight_stats",), (
        _t("weight_stats_seed_example", "weight_stats", 1,
           "weight_stats([0.0, 1.0, -1.0, 4.0]): max_abs 4, std sqrt(3.5), kurtosis -1.", hidden=False),
        _t("weight_stats_excess_kurtosis", "weight_stats", 1,
           "Excess kurtosis m4 / m2^2 - 3 on central moments: -2 for two values, large for a rare outlier."),
        _t("weight_stats_matches_reference", "weight_stats", 2,
           "Seeded Gaussian and heavy-tailed tensors, 1-D and 2-D: exactly the keys max_abs, std, kurtosis."),
        _t("weight_stats_rejects_bad_input", "weight_stats", 1,
           "Empty, non-finite or constant w (kurtosis undefined) raise ValueError."),
    )),
    Exercise(4, "Embeddings: similarity and retrieval", ("cosine_similarity", "nearest_neighbours"), (
        _t("cosine_similarity_seed_example", "cosine_similarity", 1,
           "cosine_similarity([1.0, 0.0], [1.0, 1.0]) is 1/sqrt(2).", hidden=False),
        _t("cosine_similarity_rowwise", "cosine_similarity", 1,
           "2-D inputs give one cosine per row; rows of different lengths; two vectors give a Python float."),
        _t("cosine_similarity_matches_reference", "cosine_similarity", 1,
           "Seeded embeddings and their noisy copies, as the capstone compares fp32 and quantized embeddings."),
        _t("cosine_similarity_rejects_bad_input", "cosine_similarity", 1,
           "Shapes that differ, a zero vector, non-finite values raise ValueError."),
        _t("nearest_neighbours_seed_example", "nearest_neighbours", 1,
           "nearest_neighbours([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]]) is [2, 2, 0].", hidden=False),
        _t("nearest_neighbours_excludes_self", "nearest_neighbours", 1,
           "Row i's neighbour is another row, never i itself (whose cosine with itself is 1)."),
        _t("nearest_neighbours_first_on_ties", "nearest_neighbours", 1,
           "Equal similarities: the lowest index wins (np.argmax)."),
        _t("nearest_neighbours_matches_reference", "nearest_neighbours", 1,
           "Seeded embeddings of different lengths (cosine, not Euclidean distance), 2 to 30 rows."),
        _t("nearest_neighbours_rejects_bad_input", "nearest_neighbours", 1,
           "Fewer than 2 rows, a 1-D array, a zero row, non-finite values raise ValueError."),
    )),
)

FUNCTIONS: tuple[str, ...] = tuple(f for ex in EXERCISES for f in ex.functions)
NEW_FUNCTIONS: tuple[str, ...] = tuple(f for ex in EXERCISES[1:] for f in ex.functions)
TESTS: tuple[TestCell, ...] = tuple(t for ex in EXERCISES for t in ex.tests)
TOTAL_POINTS: int = sum(ex.points for ex in EXERCISES)
SECTIONS: dict[str, tuple[str, ...]] = {f"part{ex.number}": tuple(t.grade_id for t in ex.tests) for ex in EXERCISES}


def exercise_of(name: str) -> Exercise:
    """The part a function name or grade_id belongs to."""
    return contract.find(EXERCISES, name, "the capstone")


# The course as a whole, for what checks the checks (the bank, tests/test_checks.py): every unit whose
# functions are graded first there, the ten exercises and the capstone's parts 2-4 (part 1 grades
# exercise functions again, with the exercises' own checks).
UNITS: tuple[Exercise, ...] = contract.EXERCISES + EXERCISES[1:]
ALL_FUNCTIONS: tuple[str, ...] = contract.FUNCTIONS + NEW_FUNCTIONS
ALL_TESTS: tuple[TestCell, ...] = tuple(t for unit in UNITS for t in unit.tests)


def unit_of(name: str) -> Exercise:
    """The exercise or capstone part where a function, or a test grade_id, is graded first."""
    return contract.find(UNITS, name, "the course")

"""Item analysis of a graded class: which test cells the class fails, and which tell students apart.

Pure math on a score matrix, NumPy only, no I/O (``grader.publish.class_report`` reads the gradebook and
draws the page). An *item* is one graded test cell; ``scores[s, i]`` is student ``s``'s points on item
``i`` out of ``max_points[i]``. A student *passes* an item with full marks on it.

Per item (``item_statistics``):

- **pass rate** p: the fraction of students who pass (classical item difficulty; higher is easier),
  and the mean score fraction (differs from p only where partial credit is given);
- **point-biserial** r_pb: the Pearson correlation of the pass (0/1) with the *rest score*, each
  student's total on the other items (the corrected item-total correlation: the item's own points are
  left out, or it would correlate with itself);
- **upper-lower index** D: the pass rate of the top 27% of students by total score minus that of the
  bottom 27% (Kelley's groups).

Both discrimination measures are None for an item that everybody or nobody passes: there is nothing to
tell apart. Flags (thresholds are parameters): ``hard`` (p below 0.2), ``easy`` (p above a given
threshold; off by default), ``no-discrimination`` (r_pb or D below 0.2, judged only for classes of at
least ``min_students``: on a handful of students both are noise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HARD, EASY, NO_DISCRIMINATION = "hard", "easy", "no-discrimination"
FLAG_LABELS = {
    HARD: "almost nobody passes",
    EASY: "almost everybody passes",
    NO_DISCRIMINATION: "does not discriminate",
}
TOLERANCE = 1e-9  # points: full marks is score >= max - TOLERANCE; totals this close are tied


@dataclass(frozen=True)
class ItemStats:
    """The statistics of one item (test cell) over the class."""

    name: str
    max_points: float
    n: int  # students
    pass_rate: float  # p: fraction of students with full marks
    mean_fraction: float  # mean of score / max_points
    point_biserial: float | None  # r_pb with the rest score; None when undefined
    upper_lower: float | None  # D = p(top 27%) - p(bottom 27%); None when undefined
    flags: tuple[str, ...]  # HARD, EASY, NO_DISCRIMINATION


@dataclass(frozen=True)
class Distribution:
    """Summary of a set of scores (points or fractions)."""

    n: int
    mean: float
    median: float
    std: float  # sample standard deviation (ddof=1, as a spreadsheet's STDEV); 0 for one value
    q1: float  # quartiles by linear interpolation (numpy's default, a spreadsheet's QUARTILE.INC)
    q3: float
    min: float
    max: float


def full_marks(scores: np.ndarray, max_points: np.ndarray) -> np.ndarray:
    """Boolean matrix: which student has full marks on which item (scores >= max_points)."""
    return np.asarray(scores, dtype=float) >= np.asarray(max_points, dtype=float) - TOLERANCE


def point_biserial(passed: np.ndarray, rest: np.ndarray) -> float | None:
    """Pearson correlation of a 0/1 pass with the rest score; None when either does not vary.

    Args:
        passed: one bool (or 0/1) per student.
        rest: one number per student, the total on the other items.

    Returns:
        r_pb = cov(x, y) / (std(x) std(y)) with population moments, in [-1, 1]; None for fewer than two
        students, an item everybody or nobody passes, or a rest score that is the same for everyone.
    """
    x, y = np.asarray(passed, dtype=float), np.asarray(rest, dtype=float)
    if x.size < 2:
        return None
    sx, sy = x.std(), y.std()
    if sx == 0 or sy < TOLERANCE:
        return None
    r = float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy))
    return min(1.0, max(-1.0, r))


def group_size(n: int, fraction: float = 0.27) -> int:
    """Students in each of the upper and lower groups: ceil(fraction * n), at least 1."""
    return max(1, math.ceil(fraction * n - TOLERANCE))


def _top_weights(totals: np.ndarray, k: int) -> np.ndarray:
    """Membership of the k highest totals: 1 above the cut, a share of what is left for those tied at it."""
    cut = np.sort(totals)[::-1][k - 1]
    above = totals > cut + TOLERANCE
    tied = np.abs(totals - cut) <= TOLERANCE
    return above + tied * (k - above.sum()) / tied.sum()


def upper_lower(passed: np.ndarray, totals: np.ndarray, fraction: float = 0.27) -> float | None:
    """The upper-minus-lower index D: pass rate of the top group by total minus that of the bottom group.

    Each group holds ``group_size(n, fraction)`` = ceil(0.27 n) students. Students tied at a group's
    boundary share its last places equally (with totals [2, 1, 1, 0] and groups of 2, each student on 1
    counts half in both groups), so D does not depend on the order of the students.

    Args:
        passed: one bool (or 0/1) per student.
        totals: one total score per student (all items).
        fraction: the share of the class in each group.

    Returns:
        D in [-1, 1]; None for fewer than two students or an item everybody or nobody passes.
    """
    x, t = np.asarray(passed, dtype=float), np.asarray(totals, dtype=float)
    if x.size < 2 or x.min() == x.max():
        return None
    k = group_size(x.size, fraction)
    upper, lower = _top_weights(t, k), _top_weights(-t, k)
    return float((upper @ x - lower @ x) / k)


def item_statistics(scores: np.ndarray, max_points: Sequence[float], names: Sequence[str] | None = None, *,
                    hard: float = 0.2, easy: float | None = None, low_discrimination: float = 0.2,
                    min_students: int = 10, fraction: float = 0.27) -> list[ItemStats]:
    """Pass rate, discrimination and flags of every item.

    Args:
        scores: students x items, points scored (missing scores as 0).
        max_points: the points each item is worth.
        names: one name per item (default "0", "1", ...).
        hard: flag HARD when the pass rate is below this.
        easy: flag EASY when the pass rate is above this (None: never).
        low_discrimination: flag NO_DISCRIMINATION when r_pb or D is below this ...
        min_students: ... and the class has at least this many students.
        fraction: the share of the class in the upper and lower groups of D.

    Returns:
        One ItemStats per item, in the order of the columns.

    Raises:
        ValueError: when the shapes disagree, there is no student, or an item is worth no points.
    """
    s = np.asarray(scores, dtype=float)
    top = np.asarray(max_points, dtype=float)
    if s.ndim != 2 or top.shape != (s.shape[1],):
        raise ValueError(f"scores must be students x items and max_points one per item, got {s.shape} and {top.shape}")
    if s.shape[0] == 0:
        raise ValueError("no student to analyse")
    if np.any(top <= 0):
        raise ValueError("every item must be worth more than 0 points")
    names = [str(i) for i in range(s.shape[1])] if names is None else list(names)
    passed = full_marks(s, top)
    totals = s.sum(axis=1)
    found = []
    for i, name in enumerate(names):
        p = float(passed[:, i].mean())
        r = point_biserial(passed[:, i], totals - s[:, i])
        d = upper_lower(passed[:, i], totals, fraction)
        flags = []
        if p < hard:
            flags.append(HARD)
        if easy is not None and p > easy:
            flags.append(EASY)
        if s.shape[0] >= min_students and any(v is not None and v < low_discrimination for v in (r, d)):
            flags.append(NO_DISCRIMINATION)
        found.append(ItemStats(name, float(top[i]), s.shape[0], p, float((s[:, i] / top[i]).mean()), r, d,
                               tuple(flags)))
    return found


def describe(values: Sequence[float]) -> Distribution:
    """Mean, median, sample standard deviation, quartiles and range of ``values``.

    Raises:
        ValueError: for no values.
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("no values to describe")
    q1, median, q3 = np.percentile(v, [25, 50, 75])
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return Distribution(int(v.size), float(v.mean()), float(median), std, float(q1), float(q3),
                        float(v.min()), float(v.max()))


def group_totals(scores: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """students x groups: each student's points summed over each group of item columns (an exercise)."""
    s = np.asarray(scores, dtype=float)
    return np.stack([s[:, list(cols)].sum(axis=1) for cols in groups], axis=1) if groups else np.zeros((len(s), 0))

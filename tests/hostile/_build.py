"""Small helpers the case modules share."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from grader.course.contract import EXERCISES, NOTEBOOK, TESTS, TOTAL_POINTS

BANK = Path(__file__).resolve().parents[2] / "grader" / "course" / "wrong_implementations"
REPO = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- expected scores

TOTAL: int = TOTAL_POINTS
"""Full marks."""

_POINTS: dict[str, int] = {t.grade_id: t.points for t in TESTS}


def points(*grade_ids: str) -> int:
    """The points of these test cells; KeyError on a grade_id the course does not have."""
    return sum(_POINTS[gid] for gid in grade_ids)


def points_of_functions(*names: str) -> int:
    """The points of every test cell of these graded functions (the round trip counts for quantize)."""
    unknown = set(names) - {t.function for t in TESTS}
    if unknown:
        raise KeyError(f"not graded functions of this course: {sorted(unknown)}")
    return sum(t.points for t in TESTS if t.function in names)


def points_of_exercises(*numbers: int) -> int:
    """The points of these exercises (numbered from 1); KeyError on an unknown number."""
    by_number = {ex.number: ex.points for ex in EXERCISES}
    return sum(by_number[n] for n in numbers)


FLOOR_QUANTIZE_FAILS: tuple[str, ...] = (
    "quantize_seed_example", "quantize_half_to_even", "quantize_matches_reference",
    "quantize_dequantize_roundtrip", "quantize_rejects_bad_input",
)
"""The test cells floor rounding costs (``floor_quantize``); every other quantize cell is meant to pass.
The rejects check asks for a valid call first (rejecting counts only with good input answered)."""


def cell(nb: dict, gid: str) -> dict:
    """The cell carrying ``gid`` in its nbgrader metadata."""
    return next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid)


def index(nb: dict, gid: str) -> int:
    return nb["cells"].index(cell(nb, gid))


def solve(nb: dict, function: str, code: str) -> dict:
    """Replace the solution cell of ``function`` with ``code``."""
    cell(nb, function)["source"] = textwrap.dedent(code)
    return nb


def extend(nb: dict, gid: str, code: str) -> dict:
    """Add ``code`` at the end of the cell ``gid`` (after the function it defines)."""
    cell(nb, gid)["source"] += "\n\n" + textwrap.dedent(code)
    return nb


def bank(name: str) -> str:
    """A known-wrong implementation from grader/course/wrong_implementations/."""
    return (BANK / f"{name}.py").read_text(encoding="utf-8")


def floor_quantize(nb: dict, patch: str = "") -> dict:
    """quantize rounding with np.floor (``FLOOR_QUANTIZE_FAILS`` lost), then ``patch`` in the same cell."""
    return solve(nb, "quantize", bank("quantize_floor") + "\n" + textwrap.dedent(patch))


def write(nb, folder: Path, name: str = NOTEBOOK) -> None:
    (folder / name).write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")

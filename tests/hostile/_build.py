"""Small helpers the case modules share."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from grader.course.contract import NOTEBOOK

BANK = Path(__file__).resolve().parents[2] / "grader" / "course" / "wrong_implementations"
REPO = Path(__file__).resolve().parents[2]


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
    """quantize rounding with np.floor (4 points lost), followed by ``patch`` in the same cell."""
    return solve(nb, "quantize", bank("quantize_floor") + "\n" + textwrap.dedent(patch))


def write(nb, folder: Path, name: str = NOTEBOOK) -> None:
    (folder / name).write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")

"""Build a sample class of submissions from the source notebook.

    python -m grader.publish.sample_class [--out submitted] [--all-misconceptions]

Every submission starts from the student release, as a real student's does,
and has its solution cells filled in: from the source notebook's solutions,
from the wrong-implementation bank, or with deliberate breakage.  Nothing is
hand-edited, so the class never goes stale.  Folders this command did not
create are never touched.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.course.bank import DEFAULT_FOLDER, WrongImplementation, load_bank
from grader.course.contract import ASSIGNMENT, EXERCISES, FUNCTIONS, NOTEBOOK
from grader.publish.notebooks import grade_id, solution_code

MARKER = ".sample-class"  # dropped in each student folder this command creates

# Misconceptions in the default class: one early, one mid, one late exercise.
DEFAULT_MISCONCEPTIONS = (
    "quantize_half_away_from_zero",
    "symmetric_scale_full_range",
    "softmax_unstable",
    "kd_loss_missing_tau_squared",
    "finetune_memory_gb_frozen_16bit",
)

Fill = Callable[[str, str], str]  # (function name, reference solution) -> cell source


@dataclass(frozen=True)
class Student:
    student_id: str
    description: str
    fill: Fill  # what goes into each solution cell


def _solved(functions: set[str]) -> Fill:
    def fill(function: str, solution: str) -> str:
        return solution if function in functions else ""

    return fill


def _with(function: str, replacement: str) -> Fill:
    def fill(name: str, solution: str) -> str:
        return replacement if name == function else solution

    return fill


BROKEN_SYNTAX = "def quantize(x, scale, zero_point=0, bits=8, signed=True)\n    return x / scale\n"
BROKEN_RAISES = "raise RuntimeError('this cell crashes before softmax is defined')\n"


def students(bank: list[WrongImplementation], misconceptions: list[str]) -> list[Student]:
    """The class: perfect, untouched, partial, misconceptions, broken."""
    everything = set(FUNCTIONS)
    first_half = {f for ex in EXERCISES[:5] for f in ex.functions}
    core = {ex.functions[0] for ex in EXERCISES}
    by_name = {w.name: w for w in bank}
    unknown = [m for m in misconceptions if m not in by_name]
    if unknown:
        raise ValueError(f"misconceptions not in the bank: {', '.join(unknown)}")
    cls = [
        Student("perfect", "every function solved", _solved(everything)),
        Student("untouched", "the release as handed out", _solved(set())),
        Student("partial_first_half", "exercises 1-5 solved", _solved(first_half)),
        Student("partial_core_only", "only the core function of each exercise", _solved(core)),
    ]
    for name in misconceptions:
        wrong = by_name[name]
        cls.append(Student(f"wrong_{name}", wrong.misconception, _with(wrong.function, wrong.source)))
    cls += [
        Student("broken_syntax", "a syntax error in the quantize cell", _with("quantize", BROKEN_SYNTAX)),
        Student("broken_raises", "the softmax cell raises before defining it", _with("softmax", BROKEN_RAISES)),
    ]
    return cls


def solutions(source: nbformat.NotebookNode) -> dict[str, str]:
    """Function name -> the source notebook's solution cell without markers."""
    found = {
        grade_id(cell): solution_code(cell.source)
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id(cell) in FUNCTIONS
    }
    missing = sorted(set(FUNCTIONS) - set(found))
    if missing:
        raise ValueError(f"source notebook has no solution cell for: {', '.join(missing)}")
    return found


def submission(release: nbformat.NotebookNode, answers: dict[str, str], student: Student):
    """A copy of the release with each solution cell filled as ``student`` would."""
    nb = nbformat.from_dict(release)
    for cell in nb.cells:
        name = grade_id(cell)
        if cell.metadata.get("nbgrader", {}).get("solution") and name in answers:
            filled = student.fill(name, answers[name])
            if filled:
                cell.source = filled
    return nb


def build(out: Path, source: Path, release: Path, bank_folder: Path, misconceptions: list[str] | None) -> list[Student]:
    src = nbformat.read(source, as_version=4)
    rel = nbformat.read(release, as_version=4)
    bank = load_bank(bank_folder)
    chosen = [w.name for w in bank] if misconceptions is None else misconceptions
    cls = students(bank, chosen)
    answers = solutions(src)
    foreign = [s.student_id for s in cls if (out / s.student_id).exists() and not (out / s.student_id / MARKER).exists()]
    if foreign:
        raise ValueError(
            f"{out} already holds folders this command did not create ({', '.join(foreign)}); "
            "move them away or pass another --out"
        )
    for student in cls:
        folder = out / student.student_id
        shutil.rmtree(folder, ignore_errors=True)
        (folder / ASSIGNMENT).mkdir(parents=True)
        (folder / MARKER).write_text(student.description + "\n", encoding="utf-8")
        nbformat.write(submission(rel, answers, student), folder / ASSIGNMENT / NOTEBOOK)
    return cls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.sample_class", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("submitted"), help="submitted folder (default: %(default)s)")
    parser.add_argument("--source", type=Path, default=Path("source") / ASSIGNMENT / NOTEBOOK)
    parser.add_argument("--release", type=Path, default=Path("release") / ASSIGNMENT / NOTEBOOK)
    parser.add_argument("--bank", type=Path, default=DEFAULT_FOLDER, help="wrong-implementation bank folder")
    parser.add_argument("--all-misconceptions", action="store_true",
                        help="one student per bank entry instead of the default five")
    args = parser.parse_args(argv)
    for path in (args.source, args.release):
        if not path.exists():
            parser.error(f"{path} not found; run from the course root (and 'make release' first)")
    misconceptions = None if args.all_misconceptions else list(DEFAULT_MISCONCEPTIONS)
    try:
        cls = build(args.out, args.source, args.release, args.bank, misconceptions)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    width = max(len(s.student_id) for s in cls)
    for s in cls:
        print(f"  {s.student_id:<{width}}  {s.description}")
    print(f"{len(cls)} submissions written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

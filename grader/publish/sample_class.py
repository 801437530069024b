"""Build a sample class of submissions from a source notebook.

    python -m grader.publish.sample_class [--assignment ID] [--out submitted] [--all-misconceptions]

``--assignment`` picks the exercises (the default) or the capstone, each with its own class.

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
from types import ModuleType

import nbformat

from grader.course import capstone, contract
from grader.course.bank import DEFAULT_FOLDER, WrongImplementation, load_bank
from grader.publish.notebooks import grade_id, solution_code

MARKER = ".sample-class"  # dropped in each student folder this command creates

# Misconceptions in the default class of each assignment: for the exercises, one early, one mid, one
# late exercise; for the capstone, one per part of its own.
DEFAULT_MISCONCEPTIONS = {
    contract.ASSIGNMENT: (
        "quantize_half_away_from_zero",
        "symmetric_scale_full_range",
        "softmax_unstable",
        "kd_loss_missing_tau_squared",
        "finetune_memory_gb_frozen_16bit",
    ),
    capstone.ASSIGNMENT: (
        "quantize_tensor_columns",
        "weight_stats_pearson_kurtosis",
        "nearest_neighbours_includes_self",
    ),
}
CONTRACTS: dict[str, ModuleType] = {contract.ASSIGNMENT: contract, capstone.ASSIGNMENT: capstone}

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


def students(bank: list[WrongImplementation], misconceptions: list[str],
             course: ModuleType = contract) -> list[Student]:
    """The class of ``course`` (a contract module): perfect, untouched, partial, misconceptions, broken."""
    everything = set(course.FUNCTIONS)
    by_name = {w.name: w for w in bank}
    unknown = [m for m in misconceptions if m not in by_name]
    if unknown:
        raise ValueError(f"misconceptions not in the bank: {', '.join(unknown)}")
    cls = [
        Student("perfect", "every function solved", _solved(everything)),
        Student("untouched", "the release as handed out", _solved(set())),
    ]
    if course is capstone:
        cls.append(Student("capstone_part1_only", "the exercise functions pasted, the new ones untouched",
                           _solved(set(course.EXERCISES[0].functions))))
    else:
        first_half = {f for ex in course.EXERCISES[:5] for f in ex.functions}
        core = {ex.functions[0] for ex in course.EXERCISES}
        cls += [
            Student("partial_first_half", "exercises 1-5 solved", _solved(first_half)),
            Student("partial_core_only", "only the core function of each exercise", _solved(core)),
        ]
    for name in misconceptions:
        wrong = by_name[name]
        if wrong.function not in everything:
            raise ValueError(f"{name} replaces {wrong.function}, which {course.ASSIGNMENT} does not grade")
        cls.append(Student(f"wrong_{name}", wrong.misconception, _with(wrong.function, wrong.source)))
    if course is not capstone:
        cls += [
            Student("broken_syntax", "a syntax error in the quantize cell", _with("quantize", BROKEN_SYNTAX)),
            Student("broken_raises", "the softmax cell raises before defining it", _with("softmax", BROKEN_RAISES)),
        ]
    return cls


def solutions(source: nbformat.NotebookNode, functions: tuple[str, ...] = contract.FUNCTIONS) -> dict[str, str]:
    """Function name -> the source notebook's solution cell without markers."""
    found = {
        grade_id(cell): solution_code(cell.source)
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id(cell) in functions
    }
    missing = sorted(set(functions) - set(found))
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


def build(out: Path, source: Path, release: Path, bank_folder: Path, misconceptions: list[str] | None,
          course: ModuleType = contract) -> list[Student]:
    src = nbformat.read(source, as_version=4)
    rel = nbformat.read(release, as_version=4)
    bank = load_bank(bank_folder)
    chosen = [w.name for w in bank if w.function in course.FUNCTIONS] if misconceptions is None else misconceptions
    cls = students(bank, chosen, course)
    answers = solutions(src, course.FUNCTIONS)
    foreign = [s.student_id for s in cls if (out / s.student_id).exists() and not (out / s.student_id / MARKER).exists()]
    if foreign:
        raise ValueError(
            f"{out} already holds folders this command did not create ({', '.join(foreign)}); "
            "move them away or pass another --out"
        )
    for student in cls:
        folder = out / student.student_id
        shutil.rmtree(folder / course.ASSIGNMENT, ignore_errors=True)  # the student's other assignments stay
        (folder / course.ASSIGNMENT).mkdir(parents=True)
        (folder / MARKER).write_text(student.description + "\n", encoding="utf-8")
        nbformat.write(submission(rel, answers, student), folder / course.ASSIGNMENT / course.NOTEBOOK)
    return cls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.sample_class", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", choices=sorted(CONTRACTS), default=contract.ASSIGNMENT,
                        help="whose class to build (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("submitted"), help="submitted folder (default: %(default)s)")
    parser.add_argument("--source", type=Path, help="source notebook (default: source/<assignment>/<notebook>)")
    parser.add_argument("--release", type=Path, help="release notebook (default: release/<assignment>/<notebook>)")
    parser.add_argument("--bank", type=Path, default=DEFAULT_FOLDER, help="wrong-implementation bank folder")
    parser.add_argument("--all-misconceptions", action="store_true",
                        help="one student per bank entry of the assignment's functions instead of the default few")
    args = parser.parse_args(argv)
    course = CONTRACTS[args.assignment]
    args.source = args.source or Path("source") / course.ASSIGNMENT / course.NOTEBOOK
    args.release = args.release or Path("release") / course.ASSIGNMENT / course.NOTEBOOK
    for path in (args.source, args.release):
        if not path.exists():
            parser.error(f"{path} not found; run from the course root (and 'make release' first)")
    misconceptions = None if args.all_misconceptions else list(DEFAULT_MISCONCEPTIONS[course.ASSIGNMENT])
    try:
        cls = build(args.out, args.source, args.release, args.bank, misconceptions, course)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    width = max(len(s.student_id) for s in cls)
    for s in cls:
        print(f"  {s.student_id:<{width}}  {s.description}")
    print(f"{len(cls)} submissions of {course.ASSIGNMENT} written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Per-exercise grade breakdown from the gradebook, printed as a table.

    python -m grader.report [--csv grades_by_exercise.csv] [--db gradebook.db]

Reads every autograded submission of the assignment, sums the test-cell
scores of each exercise (grade_id -> exercise comes from grader.course),
writes one CSV row per student and prints the table.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grader.course import ASSIGNMENT, EXERCISES, TOTAL_POINTS, exercise_of

NOTEBOOK_ID = "exercises"


def breakdown(db: Path) -> list[dict[str, object]]:
    """One row per autograded student: student_id, ex1..ex10, total, max."""
    rows = []
    with Gradebook(f"sqlite:///{db.resolve()}") as gb:
        try:
            submissions = gb.assignment_submissions(ASSIGNMENT)
        except MissingEntry:
            raise ValueError(f"{db} has no assignment {ASSIGNMENT!r}; run 'make autograde' first") from None
        for sub in sorted(submissions, key=lambda s: s.student_id):
            nb = gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, sub.student_id)
            per_ex = {ex.number: 0.0 for ex in EXERCISES}
            for grade in nb.grades:
                per_ex[exercise_of(grade.name).number] += grade.score or 0.0
            row: dict[str, object] = {"student_id": sub.student_id}
            row.update({f"ex{n}": round(score, 2) for n, score in per_ex.items()})
            row["total"] = round(sum(per_ex.values()), 2)
            row["max"] = TOTAL_POINTS
            rows.append(row)
    return rows


def table(rows: list[dict[str, object]]) -> str:
    header = ["student_id", *(f"ex{ex.number}" for ex in EXERCISES), "total"]
    width = max([len("student_id"), *(len(str(r["student_id"])) for r in rows)])
    maxima = ["max", *(str(ex.points) for ex in EXERCISES), str(TOTAL_POINTS)]

    def line(cells: list[str]) -> str:
        return f"{cells[0]:<{width}} " + " ".join(f"{c:>5}" for c in cells[1:])

    def fmt(v: object) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    out = [line(header), line(maxima), "-" * (width + 6 * (len(header) - 1))]
    out += [line([fmt(r[k]) for k in header]) for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=Path("gradebook.db"))
    parser.add_argument("--csv", type=Path, help="also write the breakdown to this CSV file")
    args = parser.parse_args(argv)
    if not args.db.exists():
        print(f"error: {args.db} not found; run 'make autograde' first", file=sys.stderr)
        return 2
    try:
        rows = breakdown(args.db)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.csv:
        with args.csv.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["student_id"])
            writer.writeheader()
            writer.writerows(rows)
    print(table(rows))
    if args.csv:
        print(f"\n{len(rows)} students; per-exercise breakdown written to {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Per-exercise grade breakdown from the gradebook, printed as a table.

    python -m grader.publish.report [--csv grades_by_exercise.csv] [--db gradebook.db]

Reads every autograded submission of the assignment, sums the test-cell
scores of each section (grade_id -> exercise comes from the configured contract),
writes one CSV row per student and prints the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grader.grading import assignments
from grader.grading.assignments import Assignment
from grader.grading.sanitize import printable
from grader.publish.export import write_rows


def breakdown(gb: Gradebook, assignment: Assignment) -> list[dict[str, object]]:
    """One row per autograded student: student_id, one column per section (ex1..ex10), total, max."""
    section_of = {gid: name for name, gids in assignment.sections.items() for gid in gids}
    rows = []
    try:
        submissions = gb.assignment_submissions(assignment.id)
    except MissingEntry:
        raise ValueError(f"the gradebook has no assignment {assignment.id!r}; run 'make autograde' first") from None
    for sub in sorted(submissions, key=lambda s: s.student_id):
        nb = gb.find_submission_notebook(assignment.notebook_id, assignment.id, sub.student_id)
        per_section = dict.fromkeys(assignment.sections, 0.0)
        for grade in nb.grades:
            if grade.name in section_of:
                per_section[section_of[grade.name]] += grade.score or 0.0
        row: dict[str, object] = {"student_id": sub.student_id}
        row.update({name: round(score, 2) for name, score in per_section.items()})
        row["total"] = round(sum(per_section.values()), 2)
        row["max"] = assignment.total_points
        rows.append(row)
    return rows


def table(rows: list[dict[str, object]], assignment: Assignment) -> str:
    header = ["student_id", *assignment.sections, "total"]
    width = max([len("student_id"), *(len(printable(r["student_id"])) for r in rows)])
    maxima = ["max", *(f"{sum(assignment.points[g] for g in gids):g}" for gids in assignment.sections.values()),
              f"{assignment.total_points:g}"]

    def line(cells: list[str]) -> str:
        return f"{cells[0]:<{width}} " + " ".join(f"{c:>5}" for c in cells[1:])

    def fmt(v: object) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    out = [line(header), line(maxima), "-" * (width + 6 * (len(header) - 1))]
    out += [line([printable(fmt(r[k])) for k in header]) for r in rows]  # ids shown escaped, never raw
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=None,
                        help="a SQLite gradebook file (default: the course's, nbgrader's db_url)")
    parser.add_argument("--csv", type=Path, help="also write the breakdown to this CSV file")
    parser.add_argument("--assignment", default=None, help="assignment id (default: the configured one)")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course directory (default: .)")
    args = parser.parse_args(argv)
    try:
        config = assignments.load_config(args.root)
        assignment = assignments.load(config, args.assignment)
    except (ValueError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    db = args.db or (args.root / "gradebook.db")
    url = f"sqlite:///{db.resolve()}" if args.db else assignments.db_url(config, args.root)
    if assignments.is_sqlite(url) and not db.exists():
        print(f"error: {db} not found; run 'make autograde' first", file=sys.stderr)
        return 2
    try:
        with Gradebook(url) as gb:
            rows = breakdown(gb, assignment)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.csv:
        with args.csv.open("w", newline="", encoding="utf-8") as fh:
            write_rows(fh, list(rows[0]) if rows else ["student_id"], rows)  # cells a spreadsheet shows literally
    print(table(rows, assignment))
    if args.csv:
        print(f"\n{len(rows)} students; the breakdown by section ({len(assignment.sections)} columns) is in {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Grade exports a spreadsheet opens safely, through nbgrader's export-plugin point.

    nbgrader export --to grades.csv     (configured: c.ExportApp.plugin_class, nbgrader_config.py)

nbgrader's own CSV exporter joins fields with commas unquoted, so a comma in a name shifts the
columns, and a cell starting with ``=`` (a student id or a name) is run as a formula by Excel,
LibreOffice or Google Sheets. This plugin writes the same columns in the same order with the csv
module (quoting as needed), and makes every text cell inert: one that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading apostrophe (OWASP's advice for CSV
injection). Numbers are written as numbers. The LMS exports (``grader.publish.lms``) share
``submission_scores`` (the final score) and ``write_rows``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins.export import ExportPlugin

COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
           "late_submission_penalty", "score", "max_score")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
T = TypeVar("T")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it literally: text that could start a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
        return "'" + text if text.startswith(FORMULA_START) else text
    return value


def write_rows(handle, header: list[str], rows: list[dict[str, Any]]) -> None:
    """CSV rows with every cell, the header's too, made safe."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(row.get(key, "")) for key in header])


NO_SUBMISSION: dict[str, Any] = {"timestamp": "", "raw_score": 0.0, "late_submission_penalty": 0.0, "score": 0.0}


def submission_scores(gradebook: Gradebook, assignment: str, student: str) -> dict[str, Any] | None:
    """timestamp, raw_score, late_submission_penalty and score of a submission, None without one.

    ``score`` is the final score: nbgrader's raw score minus the late-submission penalty it
    recorded, never below 0 (what nbgrader's own CSV exporter computes).
    """
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return None
    penalty = submission.late_submission_penalty or 0.0
    return {"timestamp": submission.timestamp or "", "raw_score": submission.score,
            "late_submission_penalty": penalty, "score": max(0.0, submission.score - penalty)}


def chosen(items: Iterable[T], wanted: Iterable[Any], key: Callable[[T], str]) -> list[T]:
    """The items whose key is in ``wanted`` (nbgrader's --assignment / --student lists); all when it is empty."""
    names = {str(name) for name in wanted}
    return [item for item in items if not names or key(item) in names]


class SafeCsvExportPlugin(ExportPlugin):
    """nbgrader's CSV export (the same columns), quoted and safe from formula injection."""

    def rows(self, gradebook: Gradebook) -> list[dict[str, Any]]:
        found = []
        for assignment in chosen(gradebook.assignments, self.assignment, lambda a: a.name):
            for student in chosen(gradebook.students, self.student, lambda s: s.id):
                row = {"assignment": assignment.name, "duedate": assignment.duedate or "", "student_id": student.id,
                       "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                       "max_score": assignment.max_score}
                row.update(submission_scores(gradebook, assignment.name, student.id) or NO_SUBMISSION)
                found.append(row)
        return found

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as handle:
            write_rows(handle, list(COLUMNS), self.rows(gradebook))

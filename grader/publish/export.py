"""Grade exports a spreadsheet opens safely, through nbgrader's export-plugin point.

    nbgrader export --to grades.csv     (configured: c.ExportApp.plugin_class, nbgrader_config.py)

nbgrader's own CSV exporter joins fields with commas unquoted, so a comma in a name shifts the
columns, and a cell starting with ``=`` (a student id or a name) is run as a formula by Excel,
LibreOffice or Google Sheets. This plugin writes the same columns in the same order with the csv
module (quoting as needed), and makes every text cell inert: one that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading apostrophe (OWASP's advice for CSV
injection). Numbers are written as numbers.
"""

from __future__ import annotations

import csv
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins.export import ExportPlugin

COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
           "late_submission_penalty", "score", "max_score")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it literally: text that could start a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
        return "'" + text if text.startswith(FORMULA_START) else text
    return value


def write_rows(handle, header: list[str], rows: list[dict[str, Any]]) -> None:
    """CSV rows with every cell made safe."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(row.get(key, "")) for key in header])


class SafeCsvExportPlugin(ExportPlugin):
    """nbgrader's CSV export (the same columns), quoted and safe from formula injection."""

    def rows(self, gradebook: Gradebook) -> list[dict[str, Any]]:
        students, assignments = {str(s) for s in self.student}, {str(a) for a in self.assignment}
        found = []
        for assignment in gradebook.assignments:
            if assignments and assignment.name not in assignments:
                continue
            for student in gradebook.students:
                if students and student.id not in students:
                    continue
                row = {"assignment": assignment.name, "duedate": assignment.duedate or "", "student_id": student.id,
                       "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                       "max_score": assignment.max_score}
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
                else:
                    penalty = submission.late_submission_penalty or 0.0
                    row.update(timestamp=submission.timestamp or "", raw_score=submission.score,
                               late_submission_penalty=penalty, score=max(0.0, submission.score - penalty))
                found.append(row)
        return found

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as handle:
            write_rows(handle, list(COLUMNS), self.rows(gradebook))

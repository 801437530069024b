"""Grade files an LMS imports (Canvas, Moodle) and a per-exercise CSV, through nbgrader's export-plugin point.

    nbgrader export --exporter grader.publish.lms.CanvasExportPlugin --to canvas.csv
    nbgrader export --exporter grader.publish.lms.MoodleExportPlugin --to moodle.csv
    nbgrader export --exporter grader.publish.lms.ExerciseCsvExportPlugin --to grades_lms.csv

``--exporter`` is nbgrader's alias of ``--ExportApp.plugin_class``; ``--to``, ``--assignment`` and
``--student`` work as for every exporter.

The roster (``c.LmsExportPlugin.roster``, default ``roster.csv`` in the current directory, or
``--LmsExportPlugin.roster=PATH``) is a CSV file with a header line. Required columns:
``student_id`` (nbgrader's), ``name`` (as the LMS shows it, "Last, First" or "First Last") and
``lms_id`` (Canvas user ID, or the Moodle ID number / username); optional: ``sis_user_id``,
``sis_login_id``, ``email``, ``section``; other columns are ignored (``sample_roster.csv`` beside
this module). A missing file, a missing column, an empty or duplicated student_id or a duplicated
lms_id stops the export (exit status 1) with the file and the line.

Scores are final scores, as in grades.csv: nbgrader's raw score minus the late-submission penalty
it recorded, never below 0 (``grader.publish.export.submission_scores``). Every cell is written
with the csv module and made inert for spreadsheets (``safe_cell``).

A student missing on either side is never dropped silently: each is named on a WARNING line and
counted on the summary line that ends the export.

- A rostered student with no submission (or not in the gradebook at all) scores 0, as in
  nbgrader's own export. A blank is not written: Canvas leaves a blank cell ungraded (its current
  score then ignores the assignment, its final score counts it 0) and Moodle imports a blank as
  "no grade"; both overwrite a grade already there with the blank.
- A gradebook student without a roster line is left out of the Canvas and Moodle files (Moodle
  aborts the whole import at a line whose user it cannot find; Canvas would guess by name) and is
  written, with an empty lms_id, to the per-exercise CSV.

Canvas ("How do I import grades in the Gradebook?",
https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807):
the columns of Canvas's own gradebook export, ``Student, ID, SIS User ID, SIS Login ID, Section``,
then one column per assignment headed ``<name> (<Canvas assignment id>)``, and under the header
the optional ``    Points Possible`` row Canvas's export writes (canvas-lms
app/models/gradebook_exporter.rb; its importer, gradebook_importer.rb, requires ``Student`` and
``ID`` first and ``Section`` last of the student columns, skips a row whose first cell holds
"Points Possible", finds a student by ID, then SIS User ID, then SIS Login ID, then name, and an
assignment by the id in parentheses, then by exact title, else creates a new assignment).

Moodle ("Grade import", https://docs.moodle.org/311/en/Grade_import; Grade administration >
Import > CSV file): one identifier column and one column per grade item, optionally a feedback
column per item. At import Moodle asks for the mapping: under "Identify user by", Map from the
identifier column (``Email address`` by default) to the same user field (Email address, ID number,
username or id: ``c.MoodleExportPlugin.identifier``); under "Grade item mappings", each grade
column to its grade item (or "new grade item") and each ``... (Feedback)`` column to the feedback
of that item. Moodle stops the whole import at a user it cannot find.
"""

from __future__ import annotations

import csv
import logging
import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from nbgrader.api import Assignment, Gradebook, MissingEntry
from nbgrader.plugins.export import ExportPlugin
from traitlets import Bool, Dict, Enum, Unicode

from grader.grading import assignments
from grader.grading.sanitize import printable
from grader.publish.export import NO_SUBMISSION, chosen, submission_scores, write_rows
from grader.publish.report import breakdown

REQUIRED = ("student_id", "name", "lms_id")
UNIQUE = ("student_id", "lms_id")  # a duplicated lms_id would give one LMS user two rows
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "    Points Possible"  # as Canvas's export writes it, four spaces included
CANVAS_ASSIGNMENT_ID = re.compile(r"\(\d+\)\s*$")
# MoodleExportPlugin.identifier -> (roster column, column header, what to choose in Moodle's "Map to")
MOODLE_IDENTIFIERS = {
    "email": ("email", "Email address", "Email address"),
    "idnumber": ("lms_id", "ID number", "ID number"),
    "username": ("lms_id", "Username", "username"),
    "userid": ("lms_id", "User ID", "id"),
}


class LmsExportError(ValueError):
    """The export cannot be written: a bad roster or configuration. The message says where."""


@dataclass(frozen=True)
class Rostered:
    """One line of the roster."""

    student_id: str
    name: str
    lms_id: str
    sis_user_id: str = ""
    sis_login_id: str = ""
    email: str = ""
    section: str = ""


COLUMNS = tuple(f.name for f in fields(Rostered))


def load_roster(path: Path, needs: tuple[str, ...] = ()) -> list[Rostered]:
    """The roster's lines in file order; ``needs``: columns required beyond ``REQUIRED``."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")  # utf-8-sig: Excel starts its CSVs with a BOM
    except FileNotFoundError:
        raise LmsExportError(f"{path}: roster not found (set c.LmsExportPlugin.roster or "
                             f"--LmsExportPlugin.roster=PATH)") from None
    with handle:
        reader = csv.DictReader(handle)
        header = [name.strip().lower() for name in reader.fieldnames or []]
        missing = [name for name in (*REQUIRED, *needs) if name not in header]
        if missing:
            raise LmsExportError(f"{path}, line 1: missing column(s) {', '.join(missing)} "
                                 f"(header: {', '.join(printable(h) for h in header) or 'none'})")
        reader.fieldnames = header
        found: list[Rostered] = []
        first_line: dict[tuple[str, str], int] = {}
        for raw in reader:
            row = {key: (raw.get(key) or "").strip() for key in COLUMNS}
            if not row["student_id"]:
                raise LmsExportError(f"{path}, line {reader.line_num}: empty student_id")
            for key in UNIQUE:
                if row[key] and (key, row[key]) in first_line:
                    raise LmsExportError(f"{path}, line {reader.line_num}: {key} '{printable(row[key])}' "
                                         f"already on line {first_line[key, row[key]]}")
                first_line.setdefault((key, row[key]), reader.line_num)
            found.append(Rostered(**row))
    return found


@dataclass(frozen=True)
class Line:
    """One student of an export: the roster's line (None: not rostered) and the scores of each assignment."""

    student_id: str
    rostered: Rostered | None
    gradebook_name: str
    scores: dict[str, dict[str, Any] | None]  # assignment -> submission_scores (None: no submission)

    @property
    def name(self) -> str:
        return self.rostered.name if self.rostered else self.gradebook_name

    @property
    def unsubmitted(self) -> list[str]:
        return [name for name, scores in self.scores.items() if scores is None]

    def final(self, assignment: str) -> float:
        """The final score of ``assignment``; 0 without a submission."""
        return (self.scores[assignment] or NO_SUBMISSION)["score"]


def shown(ids: list[str]) -> str:
    """Ids as printed: escaped, comma-separated."""
    return ", ".join(printable(i) for i in ids)


def counted(ids: list[str], what: str) -> str:
    """"2 <what> (a, b)", or "0 <what>"."""
    return f"{len(ids)} {what}" + (f" ({shown(ids)})" if ids else "")


class LmsExportPlugin(ExportPlugin):
    """What the LMS exports share: the roster, the matching of both sides, the warnings and the summary.

    A subclass names its default file and writes its table (``table``).
    """

    roster = Unicode("roster.csv", help="CSV file: nbgrader student_id -> name, lms_id (and sis_user_id, "
                                        "sis_login_id, email, section); see grader/publish/lms.py").tag(config=True)

    default_to: ClassVar[str] = "lms.csv"
    rostered_only: ClassVar[bool] = True  # gradebook students without a roster line are left out of the file

    def needed_columns(self) -> tuple[str, ...]:
        """Roster columns this export needs beyond ``REQUIRED``."""
        return ()

    def unidentified(self, rostered: Rostered) -> str | None:
        """What the LMS needs and this roster line lacks (the line is then left out), or None."""
        return None

    def to_export(self, gradebook: Gradebook) -> list[Assignment]:
        """The gradebook's assignments, or those named by --assignment."""
        found = chosen(gradebook.assignments, self.assignment, lambda a: a.name)
        if not found:
            raise LmsExportError("no assignment to export: the gradebook has none"
                                 + (f" named {shown([str(a) for a in self.assignment])}" if self.assignment else ""))
        return found

    def table(self, gradebook: Gradebook, exported: list[Assignment],
              lines: list[Line]) -> tuple[list[str], list[dict[str, Any]]]:
        """The header and the rows of the file for ``lines``, the students written."""
        raise NotImplementedError

    def lines(self, gradebook: Gradebook, exported: list[Assignment]) -> list[Line]:
        """Rostered students in roster order, then gradebook students without a roster line (by id)."""
        roster = chosen(load_roster(Path(self.roster), self.needed_columns()), self.student, lambda r: r.student_id)
        students = {s.id: s for s in chosen(gradebook.students, self.student, lambda s: s.id)}
        by_id = {r.student_id: r for r in roster}
        ids = [r.student_id for r in roster] + sorted(set(students) - set(by_id))
        return [Line(sid, by_id.get(sid), _full_name(students.get(sid)),
                     {a.name: submission_scores(gradebook, a.name, sid) for a in exported}) for sid in ids]

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or self.default_to
        try:
            exported = self.to_export(gradebook)
            lines = self.lines(gradebook, exported)
            written = [line for line in lines if self.writes(line)]
            header, rows = self.table(gradebook, exported, written)
        except LmsExportError as err:
            self.log.error("%s", err)
            sys.exit(1)
        with open(dest, "w", newline="", encoding="utf-8") as handle:
            write_rows(handle, header, rows)
        self.report(dest, lines, written)

    def writes(self, line: Line) -> bool:
        """Whether ``line`` goes into the file."""
        if line.rostered is None:
            return not self.rostered_only
        return self.unidentified(line.rostered) is None

    def report(self, dest: str, lines: list[Line], written: list[Line]) -> None:
        """A WARNING line naming each student missing on one side, then the summary line."""
        unrostered = [line.student_id for line in lines if line.rostered is None]
        unsubmitted = [line for line in written if line.rostered and line.unsubmitted]
        unidentified = [line for line in lines if line.rostered and self.unidentified(line.rostered)]
        for sid in unrostered:
            self.log.warning("%s: %s is in the gradebook but has no line in the roster %s: %s", dest, printable(sid),
                             self.roster, "left out" if self.rostered_only else "written with an empty lms_id")
        for line in unsubmitted:
            self.log.warning("%s: %s (%s) has no submission of %s: scored 0", dest, printable(line.student_id),
                             printable(line.name), shown(line.unsubmitted))
        for line in unidentified:
            self.log.warning("%s: %s has no %s in the roster %s: left out", dest, printable(line.student_id),
                             self.unidentified(line.rostered), self.roster)
        parts = [f"{len(written)} student{'' if len(written) == 1 else 's'}",
                 counted(unrostered, "without a roster line"),
                 counted([line.student_id for line in unsubmitted], "rostered without a submission")]
        if unidentified:
            parts.append(counted([line.student_id for line in unidentified], "left out for a blank identifier"))
        level = logging.WARNING if unrostered or unsubmitted or unidentified else logging.INFO
        self.log.log(level, "%s: %s", dest, ", ".join(parts))


def _full_name(student: Any) -> str:
    """A gradebook student's name, "First Last" ("" for a student not in the gradebook)."""
    return " ".join(part for part in (student.first_name, student.last_name) if part) if student else ""


def named_columns(exported: list[Assignment], names: dict[str, str], setting: str) -> dict[str, str]:
    """assignment -> its column: ``names[assignment]``, else the assignment's name."""
    columns = {a.name: names.get(a.name, a.name) for a in exported}
    if len(set(columns.values())) < len(columns):
        raise LmsExportError(f"{setting} gives two assignments one column: {columns}")
    return columns


class CanvasExportPlugin(LmsExportPlugin):
    """A Canvas gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, one column per assignment."""

    assignment_columns = Dict(
        key_trait=Unicode(), value_trait=Unicode(),
        help="nbgrader assignment id -> its Canvas column, '<Canvas name> (<Canvas assignment id>)' as in a Canvas "
             "gradebook export. Without one the column is the assignment id, and Canvas matches it by exact "
             "title or creates a new assignment.",
    ).tag(config=True)
    points_possible = Bool(True, help="write Canvas's 'Points Possible' row (nbgrader's max score of each "
                                      "assignment) under the header").tag(config=True)

    default_to = "canvas.csv"

    def table(self, gradebook, exported, lines):
        columns = named_columns(exported, self.assignment_columns, "c.CanvasExportPlugin.assignment_columns")
        for name, column in columns.items():
            if not CANVAS_ASSIGNMENT_ID.search(column):
                self.log.warning("no Canvas assignment id for %s (c.CanvasExportPlugin.assignment_columns): its column "
                                 "'%s' matches a Canvas assignment of exactly that title, or Canvas creates a new "
                                 "assignment", printable(name), printable(column))
        rows: list[dict[str, Any]] = []
        if self.points_possible:
            rows.append({"Student": CANVAS_POINTS_POSSIBLE, **{columns[a.name]: a.max_score for a in exported}})
        for line in lines:
            r = line.rostered
            rows.append({"Student": r.name, "ID": r.lms_id, "SIS User ID": r.sis_user_id,
                         "SIS Login ID": r.sis_login_id, "Section": r.section,
                         **{column: line.final(name) for name, column in columns.items()}})
        return [*CANVAS_STUDENT_COLUMNS, *columns.values()], rows


class MoodleExportPlugin(LmsExportPlugin):
    """A Moodle "Import grades: CSV file": an identifier column, a grade column per assignment (and feedback)."""

    identifier = Enum(list(MOODLE_IDENTIFIERS), default_value="email",
                      help="the user field Moodle identifies students by: email (roster column email), or idnumber, "
                           "username or userid (roster column lms_id)").tag(config=True)
    grade_items = Dict(key_trait=Unicode(), value_trait=Unicode(),
                       help="nbgrader assignment id -> the name of its Moodle grade item (the column header; "
                            "default: the assignment id)").tag(config=True)
    feedback = Bool(False, help="add a '<grade item> (Feedback)' column after each grade: raw score, late penalty, "
                                "final score").tag(config=True)

    default_to = "moodle.csv"

    def needed_columns(self):
        return (MOODLE_IDENTIFIERS[self.identifier][0],)

    def unidentified(self, rostered):
        field = MOODLE_IDENTIFIERS[self.identifier][0]
        return None if getattr(rostered, field) else field

    def table(self, gradebook, exported, lines):
        field, heading, map_to = MOODLE_IDENTIFIERS[self.identifier]
        columns = named_columns(exported, self.grade_items, "c.MoodleExportPlugin.grade_items")
        self.log.info("at Moodle's import, under 'Identify user by' map from '%s' to '%s'; under 'Grade item "
                      "mappings' map %s to the grade item%s", heading, map_to,
                      ", ".join(f"'{printable(c)}'" for c in columns.values()),
                      " and each '... (Feedback)' column to its feedback" if self.feedback else "")
        header = [heading]
        for column in columns.values():
            header += [column, f"{column} (Feedback)"] if self.feedback else [column]
        rows = []
        for line in lines:
            row: dict[str, Any] = {heading: getattr(line.rostered, field)}
            for a in exported:
                row[columns[a.name]] = line.final(a.name)
                row[f"{columns[a.name]} (Feedback)"] = _feedback(line.scores[a.name], a.max_score)
            rows.append(row)
        return header, rows


def _feedback(scores: dict[str, Any] | None, max_score: float) -> str:
    if scores is None:
        return f"No submission: 0 of {max_score:g}"
    return (f"Autograded {scores['raw_score']:g} of {max_score:g}, late penalty {scores['late_submission_penalty']:g}: "
            f"{scores['score']:g}")


class ExerciseCsvExportPlugin(LmsExportPlugin):
    """One row per student: student_id, lms_id, name, a column per exercise, raw score, penalty, score, max.

    One assignment at a time (--assignment, or the only one configured in c.GradedAssignments.contracts);
    the exercise columns are ``grader.publish.report.breakdown``'s (the contract's sections).
    """

    default_to = "grades_lms.csv"
    rostered_only = False

    def contract(self, assignment_id: str | None) -> assignments.Assignment:
        try:
            return assignments.load(self.config, assignment_id)
        except (ValueError, ImportError) as err:
            raise LmsExportError(str(err)) from None

    def to_export(self, gradebook):
        if len(self.assignment) > 1:
            raise LmsExportError("the per-exercise export takes one assignment (--assignment NAME)")
        contract = self.contract(str(self.assignment[0]) if self.assignment else None)
        try:
            return [gradebook.find_assignment(contract.id)]
        except MissingEntry:
            raise LmsExportError(f"the gradebook has no assignment {contract.id!r}; run 'make autograde' first") from None

    def table(self, gradebook, exported, lines):
        contract = self.contract(exported[0].name)
        if gradebook.engine.url.get_backend_name() != "sqlite" or not gradebook.engine.url.database:
            raise LmsExportError(f"the per-exercise export reads a sqlite gradebook file, not {gradebook.engine.url}")
        by_student = {row["student_id"]: row for row in breakdown(gradebook, contract)}
        header = ["student_id", "lms_id", "name", *contract.sections, "raw_score", "late_submission_penalty", "score",
                  "max_score"]
        rows = []
        for line in lines:
            exercises = by_student.get(line.student_id, dict.fromkeys(contract.sections, 0.0))
            scores = line.scores[contract.id] or NO_SUBMISSION
            rows.append({"student_id": line.student_id, "lms_id": line.rostered.lms_id if line.rostered else "",
                         "name": line.name, **{ex: exercises[ex] for ex in contract.sections},
                         "raw_score": scores["raw_score"], "late_submission_penalty": scores["late_submission_penalty"],
                         "score": scores["score"], "max_score": contract.total_points})
        return header, rows

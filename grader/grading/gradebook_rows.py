"""nbgrader's two per-cell gradebook preprocessors, reading a notebook's rows at once.

``OverwriteCells`` (sanitizing: each cell checked against its source) and ``SaveAutoGrades``
(recording: each test cell's score, each answer's comment) ask the gradebook one question per cell:
``find_source_cell``, ``find_graded_cell``, ``find_grade``, ``find_comment``, each a five-table join,
and ``SaveAutoGrades`` commits after every answer. For a notebook of some hundred graded cells that is
hundreds of queries and commits per submission; ``SaveAutoGrades``'s run inside the gradebook lock, the
one step that submissions take in turn on SQLite.

The subclasses here keep nbgrader's own cell logic (their ``preprocess_cell``, ``_add_score``,
``_add_comment`` are nbgrader's, unchanged) and give it a gradebook, ``NotebookRows``, that answers those
four questions from the notebook's rows read in one query per kind, and whose per-cell ``commit`` waits:
``SaveAutoGradesAtOnce`` commits the submission's grades and comments in one transaction at the end.
Every other question goes to nbgrader's ``Gradebook``. An answer is the row nbgrader's query returns
(the same cell kinds in the same order of preference), and a name it does not know raises nbgrader's
``MissingEntry``, as the query does.

Configured in nbgrader_config.py in place of ``OverwriteCells`` and ``SaveAutoGrades``; their
``c.OverwriteCells.*`` / ``c.SaveAutoGrades.*`` settings apply (traitlets configures a subclass by its
bases' names).
"""

from __future__ import annotations

from nbgrader.api import (
    Assignment,
    Comment,
    Grade,
    Gradebook,
    GradeCell,
    MissingEntry,
    Notebook,
    SolutionCell,
    SourceCell,
    TaskCell,
)
from nbgrader.preprocessors import OverwriteCells, SaveAutoGrades
from sqlalchemy.orm import joinedload


class _CommitAtEnd:
    """The gradebook's session, whose ``commit`` waits: the caller flushes and commits once, at the end
    (the changed rows are written together, in one transaction)."""

    def __init__(self, session):
        self._session = session

    def commit(self) -> None:
        pass

    def __getattr__(self, name):
        return getattr(self._session, name)


class NotebookRows:
    """What nbgrader's per-cell preprocessors ask a ``Gradebook`` about one notebook of one assignment (and,
    given ``student``, one submission of it), answered from its rows read at once; anything else is asked of
    ``gradebook`` itself."""

    def __init__(self, gradebook: Gradebook, notebook: str, assignment: str, student: str | None = None):
        self._gradebook = gradebook
        self.db = _CommitAtEnd(gradebook.db)
        self._key = (notebook, assignment)
        session = gradebook.db

        def cells(kind):
            rows = (session.query(kind).join(Notebook, Notebook.id == kind.notebook_id)
                    .join(Assignment, Assignment.id == Notebook.assignment_id)
                    .filter(Notebook.name == notebook, Assignment.name == assignment))
            return {row.name: row for row in rows}

        self._source = cells(SourceCell)
        self._graded = {**cells(TaskCell), **cells(GradeCell)}  # nbgrader looks for a grade cell first
        self._grades: dict[str, Grade] = {}
        self._comments: dict[str, Comment] = {}
        if student is not None:
            submitted = gradebook.find_submission_notebook(notebook, assignment, student)
            grades = session.query(Grade).options(joinedload(Grade.cell)).filter(Grade.notebook_id == submitted.id)
            self._grades = {g.cell.name: g for g in grades if isinstance(g.cell, GradeCell)}
            comments = list(session.query(Comment).options(joinedload(Comment.cell))
                            .filter(Comment.notebook_id == submitted.id))
            self._comments = {  # a solution cell's comment first, then a task cell's
                **{c.cell.name: c for c in comments if isinstance(c.cell, TaskCell)},
                **{c.cell.name: c for c in comments if isinstance(c.cell, SolutionCell)}}

    def _one(self, rows: dict, name: str, notebook: str, assignment: str, what: str):
        if (notebook, assignment) != self._key or name not in rows:
            raise MissingEntry(f"No such {what}: {assignment}/{notebook}/{name}")
        return rows[name]

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> SourceCell:
        return self._one(self._source, name, notebook, assignment, "source cell")

    def find_graded_cell(self, name: str, notebook: str, assignment: str):
        return self._one(self._graded, name, notebook, assignment, "grade cell")

    def find_grade(self, grade_cell: str, notebook: str, assignment: str, student: str) -> Grade:
        return self._one(self._grades, grade_cell, notebook, assignment, f"grade for {student}")

    def find_comment(self, solution_cell: str, notebook: str, assignment: str, student: str) -> Comment:
        return self._one(self._comments, solution_cell, notebook, assignment, f"comment for {student}")

    def __getattr__(self, name):
        return getattr(self._gradebook, name)


class OverwriteCellsAtOnce(OverwriteCells):
    """nbgrader's ``OverwriteCells``, the notebook's source and graded cells read in one query each."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id, self.db_url = info["notebook"], info["assignment"], info["db_url"]
        with Gradebook(self.db_url) as gradebook:
            self.gradebook = NotebookRows(gradebook, self.notebook_id, self.assignment_id)
            nb, resources = super(OverwriteCells, self).preprocess(nb, resources)  # each cell, as nbgrader's
            if self.add_missing_cells:
                nb, resources = self.add_missing_grade_cells(nb, resources)
                nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class SaveAutoGradesAtOnce(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades``, the submission's grades and comments read in one query each and
    committed in one transaction."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.db_url = info["student"], info["db_url"]
        with Gradebook(self.db_url) as gradebook:
            self.gradebook = NotebookRows(gradebook, self.notebook_id, self.assignment_id, self.student_id)
            nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)  # each cell, as nbgrader's
            gradebook.db.commit()
        return nb, resources

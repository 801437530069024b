"""OverwriteCellsAtOnce and SaveAutoGradesAtOnce leave what nbgrader's OverwriteCells and SaveAutoGrades
leave: the same notebook, the same warnings, the same gradebook rows; and a failure records nothing.

A course of the real exercises in a temporary folder (nbgrader generate_assignment records its source
cells), a submission of each kind in its gradebook; each preprocessor pair runs on the same notebook,
stock on one copy of the gradebook, ours on another.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import OverwriteCells, SaveAutoGrades
from sqlalchemy.exc import SAWarning

from grader.course.contract import ASSIGNMENT, NOTEBOOK
from grader.grading.gradebook_rows import NotebookRows, OverwriteCellsAtOnce, SaveAutoGradesAtOnce
from grader.publish.notebooks import grade_id
from grader.publish.sample_class import solutions

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_ID = Path(NOTEBOOK).stem
STUDENT = "ada"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("course")
    for name in ("source", "release", "nbgrader_config.py"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, course / name)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], cwd=course,
                   env=env, check=True, capture_output=True)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission, as its autograde calls it
        gb.add_student(STUDENT)
        gb.add_submission(ASSIGNMENT, STUDENT)
    return course


def gradebook_copy(course: Path, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.db"
    shutil.copy(course / "gradebook.db", path)
    return f"sqlite:///{path}"


def resources(db_url: str) -> dict:
    return {"nbgrader": {"notebook": NOTEBOOK_ID, "assignment": ASSIGNMENT, "student": STUDENT, "db_url": db_url}}


def release() -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)


def tampered() -> nbformat.NotebookNode:
    """Each kind of change OverwriteCells undoes and reports: points, a locked cell's source, a cell's type, a
    deleted test cell (and the hidden tests the release leaves out)."""
    nb = release()
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    tests[0].metadata.nbgrader["points"] = 99
    tests[1].source = "pass  # the test, emptied"
    markdown = next(c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("locked"))
    markdown.cell_type = "code"
    markdown.outputs, markdown.execution_count = [], None
    nb.cells.remove(tests[2])
    return nb


def run(cls, nb, db_url: str, caplog) -> tuple[dict, list[str]]:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        out, _ = cls(add_missing_cells=True, log=logging.getLogger("overwrite")).preprocess(
            nbformat.from_dict(nb), resources(db_url))
    return out, [r.getMessage() for r in caplog.records]


def test_overwrite_cells_at_once_restores_and_reports_as_nbgrader_does(course, tmp_path, caplog):
    nb = tampered()
    stock, stock_log = run(OverwriteCells, nb, gradebook_copy(course, tmp_path, "stock"), caplog)
    ours, our_log = run(OverwriteCellsAtOnce, nb, gradebook_copy(course, tmp_path, "ours"), caplog)
    assert ours == stock
    assert our_log == stock_log
    assert any("'points'" in m for m in stock_log) and any("'cell_type'" in m for m in stock_log)
    assert len(ours.cells) == len(release().cells)  # the deleted test is back


def graded_notebook(answered: set[str]) -> nbformat.NotebookNode:
    """The release with the solutions of ``answered`` filled in, and each test cell's output as if run: an error
    for every test of an exercise left unanswered (a test cell is right after its solution in the notebook)."""
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    answers = solutions(source)
    nb = release()
    current = None
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and grade_id(cell) in answers:
            current = grade_id(cell)
            if current in answered:
                cell.source = answers[current]
        elif meta.get("grade") and cell.cell_type == "code":
            cell.outputs = [] if current in answered else [nbformat.v4.new_output(
                "error", ename="NotImplementedError", evalue="", traceback=[])]
    return nb


def rows(db_url: str) -> dict:
    with Gradebook(db_url) as gb:
        nb = gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, STUDENT)
        return {"grades": sorted((g.name, g.auto_score, g.manual_score, g.needs_manual_grade) for g in nb.grades),
                "comments": sorted((c.name, c.auto_comment, c.manual_comment) for c in nb.comments)}


def with_manual_grade(db_url: str) -> str:
    """A grader's manual score and comment on one cell each (kept, and marked for review)."""
    with Gradebook(db_url) as gb:
        nb = gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, STUDENT)
        nb.grades[0].manual_score = 0.5
        nb.comments[0].manual_comment = "see me"
        gb.db.commit()
    return db_url


@pytest.mark.parametrize("answered", [set(), {"quantize", "softmax", "kd_loss"}], ids=["untouched", "partial"])
def test_save_auto_grades_at_once_records_what_nbgrader_records(course, tmp_path, answered):
    nb = graded_notebook(answered)
    stock = with_manual_grade(gradebook_copy(course, tmp_path, "stock"))
    ours = with_manual_grade(gradebook_copy(course, tmp_path, "ours"))
    SaveAutoGrades().preprocess(nbformat.from_dict(nb), resources(stock))
    SaveAutoGradesAtOnce().preprocess(nbformat.from_dict(nb), resources(ours))
    assert rows(ours) == rows(stock)
    grades = rows(ours)["grades"]
    assert {g[1] for g in grades} >= ({0.0, 1.0} if answered else {0.0}) and any(g[3] for g in grades)


def test_save_auto_grades_at_once_records_nothing_when_a_cell_fails(course, tmp_path):
    """One transaction: a test cell the gradebook does not know stops it, and no grade of the submission is
    half-written (nbgrader's own commits each cell before it)."""
    db_url = gradebook_copy(course, tmp_path, "ours")
    nb = graded_notebook({"quantize"})
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    tests[-1].metadata.nbgrader["grade_id"] = "no_such_test"
    before = rows(db_url)
    with pytest.raises(MissingEntry):
        SaveAutoGradesAtOnce().preprocess(nb, resources(db_url))
    assert rows(db_url) == before


def test_notebook_rows_answers_only_its_notebook(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        found = NotebookRows(gb, NOTEBOOK_ID, ASSIGNMENT, STUDENT)
        assert found.find_source_cell("quantize", NOTEBOOK_ID, ASSIGNMENT).name == "quantize"
        assert found.find_grade("quantize_seed_example", NOTEBOOK_ID, ASSIGNMENT, STUDENT).name == \
            "quantize_seed_example"
        with pytest.raises(MissingEntry):
            found.find_source_cell("quantize", "another_notebook", ASSIGNMENT)
        with pytest.raises(MissingEntry):
            found.find_comment("quantize_seed_example", NOTEBOOK_ID, ASSIGNMENT, STUDENT)  # a test has no comment
        assert found.find_notebook(NOTEBOOK_ID, ASSIGNMENT).name == NOTEBOOK_ID  # asked of the gradebook

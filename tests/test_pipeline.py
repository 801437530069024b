"""The whole nbgrader pipeline, run in a temporary copy of the course.

validate -> generate_assignment -> sample class (every bank entry) ->
autograde -> feedback -> per-exercise report.  One module-scoped run; the
tests below read its results.
"""

from __future__ import annotations

import csv
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course.bank import load_bank
from grader.course.contract import ASSIGNMENT, EXERCISES, FUNCTIONS, NOTEBOOK, TOTAL_POINTS, exercise_of
from grader.grading import assignments
from grader.publish import class_report
from grader.publish.sample_class import DEFAULT_MISCONCEPTIONS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BANK = [w for w in load_bank() if w.function in FUNCTIONS]  # the capstone's: tests/test_capstone.py


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", MPLBACKEND="Agg")
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def copy_course(dest: Path) -> Path:
    for name in ("source", "release", "nbgrader_config.py"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
    shutil.copytree(ROOT / "grader" / "course" / "wrong_implementations", dest / "bank")
    return dest


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    course = copy_course(tmp_path_factory.mktemp("course"))
    py = [sys.executable, "-m"]
    run([*py, "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], course)
    run([*py, "grader.publish.sample_class", "--all-misconceptions", "--bank", "bank"], course)
    run([*py, "nbgrader", "autograde", ASSIGNMENT, "--force", "--create"], course)
    run([*py, "nbgrader", "generate_feedback", ASSIGNMENT, "--force"], course)
    run([*py, "grader.publish.report", "--assignment", ASSIGNMENT, "--csv", "breakdown.csv"], course)
    run([*py, "grader.publish.class_report", "--assignment", ASSIGNMENT], course)
    with (course / "breakdown.csv").open(encoding="utf-8") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    return {"course": course, "rows": rows}


def scores(row: dict) -> dict[int, float]:
    return {ex.number: float(row[f"ex{ex.number}"]) for ex in EXERCISES}


def feedback_text(course: Path, student: str) -> str:
    page = (course / "feedback" / student / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_source_validates():
    run([sys.executable, "-m", "grader.publish.validate", str(ROOT / "source" / ASSIGNMENT / NOTEBOOK)], ROOT)


def test_release_fails_every_graded_cell():
    run([sys.executable, "-m", "grader.publish.validate", "--invert", str(ROOT / "release" / ASSIGNMENT / NOTEBOOK)], ROOT)


def test_perfect_submission_scores_full_marks(graded):
    row = graded["rows"]["perfect"]
    assert float(row["total"]) == TOTAL_POINTS
    assert scores(row) == {ex.number: ex.points for ex in EXERCISES}


def test_untouched_release_scores_zero(graded):
    assert float(graded["rows"]["untouched"]["total"]) == 0


def test_partial_submissions(graded):
    first_half = scores(graded["rows"]["partial_first_half"])
    assert first_half == {ex.number: (ex.points if ex.number <= 5 else 0) for ex in EXERCISES}
    core_only = scores(graded["rows"]["partial_core_only"])
    assert all(0 < core_only[ex.number] < ex.points for ex in EXERCISES), core_only


@pytest.mark.parametrize(("student", "function"), [("broken_syntax", "quantize"), ("broken_raises", "softmax")])
def test_broken_submission_loses_only_its_exercise(graded, student, function):
    got = scores(graded["rows"][student])
    broken = exercise_of(function).number
    assert got[broken] < exercise_of(function).points
    assert {n: s for n, s in got.items() if n != broken} == {
        ex.number: ex.points for ex in EXERCISES if ex.number != broken
    }


@pytest.mark.parametrize("wrong", BANK, ids=[w.name for w in BANK])
def test_wrong_implementation_loses_points_on_its_exercise_only(graded, wrong):
    got = scores(graded["rows"][f"wrong_{wrong.name}"])
    own = exercise_of(wrong.function)
    assert got[own.number] < own.points, f"{wrong.name} kept full marks on exercise {own.number}"
    others = {n: s for n, s in got.items() if n != own.number}
    assert others == {ex.number: ex.points for ex in EXERCISES if ex.number != own.number}


@pytest.mark.parametrize("name", DEFAULT_MISCONCEPTIONS[ASSIGNMENT])
def test_the_class_report_finds_each_sample_misconception_in_the_student_who_carries_it(graded, name):
    course = graded["course"]
    data = class_report.load(course, assignments.load(assignments.load_config(course), ASSIGNMENT))
    held = {h.misconception.label.lower(): h.students for h in class_report.misconceptions_held(data)}
    mentions = next(w for w in BANK if w.name == name).feedback_mentions.lower()
    found = [label for label, students in held.items() if mentions in label]
    assert found, f"no misconception mentioning {mentions!r} in the report: {sorted(held)}"
    assert all(students == [f"wrong_{name}"] for label, students in held.items() if mentions in label)
    page = (course / "build" / "report" / "index.html").read_text(encoding="utf-8")
    section = page.split(f'id="{class_report.anchor(f"wrong_{name}")}"')[1].split("<section")[0]
    assert any(html.escape(label) in section.lower() for label in found)


def test_feedback_hides_hidden_tests(graded):
    text = feedback_text(graded["course"], "perfect")
    assert "BEGIN HIDDEN TESTS" not in text and "from grader.course import checks" not in text
    assert "quantize_half_to_even passed" in text


@pytest.mark.parametrize("wrong", BANK, ids=[w.name for w in BANK])
def test_feedback_names_the_misconception(graded, wrong):
    text = feedback_text(graded["course"], f"wrong_{wrong.name}").lower()
    assert wrong.feedback_mentions.lower() in text

"""The capstone, graded by the same machinery as the exercises.

- Honest solutions of its four new functions in other styles (tests/honest_styles/capstone/) and the
  instructor's pass every hidden check of parts 2-4, called directly and through the grading wire
  (KernelFunction over the in-process kernel of tests/test_honest_styles.py), and every visible cell.
- The whole pipeline on its sample class, in a copy of the course: generate_assignment, the sample
  class (perfect, untouched, part 1 only, one misconception per part), autograde, feedback, the
  per-part report and the class report. Each misconception loses points on its own part only, its
  feedback names it, hidden tests stay hidden, and the analysis of the real model ran in the graded
  notebook.
"""

from __future__ import annotations

import csv
import functools
import html
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from test_honest_styles import InProcessKernel, _load_module, _run
from test_pipeline import copy_course, run

from grader.course import capstone, checks
from grader.course.bank import everything
from grader.grading import assignments
from grader.grading.trusted import KernelFunction
from grader.publish import class_report
from grader.publish.notebooks import grade_id, solution_code
from grader.publish.sample_class import DEFAULT_MISCONCEPTIONS

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / capstone.ASSIGNMENT / capstone.NOTEBOOK
RELEASE = ROOT / "release" / capstone.ASSIGNMENT / capstone.NOTEBOOK
STYLES = {p.stem: p for p in sorted((ROOT / "tests" / "honest_styles" / "capstone").glob("*.py"))}
NEW = [t for t in capstone.TESTS if t.function in capstone.NEW_FUNCTIONS]
HIDDEN = [t.grade_id for t in NEW if t.hidden]
VISIBLE = [t.grade_id for t in NEW if not t.hidden]
SECRETS = (0, 11, 2**61 + 3)


def _instructor_namespace() -> dict:
    namespace: dict = {"np": np}
    cells = {grade_id(c): c for c in nbformat.read(SOURCE, as_version=4).cells}
    for function in capstone.FUNCTIONS:
        exec(compile(solution_code(cells[function].source), f"<solution {function}>", "exec"), namespace)  # noqa: S102
    return namespace


@functools.cache
def raw(subject: str) -> dict:
    namespace = _instructor_namespace() if subject == "instructor" else vars(_load_module(STYLES[subject]))
    return {name: namespace[name] for name in capstone.NEW_FUNCTIONS}


def proxied(functions: dict) -> dict:
    kernel = InProcessKernel(dict(functions))
    return {name: KernelFunction(kernel, name) for name in functions}


@pytest.mark.parametrize("way", ["raw", "proxied"])
@pytest.mark.parametrize("subject", ["instructor", *STYLES])
def test_honest_styles_pass_every_hidden_check_of_the_new_functions(subject, way):
    functions = raw(subject) if way == "raw" else proxied(raw(subject))
    failed = {}
    for secret in SECRETS:
        checks.set_secret(secret)
        try:
            for gid in HIDDEN:
                try:
                    checks.run(gid, functions)
                except AssertionError as exc:
                    failed[(secret, gid)] = str(exc)
        finally:
            checks.set_secret(0)
    assert not failed, failed


@pytest.mark.parametrize("way", ["raw", "proxied"])
@pytest.mark.parametrize("subject", ["instructor", *STYLES])
def test_honest_styles_pass_every_visible_cell(subject, way):
    cells = {grade_id(c): c.source for c in nbformat.read(RELEASE, as_version=4).cells}
    functions = raw(subject) if way == "raw" else proxied(raw(subject))
    for gid in VISIBLE:
        outcome, detail, caught = _run(cells[gid], {"np": np, **functions}, f"<test {gid}>")
        assert (outcome, caught) == ("pass", []), detail


REENTERED_WRONG = [w for w in everything() if w.function in dict(capstone.REENTERED)]


@pytest.mark.parametrize("wrong", REENTERED_WRONG, ids=[w.name for w in REENTERED_WRONG])
def test_a_wrong_reentered_function_costs_points_in_part_1_only(wrong):
    """The instructor's new functions do not call the re-entered ones: one mistake, one part."""
    namespace = _instructor_namespace()
    namespace[wrong.function] = wrong.load()
    functions = {name: namespace[name] for name in capstone.FUNCTIONS}
    failed = set()
    for test in capstone.TESTS:
        if test.hidden:
            try:
                checks.run(test.grade_id, functions)
            except AssertionError:
                failed.add(capstone.exercise_of(test.grade_id).number)
    assert failed <= {1}


def test_the_notebook_states_its_time_and_memory_and_never_imports_the_answers():
    nb = nbformat.read(RELEASE, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert "grader.course" not in text and "grader.grading" not in text
    assert re.search(r"runs in about \d+ seconds", text) and re.search(r"under \d+ (GB|MB) of memory", text)
    assert "make bench-capstone" in text


# --------------------------------------------------------------------------- the pipeline


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    course = copy_course(tmp_path_factory.mktemp("capstone"))
    py = [sys.executable, "-m"]
    run([*py, "nbgrader", "generate_assignment", capstone.ASSIGNMENT, "--force"], course)
    run([*py, "grader.publish.sample_class", "--assignment", capstone.ASSIGNMENT, "--bank", "bank"], course)
    run([*py, "nbgrader", "autograde", capstone.ASSIGNMENT, "--force", "--create"], course)
    run([*py, "nbgrader", "generate_feedback", capstone.ASSIGNMENT, "--force"], course)
    run([*py, "grader.publish.report", "--assignment", capstone.ASSIGNMENT, "--csv", "parts.csv"], course)
    run([*py, "grader.publish.class_report", "--assignment", capstone.ASSIGNMENT], course)
    with (course / "parts.csv").open(encoding="utf-8") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    return {"course": course, "rows": rows}


def parts(row: dict) -> dict[int, float]:
    return {ex.number: float(row[f"part{ex.number}"]) for ex in capstone.EXERCISES}


FULL = {ex.number: ex.points for ex in capstone.EXERCISES}
pipeline = pytest.mark.slow


@pipeline
def test_the_sample_class_scores_as_its_submissions_deserve(graded):
    rows = graded["rows"]
    assert parts(rows["perfect"]) == FULL and float(rows["perfect"]["total"]) == capstone.TOTAL_POINTS
    assert float(rows["untouched"]["total"]) == 0
    assert parts(rows["capstone_part1_only"]) == {n: (p if n == 1 else 0) for n, p in FULL.items()}


@pipeline
@pytest.mark.parametrize("name", DEFAULT_MISCONCEPTIONS[capstone.ASSIGNMENT])
def test_each_misconception_loses_points_on_its_own_part_only_and_its_feedback_names_it(graded, name):
    from grader.course.bank import load_bank

    wrong = next(w for w in load_bank() if w.name == name)
    own = capstone.exercise_of(wrong.function).number
    got = parts(graded["rows"][f"wrong_{name}"])
    assert got[own] < FULL[own]
    assert {n: s for n, s in got.items() if n != own} == {n: p for n, p in FULL.items() if n != own}
    page = graded["course"] / "feedback" / f"wrong_{name}" / capstone.ASSIGNMENT / "capstone.html"
    text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))
    assert wrong.feedback_mentions.lower() in text.lower()
    assert "BEGIN HIDDEN TESTS" not in text and "from grader.course import checks" not in text
    data = class_report.load(graded["course"], assignments.load(assignments.load_config(graded["course"]),
                                                                 capstone.ASSIGNMENT))
    held = {h.misconception.label.lower(): h.students for h in class_report.misconceptions_held(data)}
    assert [f"wrong_{name}"] in [s for label, s in held.items() if wrong.feedback_mentions.lower() in label]


@pipeline
def test_the_graded_notebook_ran_the_analysis_of_the_real_model(graded):
    nb = nbformat.read(graded["course"] / "autograded" / "perfect" / capstone.ASSIGNMENT / capstone.NOTEBOOK,
                       as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "22.7 M parameters" in printed
    assert re.search(r"int4 per channel +[\d.]+ +[\d.]+ +0\.9\d{3}", printed), printed[-3000:]
    assert "smallest format that ships:" in printed
    assert re.search(r"student distilled, tau 4, alpha 0.5: \d+\.\d%", printed)

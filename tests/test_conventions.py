"""Every stated convention is graded (grader.course.conventions), and every check earns its place.

- each convention names test cells of its own exercise, and each test cell grades a stated convention;
- each test cell, visible or hidden, fails on at least one entry of the bank of wrong implementations;
- each misconception a check can diagnose is diagnosed on at least one bank entry;
- the notebook states exactly the table (its "Conventions that are graded" lists are generated from it).
"""

from __future__ import annotations

import contextlib
import functools
import io

import nbformat
import numpy as np
import pytest

from grader.course import checks, contract, reference
from grader.course.bank import everything
from grader.course.conventions import CONVENTIONS
from grader.publish import source

BANK = {w.name: w for w in everything()}
REFERENCE = {name: getattr(reference, name) for name in contract.FUNCTIONS}
NOTEBOOK = nbformat.read(source.SOURCE, as_version=4)
VISIBLE_SOURCE = {c.metadata.nbgrader.grade_id: c.source for c in NOTEBOOK.cells
                  if c.metadata.get("nbgrader", {}).get("grade")
                  and c.metadata.nbgrader.grade_id in {t.grade_id for t in contract.TESTS if not t.hidden}}


def _run_visible(grade_id: str, namespace: dict) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(VISIBLE_SOURCE[grade_id], f"<{grade_id}>", "exec"), {"np": np, **namespace})  # noqa: S102


@functools.cache
def failures(name: str) -> dict[str, str]:
    """grade_id -> failure message of every test cell of its exercise that bank entry ``name`` fails."""
    return {grade_id: message for grade_id, (message, _) in verdicts(name).items()}


@functools.cache
def verdicts(name: str) -> dict[str, tuple[str, list[str]]]:
    """grade_id -> (message, misconception ids recorded) of every test cell that bank entry ``name`` fails."""
    wrong = BANK[name]
    namespace = {**REFERENCE, wrong.function: wrong.load()}
    found = {}
    for test in contract.exercise_of(wrong.function).tests:
        try:
            if test.hidden:
                checks.run(test.grade_id, namespace)
            else:
                _run_visible(test.grade_id, namespace)
        except Exception as exc:  # noqa: BLE001 -- a failing test cell, whatever it raised
            found[test.grade_id] = (str(exc), [m["id"] for m in getattr(exc, "misconceptions", [])])
    return found


def test_every_exercise_states_conventions():
    assert sorted(CONVENTIONS) == [ex.number for ex in contract.EXERCISES]
    assert all(CONVENTIONS[ex.number] for ex in contract.EXERCISES)


@pytest.mark.parametrize("exercise", contract.EXERCISES, ids=lambda ex: f"ex{ex.number}")
def test_each_convention_is_graded_by_test_cells_of_its_exercise(exercise):
    own = {t.grade_id for t in exercise.tests}
    for convention in CONVENTIONS[exercise.number]:
        assert convention.checks, f"ex{exercise.number}: no test cell grades {convention.text!r}"
        unknown = set(convention.checks) - own
        assert not unknown, f"ex{exercise.number}: {convention.text!r} names test cells elsewhere: {unknown}"


@pytest.mark.parametrize("test", contract.TESTS, ids=lambda t: t.grade_id)
def test_each_test_cell_grades_a_stated_convention(test):
    number = contract.exercise_of(test.grade_id).number
    assert any(test.grade_id in c.checks for c in CONVENTIONS[number]), (
        f"{test.grade_id} grades no convention that exercise {number} states")


@pytest.mark.parametrize("test", contract.TESTS, ids=lambda t: t.grade_id)
def test_each_test_cell_fails_on_some_wrong_implementation(test):
    function = contract.exercise_of(test.grade_id)
    entries = [name for name, w in BANK.items() if contract.exercise_of(w.function) is function]
    assert any(test.grade_id in failures(name) for name in entries), (
        f"no wrong implementation in the bank fails {test.grade_id}: add one that breaks the convention it grades")


@pytest.mark.parametrize("spec", checks.SPECS.values(), ids=lambda s: s.name)
def test_every_diagnosis_fires_on_some_wrong_implementation(spec):
    entries = [name for name, w in BANK.items() if w.function == spec.name]
    messages = " ".join(m for name in entries for m in failures(name).values())
    silent = [m for m in spec.mistakes if m not in messages]
    assert not silent, f"{spec.name}: diagnoses that no bank entry triggers: {silent}"


@pytest.mark.parametrize("spec", checks.SPECS.values(), ids=lambda s: s.name)
def test_every_diagnosis_is_recorded_by_its_stable_id(spec):
    """The id travels with the failure (the class report counts it), and names the formula's own entry."""
    for mistake in spec.mistakes:
        entry = f"{spec.name}__{checks.misconception_slug(mistake)}"
        recorded = {i for _, ids in verdicts(entry).values() for i in ids}
        assert checks.misconception_id(spec.name, mistake) in recorded, (
            f"{entry} fails {sorted(verdicts(entry))} without recording {checks.misconception_id(spec.name, mistake)}")


def test_misconception_ids_are_unique_and_stable():
    ids = [checks.misconception_id(s.name, m) for s in checks.SPECS.values() for m in s.mistakes]
    assert len(ids) == len(set(ids)) == 109
    assert "quantize.floor_instead_of_round" in ids
    assert "kd_loss.the_tau_2_factor_missing" in ids


def test_the_notebook_states_exactly_the_table():
    assert nbformat.writes(source.synced(NOTEBOOK)) == nbformat.writes(NOTEBOOK), (
        "run 'make source' (python -m grader.publish.source sync), then 'make release'")
    for exercise in contract.EXERCISES:
        (intro,) = [c for c in NOTEBOOK.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                    == f"ex{exercise.number}_intro"]
        stated = intro.source.split(source.CONVENTIONS_HEADING)[1].split("\n\n**")[0]
        assert stated.count("\n- ") == len(CONVENTIONS[exercise.number])

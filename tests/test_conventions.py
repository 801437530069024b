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

from grader.course import capstone, checks, reference
from grader.course.bank import everything
from grader.publish import source

BANK = {w.name: w for w in everything()}
REFERENCE = {name: getattr(reference, name) for name in capstone.ALL_FUNCTIONS}
NOTEBOOKS = {tables.path: nbformat.read(tables.path, as_version=4) for tables in source.NOTEBOOKS}
VISIBLE_SOURCE = {c.metadata.nbgrader.grade_id: c.source for nb in NOTEBOOKS.values() for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade")
                  and c.metadata.nbgrader.grade_id in {t.grade_id for t in capstone.ALL_TESTS if not t.hidden}}
# (the notebook's tables, one exercise or capstone part): the exercises, then the capstone's parts
UNITS = [(tables, unit) for tables in source.NOTEBOOKS for unit in tables.exercises]
UNIT_IDS = [f"{tables.path.parent.name}-{tables.intro.format(unit.number).removesuffix('_intro')}"
            for tables, unit in UNITS]
TESTS = [(tables, unit, test) for tables, unit in UNITS for test in unit.tests]


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
    for test in capstone.unit_of(wrong.function).tests:
        try:
            if test.hidden:
                checks.run(test.grade_id, namespace)
            else:
                _run_visible(test.grade_id, namespace)
        except Exception as exc:  # noqa: BLE001 -- a failing test cell, whatever it raised
            found[test.grade_id] = (str(exc), [m["id"] for m in getattr(exc, "misconceptions", [])])
    return found


@pytest.mark.parametrize("tables", source.NOTEBOOKS, ids=lambda t: t.path.parent.name)
def test_every_exercise_and_part_states_conventions(tables):
    assert sorted(tables.conventions) == [ex.number for ex in tables.exercises]
    assert all(tables.conventions[ex.number] for ex in tables.exercises)


@pytest.mark.parametrize(("tables", "unit"), UNITS, ids=UNIT_IDS)
def test_each_convention_is_graded_by_test_cells_of_its_exercise(tables, unit):
    own = {t.grade_id for t in unit.tests}
    for convention in tables.conventions[unit.number]:
        assert convention.checks, f"{unit.title}: no test cell grades {convention.text!r}"
        unknown = set(convention.checks) - own
        assert not unknown, f"{unit.title}: {convention.text!r} names test cells elsewhere: {unknown}"


@pytest.mark.parametrize(("tables", "unit", "test"), TESTS, ids=[f"{t.path.parent.name}-{c.grade_id}" for t, _, c in TESTS])
def test_each_test_cell_grades_a_stated_convention(tables, unit, test):
    assert any(test.grade_id in c.checks for c in tables.conventions[unit.number]), (
        f"{test.grade_id} grades no convention that {unit.title!r} states")


@pytest.mark.parametrize("test", capstone.ALL_TESTS, ids=lambda t: t.grade_id)
def test_each_test_cell_fails_on_some_wrong_implementation(test):
    function = capstone.unit_of(test.grade_id)
    entries = [name for name, w in BANK.items() if capstone.unit_of(w.function) is function]
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
    assert len(ids) == len(set(ids)) == 109 + 18  # the exercises', the capstone's
    assert "quantize.floor_instead_of_round" in ids
    assert "kd_loss.the_tau_2_factor_missing" in ids


@pytest.mark.parametrize("tables", source.NOTEBOOKS, ids=lambda t: t.path.parent.name)
def test_the_notebook_states_exactly_the_table(tables):
    notebook = NOTEBOOKS[tables.path]
    assert nbformat.writes(source.synced(notebook, tables)) == nbformat.writes(notebook), (
        "run 'make source' (python -m grader.publish.source sync), then 'make release'")
    for exercise in tables.exercises:
        (intro,) = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                    == tables.intro.format(exercise.number)]
        stated = intro.source.split(source.CONVENTIONS_HEADING)[1].split("\n\n**")[0]
        assert stated.count("\n- ") == len(tables.conventions[exercise.number])


def test_the_capstone_reenters_the_exercises_solutions_verbatim():
    exercises, capstone_nb = (NOTEBOOKS[t.path] for t in source.NOTEBOOKS)
    reentered = {f for f, _ in capstone.REENTERED}
    assert {g: s for g, s in source.solutions(capstone_nb).items() if g in reentered} == {
        g: s for g, s in source.solutions(exercises).items() if g in reentered}

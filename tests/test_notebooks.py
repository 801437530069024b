"""The notebooks against the course contracts in grader.course (the exercises, the capstone).

Fast structural checks of the source and release notebooks, and (slow) the
lesson notebook and the capstone executed top to bottom in a fresh kernel.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from grader.course import capstone, checks, contract

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "quantization_and_distillation.ipynb"
COURSES = {c.ASSIGNMENT: c for c in (contract, capstone)}
SOURCES = {a: nbformat.read(ROOT / "source" / a / c.NOTEBOOK, as_version=4) for a, c in COURSES.items()}
RELEASES = {a: nbformat.read(ROOT / "release" / a / c.NOTEBOOK, as_version=4) for a, c in COURSES.items()}
ALL_TESTS = [(a, t) for a, c in COURSES.items() for t in c.TESTS]
by_assignment = pytest.mark.parametrize("assignment", COURSES)


def nbgrader_cells(nb, **flags):
    return [c for c in nb.cells
            if all(c.metadata.get("nbgrader", {}).get(k) == v for k, v in flags.items())]


@by_assignment
def test_test_cells_match_the_contract(assignment):
    cells = nbgrader_cells(SOURCES[assignment], grade=True)
    assert [(c.metadata.nbgrader.grade_id, c.metadata.nbgrader.points) for c in cells] == [
        (t.grade_id, t.points) for t in COURSES[assignment].TESTS
    ]
    assert sum(c.metadata.nbgrader.points for c in cells) == COURSES[assignment].TOTAL_POINTS


@by_assignment
def test_one_solution_cell_per_function(assignment):
    cells = nbgrader_cells(SOURCES[assignment], solution=True)
    assert [c.metadata.nbgrader.grade_id for c in cells] == list(COURSES[assignment].FUNCTIONS)
    for cell in cells:
        assert re.search(rf"^def {cell.metadata.nbgrader.grade_id}\(", cell.source, re.M)
        assert "### BEGIN SOLUTION" in cell.source


@pytest.mark.parametrize(("assignment", "test"), ALL_TESTS, ids=[f"{a}-{t.grade_id}" for a, t in ALL_TESTS])
def test_cell_is_hidden_exactly_when_the_contract_says(assignment, test):
    (cell,) = [c for c in nbgrader_cells(SOURCES[assignment], grade=True)
               if c.metadata.nbgrader.grade_id == test.grade_id]
    assert cell.source.lstrip().startswith('"""'), "each test cell opens with a one-line docstring"
    assert ("### BEGIN HIDDEN TESTS" in cell.source) == test.hidden
    if test.hidden:
        assert f"checks.{test.grade_id}(" in cell.source
        assert callable(getattr(checks, test.grade_id))


@by_assignment
def test_release_holds_no_solution_and_no_hidden_test(assignment):
    text = "\n".join(c.source for c in RELEASES[assignment].cells)
    for leak in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "from grader.course import checks",
                 "grader.course.reference", "import reference"):
        assert leak not in text
    assert text.count("raise NotImplementedError()") == len(COURSES[assignment].FUNCTIONS)


@by_assignment
def test_student_notebook_states_the_points(assignment):
    markdown = "\n".join(c.source for c in SOURCES[assignment].cells if c.cell_type == "markdown")
    assert str(COURSES[assignment].TOTAL_POINTS) in markdown


@pytest.mark.slow
def test_lesson_executes_top_to_bottom_without_errors_or_warnings():
    from nbclient import NotebookClient

    nb = nbformat.read(LESSON, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(LESSON.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 5


@pytest.mark.slow
def test_the_capstone_executes_top_to_bottom_without_errors_or_warnings():
    """With the reference solutions, in a fresh kernel: the model, the sweep, the digits (make bench-capstone
    times it)."""
    from nbclient import NotebookClient

    from grader.publish.site import kernel_env

    path = ROOT / "source" / capstone.ASSIGNMENT / capstone.NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=kernel_env())  # figures inline, as in JupyterLab and on the site
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == 3

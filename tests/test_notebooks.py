"""The notebooks against the course contract in grader.course.

Fast structural checks of the source and release notebooks, and (slow) the
lesson notebook executed top to bottom in a fresh kernel.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from grader.course import checks
from grader.course.contract import ASSIGNMENT, FUNCTIONS, NOTEBOOK, TESTS, TOTAL_POINTS

ROOT = Path(__file__).resolve().parent.parent
SOURCE = nbformat.read(ROOT / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
RELEASE = nbformat.read(ROOT / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
LESSON = ROOT / "notebooks" / "quantization_and_distillation.ipynb"


def nbgrader_cells(nb, **flags):
    return [c for c in nb.cells
            if all(c.metadata.get("nbgrader", {}).get(k) == v for k, v in flags.items())]


def test_test_cells_match_the_contract():
    cells = nbgrader_cells(SOURCE, grade=True)
    assert [(c.metadata.nbgrader.grade_id, c.metadata.nbgrader.points) for c in cells] == [
        (t.grade_id, t.points) for t in TESTS
    ]
    assert sum(c.metadata.nbgrader.points for c in cells) == TOTAL_POINTS


def test_one_solution_cell_per_function():
    cells = nbgrader_cells(SOURCE, solution=True)
    assert [c.metadata.nbgrader.grade_id for c in cells] == list(FUNCTIONS)
    for cell in cells:
        assert re.search(rf"^def {cell.metadata.nbgrader.grade_id}\(", cell.source, re.M)
        assert "### BEGIN SOLUTION" in cell.source


@pytest.mark.parametrize("test", TESTS, ids=[t.grade_id for t in TESTS])
def test_cell_is_hidden_exactly_when_the_contract_says(test):
    (cell,) = [c for c in nbgrader_cells(SOURCE, grade=True) if c.metadata.nbgrader.grade_id == test.grade_id]
    assert cell.source.lstrip().startswith('"""'), "each test cell opens with a one-line docstring"
    assert ("### BEGIN HIDDEN TESTS" in cell.source) == test.hidden
    if test.hidden:
        assert f"checks.{test.grade_id}(" in cell.source
        assert callable(getattr(checks, test.grade_id))


def test_release_holds_no_solution_and_no_hidden_test():
    text = "\n".join(c.source for c in RELEASE.cells)
    for leak in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "from grader.course import checks",
                 "grader.course.reference", "import reference"):
        assert leak not in text
    assert text.count("raise NotImplementedError()") == len(FUNCTIONS)


def test_student_notebook_states_the_points():
    markdown = "\n".join(c.source for c in SOURCE.cells if c.cell_type == "markdown")
    assert str(TOTAL_POINTS) in markdown


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

"""grader.grading.metadata.CheckCellMetadata gives nbgrader's verdicts, validating each metadata once."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import ValidationError
from nbgrader.preprocessors import CheckCellMetadata as Upstream

from grader.course.contract import ASSIGNMENT, NOTEBOOK
from grader.grading.metadata import CheckCellMetadata

RELEASE = nbformat.read(Path(__file__).resolve().parent.parent / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)


def breakages():
    def duplicate(nb):
        nb.cells.append(copy.deepcopy(next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))))

    def no_points(nb):
        next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")).metadata.nbgrader.pop("points")

    def empty_id(nb):
        next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")).metadata.nbgrader.grade_id = ""

    def markdown_grade(nb):
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
        nb.cells.append(nbformat.v4.new_markdown_cell("x", metadata={"nbgrader": dict(cell.metadata.nbgrader,
                                                                                      grade_id="md")}))

    return [duplicate, no_points, empty_id, markdown_grade]


@pytest.mark.parametrize("breakage", [None, *breakages()], ids=lambda b: getattr(b, "__name__", "intact"))
def test_same_verdict_as_nbgrader_twice_in_a_row(breakage):
    for _ in range(2):  # the second round runs from the cache
        nb = copy.deepcopy(RELEASE)
        if breakage:
            breakage(nb)
        verdicts = []
        for check in (Upstream(), CheckCellMetadata()):
            try:
                check.preprocess(copy.deepcopy(nb), {})
                verdicts.append("ok")
            except ValidationError:
                verdicts.append("invalid")
        assert verdicts[0] == verdicts[1] == ("ok" if breakage is None else "invalid")

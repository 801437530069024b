"""Correct code saved as an nbformat 3 notebook."""

import nbformat

from grader.course.contract import NOTEBOOK

from ._build import TOTAL

DESCRIPTION = "correct code, notebook written as nbformat 3"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    nbformat.write(nbformat.convert(nbformat.from_dict(perfect), 3), folder / NOTEBOOK)

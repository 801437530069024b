"""Correct code saved as an nbformat 3 notebook."""

import nbformat

from grader.course.contract import NOTEBOOK

DESCRIPTION = "correct code, notebook written as nbformat 3"
EXPECTED_SCORE = 100
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    nbformat.write(nbformat.convert(nbformat.from_dict(perfect), 3), folder / NOTEBOOK)

"""Exercises 1-5 solved, 6-10 left as handed out."""

from grader.course.contract import EXERCISES

from ._build import cell, write

DESCRIPTION = "honest, exercises 1-5 solved and 6-10 untouched"
EXPECTED_SCORE = 50
EXPECTED_STATUS = "graded"


def build(perfect, release, folder):
    for ex in EXERCISES[5:]:
        for function in ex.functions:
            cell(perfect, function)["source"] = cell(release, function)["source"]
    write(perfect, folder)

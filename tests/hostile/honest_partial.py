"""Exercises 1-5 solved, 6-10 left as handed out."""

from grader.course.contract import EXERCISES

from ._build import cell, points_of_exercises, write

DESCRIPTION = "honest, exercises 1-5 solved and 6-10 untouched"
EXPECTED_SCORE = points_of_exercises(1, 2, 3, 4, 5)
EXPECTED_STATUS = "graded"


def build(perfect, release, folder):
    for ex in EXERCISES[5:]:
        for function in ex.functions:
            cell(perfect, function)["source"] = cell(release, function)["source"]
    write(perfect, folder)

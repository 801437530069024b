"""The kernel ends itself in exercise 6: what ran before is graded, the rest is not."""

from ._build import extend, points_of_exercises, write

DESCRIPTION = "correct code, os._exit(0) at the end of the softmax cell (exercise 6)"
EXPECTED_SCORE = points_of_exercises(1, 2, 3, 4, 5)
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"process"}

PATCH = """
import os

os._exit(0)
"""


def build(perfect, release, folder):
    write(extend(perfect, "softmax", PATCH), folder)

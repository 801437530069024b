"""An endless loop that swallows KeyboardInterrupt in exercise 6: the kernel never answers again."""

from ._build import extend, points_of_exercises, write

DESCRIPTION = "correct code, a loop ignoring KeyboardInterrupt at the end of the softmax cell"
EXPECTED_SCORE = points_of_exercises(1, 2, 3, 4, 5)  # ran before the kernel hung
EXPECTED_STATUS = "graded"

PATCH = """
while True:
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass
"""


def build(perfect, release, folder):
    write(extend(perfect, "softmax", PATCH), folder)

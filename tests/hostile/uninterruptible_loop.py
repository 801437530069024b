"""An endless loop that swallows KeyboardInterrupt in exercise 6: the kernel never answers again."""

from ._build import extend, write

DESCRIPTION = "correct code, a loop ignoring KeyboardInterrupt at the end of the softmax cell"
EXPECTED_SCORE = 50  # exercises 1-5 ran before the kernel hung
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

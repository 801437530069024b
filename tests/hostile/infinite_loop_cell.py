"""An endless loop after the quantize function: the per-cell timeout interrupts it."""

from ._build import TOTAL, extend, write

DESCRIPTION = "correct code, while True: pass at the end of the quantize cell"
EXPECTED_SCORE = TOTAL  # interrupted after the cell timeout; quantize was defined before
EXPECTED_STATUS = "graded"

PATCH = """
while True:
    pass
"""


def build(perfect, release, folder):
    write(extend(perfect, "quantize", PATCH), folder)

"""sys.exit() at the end of a solution cell: IPython turns it into an error, the kernel lives on."""

from ._build import TOTAL, extend, write

DESCRIPTION = "correct code, sys.exit() at the end of the quantize cell"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"process"}

PATCH = """
import sys

sys.exit("done here")
"""


def build(perfect, release, folder):
    write(extend(perfect, "quantize", PATCH), folder)

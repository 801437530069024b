"""Wrong quantize behind replaced display and exception hooks."""

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, floor_quantize, points, write

DESCRIPTION = "wrong quantize + sys.displayhook, sys.excepthook and showtraceback replaced"
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"ipython-hook"}

PATCH = """
import sys

sys.displayhook = lambda value: sys.stdout.write("✓ passed\\n")
sys.excepthook = lambda *args: None
get_ipython().showtraceback = lambda *args, **kwargs: None
"""


def build(perfect, release, folder):
    write(floor_quantize(perfect, PATCH), folder)

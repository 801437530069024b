"""Wrong quantize behind replaced display and exception hooks."""

from ._build import floor_quantize, write

DESCRIPTION = "wrong quantize + sys.displayhook, sys.excepthook and showtraceback replaced"
EXPECTED_SCORE = 96
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

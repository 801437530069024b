"""Correct code that SIGKILLs its parent process."""

from ._build import TOTAL, extend, write

DESCRIPTION = "correct code + os.kill(os.getppid(), 9)"
EXPECTED_SCORE = TOTAL  # the parent is the sandbox's init, not the grader
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"process"}

PATCH = """
import os

try:
    os.kill(os.getppid(), 9)
except OSError:
    pass
"""


def build(perfect, release, folder):
    write(extend(perfect, "quantize", PATCH), folder)

"""A fork bomb in the dequantize cell, bounded by the sandbox's process limit.

The grading probe's thread started with the quantize tests, before the bomb, so it answers on.  A bomb
before the first test leaves no process slot for that thread: such a submission scores 0.
"""

from ._build import TOTAL, extend, write

DESCRIPTION = "correct code + while True: os.fork() in the dequantize cell"
EXPECTED_SCORE = TOTAL  # the forks fail at the process limit; the kernel and its probe go on
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"process"}

PATCH = """
import os

try:
    while True:
        os.fork()
except OSError:
    pass
"""


def build(perfect, release, folder):
    write(extend(perfect, "dequantize", PATCH), folder)

"""Correct code + fifty processes that spin forever, each in a new session, left running.

Without a bound on the sandbox as a whole, fifty runnable processes take most of the machine from the
submissions graded beside it (an honest one hit the cell timeout).  In a CPU cgroup the sandbox gets at
most one core and an equal share: the spinners slow only the kernel they came from, and die with it.
"""

from ._build import TOTAL, extend, write

DESCRIPTION = "correct code + 50 CPU spinners, each in a new session, left running (from the quantize cell)"
EXPECTED_SCORE = TOTAL  # the spinners slow its own kernel, which still answers every call in time
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"process"}

PATCH = """
import os

for _ in range(50):
    try:
        if os.fork() == 0:
            os.setsid()
            while True:
                pass
    except OSError:  # the process limit
        break
"""


def build(perfect, release, folder):
    write(extend(perfect, "quantize", PATCH), folder)

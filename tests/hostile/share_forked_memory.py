"""Correct code + five forked children holding 600 MB each, left running.

The address-space limit is per process: five children stay under it one by one and reach 3 GB together
(the red team's variant: 8.2 GB).  The sandbox's memory cgroup holds all of them to 2048 MB: the
out-of-memory killer ends children of this sandbox, never a neighbour's processes.
"""

from ._build import TOTAL, extend, write

DESCRIPTION = "correct code + 5 forked children allocating 600 MB each and sleeping (from the quantize cell)"
EXPECTED_SCORE = TOTAL  # the children are killed at the group's limit; the kernel (smaller) answers on
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"process"}

PATCH = """
import os
import time

for _ in range(5):
    if os.fork() == 0:
        try:
            _hog = bytearray(600 * 2**20)  # zero-filled: every page resident
            time.sleep(1000)
        finally:
            os._exit(0)
"""


def build(perfect, release, folder):
    write(extend(perfect, "quantize", PATCH), folder)

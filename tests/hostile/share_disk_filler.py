"""Correct code + forty 60 MB files written to the kernel's home (2.4 GB), each under the file-size limit.

The file-size limit is per file.  The sandbox's home is a tmpfs of its own, of bounded size (and counted
in its memory): the writes fail with ENOSPC once it is full, and nothing reaches the host's disk.
"""

from ._build import TOTAL, extend, write

DESCRIPTION = "correct code + 40 files of 60 MB in the home folder (from the quantize cell)"
EXPECTED_SCORE = TOTAL  # the writes fail when the home is full; the code goes on
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"file-write"}

PATCH = """
import os

_written = 0
try:
    for _i in range(40):
        with open(os.path.expanduser(f"~/fill-{_i}.bin"), "wb") as _fh:
            for _ in range(60):
                _fh.write(bytes(2**20))
                _written += 2**20
    print(f"wrote {_written // 2**20} MB")
except OSError as _error:
    print(f"wrote {_written // 2**20} MB, then: {_error.strerror}")
"""


def build(perfect, release, folder):
    write(extend(perfect, "quantize", PATCH), folder)

"""Correct code whose display updates try to grow cells past the output cap.

The quantize cell shows 400 outputs with one display id (more than its cap keeps); the softmax cell,
later, updates that id with 2.5 M characters, and does the same to 20 outputs of its own.  nbclient
applies a display update to every output with that id, in whichever cell it is, outside the
per-output accounting: 2.5 M characters times each output kept, in a cell already capped (and, for
the outputs the cap dropped, an IndexError that stopped the grading).  The per-cell cap must hold
for updates too.
"""

from ._build import TOTAL, extend, write

DESCRIPTION = "correct code + display updates of 2.5 M characters into an earlier, capped cell and into their own"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "graded"

EARLY = """
from IPython.display import display, update_display

for _ in range(400):
    display("working...", display_id="progress")
"""

LATER = """
from IPython.display import display, update_display

update_display("x" * 2_500_000, display_id="progress")  # lands in the quantize cell
for _ in range(20):
    display("here too", display_id="here")
update_display("y" * 2_500_000, display_id="here")  # lands in this cell, 20 times
"""


def build(perfect, release, folder):
    write(extend(extend(perfect, "quantize", EARLY), "softmax", LATER), folder)

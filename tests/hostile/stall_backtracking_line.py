"""Correct code with a 1 MB line of spaces in a cell that is not plain Python.

The integrity scan reads IPython syntax line by line with regular expressions, serially while the
driver stages the class.  Its old magic-line pattern backtracked quadratically on a line of spaces
(82 s for 280,000 of them; hours for this one); the scan must stay linear.
"""

from ._build import TOTAL, cell, write

DESCRIPTION = "correct code + a 1 MB line of spaces next to a %magic in the quantize cell"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "graded"

SPACES = 1_000_000


def build(perfect, release, folder):
    # The magic makes the cell fail ast.parse, so the scan reads it line by line as IPython.  Added
    # as is: _build.extend dedents, which would empty the line.
    cell(perfect, "quantize")["source"] += "\n\n%matplotlib inline\n" + " " * SPACES + "\n"
    write(perfect, folder)

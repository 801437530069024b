"""The control: every function solved as in the source notebook."""

from ._build import TOTAL, write

DESCRIPTION = "honest perfect submission"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "graded"


def build(perfect, release, folder):
    write(perfect, folder)

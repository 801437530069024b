"""The control: every function solved as in the source notebook."""

from ._build import write

DESCRIPTION = "honest perfect submission"
EXPECTED_SCORE = 100
EXPECTED_STATUS = "graded"


def build(perfect, release, folder):
    write(perfect, folder)

"""The notebook handed in under another name."""

from ._build import TOTAL, write

DESCRIPTION = "correct code in exercises-final.ipynb"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    write(perfect, folder, "exercises-final.ipynb")

"""The notebook handed in under another name."""

from ._build import write

DESCRIPTION = "correct code in exercises-final.ipynb"
EXPECTED_SCORE = 100
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    write(perfect, folder, "exercises-final.ipynb")

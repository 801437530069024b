"""Every cell carries the same id."""

from ._build import TOTAL, write

DESCRIPTION = "correct code, every cell id set to 'same'"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    for c in perfect["cells"]:
        c["id"] = "same"
    write(perfect, folder)

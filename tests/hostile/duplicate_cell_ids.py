"""Every cell carries the same id."""

from ._build import write

DESCRIPTION = "correct code, every cell id set to 'same'"
EXPECTED_SCORE = 100
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    for c in perfect["cells"]:
        c["id"] = "same"
    write(perfect, folder)

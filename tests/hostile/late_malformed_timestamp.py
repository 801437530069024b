"""timestamp.txt that nbgrader cannot parse (nbgrader autograde would abort on it)."""

from ._build import TOTAL, write

DESCRIPTION = "correct code, timestamp.txt holds 'yesterday': reported and dropped, not fatal"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    write(perfect, folder)
    (folder / "timestamp.txt").write_text("yesterday\n", encoding="utf-8")

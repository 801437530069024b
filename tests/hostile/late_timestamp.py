"""A submission as nbgrader collects it: the notebook and its timestamp.txt."""

from ._build import TOTAL, write

DESCRIPTION = "correct code with nbgrader's timestamp.txt: recorded, nothing to repair"
EXPECTED_SCORE = TOTAL  # the course here has no due date: the time is recorded, no penalty
EXPECTED_STATUS = "graded"


def build(perfect, release, folder):
    write(perfect, folder)
    (folder / "timestamp.txt").write_text("2024-03-01 12:00:00.000000 UTC", encoding="utf-8")

"""A huge timestamp.txt: not read beyond its size."""

from ._build import TOTAL, write

DESCRIPTION = "correct code, a 100 kB timestamp.txt: reported and dropped, not fatal"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    write(perfect, folder)
    (folder / "timestamp.txt").write_text("2024-03-01 12:00:00" + "0" * 100_000, encoding="utf-8")

"""timestamp.txt is a symbolic link (here to a hidden file beside it): not followed, noted."""

from ._build import TOTAL, write

DESCRIPTION = "correct code, timestamp.txt a symlink: ignored with a note, no submission time"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "repaired"


def build(perfect, release, folder):
    write(perfect, folder)
    (folder / ".stamp").write_text("2024-03-01 12:00:00.000000 UTC\n", encoding="utf-8")
    (folder / "timestamp.txt").symlink_to(".stamp")

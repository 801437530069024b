"""The only notebook is in a subfolder that is a symbolic link to another student's work."""

DESCRIPTION = "a subfolder linked to honest_perfect's folder holds the only notebook: not followed"
EXPECTED_SCORE = 0
EXPECTED_STATUS = "failed"


def build(perfect, release, folder):
    (folder / "work").symlink_to(f"../../honest_perfect/{folder.name}")  # relative to the folder: submitted/

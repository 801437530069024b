"""The assignment folder is a symbolic link to the instructor's source folder (solutions included)."""

DESCRIPTION = "submitted/<student>/quantization_distillation is a symlink to source/: refused"
EXPECTED_SCORE = 0
EXPECTED_STATUS = "failed"


def build(perfect, release, folder):
    folder.rmdir()
    folder.symlink_to(f"../../source/{folder.name}")  # relative to submitted/<student>/: the course's source/

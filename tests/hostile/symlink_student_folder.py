"""The student folder is a symbolic link to another student's folder (archives keep links)."""

DESCRIPTION = "submitted/<student> is a symlink to honest_perfect's folder: refused, not graded as theirs"
EXPECTED_SCORE = 0
EXPECTED_STATUS = "failed"


def build(perfect, release, folder):
    student = folder.parent  # submitted/symlink_student_folder
    folder.rmdir()
    student.rmdir()
    student.symlink_to("honest_perfect")  # relative to submitted/

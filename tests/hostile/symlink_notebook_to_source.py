"""The notebook is a symbolic link to the instructor's source notebook."""

DESCRIPTION = "exercises.ipynb is a symlink to source/.../exercises.ipynb: ignored, nothing else handed in"
EXPECTED_SCORE = 0
EXPECTED_STATUS = "failed"


def build(perfect, release, folder):
    (folder / "exercises.ipynb").symlink_to(f"../../../source/{folder.name}/exercises.ipynb")

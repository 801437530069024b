"""Correct code that tries to rewrite the instructor's notebooks and the nbgrader configuration."""

from ._build import TOTAL, extend, write

DESCRIPTION = "correct code + writes into source/, release/ and nbgrader_config.py"
EXPECTED_SCORE = TOTAL  # the attempt fails harmlessly; the code is correct
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"file-write"}

PATCH = """
import os

for _root in ["..", "../..", "../../..", {course!r}]:
    for _name in ["source/quantization_distillation/exercises.ipynb",
                  "release/quantization_distillation/exercises.ipynb", "nbgrader_config.py", "source/evil.py"]:
        try:
            os.makedirs(os.path.dirname(os.path.join(_root, _name)), exist_ok=True)
            with open(os.path.join(_root, _name), "w") as _fh:
                _fh.write("c.Autograde.autograde_preprocessors = []\\n")
        except OSError:
            pass
"""


def build(perfect, release, folder):
    write(extend(perfect, "quantize", PATCH.format(course=str(folder.parents[2]))), folder)

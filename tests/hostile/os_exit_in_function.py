"""The kernel ends itself when the checks call calibration_coverage (the last exercise)."""

from ._build import TOTAL, points_of_functions, solve, write

DESCRIPTION = "calibration_coverage calls os._exit(1)"
EXPECTED_SCORE = TOTAL - points_of_functions("calibration_coverage")
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"process"}

CODE = """
def calibration_coverage(activations, clip):
    import os

    os._exit(1)
"""


def build(perfect, release, folder):
    write(solve(perfect, "calibration_coverage", CODE), folder)

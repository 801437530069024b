"""calibration_coverage raises SystemExit when the checks call it."""

from ._build import TOTAL, points_of_functions, solve, write

DESCRIPTION = "calibration_coverage raises SystemExit"
EXPECTED_SCORE = TOTAL - points_of_functions("calibration_coverage")
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"process"}

CODE = """
def calibration_coverage(activations, clip):
    raise SystemExit(0)
"""


def build(perfect, release, folder):
    write(solve(perfect, "calibration_coverage", CODE), folder)

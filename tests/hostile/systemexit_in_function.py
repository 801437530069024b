"""calibration_coverage raises SystemExit when the checks call it."""

from ._build import solve, write

DESCRIPTION = "calibration_coverage raises SystemExit"
EXPECTED_SCORE = 96
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"process"}

CODE = """
def calibration_coverage(activations, clip):
    raise SystemExit(0)
"""


def build(perfect, release, folder):
    write(solve(perfect, "calibration_coverage", CODE), folder)

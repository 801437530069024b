"""calibration_coverage never returns: every call hits the per-call timeout."""

from ._build import TOTAL, points_of_functions, solve, write

DESCRIPTION = "calibration_coverage loops forever"
EXPECTED_SCORE = TOTAL - points_of_functions("calibration_coverage")
EXPECTED_STATUS = "graded"

CODE = """
def calibration_coverage(activations, clip):
    while True:
        pass
"""


def build(perfect, release, folder):
    write(solve(perfect, "calibration_coverage", CODE), folder)

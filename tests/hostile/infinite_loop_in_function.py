"""calibration_coverage never returns: every call hits the per-call timeout."""

from ._build import solve, write

DESCRIPTION = "calibration_coverage loops forever"
EXPECTED_SCORE = 96
EXPECTED_STATUS = "graded"

CODE = """
def calibration_coverage(activations, clip):
    while True:
        pass
"""


def build(perfect, release, folder):
    write(solve(perfect, "calibration_coverage", CODE), folder)

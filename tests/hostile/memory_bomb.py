"""calibration_coverage allocates until the address-space limit stops it."""

from ._build import TOTAL, points_of_functions, solve, write

DESCRIPTION = "calibration_coverage allocates 100 MB blocks until MemoryError"
EXPECTED_SCORE = TOTAL - points_of_functions("calibration_coverage")
EXPECTED_STATUS = "graded"

CODE = """
def calibration_coverage(activations, clip):
    hog = []
    while True:
        hog.append(bytearray(100 * 2**20))
"""


def build(perfect, release, folder):
    write(solve(perfect, "calibration_coverage", CODE), folder)

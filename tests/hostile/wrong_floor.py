"""The yardstick of the patching cases: quantize rounds with floor, nothing else."""

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, floor_quantize, points, write

DESCRIPTION = "quantize rounds with np.floor (plain wrong answer)"
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)
EXPECTED_STATUS = "graded"


def build(perfect, release, folder):
    write(floor_quantize(perfect), folder)

"""The yardstick of the patching cases: quantize rounds with floor, nothing else."""

from ._build import floor_quantize, write

DESCRIPTION = "quantize rounds with np.floor (plain wrong answer)"
EXPECTED_SCORE = 96  # seed example, half to even, matches reference, round trip
EXPECTED_STATUS = "graded"


def build(perfect, release, folder):
    write(floor_quantize(perfect), folder)

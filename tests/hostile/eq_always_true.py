"""quantize returns an object equal to everything."""

from ._build import TOTAL, points_of_functions, solve, write

DESCRIPTION = "quantize returns an object whose __eq__ always says yes"
# the round trip included: the object is not plain data
EXPECTED_SCORE = TOTAL - points_of_functions("quantize")
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"eq-override"}

CODE = """
class Anything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


def quantize(x, scale, zero_point=0, bits=8, signed=True):
    return Anything()
"""


def build(perfect, release, folder):
    write(solve(perfect, "quantize", CODE), folder)

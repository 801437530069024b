"""dequantize returns zeros in an ndarray subclass that claims equality with anything."""

from ._build import TOTAL, points, points_of_functions, solve, write

DESCRIPTION = "dequantize returns an ndarray subclass whose __eq__ is always True (zeros inside)"
EXPECTED_SCORE = TOTAL - points_of_functions("dequantize") - points("quantize_dequantize_roundtrip")
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"eq-override"}

CODE = """
class Same(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __ne__(self, other):
        return np.zeros(self.shape, dtype=bool)

    def __bool__(self):
        return True

    def astype(self, *args, **kwargs):
        return self


def dequantize(q, scale, zero_point=0):
    return np.zeros(np.shape(q)).view(Same)
"""


def build(perfect, release, folder):
    write(solve(perfect, "dequantize", CODE), folder)

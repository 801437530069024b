"""quantization_mse returns a float subclass equal to everything (and 0.0 underneath)."""

from ._build import TOTAL, points_of_functions, solve, write

DESCRIPTION = "quantization_mse returns a float subclass whose __eq__ is always True"
EXPECTED_SCORE = TOTAL - points_of_functions("quantization_mse")
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"eq-override"}

CODE = """
class Close(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__


def quantization_mse(w, w_hat):
    return Close(0.0)
"""


def build(perfect, release, folder):
    write(solve(perfect, "quantization_mse", CODE), folder)

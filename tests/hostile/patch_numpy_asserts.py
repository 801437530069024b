"""Wrong quantize behind NumPy comparisons patched to always pass (in the kernel only)."""

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, floor_quantize, points, write

DESCRIPTION = "wrong quantize + np.testing.assert_allclose / np.allclose / np.isclose patched to pass"
# as wrong_floor: the checks compare in the grading process
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"monkeypatch"}

PATCH = """
import numpy.testing

np.testing.assert_allclose = np.testing.assert_array_equal = lambda *args, **kwargs: None
np.allclose = np.array_equal = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
"""


def build(perfect, release, folder):
    write(floor_quantize(perfect, PATCH), folder)

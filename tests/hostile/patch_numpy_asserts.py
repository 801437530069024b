"""Wrong quantize behind NumPy comparisons patched to always pass (in the kernel only)."""

from ._build import floor_quantize, write

DESCRIPTION = "wrong quantize + np.testing.assert_allclose / np.allclose / np.isclose patched to pass"
EXPECTED_SCORE = 96  # as wrong_floor: the checks compare in the grading process
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

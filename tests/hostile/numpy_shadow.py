"""A numpy.py beside the notebook that would make every comparison pass if it were imported."""

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, floor_quantize, points, write

DESCRIPTION = "wrong quantize + numpy.py (and grader/checks.py) beside the notebook"
# extra files are never copied into the kernel's working directory
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)
EXPECTED_STATUS = "repaired"

FAKE = """
allclose = array_equal = lambda *args, **kwargs: True
def __getattr__(name):
    return lambda *args, **kwargs: True
"""


def build(perfect, release, folder):
    write(floor_quantize(perfect), folder)
    (folder / "numpy.py").write_text(FAKE, encoding="utf-8")
    (folder / "grader").mkdir()
    (folder / "grader" / "__init__.py").write_text("", encoding="utf-8")
    (folder / "grader" / "checks.py").write_text(FAKE, encoding="utf-8")

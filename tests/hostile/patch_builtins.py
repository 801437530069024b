"""Wrong quantize behind patched builtins: AssertionError no longer an error, print claiming success."""

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, floor_quantize, points, write

DESCRIPTION = "wrong quantize + builtins.AssertionError, isinstance and print patched"
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"monkeypatch"}

PATCH = """
import builtins

_isinstance = builtins.isinstance
builtins.isinstance = lambda obj, cls: cls is AssertionError or _isinstance(obj, cls)
builtins.AssertionError = type("AssertionError", (Warning,), {})
builtins.print = lambda *args, **kwargs: None
"""


def build(perfect, release, folder):
    write(floor_quantize(perfect, PATCH), folder)

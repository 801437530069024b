"""Wrong quantize behind a fake grader.course.checks module whose every check passes (in the kernel)."""

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, floor_quantize, points, write

DESCRIPTION = "wrong quantize + sys.modules['grader.course.checks'] replaced by checks that always pass"
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"reference-import"}

PATCH = """
import sys
import types

import grader

fake = types.ModuleType("grader.course.checks")
fake.__getattr__ = lambda name: (lambda *args, **kwargs: None)
sys.modules["grader.course.checks"] = grader.course.checks = fake
"""


def build(perfect, release, folder):
    write(floor_quantize(perfect, PATCH), folder)

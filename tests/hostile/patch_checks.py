"""Wrong quantize behind a fake grader.checks module whose every check passes (in the kernel)."""

from ._build import floor_quantize, write

DESCRIPTION = "wrong quantize + sys.modules['grader.checks'] replaced by checks that always pass"
EXPECTED_SCORE = 96
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"reference-import"}

PATCH = """
import sys
import types

import grader

fake = types.ModuleType("grader.checks")
fake.__getattr__ = lambda name: (lambda *args, **kwargs: None)
sys.modules["grader.checks"] = grader.checks = fake
"""


def build(perfect, release, folder):
    write(floor_quantize(perfect, PATCH), folder)

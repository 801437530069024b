"""Correct code that prints 50 MB."""

from ._build import TOTAL, extend, write

DESCRIPTION = "correct code + print of 50 MB in the quantize cell"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "graded"

PATCH = """
print("x" * 50_000_000)
"""


def build(perfect, release, folder):
    write(extend(perfect, "quantize", PATCH), folder)

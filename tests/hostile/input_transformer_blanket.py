"""Every later kernel cell turned into ``pass``: later solutions, and the grading probe, never run."""

from ._build import floor_quantize, write

DESCRIPTION = "wrong quantize + an input transformer that replaces every later cell by pass"
EXPECTED_SCORE = 0  # no function can be called any more: the submission sabotaged its own kernel
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"ipython-hook"}

PATCH = """
get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
"""


def build(perfect, release, folder):
    write(floor_quantize(perfect, PATCH), folder)

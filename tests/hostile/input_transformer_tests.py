"""An input transformer aimed at the test cells (docstring first, or calling checks)."""

from ._build import FLOOR_QUANTIZE_FAILS, TOTAL, floor_quantize, points, write

DESCRIPTION = "wrong quantize + an input transformer that blanks test cells in the kernel"
EXPECTED_SCORE = TOTAL - points(*FLOOR_QUANTIZE_FAILS)  # test cells never run in the kernel
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"ipython-hook"}

PATCH = '''
def _blank_tests(lines):
    text = "".join(lines)
    return ["pass\\n"] if text.lstrip().startswith('"""') or "checks." in text else lines


get_ipython().input_transformers_cleanup.append(_blank_tests)
'''


def build(perfect, release, folder):
    write(floor_quantize(perfect, PATCH), folder)

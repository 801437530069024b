"""Correct code that warns on every call: the warnings are recorded, not written to the test cells' stderr."""

import re

from grader.course.contract import FUNCTIONS

from ._build import TOTAL, cell, write

DESCRIPTION = "correct functions that each call warnings.warn (stderr in the kernel)"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "graded"

WRAPPER = '''

def {name}(*args, **kwargs):
    import warnings
    warnings.warn("{name} is a slow implementation")
    return _{name}_impl(*args, **kwargs)


import warnings
warnings.warn("cell with {name} ran")
'''


def build(perfect, release, folder):
    for name in FUNCTIONS:
        target = cell(perfect, name)
        target["source"] = re.sub(rf"^def {name}\(", f"def _{name}_impl(", target["source"], count=1, flags=re.M)
        target["source"] += WRAPPER.format(name=name)
    write(perfect, folder)

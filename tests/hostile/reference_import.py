"""Every function hands its call to grader.course.reference, which the sandbox does not have."""

from grader.course.contract import FUNCTIONS

from ._build import solve, write

DESCRIPTION = "every function imports grader.course.reference and returns its answer"
EXPECTED_SCORE = 0  # ModuleNotFoundError on every call
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"reference-import"}

CODE = """
def {name}(*args, **kwargs):
    from grader.course import reference

    return reference.{name}(*args, **kwargs)
"""


def build(perfect, release, folder):
    for name in FUNCTIONS:
        solve(perfect, name, CODE.format(name=name))
    write(perfect, folder)

"""calibration_coverage as a table of the answers to the inputs the public checks use (secret 0)."""

import contextlib
import io

import numpy as np

from grader.course import checks, reference
from grader.course.contract import TESTS

from ._build import TOTAL, cell, points, solve, write

DESCRIPTION = "calibration_coverage looks its answers up in a table recorded from the public checks"
# fixed cases are answered; the secretly seeded ones are not (the rejects check asks one first)
EXPECTED_SCORE = TOTAL - points("calibration_coverage_matches_reference", "calibration_coverage_rejects_bad_input")
EXPECTED_STATUS = "graded"

KEY = """
def _key(args):
    return repr([np.round(np.asarray(a, dtype=float), 12).tolist() for a in args])
"""

CODE = KEY + """

_TABLE = {table!r}


def calibration_coverage(activations, clip):
    kind, value = _TABLE.get(_key((activations, clip)), ("ok", 0.0))
    if kind == "raise":
        raise ValueError(value)
    return value
"""


def build(perfect, release, folder):
    namespace = {"np": np}
    exec(KEY, namespace)
    table = {}

    def recorder(*args):
        try:
            answer = reference.calibration_coverage(*args)
        except ValueError as err:
            table[namespace["_key"](args)] = ("raise", str(err))
            raise
        table[namespace["_key"](args)] = ("ok", answer)
        return answer

    tests = [t for t in TESTS if t.function == "calibration_coverage"]
    with contextlib.redirect_stdout(io.StringIO()):  # the seed example prints its verdict
        for test in tests:
            exec(cell(release, test.grade_id)["source"], {"np": np, "calibration_coverage": recorder})
            if test.hidden:
                getattr(checks, test.grade_id)(recorder)
    write(solve(perfect, "calibration_coverage", CODE.format(table=table)), folder)

"""adam_state_gb raises ValueError with a 3-million-character message, past the probe's own cut.

The kernel side of the probe cuts an exception's message, but it runs where student code can
replace it: the function wraps the probe's ``answer`` so that later replies carry the whole
message.  The checks quote it; the grading side must cut it where it arrives and again in the test
cell's output (it was 1.2 M characters per cell before).  adam_state_gb loses its points.
"""

from ._build import TOTAL, points_of_functions, solve, write

DESCRIPTION = "adam_state_gb raises a 3 M-character message, and lifts the probe's cut on it"
EXPECTED_SCORE = TOTAL - points_of_functions("adam_state_gb")
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"introspection"}

CODE = """
import sys as _sys

_HUGE = "adam_state_gb is not ready: " + "x" * 3_000_000


def _uncut(answer):
    def uncut_answer(namespace, name, request):
        reply = answer(namespace, name, request)
        if name == "adam_state_gb" and "raised" in reply:
            reply["raised"]["message"] = _HUGE
        return reply

    uncut_answer.uncut = True
    return uncut_answer


def adam_state_gb(n_trainable, bytes_per_value=4, n_moments=2):
    caller = _sys._getframe(1).f_globals  # the grading probe's namespace when the probe calls
    if "answer" in caller and not getattr(caller["answer"], "uncut", False):
        caller["answer"] = _uncut(caller["answer"])
    raise ValueError(_HUGE)
"""


def build(perfect, release, folder):
    write(solve(perfect, "adam_state_gb", CODE), folder)

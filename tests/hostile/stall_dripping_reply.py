"""qrange is right, but its reply leaves the kernel one byte every half second.

The function rebinds the grading probe's ``send_frame`` (reached through its caller's globals), so
the probe's thread drips the reply.  A socket timeout is per chunk, so each byte reset it and a call
could last as long as the reply is long (about 40 s here, for every call): the grader needs one
deadline per call across every chunk.  Each call then times out at that deadline and the checks
report it; qrange loses its points and nothing else does (the next call gets a fresh probe).
"""

from ._build import TOTAL, extend, points_of_functions, write

DESCRIPTION = "qrange correct, but it makes the probe drip its reply one byte at a time"
EXPECTED_SCORE = TOTAL - points_of_functions("qrange")
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"introspection"}

PATCH = """
import sys as _sys
import time as _time

_honest_qrange = qrange


def _dripping_send_frame(sock, data):
    for byte in len(data).to_bytes(4, "big") + data:
        sock.sendall(bytes([byte]))
        _time.sleep(0.5)


def qrange(bits, signed=True):
    caller = _sys._getframe(1).f_globals  # the grading probe's namespace when the probe calls
    if "send_frame" in caller:
        caller["send_frame"] = _dripping_send_frame
    return _honest_qrange(bits, signed)
"""


def build(perfect, release, folder):
    write(extend(perfect, "qrange", PATCH), folder)

"""Correct code that leaves processes behind: a child, a new session, a double-forked daemon."""

from ._build import TOTAL, extend, write

DESCRIPTION = "correct code + subprocess.Popen(['sleep', '1000']) and a double-forked daemon"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "graded"
EXPECTED_FLAGS = {"process"}

PATCH = """
import os
import subprocess

subprocess.Popen(["sleep", "1000"])
subprocess.Popen(["sleep", "1001"], start_new_session=True)
_pid = os.fork()
if _pid == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "1002"])
    os._exit(0)
os.waitpid(_pid, 0)
"""


def build(perfect, release, folder):
    write(extend(perfect, "quantize", PATCH), folder)

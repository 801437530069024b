"""Grade the class from the instructor's terminal: the trusted autograder, as root, through one sudo rule.

    python -m grader.hub autograde        (in a JupyterLab terminal of the instructor's server)

The trusted autograder (``python -m grader.grading.autograde``: sanitized, sandboxed, trusted,
parallel, as ``make autograde``) needs root: each kernel runs in bubblewrap as a dedicated uid, in a
cgroup. The instructor's server does not run as root, so this command asks sudo for exactly one
command, ``<course .venv>/bin/python -I -m grader.hub autograde``, which ``python -m grader.hub setup``
allows the instructor and no one else (/etc/sudoers.d/<course id>; no argument can be added to it,
``-I`` keeps the caller's folder and PYTHON* variables out of its imports). As root it reads the
class's record (root's), and grades the instructor's course folder from there, in an environment of
its own (the class's nbgrader configuration, the late policy included), whatever the caller's
environment or folder.

What the grading writes (autograded/, build/grading/, backups/, the gradebook's rows) is root's and
readable by the instructor; the formgrader's manual grades and comments are kept, since nbgrader's
autograde updates a submission's automatic scores and leaves its manual ones.
"""

from __future__ import annotations

import os
import subprocess
import sys

from grader.hub.classroom import ClassError, Classroom


def command() -> list[str]:
    return [sys.executable, "-I", "-m", "grader.hub", "autograde"]


def through_sudo() -> int:
    """Not root: run this same command as root through the class's sudo rule."""
    argv = ["sudo", "-n", *command()]
    allowed = subprocess.run(["sudo", "-n", "-l", *command()], capture_output=True, text=True)
    if allowed.returncode:
        print("error: sudo does not let this account run the class's autograder "
              f"({' '.join(command())}): only the instructor may, once root has run "
              "'python -m grader.hub setup'", file=sys.stderr)
        return 2
    return subprocess.run(argv).returncode


def as_root(classroom: Classroom) -> int:
    caller = os.environ.get("SUDO_USER")
    if caller not in (None, "root", classroom.instructor):
        print(f"error: {caller} is not this class's instructor ({classroom.instructor})", file=sys.stderr)
        return 2
    venv = classroom.course_venv
    env = {
        "PATH": f"{venv / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "JUPYTER_CONFIG_PATH": str(classroom.config_dir),
    }
    print(f"grading {classroom.course} as root (sandboxed): python -m grader.grading.autograde", flush=True)
    return subprocess.run([str(venv / "bin" / "python"), "-I", "-m", "grader.grading.autograde",
                           "--root", str(classroom.course)], cwd=classroom.course, env=env).returncode


def main() -> int:
    if os.geteuid() != 0:
        return through_sudo()
    try:
        classroom = Classroom.load()
    except ClassError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return as_root(classroom)

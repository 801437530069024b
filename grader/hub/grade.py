"""Grade the class from the instructor's terminal: the trusted autograder, as root, through one sudo rule.

    python -m grader.hub autograde [--assignment ID]   (in a JupyterLab terminal of the instructor's server)

The trusted autograder (``python -m grader.grading.autograde``: sanitized, sandboxed, trusted,
parallel, as ``make autograde``) needs root: each kernel runs in bubblewrap as a dedicated uid, in a
cgroup. The instructor's server does not run as root, so this command asks sudo for exactly one
command, ``<course .venv>/bin/python -I -m grader.hub autograde`` (alone, or with ``--assignment`` and
one of the class's assignments), which ``python -m grader.hub setup`` allows the instructor and no one
else (/etc/sudoers.d/<course id>; no other argument can be added to it,
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


def command(assignment: str | None = None) -> list[str]:
    """The command sudo allows: ``python -I -m grader.hub autograde`` (each collected assignment), or with
    ``--assignment ID`` for one of the class's (a rule line each; sudo allows no other argument)."""
    return [sys.executable, "-I", "-m", "grader.hub", "autograde", *(["--assignment", assignment] if assignment else [])]


def through_sudo(assignment: str | None) -> int:
    """Not root: run this same command as root through the class's sudo rule."""
    argv = ["sudo", "-n", *command(assignment)]
    allowed = subprocess.run(["sudo", "-n", "-l", *command(assignment)], capture_output=True, text=True)
    if allowed.returncode:
        print("error: sudo does not let this account run the class's autograder "
              f"({' '.join(command(assignment))}): only the instructor may, for the class's assignments, once root "
              "has run 'python -m grader.hub setup'", file=sys.stderr)
        return 2
    return subprocess.run(argv).returncode


def collected(classroom: Classroom, assignment: str) -> list[str]:
    """The students with a collected submission of ``assignment`` in the course folder."""
    submitted = classroom.course / "submitted"
    return sorted(p.parent.name for p in submitted.glob(f"*/{assignment}")) if submitted.is_dir() else []


def as_root(classroom: Classroom, assignment: str | None) -> int:
    caller = os.environ.get("SUDO_USER")
    if caller not in (None, "root", classroom.instructor):
        print(f"error: {caller} is not this class's instructor ({classroom.instructor})", file=sys.stderr)
        return 2
    if assignment is not None and assignment not in classroom.assignments:
        print(f"error: {assignment!r} is not an assignment of this class ({', '.join(classroom.assignments)})",
              file=sys.stderr)
        return 2
    venv = classroom.course_venv
    env = {
        "PATH": f"{venv / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "JUPYTER_CONFIG_PATH": str(classroom.config_dir),
    }
    worst = 0
    for name in [assignment] if assignment else classroom.assignments:
        students = collected(classroom, name)
        if not students:
            print(f"{name}: nothing collected yet (formgrader's Collect, or nbgrader collect {name})", flush=True)
            continue
        print(f"grading {name} in {classroom.course} as root (sandboxed), {len(students)} collected: "
              f"python -m grader.grading.autograde --assignment {name}", flush=True)
        done = subprocess.run([str(venv / "bin" / "python"), "-I", "-m", "grader.grading.autograde",
                               "--root", str(classroom.course), "--assignment", name],
                              cwd=classroom.course, env=env)
        worst = max(worst, done.returncode)
    return worst


def main(assignment: str | None = None) -> int:
    if os.geteuid() != 0:
        return through_sudo(assignment)
    try:
        classroom = Classroom.load()
    except ClassError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return as_root(classroom, assignment)

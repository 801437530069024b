"""The class on JupyterHub, on this machine.

    python -m grader.hub setup  [--roster CSV] [--instructor NAME] [--root DIR] [--port N] [--due WHEN]
                                [--percent-per-day P] [--zero-after-days N]
    python -m grader.hub start  [the same options]      set up (idempotent), then run the hub until Ctrl-C
    python -m grader.hub autograde [--assignment ID]    the instructor grades what was collected (in their
                                                        JupyterLab terminal): each assignment, or the one named
    python -m grader.hub reset --yes                    the class starts again (tests, a new term)
    python -m grader.hub remove --yes                   undo setup: the class's accounts, folders, sudo rule
    python -m grader.hub accounts                       the accounts and their passwords

``setup`` and ``start`` need root (``make hub`` runs ``start``): local accounts for the instructor
and the roster's students (``grader/hub/sample_roster.csv`` by default: two students), nbgrader's
exchange, the student environment for students' servers, the instructor's course folder and its
gradebook (students, due date), a sudo rule for ``autograde``; then JupyterHub on
http://127.0.0.1:PORT (8000 by default), with PAM login. ``grader/hub/setup.py`` says what each step
does, ``grader/hub/jupyterhub_config.py`` how the hub is configured.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from grader.hub.classroom import (
    DEFAULT_INSTRUCTOR,
    DEFAULT_PORT,
    DEFAULT_ROOT,
    RECORD,
    SAMPLE_ROSTER,
    ClassError,
    Classroom,
)


def when(text: str) -> datetime:
    """An ISO date and time; without a zone, UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date and time (e.g. 2030-01-31T23:59): {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m grader.hub", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = main.add_subparsers(dest="command", required=True)
    for name, summary in (("setup", "set the class up (root)"), ("start", "set up, then run the hub (root)")):
        p = sub.add_parser(name, help=summary, description=summary)
        p.add_argument("--roster", type=Path, default=SAMPLE_ROSTER,
                       help="students: student_id,name,lms_id[,email][,password] (default: %(default)s)")
        p.add_argument("--instructor", default=DEFAULT_INSTRUCTOR, help="the instructor's account (%(default)s)")
        p.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                       help="the class's folder: exchange, student environment (default: %(default)s)")
        p.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help="the hub's port on 127.0.0.1 (default: %(default)s); the next two are its API's and "
                       "the proxy's API's")
        p.add_argument("--due", type=when, default=None,
                       help="each assignment's due date, ISO (default: a week from the first setup; later setups "
                       "keep it)")
        p.add_argument("--percent-per-day", type=float, default=10.0,
                       help="late policy: percent of the score off per started day late (default: %(default)s)")
        p.add_argument("--zero-after-days", type=int, default=5,
                       help="late policy: more days late than this scores 0 (default: %(default)s)")
    autograde = sub.add_parser(
        "autograde", help="grade the collected submissions: the trusted autograder, via sudo",
        description="Run by the instructor (a JupyterLab terminal): python -m grader.grading.autograde on the "
        "course folder, as root (sandboxed), through the class's sudo rule; each assignment with collected "
        "submissions, or only --assignment.")
    autograde.add_argument("--assignment", metavar="ID", help="grade only this assignment (default: each one "
                           "with collected submissions)")
    reset = sub.add_parser("reset", help="start the class again: exchange, students' work, course state (root)")
    reset.add_argument("--yes", action="store_true", help="yes, delete them")
    remove = sub.add_parser("remove", help="undo setup: the class's accounts with their homes (the course folder "
                            "too), the class's folder, the sudo rule, the hub's state (root)")
    remove.add_argument("--yes", action="store_true", help="yes, delete them")
    sub.add_parser("accounts", help="print the accounts and their passwords (root)")
    return main


def classroom_for(args) -> Classroom:
    return Classroom(root=args.root.resolve(), instructor=args.instructor, port=args.port)


def reset(classroom: Classroom) -> None:
    """Empty the exchange, the students' fetched work, the course's grading state, everyone's JupyterLab
    workspaces and the hub's database."""
    import pwd

    for entry in classroom.exchange.iterdir() if classroom.exchange.exists() else []:
        shutil.rmtree(entry)
    for name in classroom.users:
        home = Path(pwd.getpwnam(name).pw_dir)
        shutil.rmtree(home / ".jupyter" / "lab" / "workspaces", ignore_errors=True)  # JupyterLab's open tabs
        if name in classroom.students:
            for path in (*(home / a for a in classroom.assignments),
                         home / ".local" / "share" / "jupyter" / "nbgrader_cache"):
                shutil.rmtree(path, ignore_errors=True)
    course = classroom.course
    for name in ("release", "submitted", "autograded", "feedback", "build", "backups"):
        shutil.rmtree(course / name, ignore_errors=True)
    for name in ("gradebook.db", ".grading_secret"):
        (course / name).unlink(missing_ok=True)
    (classroom.state / "jupyterhub.sqlite").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "autograde":
            from grader.hub import grade

            return grade.main(args.assignment)
        if args.command in ("setup", "start"):
            from grader.hub import serve, setup

            classroom = setup.setup(classroom_for(args), args.roster, args.due, args.percent_per_day,
                                    args.zero_after_days)
            if args.command == "setup":
                print(f"the class is set up ({RECORD}); start it with: python -m grader.hub start")
                return 0
            return serve.run(classroom, classroom.port)
        from grader.hub import accounts, setup

        setup.require_root()
        classroom = Classroom.load()
        if args.command == "accounts":
            for name, entry in accounts.details(classroom).items():
                print(f"{name}\t{entry['password']}\t{entry['full_name']}")
            return 0
        if args.command == "remove":
            if not args.yes:
                print("error: remove deletes the class's accounts with their homes (the instructor's course "
                      "folder and gradebook among them) and the class's folder: pass --yes", file=sys.stderr)
                return 2
            for line in setup.remove(classroom):
                print(line)
            print("the class is removed from this machine")
            return 0
        if not args.yes:
            print("error: reset deletes the exchange, the students' fetched work and the course's grading "
                  "state: pass --yes", file=sys.stderr)
            return 2
        reset(classroom)
        print("the class starts again: run python -m grader.hub setup (or start)")
        return 0
    except ClassError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

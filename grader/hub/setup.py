"""Set the class up on this machine (root): accounts, exchange, environments, course folder, sudo rule.

Each step is idempotent: running it again keeps accounts, passwords, the instructor's course folder
and what the students did, and brings the rest up to date.

1. The proxy: npm's ``configurable-http-proxy`` into build/hub/proxy.
2. Accounts (``grader.hub.accounts``): the instructor, and the students of the roster.
3. The checkout holds the answer key (source/, grader/course/): it is made unreadable to everyone but
   root and the instructor's group (``chmod 0750``, group of the instructor), since the instructor's
   server runs in its .venv.
4. The class's folder (``grader.hub.classroom``): the exchange, ``0777`` as nbgrader documents, plus
   the sticky bit (no one removes another's folder); the student environment
   (``grader.publish.student_env``: the student wheel, no answer key) with ``jupyterhub-singleuser``,
   checked to hold no answers; the class's nbgrader configuration.
5. The instructor's course folder, ``/home/<instructor>/<course id>`` (0700): the course's
   ``nbgrader_config.py`` and each configured assignment's ``source/``, copied once from the checkout;
   the students and each assignment's due date in its gradebook, through nbgrader's own ``nbgrader db`` commands run as the instructor.
6. ``/etc/sudoers.d/<course id>``: the instructor may run ``python -I -m grader.hub autograde`` (the
   trusted, sandboxed autograder, which needs root) as root, alone or with ``--assignment`` and one of
   the class's assignments, and nothing else.
"""

from __future__ import annotations

import grp
import hashlib
import importlib.metadata
import json
import os
import pwd
import shutil
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

from grader.grading import assignments
from grader.hub import accounts
from grader.hub.classroom import PROXY_VERSION, ClassError, Classroom
from grader.publish import student_env

SUDOERS_DIR = Path("/etc/sudoers.d")
# Server extensions and JupyterLab plugins a student's server does without: the instructor's side of
# nbgrader (formgrader, create assignment, course list), and JupyterLab's news (it would go online).
# page_config.json is not merged across folders: the student venv's replaces the class's.
STUDENT_DISABLED_LAB_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
    "@jupyterlab/apputils-extension:announcements",  # the class's labconfig says so too; a venv's wins
)
STUDENT_DISABLED_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)


def require_root() -> None:
    if os.geteuid() != 0:
        raise ClassError("the class needs root: local accounts, PAM login, each server as its user's uid "
                         "(sudo make hub, or run as root)")


def require_tools() -> None:
    missing = [(tool, package) for tool, package in (("npm", "npm"), ("sudo", "sudo"), ("visudo", "sudo"),
                                                     ("bwrap", "bubblewrap"), ("useradd", "passwd"),
                                                     ("runuser", "util-linux"))
               if shutil.which(tool) is None]
    if missing:
        packages = " ".join(sorted({p for _, p in missing}))
        raise ClassError(f"missing {', '.join(t for t, _ in missing)}: apt-get install {packages}")


def run_as(classroom: Classroom, user: str, argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``argv`` as ``user`` (runuser), in the environment their server has."""
    home = pwd.getpwnam(user).pw_dir
    env = ["env", "-i", f"HOME={home}", f"USER={user}", f"LOGNAME={user}",
           *(f"{k}={v}" for k, v in classroom.server_environment(user).items())]
    done = subprocess.run(["runuser", "-u", user, "--", *env, *argv], cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise ClassError(f"{' '.join(argv)} (as {user}) failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return done


# ------------------------------------------------------------------ 1. the proxy


def proxy(classroom: Classroom) -> Path:
    if not classroom.proxy.exists():
        folder = classroom.proxy.parents[2]
        folder.mkdir(parents=True, exist_ok=True)
        print(f"installing configurable-http-proxy {PROXY_VERSION} (npm) into {folder}", flush=True)
        done = subprocess.run(["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund",
                               "--loglevel=error", f"configurable-http-proxy@{PROXY_VERSION}"],
                              capture_output=True, text=True)
        if done.returncode or not classroom.proxy.exists():
            raise ClassError(f"npm install configurable-http-proxy failed:\n{done.stderr[-2000:]}")
    return classroom.proxy


# ------------------------------------------------------------------ 3. the checkout


def lock_checkout(classroom: Classroom) -> None:
    """The checkout: root's and the instructor group's only (it holds source/ and grader/course/)."""
    gid = grp.getgrnam(classroom.instructor).gr_gid
    os.chown(classroom.checkout, -1, gid)
    os.chmod(classroom.checkout, 0o750)


# ------------------------------------------------------------------ 4. the class's folder


def class_config(classroom: Classroom, percent_per_day: float, zero_after_days: int) -> str:
    return textwrap.dedent(f'''\
        """The class on JupyterHub: what every server of the class reads (written by python -m grader.hub setup).

        On each server's JUPYTER_CONFIG_PATH, and on the trusted autograder's (python -m grader.hub autograde).
        The course's own settings are in the instructor's course folder ({classroom.course}/nbgrader_config.py).
        """

        from nbgrader.auth import JupyterHubAuthPlugin

        c = get_config()  # noqa: F821 -- injected by the config loader

        c.CourseDirectory.course_id = {classroom.course_id!r}
        # nbgrader's exchange, a shared folder: release, fetch, submit, collect, feedback.
        c.Exchange.root = {str(classroom.exchange)!r}
        # Who is in the course: JupyterHub's groups formgrade-{classroom.course_id} (instructors) and
        # nbgrader-{classroom.course_id} (students), read through the hub's API with each server's token.
        c.Authenticator.plugin_class = JupyterHubAuthPlugin

        # Student code runs only in the root sandbox: grading started in the instructor's server (formgrader's
        # autograde button, nbgrader autograde in a terminal) is refused with what to run instead.
        c.SandboxKernelManager.minimum_isolation = "bubblewrap+uid"
        c.SandboxKernelManager.isolation_hint = (
            "Grade from a terminal with: python -m grader.hub autograde (the trusted autograder, as root via sudo)")

        # The late policy (grader/grading/late.py), applied by nbgrader's AssignLatePenalties at autograde.
        c.AssignLatePenalties.plugin_class = "grader.grading.late.PercentPerDayLate"
        c.PercentPerDayLate.percent_per_day = {percent_per_day!r}
        c.PercentPerDayLate.zero_after_days = {zero_after_days!r}
        ''')


def class_folder(classroom: Classroom, percent_per_day: float, zero_after_days: int) -> None:
    classroom.root.mkdir(parents=True, exist_ok=True)
    os.chmod(classroom.root, 0o755)
    classroom.exchange.mkdir(exist_ok=True)
    os.chown(classroom.exchange, 0, 0)
    os.chmod(classroom.exchange, 0o1777)
    classroom.config_dir.mkdir(parents=True, exist_ok=True)
    config = classroom.config_dir / "nbgrader_config.py"
    config.write_text(class_config(classroom, percent_per_day, zero_after_days))
    # Every server of the class: JupyterLab's news feed, update check and PyPI extension manager off
    # (they would go online, and the class's servers are the instructor's to change).
    (classroom.config_dir / "labconfig").mkdir(exist_ok=True)
    (classroom.config_dir / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}, indent=2) + "\n")
    # A terminal's shell is not a login shell: Debian's /etc/profile would reset PATH, and the server's
    # environment (its venv first: nbgrader, python -m grader.hub autograde) would be lost in it.
    (classroom.config_dir / "jupyter_server_config.json").write_text(json.dumps(
        {"LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                    "extension_manager": "readonly"},
         "ServerApp": {"terminado_settings": {"shell_command": ["/bin/bash", "-i"]}}}, indent=2) + "\n")
    for path in classroom.config_dir.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def student_sources_digest(checkout: Path) -> str:
    """A digest of what the student wheel is built from (grader/__init__.py, grader/student/ with its data,
    pyproject.toml)."""
    digest = hashlib.sha256()
    files = [checkout / "pyproject.toml", checkout / "grader" / "__init__.py",
             *sorted(p for p in (checkout / "grader" / "student").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)]
    for path in files:
        digest.update(str(path.relative_to(checkout)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def student_environment(classroom: Classroom) -> Path:
    """The student environment with jupyterhub-singleuser at the hub's version, checked to hold no answers."""
    venv = classroom.student_venv
    hub = importlib.metadata.version("jupyterhub")
    stamp = venv / ".class-stamp"  # what it was made from: kept while that is unchanged
    made_from = student_sources_digest(classroom.checkout) + f" jupyterhub=={hub}"
    if not (stamp.exists() and stamp.read_text() == made_from and student_env.venv_python(venv).exists()):
        wheel = student_env.build_wheel(classroom.checkout / "dist")
        print(f"student environment: {venv}", flush=True)
        student_env.create(venv, wheel)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", f"jupyterhub=={hub}"], check=True)
        stamp.write_text(made_from)
    etc = venv / "etc" / "jupyter"
    (etc / "labconfig").mkdir(parents=True, exist_ok=True)
    (etc / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {plugin: True for plugin in STUDENT_DISABLED_LAB_PLUGINS}}, indent=2) + "\n")
    (etc / "jupyter_server_config.d").mkdir(exist_ok=True)
    # After nbgrader.json in the same folder (loaded in name order): the instructor's extensions off.
    (etc / "jupyter_server_config.d" / "zz-student.json").write_text(json.dumps({
        "ServerApp": {"jpserver_extensions": {ext: False for ext in STUDENT_DISABLED_SERVER_EXTENSIONS}},
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                   "extension_manager": "readonly"},
    }, indent=2) + "\n")
    problems = student_env.check(venv)
    if problems:
        raise ClassError("the student environment holds answers: " + "; ".join(problems))
    return venv


# ------------------------------------------------------------------ 5. the course folder


def class_assignments(checkout: Path) -> list[str]:
    """The assignments the checkout's nbgrader_config.py configures (c.GradedAssignments.contracts), in its order."""
    configured = assignments.configured(assignments.load_config(checkout))
    if not configured:
        raise ClassError(f"{checkout / 'nbgrader_config.py'} configures no assignment (c.GradedAssignments.contracts)")
    return list(configured)


def course_folder(classroom: Classroom, students: list[accounts.Account], due: datetime | None) -> None:
    """The course folder, and its gradebook's students and due date."""
    user = pwd.getpwnam(classroom.instructor)
    course = classroom.course
    created = not course.exists()
    course.mkdir(mode=0o700, exist_ok=True)
    if not (course / "nbgrader_config.py").exists():
        shutil.copyfile(classroom.checkout / "nbgrader_config.py", course / "nbgrader_config.py")
    for assignment in classroom.assignments:
        source = course / "source" / assignment
        if not source.exists():
            shutil.copytree(classroom.checkout / "source" / assignment, source)
    # The formgrader runs in the instructor's server (cwd: their home) and reads ~/.jupyter: the course's file.
    jupyter = classroom.instructor_home / ".jupyter"
    jupyter.mkdir(exist_ok=True)
    (jupyter / "nbgrader_config.py").write_text(
        "# The instructor's nbgrader configuration (python -m grader.hub setup): the course's own.\n"
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(course / 'nbgrader_config.py')!r})  # noqa: F821\n")
    for path in (course, jupyter):
        for folder, dirs, files in os.walk(path):
            for name in [folder, *(os.path.join(folder, f) for f in dirs + files)]:
                os.lchown(name, user.pw_uid, user.pw_gid)
    os.chmod(course, 0o700)
    gradebook(classroom, students, due)
    if created:
        print(f"course folder: {course}", flush=True)


# As the instructor (the gradebook is theirs), in one process: nbgrader's Gradebook API, as `nbgrader db
# student add` and `nbgrader db assignment add` use it, without the hub's groups (jupyterhub_config.py has them).
GRADEBOOK = """
import json, sys
from datetime import datetime, timedelta, timezone
from nbgrader.api import Gradebook, MissingEntry
db, assignments, students, due = json.loads(sys.argv[1])
with Gradebook(db) as gb:
    for student in students:
        gb.update_or_create_student(student["id"], first_name=student["first_name"],
                                    last_name=student["last_name"], email=student["email"])
    for assignment in assignments:
        try:
            has_due = gb.find_assignment(assignment).duedate is not None
        except MissingEntry:
            has_due = False
        if due or not has_due:
            when = due or (datetime.now(timezone.utc) + timedelta(days=7)).strftime("%Y-%m-%d %H:%M:%S UTC")
            gb.update_or_create_assignment(assignment, duedate=when)
"""


def gradebook(classroom: Classroom, students: list[accounts.Account], due: datetime | None) -> None:
    """The roster's students in the gradebook; each assignment's due date when given, or a week from now when it
    has none."""
    rows = []
    for student in students:
        first, last = accounts.first_last(student.full_name)
        rows.append({"id": student.name, "first_name": first, "last_name": last, "email": student.email})
    stamp = due.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if due else None
    argument = json.dumps([f"sqlite:///{classroom.course / 'gradebook.db'}", classroom.assignments, rows, stamp])
    run_as(classroom, classroom.instructor, [str(classroom.course_venv / "bin" / "python"), "-I", "-c", GRADEBOOK,
                                             argument], cwd=classroom.course)


# ------------------------------------------------------------------ 6. the sudo rule


def autograde_commands(classroom: Classroom) -> list[list[str]]:
    """What the instructor may run as root: the autograder for each collected assignment, or for one."""
    command = [str(classroom.course_venv / "bin" / "python"), "-I", "-m", "grader.hub", "autograde"]
    return [command, *([*command, "--assignment", a] for a in classroom.assignments)]


def sudo_rule(classroom: Classroom) -> Path:
    rule = SUDOERS_DIR / classroom.course_id.replace(".", "-")
    text = (f"# The class on JupyterHub (python -m grader.hub setup): {classroom.instructor} may run the trusted,\n"
            "# sandboxed autograder as root (its sandbox needs root), and nothing else.\n"
            f"{classroom.instructor} ALL=(root) NOPASSWD: "
            + ", ".join(" ".join(c) for c in autograde_commands(classroom)) + "\n")
    SUDOERS_DIR.mkdir(mode=0o750, exist_ok=True)
    tmp = SUDOERS_DIR / f".{rule.name}.new"  # sudo skips names with a dot
    tmp.write_text(text)
    tmp.chmod(0o440)
    check = subprocess.run(["visudo", "-c", "-q", "-f", str(tmp)], capture_output=True, text=True)
    if check.returncode:
        tmp.unlink()
        raise ClassError(f"visudo rejects the autograde rule: {check.stdout}{check.stderr}")
    tmp.replace(rule)
    return rule


# ------------------------------------------------------------------ all of it


def setup(classroom: Classroom, roster: Path, due: datetime | None = None, percent_per_day: float = 10.0,
          zero_after_days: int = 5) -> Classroom:
    require_root()
    require_tools()
    students = accounts.read_roster(roster)
    names = [s.name for s in students]
    if classroom.instructor in names:
        raise ClassError(f"{roster}: {classroom.instructor} is the instructor, not a student")
    classroom.students = names
    classroom.assignments = class_assignments(classroom.checkout)
    proxy(classroom)
    accounts.ensure(classroom, [accounts.Account(classroom.instructor, "Instructor"), *students])
    lock_checkout(classroom)
    class_folder(classroom, percent_per_day, zero_after_days)
    student_environment(classroom)
    course_folder(classroom, students, due)
    sudo_rule(classroom)
    classroom.save()
    return classroom


# ------------------------------------------------------------------ and undone


# What setup makes in the class's folder: only these are removed (the folder itself when that leaves it empty).
CLASS_FOLDER_ENTRIES = ("exchange", "student-venv", "etc")


def remove(classroom: Classroom) -> list[str]:
    """Undo setup: the accounts it made (with their homes, the course folder among them), the class's folder,
    the sudo rule, the checkout's permissions, the hub's state. What it did, a line each."""
    from grader.hub import serve

    require_root()
    running = serve.class_processes(classroom, classroom.port)
    if running:
        raise ClassError("the class is running (" + "; ".join(running.values())[:300] + "): stop the hub first")
    done = []
    for name in accounts.details(classroom):  # only the accounts the class made (build/hub/accounts.json)
        if accounts.exists(name):
            gone = subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
            if gone.returncode not in (0, 12):  # 12: the home could not be removed entirely (said below)
                raise ClassError(f"userdel {name} failed: {gone.stderr.strip()}")
            done.append(f"removed the account {name} and its home")
    for entry in CLASS_FOLDER_ENTRIES:
        path = classroom.root / entry
        if path.exists():
            shutil.rmtree(path)
            done.append(f"removed {path}")
    if classroom.root.is_dir() and not any(classroom.root.iterdir()):
        classroom.root.rmdir()
    rule = SUDOERS_DIR / classroom.course_id.replace(".", "-")
    if rule.exists():
        rule.unlink()
        done.append(f"removed the sudo rule {rule}")
    os.chown(classroom.checkout, -1, 0)
    os.chmod(classroom.checkout, 0o755)
    done.append(f"{classroom.checkout}: 0755, group root again")
    for entry in classroom.state.iterdir() if classroom.state.is_dir() else []:
        if entry.suffix != ".log":  # the hub's logs stay, to read what happened
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    done.append(f"removed the hub's state in {classroom.state} (passwords, proxy, hub database; its logs kept)")
    return done


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run python -m grader.hub setup")

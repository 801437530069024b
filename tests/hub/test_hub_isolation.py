"""Isolation between the people of the class, as each of them: a student reaches nothing but their own.

Run after the whole story (tests/hub/conftest.py orders it so), whose state it reads: the instructor's
course folder with its gradebook, the grading secret, autograded and feedback files; both students'
fetched work, their submissions in the exchange. When run alone, it makes that state itself with
nbgrader's commands run as each account, and the trusted autograder through the instructor's sudo rule.

Each probe runs as the account's uid (runuser) in the Python of that account's server, and reports for
every path what happened; the same probe as the owner must succeed, so that a refusal is the
permission's and not a wrong path's. Then, through the hub: a student's login reaches neither another
student's server nor the formgrader, and their own server serves nothing outside their home.
"""

from __future__ import annotations

import json
import re
import textwrap
import time

import pytest
import requests

from grader.course import capstone
from grader.course.contract import ASSIGNMENT

pytestmark = pytest.mark.hub

PROBE = textwrap.dedent('''
    import glob, importlib, json, os, sys
    paths, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    out = {"read": {}, "list": {}, "import": {}}
    for path in paths:
        try:
            if os.path.isdir(path):
                os.listdir(path)
                out["list"][path] = "listed"
            else:
                with open(path, "rb") as handle:
                    handle.read(1)
                out["read"][path] = "read"
        except OSError as err:
            out["read" if not path.endswith("/") else "list"][path] = type(err).__name__
    for name in modules:
        try:
            importlib.import_module(name)
            out["import"][name] = "imported"
        except ImportError as err:
            out["import"][name] = type(err).__name__
    print(json.dumps(out))
''')
ANSWER_MODULES = ["grader.course", "grader.course.reference", "grader.course.checks", "grader.grading",
                  "grader.grading.trusted"]


def probe(hub, user: str, paths: list[str], modules: list[str] = ()) -> dict[str, str]:
    """path or module -> what happened to ``user`` ("read", "listed", "imported", or the error's name)."""
    done = hub.run_as(user, ["python", "-I", "-c", PROBE, json.dumps(paths), json.dumps(list(modules))])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result["read"], **result["list"], **result["import"]}


@pytest.fixture(scope="module")
def lived_in(hub):
    """The class with work in it: what the story leaves, made here with nbgrader's commands when missing."""
    c = hub.classroom
    alice, bob = c.students
    course, assignment = c.course, ASSIGNMENT
    outbound = c.exchange / c.course_id / "outbound" / assignment
    if not outbound.exists():
        hub.nbgrader_as(c.instructor, "generate_assignment", assignment, "--force")
        hub.nbgrader_as(c.instructor, "release_assignment", assignment, "--force")
    for student in (alice, bob):
        if not (c.instructor_home.parent / student / assignment).exists():
            hub.nbgrader_as(student, "fetch_assignment", assignment)
    if not list((c.exchange / c.course_id / "inbound").glob(f"{alice}+*")):
        hub.nbgrader_as(alice, "submit", assignment)
    if not (course / "submitted" / alice).exists():
        hub.nbgrader_as(c.instructor, "collect", assignment)
    if not (course / ".grading_secret").exists():
        hub.run_as(c.instructor, ["python", "-m", "grader.hub", "autograde"], cwd=course)
    return c


def test_a_student_reads_nothing_of_the_instructor_nor_of_another_student(hub, lived_in):
    c = lived_in
    alice, bob = c.students
    course = c.course
    submission = next((c.exchange / c.course_id / "inbound").glob(f"{alice}+*"))
    instructors = {
        str(course) + "/": "the instructor's course folder",
        str(course / "nbgrader_config.py"): "the course's configuration",
        str(course / "source" / ASSIGNMENT / "exercises.ipynb"): "the source notebook (solutions, hidden tests)",
        str(course / "source" / capstone.ASSIGNMENT / capstone.NOTEBOOK): "the capstone's source notebook",
        str(course / "gradebook.db"): "the gradebook",
        str(course / ".grading_secret"): "the grading secret",
        str(course / "submitted" / alice / ASSIGNMENT / "exercises.ipynb"): "a collected submission",
        str(course / "autograded" / alice / ASSIGNMENT / "exercises.ipynb"): "an autograded notebook",
        str(c.checkout) + "/": "the course checkout",
        str(c.checkout / "grader" / "course" / "reference.py"): "the reference solutions in the checkout",
        str(c.checkout / "grader" / "course" / "checks.py"): "the hidden checks in the checkout",
    }
    students = {
        f"/home/{alice}/": "another student's home",
        f"/home/{alice}/{ASSIGNMENT}/exercises.ipynb": "another student's fetched work",
        str(c.exchange / c.course_id / "inbound") + "/": "the exchange's inbound (everyone's submissions)",
        str(c.exchange / c.course_id / "feedback") + "/": "the exchange's feedback folder",
    }
    seen = probe(hub, bob, [*instructors, *students], ANSWER_MODULES)
    allowed = {path: seen[path] for path in [*instructors, *students] if seen[path] in ("read", "listed")}
    assert allowed == {}, f"{bob} reaches: " + ", ".join(f"{(instructors | students)[p]} ({p})" for p in allowed)
    assert {m: seen[m] for m in ANSWER_MODULES} == {m: "ModuleNotFoundError" for m in ANSWER_MODULES}

    # The owners reach the same paths: the refusals above are the permissions', not wrong paths. The grading
    # secret is root's alone (the trusted autograder, run as root, made it): the instructor does not need it.
    instructor_reads = [p for p in instructors if ".grading_secret" not in p]
    own = probe(hub, c.instructor, instructor_reads)
    assert {p: own[p] for p in instructor_reads if own[p] not in ("read", "listed")} == {}
    assert probe(hub, c.instructor, [str(course / ".grading_secret")]) == {
        str(course / ".grading_secret"): "PermissionError"}
    mine = probe(hub, alice, list(students)[:2])
    assert set(mine.values()) == {"read", "listed"}, mine
    # A submission in the exchange is hidden by its name (nbgrader adds a random string to it): another
    # student cannot list inbound/ to learn it, and cannot make it up.
    assert re.fullmatch(rf"{alice}\+{ASSIGNMENT}\+[^+]+\+[A-Za-z0-9_-]{{10,}}", submission.name), submission.name


def test_a_student_may_not_run_the_autograder_as_root(hub, lived_in):
    """The instructor's sudo rule is the instructor's: a student is refused it, and has no rule at all."""
    from grader.hub.setup import autograde_commands

    bob = lived_in.students[1]
    for command in autograde_commands(lived_in):
        done = hub.run_as(bob, ["sudo", "-n", *command], check=False)
        assert done.returncode == 1 and "password is required" in done.stderr, done.stderr
    rules = hub.run_as(bob, ["sudo", "-n", "-l"], check=False)
    assert rules.returncode == 1, rules.stdout
    # The instructor's rule names that one command (alone, or for one of the class's assignments): nothing
    # else runs as root through it.
    instructor = lived_in.instructor
    command = autograde_commands(lived_in)[0]
    for argv in ([command[0], "-c", "print(1)"], [*command, "--assignment", "../other"],
                 [*command, "--assignment", ASSIGNMENT, "--scheduler", "tcp://127.0.0.1:1"]):
        other = hub.run_as(instructor, ["sudo", "-n", *argv], check=False)
        assert other.returncode == 1 and "password is required" in other.stderr, (argv, other.stderr)
    for command in autograde_commands(lived_in):
        allowed = hub.run_as(instructor, ["sudo", "-n", "-l", *command], check=False)
        assert allowed.returncode == 0, (command, allowed.stderr)


def login(hub, user: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{hub.url}/hub/login")
    answer = session.post(f"{hub.url}/hub/login?next=", data={
        "username": user, "password": hub.passwords[user], "_xsrf": session.cookies.get("_xsrf")})
    assert answer.ok and f"/user/{user}" in answer.url or "spawn-pending" in answer.url, answer.url
    return session


def test_through_the_hub_a_student_reaches_only_their_own_server(hub, lived_in):
    c = lived_in
    alice, bob = c.students
    session = login(hub, bob)
    for _ in range(120):  # the server starts; its page completes the hub's OAuth (the server's cookie)
        answer = session.get(f"{hub.url}/user/{bob}/lab")
        if answer.status_code == 200 and answer.url.startswith(f"{hub.url}/user/{bob}/lab"):
            break
        time.sleep(1)
    else:
        pytest.fail(f"{bob}'s server did not start")
    own = session.get(f"{hub.url}/user/{bob}/api/contents/{ASSIGNMENT}").json()
    assert [item["name"] for item in own["content"]] == ["exercises.ipynb"] or \
        "exercises.ipynb" in [item["name"] for item in own["content"]]
    # Outside their home: the server refuses paths that leave its root.
    for path in (f"../{alice}", "../qd-instructor", "../../srv", "%2e%2e/%2e%2e/etc"):
        answer = session.get(f"{hub.url}/user/{bob}/api/contents/{path}")
        assert answer.status_code in (400, 403, 404), (path, answer.status_code, answer.text[:200])
    # Another user's server, and the formgrader (not in a student's server): refused.
    other = session.get(f"{hub.url}/user/{alice}/api/contents/{ASSIGNMENT}", allow_redirects=False)
    assert other.status_code in (302, 403, 404) and "exercises.ipynb" not in other.text
    if other.status_code == 302:  # the hub's answer: not yours
        assert "/hub/" in other.headers["Location"]
        assert session.get(f"{hub.url}{other.headers['Location']}" if other.headers["Location"].startswith("/")
                           else other.headers["Location"]).status_code in (403, 404, 200)
    assert session.get(f"{hub.url}/user/{c.instructor}/formgrader/manage_assignments",
                       allow_redirects=False).status_code in (302, 403, 404)
    assert session.get(f"{hub.url}/user/{bob}/formgrader/manage_assignments").status_code == 404

"""grader.grading.autograde, the driver: what it accepts from submitted/ and what it shows.

- No symbolic link under submitted/ is followed: a student or assignment folder that is a link
  is recorded as failed (score 0, the reason in the summary), never silently dropped.
- A folder whose name is not an accepted student id (sanitize.student_id_problem) is refused:
  reported, never given to nbgrader (which reads ids as glob patterns), no gradebook entry.
- Ids and other student-controlled text are printed escaped (no terminal control sequence).
- timestamp.txt is staged with the notebook, so nbgrader records the submission time and its
  late-penalty plugin (AssignLatePenalties) applies.

The unit tests run anywhere; the end-to-end test grades a small class in a temporary course,
in the sandbox (root and bubblewrap, the ``sandbox`` tier: see tests/conftest.py).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course.contract import ASSIGNMENT, NOTEBOOK
from grader.grading import assignments
from grader.grading.autograde import Late, Outcome, discover, main, record_one, stage, summary
from grader.publish.sample_class import solutions, students, submission

ROOT = Path(__file__).resolve().parent.parent
RELEASE = nbformat.read(ROOT / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
ANSWERS = solutions(nbformat.read(ROOT / "source" / ASSIGNMENT / NOTEBOOK, as_version=4))
PERFECT = submission(RELEASE, ANSWERS, next(s for s in students([], []) if s.student_id == "perfect"))
ESCAPES = "\x1b[2K\x1b[1A"  # erase the line, move up: would hide the FAILED line above
WEIRD_IDS = ["gl[o]b", "trailing ", "*", f"{ESCAPES}evil", '=HYPERLINK("x")']


def hand_in(submitted: Path, student: str, nb=PERFECT, timestamp: str | None = None) -> Path:
    folder = submitted / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / NOTEBOOK)
    if timestamp is not None:
        (folder / "timestamp.txt").write_text(timestamp, encoding="utf-8")
    return folder


# -- unit -----------------------------------------------------------------------------------------


def test_discover_lists_folders_and_links_never_plain_files(tmp_path):
    submitted = tmp_path / "submitted"
    hand_in(submitted, "alice")
    (submitted / "bob").symlink_to("alice")
    (submitted / "carol").symlink_to(tmp_path / "nowhere")  # dangling: still a submission to refuse
    (submitted / "dave").symlink_to(submitted / "alice" / ASSIGNMENT / NOTEBOOK)
    (submitted / "notes.txt").write_text("not a student")
    (submitted / "gl[o]b").mkdir()
    assert discover(submitted) == ["alice", "bob", "carol", "dave", "gl[o]b"]
    assert discover(tmp_path / "absent") == []
    # Of one assignment: gl[o]b holds nothing of it (not handed in); links are still there to refuse.
    (submitted / "erin").mkdir()
    (submitted / "erin" / ASSIGNMENT).write_text("a file where the folder should be")
    assert discover(submitted, ASSIGNMENT) == ["alice", "bob", "carol", "dave", "erin"]
    assert discover(submitted, "another_assignment") == ["bob", "carol", "dave"]


def test_stage_refuses_links_and_stages_the_timestamp(tmp_path):
    assignment = assignments.load(assignments.load_config(ROOT), ASSIGNMENT)
    submitted, staged = tmp_path / "submitted", tmp_path / "staged"
    hand_in(submitted, "alice", timestamp="2030-01-02 01:00:00 +3600")  # nbgrader: +3600 s
    hand_in(submitted, "bob", timestamp="next tuesday")
    (submitted / "eve").symlink_to("alice")
    (submitted / "mallory").mkdir()
    (submitted / "mallory" / ASSIGNMENT).symlink_to(ROOT / "source" / ASSIGNMENT)
    outcomes = stage(ROOT, submitted, staged, ["alice", "bob", "eve", "mallory"], assignment)

    assert outcomes["alice"].failure is None and outcomes["alice"].problems == []
    assert (staged / "alice" / ASSIGNMENT / "timestamp.txt").read_text() == "2030-01-02 00:00:00.000000 UTC\n"
    assert outcomes["bob"].problems == [
        "timestamp.txt holds no date and time nbgrader can read ('next tuesday'): "
        "ignored (no submission time recorded)"]
    assert not (staged / "bob" / ASSIGNMENT / "timestamp.txt").exists()
    assert outcomes["eve"].failure == ("the student folder is a symbolic link (to 'alice'): not followed: "
                                       "graded as the untouched release")
    assert outcomes["mallory"].failure.startswith(
        f"the assignment folder {ASSIGNMENT!r} is a symbolic link (to ")
    for student in ("eve", "mallory"):  # what gets graded is the release: no solution reaches the record
        staged_nb = nbformat.read(staged / student / ASSIGNMENT / NOTEBOOK, as_version=4)
        assert [c.source for c in staged_nb.cells] == [c.source for c in RELEASE.cells]


@pytest.mark.parametrize("student", WEIRD_IDS)
def test_record_one_never_hands_a_refused_id_to_nbgrader(tmp_path, student):
    assignment = assignments.load(assignments.load_config(ROOT), ASSIGNMENT)
    with pytest.raises(ValueError, match="^refused: student id"):
        record_one(tmp_path, tmp_path / "staged", tmp_path / "executed", student, assignment)
    assert list(tmp_path.iterdir()) == []  # not even a log file was opened


def test_summary_lines_are_escaped():
    outcomes = {
        "alice": Outcome("alice"),
        "bob": Outcome("bob", problems=["the student folder is a symbolic link (to 'alice'): not followed: "
                                        "graded as the untouched release"],
                       failure="the student folder is a symbolic link (to 'alice'): not followed: "
                               "graded as the untouched release"),
        "carol": Outcome("carol", problems=[f"ignored extra files: {ESCAPES}x.txt"]),
        "dave": Outcome("dave"),
    }
    scores = {"alice": 100.0, "bob": 0.0, "carol": 100.0, "dave": 96.0}
    late = {"alice": Late(datetime(2030, 1, 1, 1, 30), 5400.0, 10.0), "dave": Late(datetime(2029, 1, 1), 0, 0),
            "carol": Late(datetime(2030, 1, 3), 2 * 86400 + 61, 0.0)}
    refused = {f"{ESCAPES}evil": "student id starts with '\\x1b': ids start with an ASCII letter, a digit or '_'",
               "*": "student id contains '*': nbgrader reads student ids as glob patterns, "
                    "so it would grade other students or none"}
    text = summary(outcomes, scores, refused, late)
    assert text.splitlines() == [
        "graded 4 submissions: 3 ran, 1 failed, 1 repaired, 0 flagged for review, 2 late; "
        "2 folder(s) in submitted/ refused (not graded, not in the gradebook)",
        "  FAILED   bob: the student folder is a symbolic link (to 'alice'): not followed: "
        "graded as the untouched release (score 0)",
        "  repaired carol: ignored extra files: \\x1b[2K\\x1b[1Ax.txt",
        "  late     alice: submitted 2030-01-01 01:30:00 UTC, 1 h 30 min after the due date; "
        "late penalty 10 (score 100 - 10 = 90)",
        "  late     carol: submitted 2030-01-03 00:00:00 UTC, 2 d 1 min 1 s after the due date; "
        "no late penalty (c.AssignLatePenalties.plugin_class assigns none)",
        "  REFUSED  '\\x1b[2K\\x1b[1Aevil': student id starts with '\\x1b': ids start with an ASCII letter, "
        "a digit or '_'; rename the folder to an accepted id to grade it",
        "  REFUSED  '*': student id contains '*': nbgrader reads student ids as glob patterns, so it would "
        "grade other students or none; rename the folder to an accepted id to grade it",
    ]
    assert all(line.isprintable() for line in text.splitlines())
    assert summary({"alice": Outcome("alice")}, {"alice": 100.0}).splitlines() == [
        "graded 1 submissions: 1 ran, 0 failed, 0 repaired, 0 flagged for review"]


@pytest.mark.parametrize("student", WEIRD_IDS)
def test_cli_refuses_a_weird_student_option(tmp_path, capsys, student):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    (tmp_path / "gradebook.db").touch()
    with pytest.raises(SystemExit) as exit_:
        main(["--root", str(tmp_path), "--assignment", ASSIGNMENT, "--student", student])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"--student {student!r}: student id " in err  # repr: ESC shown as \x1b
    assert "\x1b" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.db", "nbgrader_config.py"]


# -- end to end ------------------------------------------------------------------------------------

DUE = datetime(2030, 1, 1)
PENALTY_CONFIG = '''

# tests/test_driver.py: ten points off a late submission, through nbgrader's own plugin point.
from nbgrader.plugins import LateSubmissionPlugin  # noqa: E402


class TenPointsLate(LateSubmissionPlugin):
    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return 10.0


c.AssignLatePenalties.plugin_class = TenPointsLate
'''


def run(args: list[str], cwd: Path, ok=(0,)) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", MPLBACKEND="Agg")
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode in ok, f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    course = tmp_path_factory.mktemp("course")
    for name in ("source", "release", "nbgrader_config.py"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, course / name)
    with (course / "nbgrader_config.py").open("a", encoding="utf-8") as fh:
        fh.write(PENALTY_CONFIG)
    run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DUE)

    submitted = course / "submitted"
    hand_in(submitted, "perfect", timestamp="2029-12-31 12:00:00.000000 UTC")  # on time
    hand_in(submitted, "late", timestamp="2030-01-01 06:00:00.000000 UTC")  # six hours late
    hand_in(submitted, "bad_timestamp", timestamp="the day before the deadline")
    hand_in(submitted, "glob", nb=RELEASE)  # what the pattern gl[o]b matches: must stay at 0
    for student in WEIRD_IDS:  # perfect work, each: none may reach the gradebook, nor re-record others
        hand_in(submitted, student)
    (submitted / "linked_student").symlink_to("perfect")
    (submitted / "linked_assignment").mkdir()
    (submitted / "linked_assignment" / ASSIGNMENT).symlink_to(course / "source" / ASSIGNMENT)
    (submitted / "linked_subfolder" / ASSIGNMENT).mkdir(parents=True)
    (submitted / "linked_subfolder" / ASSIGNMENT / "work").symlink_to(f"../../perfect/{ASSIGNMENT}")

    proc = run([sys.executable, "-m", "grader.grading.autograde", "--root", str(course), "--assignment", ASSIGNMENT, "--workers", "2",
                "--timeout", "300"], course)  # refused folders are reported, the run still succeeds
    run([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--student", "linked_assignment",
         "--force"], course)
    print(proc.stdout)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        book = {s.student_id: {"score": s.score, "timestamp": s.timestamp, "late": s.total_seconds_late,
                               "penalty": s.late_submission_penalty}
                for s in gb.assignment_submissions(ASSIGNMENT)}
    return {"course": course, "stdout": proc.stdout, "stderr": proc.stderr, "gradebook": book,
            "summary": json.loads((course / "build" / "grading" / ASSIGNMENT / "summary.json").read_text(encoding="utf-8"))}


@pytest.mark.slow
@pytest.mark.sandbox
def test_e2e_every_folder_is_accounted_for(graded):
    names = {p.name for p in (graded["course"] / "submitted").iterdir()}
    assert set(graded["summary"]) == names
    graded_ids = {"perfect", "late", "bad_timestamp", "glob", "linked_student", "linked_assignment",
                  "linked_subfolder"}
    assert set(graded["gradebook"]) == graded_ids  # the refused ids have no entry
    assert {s for s, o in graded["summary"].items() if o["refused"]} == set(WEIRD_IDS)


@pytest.mark.slow
@pytest.mark.sandbox
def test_e2e_symlinked_folders_score_zero_with_the_reason(graded):
    book, summary = graded["gradebook"], graded["summary"]
    assert book["perfect"]["score"] == 100
    for student in ("linked_student", "linked_assignment", "linked_subfolder"):
        assert book[student]["score"] == 0 and summary[student]["score"] == 0, student
    assert summary["linked_student"]["failure"] == (
        "the student folder is a symbolic link (to 'perfect'): not followed: graded as the untouched release")
    source = graded["course"] / "source" / ASSIGNMENT
    assert summary["linked_assignment"]["failure"] == (
        f"the assignment folder {ASSIGNMENT!r} is a symbolic link (to {str(source)!r}): not followed: "
        "graded as the untouched release")
    assert summary["linked_subfolder"]["failure"] == (
        "ignored symlink 'work' (not followed); no notebook in the folder (found: work): "
        "graded as the untouched release")
    out = graded["stdout"]
    assert "  FAILED   linked_student: the student folder is a symbolic link (to 'perfect'): not followed: " \
           "graded as the untouched release (score 0)" in out.splitlines()


@pytest.mark.slow
@pytest.mark.sandbox
def test_e2e_feedback_of_a_folder_linked_to_source_has_no_solutions(graded):
    course = graded["course"]
    release_text = "\n".join(c.source for c in RELEASE.cells)
    lines = {line.strip() for answer in ANSWERS.values() for line in answer.splitlines()
             if len(line.strip()) > 25 and line.strip() not in release_text}
    assert len(lines) > 50

    def text_of(page: Path) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))

    feedback = text_of(course / "feedback" / "linked_assignment" / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html"))
    assert "raise NotImplementedError()" in feedback
    assert [line for line in lines if line in feedback] == []
    graded_perfect = (course / "autograded" / "perfect" / ASSIGNMENT / NOTEBOOK).read_text(encoding="utf-8")
    assert sum(json.dumps(line)[1:-1] in graded_perfect for line in lines) > 50  # the check can see them


@pytest.mark.slow
@pytest.mark.sandbox
def test_e2e_weird_ids_are_refused_and_shown_escaped(graded):
    out, summary, book = graded["stdout"], graded["summary"], graded["gradebook"]
    assert "\x1b" not in out and "\x1b" not in graded["stderr"]
    lines = out.splitlines()
    for student in WEIRD_IDS:
        assert summary[student]["score"] is None and summary[student]["failure"].startswith("refused: student id")
        shown = repr(student).replace(ESCAPES, "\\x1b[2K\\x1b[1A")
        assert any(line.startswith(f"  REFUSED  {shown}: student id ") for line in lines), (student, out)
    assert book["glob"]["score"] == 0  # gl[o]b's perfect work did not land on glob
    assert "; 5 folder(s) in submitted/ refused (not graded, not in the gradebook)" in out
    logs = {p.name for p in (graded["course"] / "build" / "grading" / ASSIGNMENT / "logs").iterdir()}
    assert logs == {f"{s}.log" for s in book}


@pytest.mark.slow
@pytest.mark.sandbox
def test_e2e_late_submission_gets_nbgraders_late_penalty(graded):
    book, summary = graded["gradebook"], graded["summary"]
    assert book["late"] == {"score": 100, "timestamp": datetime(2030, 1, 1, 6), "late": 6 * 3600, "penalty": 10}
    assert book["perfect"] == {"score": 100, "timestamp": datetime(2029, 12, 31, 12), "late": 0, "penalty": 0}
    assert summary["late"]["timestamp"] == "2030-01-01T06:00:00"
    assert summary["late"]["seconds_late"] == 6 * 3600 and summary["late"]["late_penalty"] == 10
    assert ("  late     late: submitted 2030-01-01 06:00:00 UTC, 6 h after the due date; "
            "late penalty 10 (score 100 - 10 = 90)") in graded["stdout"].splitlines()
    copied = graded["course"] / "autograded" / "late" / ASSIGNMENT / "timestamp.txt"
    assert copied.read_text(encoding="utf-8") == "2030-01-01 06:00:00.000000 UTC\n"  # as nbgrader keeps it


@pytest.mark.slow
@pytest.mark.sandbox
def test_e2e_malformed_timestamp_is_reported_and_not_fatal(graded):
    book, summary = graded["gradebook"], graded["summary"]
    assert book["bad_timestamp"] == {"score": 100, "timestamp": None, "late": 0, "penalty": 0}
    assert summary["bad_timestamp"]["failure"] is None
    assert summary["bad_timestamp"]["problems"] == [
        "timestamp.txt holds no date and time nbgrader can read ('the day before the deadline'): "
        "ignored (no submission time recorded)"]
    assert ("  repaired bad_timestamp: timestamp.txt holds no date and time nbgrader can read "
            "('the day before the deadline'): ignored (no submission time recorded)") in graded["stdout"].splitlines()

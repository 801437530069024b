"""Grade files an LMS imports: Canvas, Moodle and the per-exercise CSV, with a roster (grader/publish/lms.py).

The gradebook is built with nbgrader's API: the configured assignment's notebook and every grade cell
of its contract; students scored by hand, one of them late with a penalty, one penalized below 0,
one rostered without a submission, one rostered and not in the gradebook, two in the gradebook and
not in the roster (one id carrying a terminal escape, one starting a formula).
"""

from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
import warnings
from datetime import datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from grader.grading import assignments
from grader.publish.lms import (
    CanvasExportPlugin,
    ExerciseCsvExportPlugin,
    LmsExportError,
    MoodleExportPlugin,
    load_roster,
)

ASSIGNMENT = "quantization_distillation"
CONFIG = Config({"GradedAssignments": {"contracts": {ASSIGNMENT: "grader.course.contract"}}})
CONTRACT = assignments.load(CONFIG, ASSIGNMENT)
CANVAS_COLUMN = "Quantization and Distillation (1234)"
ESCAPED = "evil\x1b[2J"  # an id that would clear the terminal if printed raw
ROSTER = """student_id,name,lms_id,sis_user_id,sis_login_id,email,section
alice,"Liddell, Alice",101,S101,aliddell,alice@example.edu,Sec 1
bob,Bob Builder,102,S102,bbuilder,bob@example.edu,Sec 1
carol,Carol Danvers,103,S103,cdanvers,carol@example.edu,Sec 2
dave,Dave Null,104,S104,dnull,,Sec 2
erin,"=HYPERLINK(""http://evil.example"")",105,S105,eevil,erin@example.edu,Sec 2
"""
# student -> (the exercises answered in full, late penalty); the others score 0 on every test
SUBMISSIONS = {"alice": (tuple(CONTRACT.sections), 0.0), "bob": (("ex1", "ex3"), 4.0), "erin": (("ex1",), 50.0),
               "=1+1": (("ex10",), 0.0), ESCAPED: ((), 0.0)}


def points(exercise: str) -> float:
    return sum(CONTRACT.points[g] for g in CONTRACT.sections[exercise])


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course directory: gradebook.db and roster.csv."""
    root = tmp_path_factory.mktemp("course")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.add_assignment(ASSIGNMENT, duedate=datetime(2030, 1, 10, 12, 0))
        gb.add_notebook(CONTRACT.notebook_id, ASSIGNMENT)
        for grade_id, max_score in CONTRACT.points.items():
            gb.add_grade_cell(grade_id, CONTRACT.notebook_id, ASSIGNMENT, max_score=max_score, cell_type="code")
        gb.add_student("carol", first_name="Carol", last_name="Danvers")  # in the gradebook, nothing submitted
        for student, (answered, penalty) in SUBMISSIONS.items():
            gb.add_student(student, first_name="First", last_name="Last")
            with warnings.catch_warnings():  # nbgrader's add_submission trips SQLAlchemy's autoflush warning
                warnings.simplefilter("ignore", SAWarning)
                gb.add_submission(ASSIGNMENT, student, timestamp=datetime(2030, 1, 11 if penalty else 9))
            notebook = gb.find_submission_notebook(CONTRACT.notebook_id, ASSIGNMENT, student)
            full = {grade_id for exercise in answered for grade_id in CONTRACT.sections[exercise]}
            for grade in notebook.grades:
                grade.auto_score = CONTRACT.points[grade.name] if grade.name in full else 0.0
            notebook.late_submission_penalty = penalty
        gb.db.commit()
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return root


def run(plugin_class, course: Path, out: Path, **traits) -> list[list[str]]:
    """Export with ``plugin_class`` (its export() called directly); the rows of the file written."""
    traits.setdefault("roster", str(course / "roster.csv"))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        plugin_class(to=str(out), config=CONFIG, log=logging.getLogger("test_lms"), **traits).export(gb)
    with out.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def warned(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# -- Canvas ---------------------------------------------------------------------------------------


def test_canvas_has_the_documented_columns_the_points_row_and_final_scores(course, tmp_path):
    rows = run(CanvasExportPlugin, course, tmp_path / "canvas.csv", assignment_columns={ASSIGNMENT: CANVAS_COLUMN})
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", CANVAS_COLUMN]
    assert rows[1][:5] == ["    Points Possible", "", "", "", ""] and float(rows[1][5]) == 100
    students = [(row[:5], float(row[5])) for row in rows[2:]]
    assert students == [
        (["Liddell, Alice", "101", "S101", "aliddell", "Sec 1"], 100),
        (["Bob Builder", "102", "S102", "bbuilder", "Sec 1"], points("ex1") + points("ex3") - 4),  # late: raw - penalty
        (["Carol Danvers", "103", "S103", "cdanvers", "Sec 2"], 0),  # no submission: 0, not blank
        (["Dave Null", "104", "S104", "dnull", "Sec 2"], 0),  # not in the gradebook at all
        (["'=HYPERLINK(\"http://evil.example\")", "105", "S105", "eevil", "Sec 2"], 0),  # penalty > raw: 0, not < 0
    ]


def test_canvas_cells_are_quoted_and_cannot_start_a_formula(course, tmp_path):
    run(CanvasExportPlugin, course, tmp_path / "canvas.csv")
    text = (tmp_path / "canvas.csv").read_text(encoding="utf-8")
    assert '"Liddell, Alice",101,' in text  # the comma stays inside one quoted cell
    assert "\n=" not in text and ",=" not in text and '"=' not in text
    assert '"\'=HYPERLINK(""http://evil.example"")"' in text


def test_canvas_without_an_assignment_id_says_canvas_may_create_an_assignment(course, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    rows = run(CanvasExportPlugin, course, tmp_path / "canvas.csv", points_possible=False)
    assert rows[0][5] == ASSIGNMENT and rows[1][0] == "Liddell, Alice"  # no points row when turned off
    assert any("no Canvas assignment id for quantization_distillation" in w and "creates a new assignment" in w
               for w in warned(caplog))


def test_a_student_missing_on_either_side_is_warned_and_counted(course, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    out = tmp_path / "canvas.csv"
    rows = run(CanvasExportPlugin, course, out, assignment_columns={ASSIGNMENT: CANVAS_COLUMN})
    assert len(rows) == 2 + 5  # the roster's five; the two unrostered gradebook students are left out
    found = warned(caplog)
    for sid in ("=1+1", "evil\\x1b[2J"):
        assert sum(f": {sid} is in the gradebook but has no line in the roster" in w and "left out" in w
                   for w in found) == 1
    for sid in ("carol", "dave"):
        assert sum(f": {sid} (" in w and "has no submission of quantization_distillation: scored 0" in w
                   for w in found) == 1
    assert found[-1] == (f"{out}: 5 students, 2 without a roster line (=1+1, evil\\x1b[2J), "
                         "2 rostered without a submission (carol, dave)")
    assert not any("\x1b" in r.getMessage() for r in caplog.records)  # ids are printed escaped


def test_student_and_assignment_selection_narrow_both_sides(course, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    out = tmp_path / "canvas.csv"
    rows = run(CanvasExportPlugin, course, out, student=["bob"], assignment=[ASSIGNMENT])
    assert [row[0] for row in rows[2:]] == ["Bob Builder"]
    assert all("no Canvas assignment id" in w for w in warned(caplog))  # nobody reported missing
    assert caplog.records[-1].getMessage() == f"{out}: 1 student, 0 without a roster line, " \
                                              "0 rostered without a submission"


# -- Moodle ---------------------------------------------------------------------------------------


def test_moodle_identifies_by_email_and_leaves_out_a_blank_one(course, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    out = tmp_path / "moodle.csv"
    rows = run(MoodleExportPlugin, course, out, grade_items={ASSIGNMENT: "Quantization and Distillation"})
    assert rows[0] == ["Email address", "Quantization and Distillation"]
    assert [(row[0], float(row[1])) for row in rows[1:]] == [
        ("alice@example.edu", 100), ("bob@example.edu", points("ex1") + points("ex3") - 4),
        ("carol@example.edu", 0), ("erin@example.edu", 0)]
    assert any(": dave has no email in the roster" in w and "left out" in w for w in warned(caplog))
    assert warned(caplog)[-1] == (f"{out}: 4 students, 2 without a roster line (=1+1, evil\\x1b[2J), "
                                  "1 rostered without a submission (carol), 1 left out for a blank identifier (dave)")


def test_moodle_by_id_number_with_feedback(course, tmp_path):
    rows = run(MoodleExportPlugin, course, tmp_path / "moodle.csv", identifier="idnumber", feedback=True)
    assert rows[0] == ["ID number", ASSIGNMENT, f"{ASSIGNMENT} (Feedback)"]
    bob = points("ex1") + points("ex3")
    assert rows[2] == ["102", str(bob - 4.0), f"Autograded {bob:g} of 100, late penalty 4: {bob - 4:g}"]
    assert rows[3] == ["103", "0.0", "No submission: 0 of 100"]
    assert [row[0] for row in rows[1:]] == ["101", "102", "103", "104", "105"]


def test_moodle_by_email_needs_an_email_column(course, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,lms_id\nalice,Alice,101\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        run(MoodleExportPlugin, course, tmp_path / "moodle.csv", roster=str(roster))
    assert exit_.value.code == 1 and not (tmp_path / "moodle.csv").exists()


# -- per exercise ---------------------------------------------------------------------------------


def test_exercise_csv_sums_each_section_and_keeps_unrostered_students(course, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    out = tmp_path / "grades_lms.csv"
    rows = run(ExerciseCsvExportPlugin, course, out)
    sections = list(CONTRACT.sections)
    assert rows[0] == ["student_id", "lms_id", "name", *sections, "raw_score", "late_submission_penalty", "score",
                       "max_score"]
    table = {row[0]: row for row in rows[1:]}
    assert list(table) == ["alice", "bob", "carol", "dave", "erin", "'=1+1", ESCAPED]
    bob = table["bob"]
    assert [float(v) for v in bob[3:3 + len(sections)]] == [points(ex) if ex in ("ex1", "ex3") else 0 for ex in sections]
    raw = points("ex1") + points("ex3")
    assert [float(v) for v in bob[-4:]] == [raw, 4, raw - 4, 100]
    assert [float(v) for v in table["erin"][-4:]] == [points("ex1"), 50, 0, 100]
    assert table["'=1+1"][1:3] == ["", "First Last"] and float(table["'=1+1"][3 + sections.index("ex10")]) == 10
    assert table["dave"][1:3] == ["104", "Dave Null"] and {float(v) for v in table["dave"][3:-1]} == {0}
    assert any(": =1+1 is in the gradebook" in w and "written with an empty lms_id" in w for w in warned(caplog))
    assert warned(caplog)[-1].startswith(f"{out}: 7 students, 2 without a roster line")


# -- the roster -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("student_id,name\nalice,Alice\n", "roster.csv, line 1: missing column(s) lms_id"),
    ("", "roster.csv, line 1: missing column(s) student_id, name, lms_id"),
    ("student_id,name,lms_id\nalice,A,1\nbob,B,2\nalice,A2,3\n", "roster.csv, line 4: student_id 'alice' already on line 2"),
    ("student_id,name,lms_id\nalice,A,1\nbob,B,1\n", "roster.csv, line 3: lms_id '1' already on line 2"),
    ("student_id,name,lms_id\nalice,A,1\n ,B,2\n", "roster.csv, line 3: empty student_id"),
])
def test_a_bad_roster_is_refused_with_the_file_and_line(tmp_path, text, message):
    (tmp_path / "roster.csv").write_text(text, encoding="utf-8")
    with pytest.raises(LmsExportError) as err:
        load_roster(tmp_path / "roster.csv")
    assert str(err.value).startswith(f"{tmp_path}/{message}")


def test_a_missing_roster_is_named(tmp_path):
    with pytest.raises(LmsExportError, match=r"nowhere\.csv: roster not found"):
        load_roster(tmp_path / "nowhere.csv")


def test_the_roster_reads_excel_csv_headers_in_any_case_and_ignores_extra_columns(tmp_path):
    (tmp_path / "roster.csv").write_bytes("\ufeffStudent_ID, Name ,LMS_ID,Notes\nalice,\"Liddell, Alice\",101,x\n"
                                          .encode())
    (alice,) = load_roster(tmp_path / "roster.csv")
    assert (alice.student_id, alice.name, alice.lms_id, alice.email) == ("alice", "Liddell, Alice", "101", "")


def test_the_sample_roster_names_every_student_of_both_sample_classes():
    from grader.course.bank import load_bank
    from grader.publish.sample_class import CONTRACTS, DEFAULT_MISCONCEPTIONS, students

    roster = load_roster(Path(__file__).parents[1] / "grader" / "publish" / "sample_roster.csv")
    sample = {s.student_id for a, course in CONTRACTS.items()
              for s in students(load_bank(), list(DEFAULT_MISCONCEPTIONS[a]), course)}
    assert {r.student_id for r in roster} == sample | {"late_enrollee"}  # late_enrollee never submits


# -- through nbgrader export ----------------------------------------------------------------------


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """``nbgrader export ARGS`` in ``course``, its configuration beside the gradebook, the venv's bin first."""
    (course / "nbgrader_config.py").write_text(
        "from grader.publish.export import SafeCsvExportPlugin\n"
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(course / 'gradebook.db')!r}\n"
        f"c.GradedAssignments.contracts = {{{ASSIGNMENT!r}: 'grader.course.contract'}}\n"
        "c.ExportApp.plugin_class = SafeCsvExportPlugin  # as the course configures it: --exporter overrides it\n"
        f"c.CanvasExportPlugin.assignment_columns = {{{ASSIGNMENT!r}: {CANVAS_COLUMN!r}}}\n",
        encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([str(bin_dir / "nbgrader"), "export", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
def test_nbgrader_export_runs_the_canvas_plugin(course, tmp_path):
    out = tmp_path / "canvas.csv"
    done = nbgrader(course, "--exporter", "grader.publish.lms.CanvasExportPlugin", "--to", str(out),
                    "--LmsExportPlugin.roster=roster.csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", CANVAS_COLUMN]
    assert rows[1][0] == "    Points Possible" and float(rows[3][5]) == points("ex1") + points("ex3") - 4
    assert "WARNING" in done.stderr and "carol (Carol Danvers) has no submission" in done.stderr
    assert f"{out}: 5 students, 2 without a roster line (=1+1, evil\\x1b[2J), " \
           "2 rostered without a submission (carol, dave)" in done.stderr
    assert "\x1b[2J" not in done.stderr


@pytest.mark.slow
def test_nbgrader_export_stops_at_a_bad_roster_without_a_traceback(course, tmp_path):
    (tmp_path / "roster.csv").write_text("student_id,name,lms_id\nalice,A,1\nalice,A,2\n", encoding="utf-8")
    done = nbgrader(course, "--ExportApp.plugin_class=grader.publish.lms.MoodleExportPlugin",
                    "--to", str(tmp_path / "moodle.csv"), f"--LmsExportPlugin.roster={tmp_path / 'roster.csv'}",
                    "--MoodleExportPlugin.identifier=idnumber")
    assert done.returncode == 1
    assert f"{tmp_path / 'roster.csv'}, line 3: student_id 'alice' already on line 2" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "moodle.csv").exists()

"""The class on JupyterHub without a hub: its roster, its configuration files, its sudo rule (no root needed).

The hub itself, with local accounts, is make test-hub's (tests/hub/).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from grader.hub import accounts, setup
from grader.hub.classroom import SAMPLE_ROSTER, ClassError, Classroom

ROOT = Path(__file__).resolve().parents[1]


def test_the_sample_roster_is_two_students_with_generated_passwords():
    roster = accounts.read_roster(SAMPLE_ROSTER)
    assert [(a.name, a.full_name, a.password) for a in roster] == [
        ("qd-ada", "Lovelace, Ada", ""), ("qd-alan", "Turing, Alan", "")]


@pytest.mark.parametrize("student_id", ["Ada", "1ada", "ada lovelace", "-ada", "ada;rm", "a" * 33])
def test_a_roster_id_that_cannot_be_a_login_is_refused_with_its_line(tmp_path, student_id):
    roster = tmp_path / "roster.csv"
    roster.write_text(f"student_id,name,lms_id,password\nqd-ok,Ok,1,\n{student_id},Someone,2,secret\n")
    with pytest.raises(ClassError, match=r"roster.csv, line 3: student_id .* cannot be a login name"):
        accounts.read_roster(roster)


def test_a_roster_without_the_course_columns_is_refused(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("login,password\nada,x\n")
    with pytest.raises(ClassError, match="missing column"):
        accounts.read_roster(roster)


@pytest.mark.parametrize("full, split", [("Lovelace, Ada", ("Ada", "Lovelace")), ("Ada Lovelace", ("Ada", "Lovelace")),
                                         ("Plato", ("Plato", ""))])
def test_first_and_last_names(full, split):
    assert accounts.first_last(full) == split


def test_the_class_configuration_is_nbgraders_documented_settings(tmp_path):
    classroom = Classroom(root=tmp_path / "class")
    path = tmp_path / "nbgrader_config.py"
    path.write_text(setup.class_config(classroom, 12.5, 3))
    c = PyFileConfigLoader(path.name, path=str(tmp_path)).load_config()
    assert c.CourseDirectory.course_id == "quantization-distillation"
    assert c.Exchange.root == str(tmp_path / "class" / "exchange")
    assert c.Authenticator.plugin_class.__name__ == "JupyterHubAuthPlugin"
    assert c.AssignLatePenalties.plugin_class == "grader.grading.late.PercentPerDayLate"
    assert (c.PercentPerDayLate.percent_per_day, c.PercentPerDayLate.zero_after_days) == (12.5, 3)
    assert c.SandboxKernelManager.minimum_isolation == "bubblewrap+uid"


def test_the_sudo_rule_is_one_command_alone_or_for_one_of_the_class_assignments():
    classroom = Classroom(checkout=Path("/opt/course"), assignments=["quantization_distillation", "capstone"])
    command = ["/opt/course/.venv/bin/python", "-I", "-m", "grader.hub", "autograde"]
    assert setup.autograde_commands(classroom) == [
        command, [*command, "--assignment", "quantization_distillation"], [*command, "--assignment", "capstone"]]


def test_the_class_has_each_assignment_the_course_configures():
    assert setup.class_assignments(ROOT) == ["quantization_distillation", "capstone"]


def test_the_class_record_keeps_its_assignments(tmp_path):
    classroom = Classroom(root=tmp_path, students=["ada"], assignments=["quantization_distillation", "capstone"])
    classroom.save(tmp_path / "class.json")
    assert Classroom.load(tmp_path / "class.json") == classroom


def test_each_user_gets_their_environment():
    classroom = Classroom(root=Path("/srv/c"), instructor="teacher", students=["ada"], checkout=Path("/opt/course"))
    assert classroom.server_command("ada") == ["/srv/c/student-venv/bin/jupyterhub-singleuser"]
    assert classroom.server_command("teacher") == ["/opt/course/.venv/bin/jupyterhub-singleuser"]
    env = classroom.server_environment("ada")
    assert env["PATH"].startswith("/srv/c/student-venv/bin:") and "/opt/course" not in env["PATH"]
    assert env["JUPYTER_CONFIG_PATH"] == "/srv/c/etc/jupyter"

"""The late policy (grader.grading.late) and how the grading reads it from nbgrader's configuration."""

from __future__ import annotations

import pytest
from traitlets import TraitError

from grader.grading.assignments import load_config
from grader.grading.late import DAY, PercentPerDayLate


@pytest.mark.parametrize("seconds, penalty", [
    (0, None),            # on time: no penalty
    (1, 10.0),            # one second late is a started day
    (DAY, 10.0),
    (DAY + 1, 20.0),      # two started days
    (5 * DAY, 50.0),      # the last day before zero
    (5 * DAY + 1, 100.0),  # more than zero_after_days: the whole score
])
def test_percent_per_started_day_then_zero(seconds, penalty):
    plugin = PercentPerDayLate(percent_per_day=10, zero_after_days=5)
    assert plugin.late_submission_penalty("s", 100.0, seconds) == penalty


def test_penalty_never_exceeds_the_score():
    assert PercentPerDayLate(percent_per_day=60, zero_after_days=9).late_submission_penalty("s", 8.0, 2 * DAY) == 8.0
    assert PercentPerDayLate(zero_after_days=0).late_submission_penalty("s", 8.0, 1) == 8.0


@pytest.mark.parametrize("traits", [{"percent_per_day": -1}, {"percent_per_day": 101}, {"zero_after_days": -1}])
def test_bad_policy_is_refused(traits):
    with pytest.raises(TraitError):
        PercentPerDayLate(**traits)


def test_the_grading_reads_jupyters_config_path_then_the_course(tmp_path, monkeypatch):
    """As nbgrader does: a class-wide nbgrader_config.py (JUPYTER_CONFIG_PATH), overridden by the course's."""
    shared, course = tmp_path / "etc", tmp_path / "course"
    shared.mkdir()
    course.mkdir()
    (shared / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.AssignLatePenalties.plugin_class = 'grader.grading.late.PercentPerDayLate'\n"
        "c.PercentPerDayLate.percent_per_day = 7.0\n"
        "c.PercentPerDayLate.zero_after_days = 3\n")
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.PercentPerDayLate.zero_after_days = 4\n")
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(shared))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "nobody"))
    config = load_config(course)
    assert config.AssignLatePenalties.plugin_class == "grader.grading.late.PercentPerDayLate"
    plugin = PercentPerDayLate(config=config)
    assert (plugin.percent_per_day, plugin.zero_after_days) == (7.0, 4)

"""A late policy through nbgrader's late-submission plugin point: a share of the score off per day late.

    c.AssignLatePenalties.plugin_class = "grader.grading.late.PercentPerDayLate"
    c.PercentPerDayLate.percent_per_day = 10   # off the notebook's score per day late, or part of a day
    c.PercentPerDayLate.zero_after_days = 5    # more days late than this: the score is 0

nbgrader's ``AssignLatePenalties`` preprocessor (in the autograde pipeline, nbgrader_config.py) calls
``late_submission_penalty`` for each late notebook with its score and how many seconds after the due
date (the gradebook's) it was submitted (its checked ``timestamp.txt``), and records the returned
penalty in the gradebook: the formgrader, ``nbgrader export`` and the feedback show it.

A day late is any started day: one second late counts as one day, 24 h 1 s as two.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float, Integer, TraitError, validate

DAY = 24 * 3600


class PercentPerDayLate(LateSubmissionPlugin):
    """``percent_per_day`` percent of the score off per started day late; 0 after ``zero_after_days``."""

    percent_per_day = Float(10.0, help="Percent of the notebook's score taken off per started day late.").tag(
        config=True)
    zero_after_days = Integer(
        5, help="A submission more started days late than this scores 0; 0: any late submission scores 0.").tag(
        config=True)

    @validate("percent_per_day")
    def _percent(self, proposal):
        value = proposal["value"]
        if not 0 <= value <= 100:
            raise TraitError(f"percent_per_day must be between 0 and 100, got {value}")
        return value

    @validate("zero_after_days")
    def _days(self, proposal):
        if proposal["value"] < 0:
            raise TraitError(f"zero_after_days must be 0 or more, got {proposal['value']}")
        return proposal["value"]

    def days_late(self, total_seconds_late: float) -> int:
        return max(0, math.ceil(total_seconds_late / DAY))

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        days = self.days_late(total_seconds_late)
        if days == 0:
            return None
        if days > self.zero_after_days:
            penalty = score
        else:
            penalty = min(score, score * self.percent_per_day / 100 * days)
        self.log.info("%s: %d day(s) late, penalty %.2f of %.2f (%g%% a day, 0 after %d days)",
                      student_id, days, penalty, score, self.percent_per_day, self.zero_after_days)
        return penalty

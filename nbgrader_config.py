"""nbgrader configuration: the repository root is the course directory.

    source/<assignment>/      what instructors edit (solutions + hidden tests)
    release/<assignment>/     what students get (make release)
    submitted/<student>/...   what students hand in (make sample-class builds a demo class)
    autograded/, feedback/    written by make autograde / make feedback
"""

import os

c = get_config()  # noqa: F821 -- injected by nbgrader's config loader

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "quantization-distillation"
# The gradebook: gradebook.db here, or the database GRADEBOOK_URL names (PostgreSQL for grading on
# several machines: python -m grader.publish.services postgres start prints one).
c.CourseDirectory.db_url = os.environ.get("GRADEBOOK_URL") or (
    "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db"))

# Stub left in the release where a solution region was.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# A generous per-cell limit: the slowest hidden check runs in well under a second.
c.Execute.timeout = 60

# What the grading machinery (grader.grading) grades: assignment id -> its contract module
# (notebook, graded functions, test cells, report sections, hidden checks). Each assignment is one
# line here; grader.grading itself knows no course.
c.GradedAssignments.contracts = {
    "quantization_distillation": "grader.course.contract",  # the ten exercises
    "capstone": "grader.course.capstone",  # the exercises' functions on a real transformer and classifier
}

# Grades are decided in the grading process, not in the student's kernel:
# grader.grading.trusted.TrustedExecute replaces nbgrader's Execute (see its docstring).
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
)

# nbgrader's OverwriteCells and SaveAutoGrades, reading a notebook's rows in one query (not one per cell)
from grader.grading.gradebook_rows import OverwriteCellsAtOnce, SaveAutoGradesAtOnce  # noqa: E402
from grader.grading.html_safety import SanitizeStudentHTML  # noqa: E402 -- no student script in the pages
from grader.grading.metadata import CheckCellMetadata  # noqa: E402 -- nbgrader's, validating each metadata once
from grader.grading.trusted import TrustedExecute  # noqa: E402

c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCellsAtOnce,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    TrustedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGradesAtOnce,
    AssignLatePenalties,
    CheckCellMetadata,
    # Last, after the grades are recorded: the autograded notebook (what the formgrader renders and
    # feedback is made from) keeps no active content from submissions (grader/grading/html_safety.py).
    SanitizeStudentHTML,
]
c.TrustedExecute.timeout = 60
# nbconvert validates a notebook once, after its last preprocessor, rather than after each one: a
# notebook left invalid by them still fails its conversion.
c.Exporter.optimistic_validation = True
c.TrustedExecute.secret_file = os.path.join(c.CourseDirectory.root, ".grading_secret")
# Deleted test cells come back from the gradebook instead of silently scoring nothing.
c.OverwriteCells.add_missing_cells = True

# Feedback shows each test's verdict and message, never the source of hidden tests; and, sanitized
# again (an autograded notebook may predate the sanitizer), no script of the student's.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests, SanitizeStudentHTML]

# make grades: nbgrader export writes a quoted CSV whose text cells cannot start a spreadsheet formula.
from grader.publish.export import SafeCsvExportPlugin  # noqa: E402

c.ExportApp.plugin_class = SafeCsvExportPlugin

# LMS grade files (make grades, grader/publish/lms.py): the roster maps nbgrader student ids to LMS users.
# Name the Canvas column after the Canvas assignment, with its id, so that Canvas updates it rather than
# creating a new one, e.g. {"quantization_distillation": "Quantization and Distillation (1234)"}.
c.LmsExportPlugin.roster = os.path.join(c.CourseDirectory.root, "roster.csv")
c.CanvasExportPlugin.assignment_columns = {}
c.MoodleExportPlugin.identifier = "email"

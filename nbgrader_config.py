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
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# Stub left in the release where a solution region was.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# A generous per-cell limit: the slowest hidden check runs in well under a second.
c.Execute.timeout = 60

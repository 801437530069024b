"""The Quantization and Distillation course, by role (the trust boundary is a folder boundary).

- ``grader.student``: what a student's environment holds: the plotting helpers and course style.
  It is the only part of the package a student install or a grading sandbox ever contains.
- ``grader.course``: the course itself: the contract (exercises, test cells, points, graded
  conventions), the reference implementations, the hidden checks and the bank of wrong
  implementations. Instructor side only.
- ``grader.grading``: the grading machinery (driver, sanitizer, sandbox, warm kernels, trusted
  execution, wire format, integrity scan). It knows no course: assignments come from configuration.
- ``grader.publish``: what instructors run around grading: the web site, JupyterLab, the grade
  report, the sample class, the benchmark, validation and notebook hygiene.
"""

"""The grading machinery: sanitize, sandbox, warm kernels, trusted execution, wire format, integrity.

It imports no course: assignment ids, graded functions and test cells come from the configuration
(``grader.grading.assignments``).
"""

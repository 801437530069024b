"""What a student's environment holds: the course's plotting helpers and style (``grader.student.plots``).

This subpackage is the whole of the student install (``make student-wheel``) and the only part of
``grader`` a grading sandbox mounts. It imports nothing from the rest of ``grader``.
"""

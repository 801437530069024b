"""The course: its contract, reference implementations, hidden checks and wrong-implementation bank.

Instructor side only: never installed in a student's environment, never visible in a grading sandbox.
"""

"""Reference helper package of the Quantization and Distillation course.

- ``grader.course``: the contract (exercises, graded functions, test cells, points).
- ``grader.reference``: one reference implementation per graded function.
- ``grader.checks``: the hidden grading checks, compared against the reference.
- ``grader.plots``: quantization grids, softmax curves and other figures.
"""

"""Every function solved correctly, in another style than the instructor's (tests/honest_styles/).

The submission holds tests/honest_styles/decorated_and_typed.py, typed in as a student would: each
graded function in its own solution cell, preceded by the imports and helpers written above it since
the previous graded function (a validation decorator, rule functions, a ValueError subclass,
NamedTuple records).  Its results cross the grading wire as a NamedTuple, an OrderedDict and NumPy
float64 scalars, its errors as a ValueError subclass with reworded messages, and best_clip prints a
debug line: all of it honest, so it must score full marks.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.course.contract import FUNCTIONS

from ._build import solve, write

STYLES = Path(__file__).resolve().parents[1] / "honest_styles"
STYLE = STYLES / "decorated_and_typed.py"

DESCRIPTION = ("honest, every function in another style: a validation decorator, NamedTuple, OrderedDict "
               "and np.float64 results, reworded errors, a debug print")
EXPECTED_SCORE = 100
EXPECTED_STATUS = "graded"


def solution_cells(path: Path = STYLE) -> dict[str, str]:
    """Graded function -> the source of its solution cell, in the order of the file.

    A cell holds the code written since the previous graded function (imports, helpers, classes,
    comments) and then the function itself; the module docstring is dropped.  The file must define
    every graded function, at top level and in the notebook's order, with nothing after the last one:
    in a notebook run top to bottom a function can only rely on what the cells above it define.
    """
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    body = ast.parse(text).body
    start = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        start, body = body[0].end_lineno, body[1:]
    cells: dict[str, str] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef) and node.name in FUNCTIONS:
            if node.name in cells:
                raise ValueError(f"{path.name} defines {node.name} twice")
            cells[node.name] = "\n".join(lines[start:node.end_lineno]).strip("\n")
            start = node.end_lineno
    rest = "\n".join(lines[start:]).strip()
    if rest:
        raise ValueError(f"{path.name}: code after the last graded function would have no cell: {rest[:60]!r}")
    if list(cells) != list(FUNCTIONS):
        raise ValueError(f"{path.name} must define the graded functions in the notebook's order {list(FUNCTIONS)}, "
                         f"got {list(cells)}")
    return cells


def submission(nb: dict, path: Path = STYLE) -> dict:
    """``nb`` (a notebook as plain data) with every solution cell holding the style's code."""
    for function, code in solution_cells(path).items():
        solve(nb, function, code)
    return nb


def build(perfect, release, folder):
    write(submission(perfect), folder)  # every solution cell is replaced: the same as starting from the release

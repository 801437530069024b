"""The bank of known-wrong implementations (tests/wrong_implementations/).

One file per misconception, written as a student would write the solution
cell: a module docstring naming the misconception, ``FEEDBACK_MENTIONS`` (a
phrase the grading feedback must contain) and exactly one graded function.
The tests run every check against each entry; the sample class turns a few
into submissions.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.course import FUNCTIONS

DEFAULT_FOLDER = Path(__file__).resolve().parent.parent / "tests" / "wrong_implementations"


@dataclass(frozen=True)
class WrongImplementation:
    name: str  # file stem, e.g. "quantize_floor"
    path: Path
    function: str  # the graded function the file defines
    misconception: str  # first line of the module docstring
    feedback_mentions: str
    source: str

    def load(self) -> Callable:
        """Execute the file in a fresh namespace and return its graded function."""
        namespace: dict = {"__name__": f"wrong_{self.name}"}
        exec(compile(self.source, str(self.path), "exec"), namespace)  # noqa: S102 -- our own test bank
        return namespace[self.function]


def parse(path: Path) -> WrongImplementation:
    """Read one bank file; ValueError when it does not follow the bank's format."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    doc = ast.get_docstring(tree)
    graded = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in FUNCTIONS]
    mentions = [
        n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "FEEDBACK_MENTIONS" for t in n.targets)
        and isinstance(n.value, ast.Constant)
    ]
    if not doc:
        raise ValueError(f"{path}: needs a module docstring naming the misconception")
    if len(graded) != 1:
        raise ValueError(f"{path}: must define exactly one graded function, found {graded or 'none'}")
    if len(mentions) != 1 or not isinstance(mentions[0], str) or not mentions[0]:
        raise ValueError(f"{path}: needs FEEDBACK_MENTIONS = '<phrase the feedback must contain>'")
    return WrongImplementation(
        name=path.stem,
        path=path,
        function=graded[0],
        misconception=doc.splitlines()[0],
        feedback_mentions=mentions[0],
        source=source,
    )


def load_bank(folder: Path = DEFAULT_FOLDER) -> list[WrongImplementation]:
    """Every bank entry in ``folder``, sorted by name."""
    paths = sorted(p for p in Path(folder).glob("*.py") if not p.name.startswith("_"))
    if not paths:
        raise ValueError(f"no wrong implementations found in {folder}")
    return [parse(p) for p in paths]

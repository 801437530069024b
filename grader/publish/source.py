"""Keep the source notebooks' statements of what is graded in step with the course tables.

    python -m grader.publish.source sync    rewrite them in source/<assignment>/<notebook>
    python -m grader.publish.source check   exit 1 when a notebook differs from the tables

Generated from ``grader.course.conventions`` and the contracts (``grader.course.contract``, the
exercises; ``grader.course.capstone``), in each exercise's or part's intro cell: the "Conventions that
are graded" list and the "Test cells" table; in each test cell: its one-line docstring (what it
checks). The capstone's re-entered solution cells are copies of the exercises' solutions, so each
solution is written once. Everything else in the notebooks is written by hand.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.course import capstone, contract
from grader.course.contract import Exercise
from grader.course.conventions import CAPSTONE_CONVENTIONS, CONVENTIONS, Convention

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "source" / contract.ASSIGNMENT / contract.NOTEBOOK
CAPSTONE = ROOT / "source" / capstone.ASSIGNMENT / capstone.NOTEBOOK
CONVENTIONS_HEADING = "**Conventions that are graded**"
TESTS_HEADING = "### Test cells"
TESTS_FOOTER = ("Visible tests are the seed examples: read them, run them, make them pass. Hidden test cells show "
                "one call of your function here; their checks are added when the notebook is graded.")


_UNBREAKABLE = re.compile(r"\$[^$]+\$|`[^`]+`")  # inline math and code spans stay on one line
_GLUE = "\x00"


def _bullet(text: str) -> str:
    glued = _UNBREAKABLE.sub(lambda m: m.group(0).replace(" ", _GLUE), text)
    wrapped = textwrap.fill(glued, width=108, initial_indent="- ", subsequent_indent="  ", break_long_words=False,
                            break_on_hyphens=False)
    return wrapped.replace(_GLUE, " ")


@dataclass(frozen=True)
class Tables:
    """What is generated in one source notebook, and from which tables."""

    path: Path
    exercises: tuple[Exercise, ...]
    conventions: dict[int, tuple[Convention, ...]]
    intro: str  # grade_id of an exercise's intro cell, formatted with its number
    copied: tuple[str, ...] = ()  # solution cells copied from the exercises' source notebook


NOTEBOOKS = (
    Tables(SOURCE, contract.EXERCISES, CONVENTIONS, "ex{}_intro"),
    Tables(CAPSTONE, capstone.EXERCISES, CAPSTONE_CONVENTIONS, "part{}_intro",
           copied=tuple(f for f, _ in capstone.REENTERED)),
)


def conventions_markdown(conventions: tuple[Convention, ...]) -> str:
    """An exercise's "Conventions that are graded" list."""
    return "\n".join(_bullet(c.text) for c in conventions)


def tests_markdown(exercise: Exercise) -> str:
    """The "Test cells" table of ``exercise``, with its footer."""
    rows = ["| test cell | function | points | kind | what it checks |", "| --- | --- | ---: | --- | --- |"]
    for t in exercise.tests:
        kind = "hidden" if t.hidden else "**visible**"
        checks = t.checks.replace("|", "\\|")  # KL(p || q) inside a table cell
        rows.append(f"| `{t.grade_id}` | `{t.function}` | {t.points} | {kind} | {checks} |")
    return "\n".join(rows) + "\n\n" + TESTS_FOOTER


def _intro(source: str, exercise: Exercise, conventions: tuple[Convention, ...]) -> str:
    start = source.index(CONVENTIONS_HEADING) + len(CONVENTIONS_HEADING)
    end = source.index("\n\n**", start)  # the paragraph after the list (the scenario)
    source = f"{source[:start]}\n\n{conventions_markdown(conventions)}{source[end:]}"
    return source[: source.index(TESTS_HEADING) + len(TESTS_HEADING)] + "\n\n" + tests_markdown(exercise)


def _test_cell(source: str, checks: str) -> str:
    return re.sub(r'\A"""[^\n]*"""', lambda _: f'"""{checks}"""', source, count=1)


def solutions(nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> source of every solution cell of ``nb``."""
    return {cell.metadata.nbgrader.grade_id: cell.source for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("solution")}


def synced(nb: nbformat.NotebookNode, tables: Tables = NOTEBOOKS[0]) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose generated parts are those of the tables."""
    nb = nbformat.from_dict(nb)
    tests = {t.grade_id: t for ex in tables.exercises for t in ex.tests}
    intros = {tables.intro.format(ex.number): ex for ex in tables.exercises}
    copied = solutions(nbformat.read(SOURCE, as_version=4)) if tables.copied else {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in intros:
            cell.source = _intro(cell.source, intros[gid], tables.conventions[intros[gid].number])
        elif gid in tests and cell.metadata.nbgrader.get("grade"):
            cell.source = _test_cell(cell.source, tests[gid].checks)
        elif gid in tables.copied:
            cell.source = copied[gid]
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.source", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("sync", "check"))
    args = parser.parse_args(argv)
    status = 0
    for tables in NOTEBOOKS:
        path = tables.path.relative_to(ROOT)
        nb = nbformat.read(tables.path, as_version=4)
        before, after = nbformat.writes(nb), nbformat.writes(synced(nb, tables))
        if args.command == "sync":
            if before != after:
                nbformat.write(nbformat.reads(after, as_version=4), tables.path)
                print(f"{path}: conventions, test tables, test docstrings and copied solutions rewritten")
            else:
                print(f"{path}: already in step with the tables")
        elif before != after:
            diff = difflib.unified_diff(before.splitlines(), after.splitlines(), "notebook", "tables", lineterm="",
                                        n=0)
            print("\n".join(list(diff)[:60]), file=sys.stderr)
            print(f"{path} differs from grader.course.conventions / the contracts: run "
                  "'python -m grader.publish.source sync' (make source) and 'make release'", file=sys.stderr)
            status = 1
        else:
            print(f"{path}: in step with the tables")
    return status


if __name__ == "__main__":
    sys.exit(main())

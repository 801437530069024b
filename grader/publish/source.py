"""Keep the source notebook's statements of what is graded in step with the course tables.

    python -m grader.publish.source sync    rewrite them in source/<assignment>/<notebook>
    python -m grader.publish.source check   exit 1 when the notebook differs from the tables

Generated from ``grader.course.conventions`` and ``grader.course.contract``, in each exercise's intro
cell: the "Conventions that are graded" list and the "Test cells" table; in each test cell: its
one-line docstring (what it checks). Everything else in the notebook is written by hand.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import textwrap
from pathlib import Path

import nbformat

from grader.course.contract import ASSIGNMENT, EXERCISES, NOTEBOOK, Exercise
from grader.course.conventions import CONVENTIONS

SOURCE = Path(__file__).resolve().parents[2] / "source" / ASSIGNMENT / NOTEBOOK
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


def conventions_markdown(number: int) -> str:
    """The "Conventions that are graded" list of exercise ``number``."""
    return "\n".join(_bullet(c.text) for c in CONVENTIONS[number])


def tests_markdown(exercise: Exercise) -> str:
    """The "Test cells" table of ``exercise``, with its footer."""
    rows = ["| test cell | function | points | kind | what it checks |", "| --- | --- | ---: | --- | --- |"]
    for t in exercise.tests:
        kind = "hidden" if t.hidden else "**visible**"
        checks = t.checks.replace("|", "\\|")  # KL(p || q) inside a table cell
        rows.append(f"| `{t.grade_id}` | `{t.function}` | {t.points} | {kind} | {checks} |")
    return "\n".join(rows) + "\n\n" + TESTS_FOOTER


def _intro(source: str, exercise: Exercise) -> str:
    start = source.index(CONVENTIONS_HEADING) + len(CONVENTIONS_HEADING)
    end = source.index("\n\n**", start)  # the paragraph after the list (the scenario)
    source = f"{source[:start]}\n\n{conventions_markdown(exercise.number)}{source[end:]}"
    return source[: source.index(TESTS_HEADING) + len(TESTS_HEADING)] + "\n\n" + tests_markdown(exercise)


def _test_cell(source: str, checks: str) -> str:
    return re.sub(r'\A"""[^\n]*"""', lambda _: f'"""{checks}"""', source, count=1)


def synced(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose generated parts are those of the tables."""
    nb = nbformat.from_dict(nb)
    tests = {t.grade_id: t for ex in EXERCISES for t in ex.tests}
    intros = {f"ex{ex.number}_intro": ex for ex in EXERCISES}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in intros:
            cell.source = _intro(cell.source, intros[gid])
        elif gid in tests:
            cell.source = _test_cell(cell.source, tests[gid].checks)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.source", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("sync", "check"))
    parser.add_argument("--notebook", type=Path, default=SOURCE, help="the source notebook (default: %(default)s)")
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    new = synced(nb)
    before, after = nbformat.writes(nb), nbformat.writes(new)
    if args.command == "sync":
        if before != after:
            nbformat.write(new, args.notebook)
            print(f"{args.notebook}: conventions, test tables and test docstrings rewritten from the tables")
        else:
            print(f"{args.notebook}: already in step with the tables")
        return 0
    if before != after:
        diff = difflib.unified_diff(before.splitlines(), after.splitlines(), "notebook", "tables", lineterm="", n=0)
        print("\n".join(list(diff)[:60]), file=sys.stderr)
        print(f"{args.notebook} differs from grader.course.conventions / contract: run "
              "'python -m grader.publish.source sync' (make source) and 'make release'", file=sys.stderr)
        return 1
    print(f"{args.notebook}: in step with the tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())

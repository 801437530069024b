"""Notebook housekeeping: outputs out of git, solution regions filled in.

    python -m grader.publish.notebooks strip [PATH ...]   clear outputs in place
    python -m grader.publish.notebooks check [PATH ...]   exit 1 if a notebook carries outputs

Without paths both act on every notebook tracked by git.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"


def tracked_notebooks() -> list[Path]:
    """Every .ipynb file tracked by git in the current repository."""
    out = subprocess.run(
        ["git", "ls-files", "*.ipynb"], check=True, capture_output=True, text=True
    ).stdout
    return [Path(line) for line in out.splitlines() if line]


def stripped(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with code outputs, execution counts and run metadata removed."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return nb


def needs_strip(path: Path) -> bool:
    """True when the notebook carries outputs, execution counts or run metadata."""
    nb = nbformat.read(path, as_version=4)
    return any(
        cell.get("outputs") or cell.get("execution_count") is not None or "execution" in cell.metadata
        for cell in nb.cells
    )


def solution_code(source: str) -> str:
    """A solution cell's source with the BEGIN/END SOLUTION marker lines removed."""
    keep = [line for line in source.splitlines() if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)]
    return "\n".join(keep)


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.notebooks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["strip", "check"])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all tracked by git)")
    args = parser.parse_args(argv)
    paths = args.paths or tracked_notebooks()
    dirty = [p for p in paths if needs_strip(p)]
    if args.action == "check":
        for p in dirty:
            print(f"{p}: carries outputs; run 'make clean-notebooks' and commit", file=sys.stderr)
        print(f"{len(paths) - len(dirty)}/{len(paths)} notebooks clean")
        return 1 if dirty else 0
    for p in dirty:
        nbformat.write(stripped(nbformat.read(p, as_version=4)), p)
        print(f"stripped {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

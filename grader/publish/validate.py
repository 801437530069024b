"""Validate notebooks with nbgrader and exit non-zero when they do not pass.

    python -m grader.publish.validate NOTEBOOK            every graded cell must pass
    python -m grader.publish.validate --invert NOTEBOOK   every graded cell must fail

``nbgrader validate`` prints its verdict but exits 0 either way; this wraps
nbgrader's own Validator so that make and CI can rely on the exit status.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nbgrader.validator import Validator


def first_line(source: str) -> str:
    line = source.strip().splitlines()[0] if source.strip() else "<empty cell>"
    return line.strip().strip('"').strip()


def validate(path: Path, invert: bool) -> list[str]:
    """Problems found (empty when the notebook validates as asked)."""
    results = Validator(invert=invert).validate(str(path))
    problems = []
    for cell in results.get("type_changed", []):
        problems.append(f"cell type changed: {first_line(cell['source'])}")
    for cell in results.get("changed", []):
        problems.append(f"locked cell was edited: {first_line(cell['source'])}")
    for cell in results.get("passed", []):
        problems.append(f"passes but should fail: {first_line(cell['source'])}")
    for cell in results.get("failed", []):
        error = cell["raw_error"].strip().splitlines()
        problems.append(f"fails: {first_line(cell['source'])}\n      {error[-1] if error else ''}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.validate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--invert", action="store_true", help="require every graded cell to fail")
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        if not path.exists():
            print(f"error: {path} not found", file=sys.stderr)
            return 2
        problems = validate(path, args.invert)
        verdict = "every graded cell fails" if args.invert else "every graded cell passes"
        if problems:
            status = 1
            print(f"FAIL {path}: {len(problems)} problem(s)")
            for p in problems:
                print(f"  - {p}")
        else:
            print(f"ok   {path}: {verdict}")
    return status


if __name__ == "__main__":
    sys.exit(main())

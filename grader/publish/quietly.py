"""Run an nbgrader command with one progress bar and a short summary; its full log goes to a file.

    python -m grader.publish.quietly [--log FILE] SUBCOMMAND ARGS...
    python -m grader.publish.quietly generate_feedback quantization_distillation --force

nbgrader logs an INFO line for every file it touches (four per student for feedback).  This runs the
same ``nbgrader`` command, unchanged, writes every line it logs to ``build/logs/<subcommand>.log``,
advances a bar on each notebook it converts, shows its warnings and errors, and ends with one line:
what it did, how long it took, where the log is.  The exit status is nbgrader's.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tqdm import tqdm

from grader.grading.sanitize import printable

CONVERTING = "Converting notebook "
ROUTINE = re.compile(r"\[\w+ \| (INFO|DEBUG)\] ")  # a line only the log file gets; any other line is shown


def expected_notebooks(root: Path, subcommand: str, args: list[str]) -> int | None:
    """How many notebooks the command will convert, when it can be told from the course folder."""
    assignment = next((a for a in args if not a.startswith("-")), None)
    if assignment is None:
        return None
    if subcommand == "generate_assignment":
        return len(list((root / "source" / assignment).glob("*.ipynb")))
    if subcommand == "generate_feedback":
        return len(list(root.glob(f"autograded/*/{assignment}/*.ipynb")))
    return None


def run(subcommand: str, args: list[str], log: Path, root: Path = Path(".")) -> int:
    nbgrader = shutil.which("nbgrader") or str(Path(sys.executable).with_name("nbgrader"))
    log.parent.mkdir(parents=True, exist_ok=True)
    start, converted = time.monotonic(), 0
    with open(log, "w", encoding="utf-8") as out, tqdm(
        total=expected_notebooks(root, subcommand, args), unit="notebook", desc=subcommand, file=sys.stderr,
        disable=None,
    ) as bar:
        proc = subprocess.Popen([nbgrader, subcommand, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", cwd=root)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if CONVERTING in line:
                converted += 1
                bar.update(1)
            elif line.strip() and not ROUTINE.match(line):
                tqdm.write(printable(line.rstrip("\n")), file=sys.stderr)
        status = proc.wait()
    verdict = "done" if status == 0 else f"FAILED (exit status {status})"
    print(f"nbgrader {subcommand}: {verdict}, {converted} notebook(s) in {time.monotonic() - start:.1f} s; "
          f"full log: {log}")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.publish.quietly",
        description="Run 'nbgrader SUBCOMMAND ARGS...' with a progress bar and a one-line summary; "
        "its full log goes to a file.",
        epilog="example: python -m grader.publish.quietly generate_feedback quantization_distillation --force",
    )
    parser.add_argument("--log", type=Path, help="log file (default: build/logs/SUBCOMMAND.log)")
    parser.add_argument("--root", type=Path, default=Path("."), help="course directory (default: .)")
    parser.add_argument("subcommand", help="an nbgrader subcommand: generate_assignment, generate_feedback, ...")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments, passed on unchanged")
    ns = parser.parse_args(argv)
    log = ns.log or ns.root / "build" / "logs" / f"{ns.subcommand}.log"
    return run(ns.subcommand, ns.args, log, ns.root)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: grader.grading.autograde against stock serial ``nbgrader autograde``.

    python -m grader.publish.bench [--students 40] [--workers N] [--keep DIR]

Builds a synthetic class (correct, partial, wrong and broken submissions)
in a temporary course, grades it twice in the same run, and prints
submissions per minute, median wall time per submission, peak memory (RSS
of the largest process) and the throughput ratio.  Stock nbgrader runs with
nbgrader's own Execute and no sandbox; grader.grading.autograde with the course's
configuration (trusted grading, sandbox, one worker per core by default).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from grader.course.bank import load_bank
from grader.course.contract import ASSIGNMENT, EXERCISES, FUNCTIONS, NOTEBOOK
from grader.grading.autograde import scores_from_gradebook
from grader.publish.sample_class import (
    BROKEN_RAISES,
    BROKEN_SYNTAX,
    Student,
    _solved,
    _with,
    solutions,
    submission,
)

ROOT = Path(__file__).resolve().parents[2]
STOCK_CONFIG = """c = get_config()
import os
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "quantization-distillation"
c.Execute.timeout = 60
"""


def synthetic_class(n: int, seed: int = 0) -> list[Student]:
    """n students: 25% correct, 25% partial, the rest mostly wrong, about 1 in 8 broken."""
    rng = random.Random(seed)
    bank = load_bank()
    everything = set(FUNCTIONS)
    cls = []
    for i in range(n):
        kind = ("correct", "partial", "wrong", "wrong", "correct", "partial", "wrong", "broken")[i % 8]
        if kind == "correct":
            cls.append(Student(f"s{i:02d}_correct", "every function solved", _solved(everything)))
        elif kind == "partial":
            done = {f for ex in rng.sample(EXERCISES, rng.randint(2, 8)) for f in ex.functions}
            cls.append(Student(f"s{i:02d}_partial", f"{len(done)} functions solved", _solved(done)))
        elif kind == "wrong":
            wrong = rng.choice(bank)
            cls.append(Student(f"s{i:02d}_wrong", wrong.misconception, _with(wrong.function, wrong.source)))
        else:
            broken = rng.choice([("quantize", BROKEN_SYNTAX), ("softmax", BROKEN_RAISES)])
            cls.append(Student(f"s{i:02d}_broken", "a broken cell", _with(*broken)))
    return cls


def make_course(dest: Path, students: list[Student], config: str | None) -> Path:
    dest.mkdir(parents=True)
    shutil.copytree(ROOT / "source", dest / "source")
    shutil.copytree(ROOT / "release", dest / "release")
    if config is None:
        shutil.copy(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    else:
        (dest / "nbgrader_config.py").write_text(config, encoding="utf-8")
    src = nbformat.read(dest / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    rel = nbformat.read(dest / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    answers = solutions(src)
    for student in students:
        folder = dest / "submitted" / student.student_id / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(submission(rel, answers, student), folder / NOTEBOOK)
    env = _env()
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                   cwd=dest, env=env, check=True, capture_output=True)
    return dest


def _env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                MPLBACKEND="Agg")


def timed(cmd: list[str], cwd: Path, on_line=None) -> tuple[float, float, int, float]:
    """Run cmd; (wall seconds, peak RSS in MB of its largest process, exit status, CPU seconds of it and
    the processes it waited for)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if on_line:
            on_line(line, time.monotonic())
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - start, usage.ru_maxrss / 1024, proc.returncode, usage.ru_utime + usage.ru_stime


def run_stock(course: Path) -> dict:
    starts: list[float] = []

    def on_line(line: str, now: float) -> None:
        if "Autograding " in line:
            starts.append(now)

    wall, rss, status, cpu = timed([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--create",
                                    "--force"], course, on_line)
    ends = [*starts[1:], time.monotonic()] if starts else []
    per = [b - a for a, b in zip(starts, ends, strict=True)]
    return {"wall": wall, "rss": rss, "status": status, "per": per, "cpu": cpu,
            "scores": scores_from_gradebook(course, ASSIGNMENT)}


def run_ours(course: Path, workers: int) -> dict:
    wall, rss, status, cpu = timed([sys.executable, "-m", "grader.grading.autograde", "--workers", str(workers)],
                                   course)
    summary = json.loads((course / "build" / "grading" / "summary.json").read_text(encoding="utf-8"))
    return {"wall": wall, "rss": rss, "status": status, "per": [v["seconds"] for v in summary.values()],
            "cpu": cpu, "phases": [v.get("phases", {}) for v in summary.values()],
            "scores": scores_from_gradebook(course, ASSIGNMENT)}


# Where a submission's time goes (summary.json "phases"), in order; kernel_calls is part of test_cells.
PHASES = {
    "sanitize": "sanitize and integrity scan (driver)",
    "nbgrader_sanitize": "nbgrader's sanitizing preprocessors",
    "kernel_start_stop": "kernel start and stop",
    "student_cells": "student cells in the kernel",
    "test_cells": "test cells (checks, here)",
    "kernel_calls": "  of which calls into the kernel",
    "record": "recording (nbgrader's Autograde, replayed)",
    "lock_wait": "  of which waiting for the gradebook lock",
    "record_locked": "  of which writing it, lock held (serial)",
}


def phase_table(phases: list[dict], seconds: list[float]) -> list[str]:
    """Median and total seconds per phase, its share of the submissions' time, and the serial fraction."""
    total = sum(seconds) or float("nan")
    lines = [f"{'phase':40} {'median s':>9} {'total s':>8} {'share':>6}"]
    for key, label in PHASES.items():
        values = [p.get(key, 0.0) for p in phases]
        lines.append(f"{label:40} {statistics.median(values) if values else 0:9.3f} {sum(values):8.1f} "
                     f"{sum(values) / total:6.1%}")
    serial = sum(p.get("record_locked", 0.0) for p in phases) / total
    lines.append(f"serial fraction (time holding the gradebook lock / submission time): {serial:.1%}; "
                 f"more workers speed grading up at most {1 / serial if serial else float('inf'):.0f}x (Amdahl)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, help="build the courses here and keep them (default: a temp dir)")
    args = parser.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="grading-bench-"))
    students = synthetic_class(args.students)
    kinds = {k: sum(s.student_id.endswith(k) for s in students) for k in ("correct", "partial", "wrong", "broken")}
    print(f"class: {len(students)} submissions ({', '.join(f'{v} {k}' for k, v in kinds.items())}); "
          f"{os.cpu_count()} cores", flush=True)
    print("building the two courses ...", flush=True)
    stock_course = make_course(base / "stock", students, STOCK_CONFIG)
    ours_course = make_course(base / "ours", students, None)
    print("stock nbgrader autograde (serial) ...", flush=True)
    stock = run_stock(stock_course)
    print(f"grader.grading.autograde ({args.workers} workers) ...", flush=True)
    ours = run_ours(ours_course, args.workers)
    n = len(students)
    print()
    print(f"{'':38} {'subs/min':>9} {'median s/sub':>13} {'peak RSS MB':>12} {'total s':>8}")
    for name, r in (("stock nbgrader autograde, serial", stock),
                    (f"grader.grading.autograde, {args.workers} workers, sandbox", ours)):
        median = statistics.median(r["per"]) if r["per"] else float("nan")
        print(f"{name:38} {60 * n / r['wall']:9.1f} {median:13.2f} {r['rss']:12.0f} {r['wall']:8.1f}")
    print(f"throughput ratio (ours / stock): {stock['wall'] / ours['wall']:.2f}x")
    print(f"CPU seconds per submission: stock {stock['cpu'] / n:.2f}, ours {ours['cpu'] / n:.2f} "
          "(the processes each waited for: kernels and workers included)")
    print()
    print("where a submission's time goes (grader.grading.autograde):")
    for line in phase_table(ours["phases"], ours["per"]):
        print(f"  {line}")
    agree = sum(stock["scores"].get(s) == ours["scores"].get(s) for s in ours["scores"])
    print(f"grades agree on {agree}/{n} submissions")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if stock["status"] == 0 and ours["status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

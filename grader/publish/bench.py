"""Benchmarks: grader.grading.autograde against stock serial ``nbgrader autograde``; the capstone.

    python -m grader.publish.bench [--students 40] [--workers N] [--keep DIR]
    python -m grader.publish.bench capstone [--keep DIR]

Builds a synthetic class (correct, partial, wrong and broken submissions)
in a temporary course, grades it twice in the same run, and prints
submissions per minute, median wall time per submission, peak memory (RSS
of the largest process) and the throughput ratio.  Stock nbgrader runs with
nbgrader's own Execute and no sandbox; grader.grading.autograde with the course's
configuration (trusted grading, sandbox, one worker per core by default).

``capstone`` measures what the capstone notebook states: its execution top to bottom in a fresh
kernel (wall time, peak memory, the slowest cells), and the grading of one submission of it in the
sandbox (wall time by phase, peak memory, against the sandbox's limits).
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

from grader.course import capstone
from grader.course.bank import load_bank
from grader.course.contract import ASSIGNMENT, EXERCISES, FUNCTIONS, NOTEBOOK
from grader.grading.assignments import work_dir
from grader.grading.autograde import scores_from_gradebook
from grader.grading.trusted import MEMORY_PEAK
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
    bank = [w for w in load_bank() if w.function in FUNCTIONS]  # the exercises' entries
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
    wall, rss, status, cpu = timed([sys.executable, "-m", "grader.grading.autograde", "--assignment", ASSIGNMENT,
                                    "--workers", str(workers)],
                                   course)
    summary = json.loads((work_dir(course, ASSIGNMENT) / "summary.json").read_text(encoding="utf-8"))
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


def _cell_seconds(nb: nbformat.NotebookNode) -> list[tuple[float, str]]:
    """(seconds, first line) of each executed code cell, from nbclient's timing metadata."""
    from datetime import datetime

    found = []
    for cell in nb.cells:
        timing = cell.metadata.get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            label = cell.metadata.get("nbgrader", {}).get("grade_id") or cell.source.strip().splitlines()[0][:50]
            found.append(((end - start).total_seconds(), label))
    return found


def bench_capstone(base: Path) -> int:
    """Execute the capstone in a fresh kernel, then grade its perfect submission in the sandbox."""
    from grader.grading.sandbox import SandboxKernelManager

    print(f"capstone: {os.cpu_count()} cores", flush=True)
    source = ROOT / "source" / capstone.ASSIGNMENT / capstone.NOTEBOOK
    executed = base / "executed.ipynb"
    print("executing the capstone (reference solutions) in a fresh kernel ...", flush=True)
    wall, rss, status, cpu = timed([str(Path(sys.executable).parent / "jupyter"), "nbconvert", "--to", "notebook",
                                    "--execute", "--output", str(executed), str(source)], base)
    if status != 0:
        print("error: the capstone did not execute (run it in JupyterLab to see the failing cell)", file=sys.stderr)
        return 1
    cells = sorted(_cell_seconds(nbformat.read(executed, as_version=4)), reverse=True)
    print(f"  fresh kernel, top to bottom: {wall:.1f} s wall, {cpu:.1f} CPU s, peak RSS {rss:.0f} MB "
          "(the largest process: the kernel)")
    for seconds, label in cells[:5]:
        print(f"    {seconds:6.2f} s  {label}")

    print("grading one capstone submission (perfect) in the sandbox ...", flush=True)
    course = base / "course"
    course.mkdir()
    for name in ("source", "release"):
        shutil.copytree(ROOT / name, course / name)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for cmd in (["nbgrader", "generate_assignment", capstone.ASSIGNMENT, "--force"],
                ["grader.publish.sample_class", "--assignment", capstone.ASSIGNMENT]):
        subprocess.run([sys.executable, "-m", *cmd], cwd=course, env=_env(), check=True, capture_output=True)
    wall, rss, status, cpu = timed([sys.executable, "-m", "grader.grading.autograde", "--assignment",
                                    capstone.ASSIGNMENT, "--student", "perfect", "--workers", "1"], course)
    summary = json.loads((work_dir(course, capstone.ASSIGNMENT) / "summary.json").read_text(encoding="utf-8"))
    perfect = summary.get("perfect", {})
    print(f"  {SandboxKernelManager().describe()}")
    peak = perfect.get("phases", {}).get(MEMORY_PEAK)
    print(f"  one submission: {wall:.1f} s wall (the driver included), {perfect.get('seconds', float('nan')):.1f} s "
          f"in its grading process, score {perfect.get('score')} / {capstone.TOTAL_POINTS}")
    print(f"  peak memory: the sandbox (kernel and its processes, its cgroup's count) "
          f"{'unknown (no cgroup)' if peak is None else f'{peak:.0f} MB'}; the driver and grading process "
          f"{rss:.0f} MB")
    for key, label in PHASES.items():
        if key in perfect.get("phases", {}):
            print(f"    {label:40} {perfect['phases'][key]:7.2f} s")
    return 0 if status == 0 and perfect.get("status") in ("graded", None) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=("autograde", "capstone"), default="autograde",
                        help="what to measure (default: %(default)s)")
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, help="build the courses here and keep them (default: a temp dir)")
    args = parser.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="grading-bench-"))
    if args.what == "capstone":
        base.mkdir(parents=True, exist_ok=True)
        try:
            return bench_capstone(base)
        finally:
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
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

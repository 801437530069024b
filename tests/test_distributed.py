"""Grading at scale, for real: a PostgreSQL gradebook and a Dask cluster on loopback, with faults.

The servers are started by the project's own commands (grader.publish.services).  The sample class
is graded locally into SQLite first; every other run must give the same grades:

- through a Dask cluster of 1 and of 2 workers into PostgreSQL;
- when a Dask worker is killed in the middle of the run (no submission lost, none graded twice);
- when the driver is killed and started again with --resume (only what is missing is graded);
- and a scheduler that is not there stops the run with a clear error before anything changes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from test_services import free_port  # tests/ is on sys.path (tests/conftest.py)

from grader.course.contract import ASSIGNMENT
from grader.publish import services

pytestmark = [pytest.mark.services, pytest.mark.sandbox, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", MPLBACKEND="Agg")
ENV.pop("GRADEBOOK_URL", None)
AUTOGRADE = [sys.executable, "-m", "grader.grading.autograde", "--assignment", ASSIGNMENT, "--timeout", "300"]


def run(args: list[str], cwd: Path, status: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=1800)
    assert done.returncode == status, f"{' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def course(folder: Path, url: str | None = None) -> Path:
    """A copy of the course with the sample class submitted and the assignment released into its gradebook."""
    folder.mkdir(parents=True)
    for name in ("source", "release", "nbgrader_config.py"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, folder / name)
    if url:
        with (folder / "nbgrader_config.py").open("a", encoding="utf-8") as fh:
            fh.write(f"\nc.CourseDirectory.db_url = {url!r}\n")
        empty_database(url)
    run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], folder)
    run([sys.executable, "-m", "grader.publish.sample_class", "--out", "submitted"], folder)
    return folder


def empty_database(url: str) -> None:
    """Drop every table of the PostgreSQL gradebook database: each run starts from nothing."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def db_url(root: Path) -> str:
    from grader.grading import assignments

    return assignments.db_url(assignments.load_config(root), root)


def grades(root: Path) -> dict[str, dict[str, float]]:
    """student -> grade cell -> score, and how many submissions each student has (one, always)."""
    found = {}
    with Gradebook(db_url(root)) as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            found[sub.student_id] = {g.name: g.score for nb in sub.notebooks for g in nb.grades}
    return found


def submissions_per_student(root: Path) -> dict[str, int]:
    from nbgrader.api import SubmittedAssignment

    with Gradebook(db_url(root)) as gb:
        rows = gb.db.query(SubmittedAssignment).all()
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.student.id] = counts.get(row.student.id, 0) + 1
    return counts


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """A short folder the postgres user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="grader-scale-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres(folder) -> Iterator[str]:
    pg = folder / "postgres"
    try:
        yield services.postgres_start(pg, free_port())
    finally:
        services.postgres_stop(pg)


@pytest.fixture(scope="module")
def reference(folder) -> dict:
    """The sample class graded locally into SQLite: the grades every other run must give."""
    root = course(folder / "local")
    run([*AUTOGRADE, "--workers", "2"], root)
    found = grades(root)
    assert len(found) == 11
    return found


@pytest.fixture(scope="module")
def cluster(folder) -> Iterator[dict]:
    """Dask clusters on loopback, started on demand by size and stopped at the end."""
    started: dict[int, str] = {}

    def address(workers: int) -> str:
        if workers not in started:
            started[workers] = services.dask_start(folder / f"dask{workers}", free_port(), workers, ROOT)
        return started[workers]

    try:
        yield {"address": address}
    finally:
        for workers in started:
            services.dask_stop(folder / f"dask{workers}")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_dask_cluster_into_postgresql_grades_as_the_local_run(folder, postgres, reference, cluster, workers):
    root = course(folder / f"cluster{workers}", postgres)
    address = cluster["address"](workers)
    start = time.monotonic()
    done = run([*AUTOGRADE, "--scheduler", address], root)
    seconds = time.monotonic() - start
    print(f"\n{workers} Dask worker(s): the sample class in {seconds:.1f} s")
    assert f"grading on the Dask cluster at {address} ({workers} workers)" in done.stdout
    assert "gradebook: postgresql+psycopg2://grader:***@127.0.0.1" in done.stdout  # no password printed
    assert grades(root) == reference
    assert set(submissions_per_student(root).values()) == {1}


def worker_pids(address: str) -> list[int]:
    from distributed import Client

    with Client(address, timeout="10s") as client:
        return list(client.run(os.getpid).values())


def wait_for_results(root: Path, count: int, proc: subprocess.Popen, timeout: float = 600) -> None:
    results = root / "build" / "grading" / ASSIGNMENT / "results"
    deadline = time.monotonic() + timeout
    while len(list(results.glob("*.json"))) < count:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "no submission graded in time"
        time.sleep(0.2)


def test_a_worker_killed_mid_run_loses_no_submission_and_grades_none_twice(folder, postgres, reference, cluster):
    root = course(folder / "killed", postgres)
    address = cluster["address"](2)
    proc = subprocess.Popen([*AUTOGRADE, "--scheduler", address], cwd=root, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    wait_for_results(root, 1, proc)
    victim = worker_pids(address)[0]
    os.kill(victim, signal.SIGKILL)  # its nanny starts a new worker; its task goes to another worker
    out, _ = proc.communicate(timeout=1800)
    assert proc.returncode == 0, out
    assert grades(root) == reference
    assert submissions_per_student(root) == dict.fromkeys(reference, 1)
    summary = json.loads((root / "build" / "grading" / ASSIGNMENT / "summary.json").read_text(encoding="utf-8"))
    assert all(outcome["failure"] is None for outcome in summary.values()), summary


def test_an_interrupted_run_started_again_grades_only_what_is_missing(folder, reference):
    root = course(folder / "interrupted")
    proc = subprocess.Popen([*AUTOGRADE, "--workers", "2"], cwd=root, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    wait_for_results(root, 3, proc)
    proc.kill()  # the driver dies: its grading processes watch it and go with it
    proc.communicate()
    graded = {p.stem for p in (root / "build" / "grading" / ASSIGNMENT / "results").glob("*.json")}
    assert 3 <= len(graded) < 11
    again = run([*AUTOGRADE, "--workers", "2", "--resume"], root)
    assert f"--resume: {len(graded)} submission(s) already graded, {11 - len(graded)} to grade" in again.stdout
    assert grades(root) == reference


def test_a_scheduler_that_is_not_there_stops_the_run_and_changes_nothing(folder, reference):
    root = folder / "local"  # graded by the reference run
    before = grades(root)
    results = sorted((root / "build" / "grading" / ASSIGNMENT / "results").iterdir())
    done = run([*AUTOGRADE, "--scheduler", f"tcp://127.0.0.1:{free_port()}"], root, status=2)
    assert "no Dask scheduler answers at tcp://127.0.0.1:" in done.stderr and "nothing was graded" in done.stderr
    assert grades(root) == before == reference
    assert sorted((root / "build" / "grading" / ASSIGNMENT / "results").iterdir()) == results


def test_submissions_graded_one_by_one_side_by_side_as_a_batch_system_would(folder, postgres, reference):
    root = course(folder / "fanout", postgres)
    chosen = sorted(reference)[:3]
    procs = [subprocess.Popen([*AUTOGRADE, "--workers", "1", "--student", student], cwd=root, env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for student in chosen]
    for proc in procs:
        out, _ = proc.communicate(timeout=1800)
        assert proc.returncode == 0, out
    assert grades(root) == {student: reference[student] for student in chosen}
    summary = json.loads((root / "build" / "grading" / ASSIGNMENT / "summary.json").read_text(encoding="utf-8"))
    assert sorted(summary) == chosen and all(summary[s]["failure"] is None for s in chosen)

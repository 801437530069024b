"""Grading on a Dask cluster: each submission one task, graded by a Dask worker as it is locally.

    python -m grader.grading.autograde --scheduler tcp://HOST:PORT

The driver sanitizes and stages every submission (``build/grading/<assignment>/staged/``) as for a local run,
then gives the scheduler one task per submission.  A task runs ``grade_task`` on a Dask worker: the
staged notebook is executed and recorded through a ``Slot`` of that worker (a sandboxed, trusted
grading process, kept for the next task), under the same wall-clock limit.  The workers therefore
need:

- the course directory at the same path (one machine, or a shared file system such as NFS);
- the course's Python environment, with its ``bin/`` first on PATH (nbgrader calls ``alembic``);
- a gradebook they can all write: PostgreSQL (``GRADEBOOK_URL``, nbgrader's ``db_url``) for workers
  on several machines; the SQLite file serves workers on one machine (a lock file serializes writes).

A Dask worker lost in the middle of a task takes its grading process and kernel with it (they watch
their parent); the scheduler gives the task to another worker, which grades the submission from the
start, and nbgrader's autograde replaces whatever the lost one had recorded: no submission is lost,
none is graded twice into the gradebook.  A task whose workers keep dying (``allowed-failures``) is
reported failed, and so is every submission left when the scheduler goes away: those are not in the
gradebook, and ``--resume`` grades only them on the next run.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from grader.grading import assignments

CONNECT_TIMEOUT = "10s"

_slots: dict[tuple[str, str, int], object] = {}  # per Dask worker process: (root, assignment, thread) -> Slot
_slots_lock = threading.Lock()


class ClusterError(RuntimeError):
    """The Dask cluster cannot be used; the message says what to do."""


def grade_task(root: str, assignment_id: str, student: str, staged: str, out: str, timeout: float,
               failure: str | None) -> tuple[str, str | None, str | None, float, dict]:
    """On a Dask worker: grade one staged submission (or record ``failure`` for it), as a local slot does."""
    from grader.grading.autograde import Slot

    key = (root, assignment_id, threading.get_ident())
    with _slots_lock:
        slot = _slots.get(key)
        if slot is None:
            config = assignments.load_config(Path(root))
            slot = _slots[key] = Slot(Path(root), assignments.load(config, assignment_id))
    start = time.monotonic()
    failure, unrecorded = slot.grade(student, Path(staged), Path(out), timeout, failure)
    return student, failure, unrecorded, time.monotonic() - start, slot.phases


def connect(address: str):
    """A client of the scheduler at ``address``, or ClusterError saying why not and what to do."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("Dask is not installed: pip install dask distributed (or make install)") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"no Dask scheduler answers at {address} ({type(exc).__name__}: {exc}); start one "
            "(python -m grader.publish.services dask start) or check the address; nothing was graded"
        ) from None
    if not client.scheduler_info().get("workers"):
        client.close()
        raise ClusterError(f"the Dask scheduler at {address} has no workers: start some (dask worker {address})")
    return client


def grade_on_cluster(address: str, root: Path, staged_dir: Path, replay_dir: Path, outcomes: dict,
                     timeout: float, assignment) -> Iterator[tuple[str, str | None, str | None, float, dict]]:
    """Yield each submission's (student, failure, unrecorded, seconds, phases) as the cluster grades it."""
    from distributed import as_completed

    client = connect(address)
    run = secrets.token_hex(4)
    try:
        futures = {}
        for student, outcome in outcomes.items():
            staged = staged_dir / student / assignment.id / assignment.notebook
            future = client.submit(grade_task, str(root), assignment.id, student, str(staged),
                                   str(replay_dir / f"{student}.json"), timeout, outcome.failure,
                                   key=f"grade-{run}-{student}", pure=False)
            futures[future] = student
        for future in as_completed(futures):
            student = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 -- the task could not run: reported, never recorded
                yield (student, f"not graded: the Dask cluster could not grade it ({type(exc).__name__}: "
                       f"{str(exc)[:200]}); run again with --resume", None, 0.0, {})
    finally:
        client.close()

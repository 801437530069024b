"""Autograde a class: sanitized, sandboxed, trusted, in parallel.

    python -m grader.grading.autograde [--workers N] [--student ID ...] [--timeout S]
                                       [--scheduler tcp://HOST:PORT] [--resume]

1. Back up ``gradebook.db`` (``backups/``).
2. Sanitize every ``submitted/<student>/<assignment>/`` folder
   (``grader.grading.sanitize``) into ``build/grading/<assignment>/staged/``, the notebook and
   its checked ``timestamp.txt`` (so nbgrader records the submission time and
   ``AssignLatePenalties`` can apply); the submitted folders are only read, and
   no symbolic link in them is followed: a student or assignment folder that is
   a link scores 0 with the reason.  A folder whose name is not an acceptable
   student id (``grader.grading.sanitize.student_id_problem``: nbgrader reads
   ids as glob patterns) is refused: reported, never given to nbgrader, no
   gradebook entry.  Scan each for tampering (``grader.grading.integrity``).
3. Grade the staged notebooks in parallel, one submission at a time per
   worker process, each under a wall-clock limit.  A worker first executes:
   nbgrader's sanitizing preprocessors, then ``grader.grading.trusted.TrustedExecute``
   in a sandboxed kernel, which writes the executed outputs to
   ``build/grading/<assignment>/executed/``.  Then it records: nbgrader's own Autograde
   converter replays those outputs (no kernel) and writes the gradebook and
   ``autograded/``; a SQLite gradebook takes one writer at a time
   (``grader.grading.gradebook_lock``), so the grades are those of a serial run.  A worker that crashes or
   runs out of time is replaced, and the new one records zero for that
   submission, with the reason; the others go on.  With ``--scheduler`` the
   submissions are graded the same way by the workers of a Dask cluster
   (``grader.grading.distributed``).  Each result goes to
   ``build/grading/<assignment>/results/<student>.json``; ``--resume`` skips the submissions
   already graded (interrupted runs).  The gradebook is nbgrader's ``db_url``:
   SQLite by default (writes serialized by a lock file), or PostgreSQL.
4. Print a summary: graded, failed with reason, late, flagged for review,
   refused; write ``build/grading/<assignment>/summary.json``, ``integrity.md``
   and one nbgrader log per student in its ``logs/``.  Whatever
   students control (ids, file names, reasons quoting them) is printed escaped
   (``grader.grading.sanitize.printable``).  The exit status is 1 when a submission
   that was graded is missing from the gradebook; refused folders are reported (REFUSED lines,
   summary.json) and do not stop the feedback and exports of the others.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

# nbformat imports jsonschema, which imports rfc3987_syntax when it is installed (jupyter-events asks
# for it) to check the "iri" formats, which no notebook schema uses; that module compiles a grammar as
# it is imported, a second of every grading process's start.  The driver and its workers do without it.
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402
from tqdm import tqdm  # noqa: E402

from grader.grading import assignments, distributed, gradebook_lock, integrity  # noqa: E402
from grader.grading.assignments import Assignment, work_dir  # noqa: E402
from grader.grading.distributed import ClusterError  # noqa: E402
from grader.grading.sanitize import SUBMISSION_SECRET, TIMESTAMP, printable, student_id_problem  # noqa: E402

WARNED: set[str] = set()  # worker warnings already shown
RECORD_TIMEOUT = 300  # seconds to record a failed submission's zero (no kernel runs)
KEEP_BACKUPS = 10


@dataclass
class Outcome:
    student: str
    problems: list[str] = field(default_factory=list)  # what the sanitizer repaired
    failure: str | None = None  # why grading failed (the submission scores 0 where not graded)
    flags: list = field(default_factory=list)
    seconds: float = 0.0
    timestamp: str | None = None  # the submission's checked timestamp.txt, staged for nbgrader
    phases: dict = field(default_factory=dict)  # seconds by phase (sanitize, kernel, cells, record, ...)


def _config(root: Path):
    return assignments.load_config(root)


def safe_url(url: str) -> str:
    """A database URL as printed: without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def gradebook_problem(root: Path, assignment: Assignment) -> str | None:
    """Why the gradebook cannot take grades of ``assignment`` (what to run), or None."""
    from nbgrader.api import Gradebook, MissingEntry

    url = db_url(root)
    if assignments.is_sqlite(url) and not (root / "gradebook.db").exists():
        return "gradebook.db not found: run 'make release' first (it records the source cells)"
    try:
        with Gradebook(url) as gb:
            gb.find_assignment(assignment.id)
    except MissingEntry:
        return f"the gradebook has no assignment {assignment.id!r}: run 'make release' first (it records the source cells)"
    except Exception as exc:  # noqa: BLE001 -- a database that is not there, refuses us, ...
        return f"cannot open the gradebook {safe_url(url)}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


def backup(db: Path, folder: Path) -> Path | None:
    """Copy the gradebook aside before anything writes to it; keep the newest KEEP_BACKUPS."""
    if not db.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"gradebook-{stamp}.db"
    shutil.copy2(db, target)
    for old in sorted(folder.glob("gradebook-*.db"))[:-KEEP_BACKUPS]:
        old.unlink()
    return target


# ------------------------------------------------------------------ one submission (worker process)


def db_url(root: Path) -> str:
    return assignments.db_url(_config(root), root)


def _resources(root: Path, student: str, assignment: Assignment) -> dict:
    return {
        "nbgrader": {"notebook": assignment.notebook_id, "assignment": assignment.id, "student": student,
                     "db_url": db_url(root)},
        "metadata": {"path": str(root)},
    }


def nbgrader_sanitized(nb, root: Path, student: str, config, assignment: Assignment):
    """The notebook as nbgrader autograde's sanitizing pass leaves it (no kernel)."""
    resources = _resources(root, student, assignment)
    for cls in config.Autograde.sanitize_preprocessors:
        nb, resources = cls(config=config).preprocess(nb, resources)
    return nb, resources


def execute_one(root: Path, staged: Path, out: Path, student: str, assignment: Assignment) -> dict[str, float]:
    """Worker: sanitize as nbgrader does, run TrustedExecute, write the executed notebook; seconds by phase."""
    from grader.grading.trusted import TrustedExecute, replay_record

    start = time.monotonic()
    config = _config(root)
    nb, resources = nbgrader_sanitized(nbformat.read(staged, as_version=4), root, student, config, assignment)
    phases = {"nbgrader_sanitize": time.monotonic() - start}
    executor = TrustedExecute(config=config)
    nb, _ = executor.preprocess(nb, resources)
    out.write_text(json.dumps(replay_record(nb)), encoding="utf-8")
    return {**phases, **executor.phases}


def record_one(root: Path, staged_dir: Path, replay_dir: Path, student: str,
               assignment: Assignment) -> dict[str, float]:
    """Worker: nbgrader's Autograde converter for one student, replaying its executed record.

    It writes ``autograded/<student>/`` and the gradebook, as ``nbgrader autograde
    --create --force`` does for that student; its log goes to build/grading/<assignment>/logs/.  Returns the
    seconds it took, and of those, waiting for the gradebook lock and holding it (the serial part).
    """
    from nbgrader.converters import Autograde, NbGraderException
    from nbgrader.coursedir import CourseDirectory

    refused = student_id_problem(student)
    if refused:  # nbgrader takes the id as a glob pattern: only a literal one may reach it
        raise ValueError(f"refused: {refused}")
    config = _config(root)
    config.CourseDirectory.submitted_directory = str(staged_dir)
    config.CourseDirectory.assignment_id = assignment.id
    config.CourseDirectory.student_id = student
    config.Autograde.create_student = True
    config.BaseConverter.force = True
    config.TrustedExecute.replay_dir = str(replay_dir)
    url = db_url(root)
    if assignments.is_sqlite(url):
        from sqlalchemy.engine import make_url

        (root / "build" / "grading").mkdir(parents=True, exist_ok=True)
        gradebook_lock.hold_while_writing(Path(make_url(url).database), root / "build" / "grading" / "gradebook.lock")
    logs = work_dir(root, assignment.id) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"nbgrader.autograde.{student}")
    log.propagate = False
    log.setLevel(logging.WARNING)
    handler = logging.FileHandler(logs / f"{student}.log", mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    log.addHandler(handler)
    try:
        converter = Autograde(coursedir=CourseDirectory(config=config), config=config, log=log)
        start, before = time.monotonic(), dict(gradebook_lock.SECONDS)
        converter.start()
        return {"record": time.monotonic() - start, "lock_wait": gradebook_lock.SECONDS["wait"] - before["wait"],
                "record_locked": gradebook_lock.SECONDS["held"] - before["held"]}
    except NbGraderException as exc:
        raise RuntimeError(f"nbgrader could not record it ({exc}); see {logs / (student + '.log')}") from None
    finally:
        log.removeHandler(handler)
        handler.close()


def failed_record(root: Path, staged: Path, student: str, reason: str, assignment: Assignment) -> dict:
    """A replay record giving every test cell an error naming ``reason``."""
    from grader.grading.trusted import VERDICT, replay_record, verdict

    nb, _ = nbgrader_sanitized(nbformat.read(staged, as_version=4), root, student, _config(root), assignment)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell.metadata.pop(VERDICT, None)
        if cell.cell_type == "code" and gid in assignment.test_ids:
            cell.outputs = [nbformat.v4.new_output("error", ename="GradingFailed", evalue=reason,
                                                   traceback=[f"GradingFailed: {reason}"])]
            cell.metadata[VERDICT] = verdict(gid, None, f"grading failed: {reason}")
    return replay_record(nb)


# ------------------------------------------------------------------ the class


def stage(root: Path, submitted: Path, staged_dir: Path, students: list[str],
          assignment: Assignment) -> dict[str, Outcome]:
    from grader.grading.sanitize import sanitize

    release = root / "release" / assignment.id / assignment.notebook
    outcomes = {}
    for student in students:
        start = time.monotonic()
        result = sanitize(submitted / student / assignment.id, release)
        outcome = Outcome(student, problems=list(result.problems), timestamp=result.timestamp)
        if result.fatal:
            outcome.failure = "; ".join(result.problems) or "no usable notebook"
        target = staged_dir / student / assignment.id / assignment.notebook
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(result.notebook, target)
        if result.timestamp:  # nbgrader's Autograde reads it from beside the notebook
            (target.parent / TIMESTAMP).write_text(result.timestamp + "\n", encoding="utf-8")
        if result.submission_secret:  # nbgrader's release_feedback names the feedback file after it
            (target.parent / SUBMISSION_SECRET).write_text(result.submission_secret, encoding="utf-8")
        outcome.flags = integrity.scan(result.notebook)
        outcome.phases["sanitize"] = round(time.monotonic() - start, 4)
        outcomes[student] = outcome
    return outcomes


class Worker:
    """A long-lived grading process (``--serve``): imports once, grades one submission at a time."""

    def __init__(self, root: Path, assignment: Assignment):
        self.root = root
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grader.grading.autograde", "--serve", "--root", str(root),
             "--assignment", assignment.id],
            cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, start_new_session=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.phases: dict[str, float] = {}  # of the last submission graded: seconds by phase
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # the process ended

    def grade(self, student: str, staged: Path, out: Path, timeout: float, fail: str | None = None) -> str | None:
        """Grade one submission (or record ``fail`` for it); None on success, else why it failed."""
        try:
            job = {"student": student, "staged": str(staged), "out": str(out), "fail": fail}
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return f"grading took longer than {timeout:g} s (wall clock): stopped"
        except OSError as exc:
            return f"the grading worker was gone: {exc}"
        if line is None:
            return "the grading worker died"
        status, _, detail = line.partition(" ")
        if status == "ok":
            reply = json.loads(detail)
            warning = reply.get("warning")
            self.phases = reply.get("phases", {})
            if warning and warning not in WARNED:  # e.g. warm kernels could not start: say so once
                WARNED.add(warning)
                tqdm.write(f"WARNING: {printable(warning)}", file=sys.stderr)
            return None
        return detail or "the grading worker failed"

    def stop(self, grace: float = 0) -> None:
        """End the worker: given ``grace`` seconds, it may finish and clean up (its warm template's
        folder); a worker stuck on a submission is killed at once, with everything it started."""
        if grace:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # end of jobs: the worker returns from serve()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def sandbox_warnings() -> str:
    """What a worker has to say about its kernels (one line; empty when all is as described)."""
    from grader.grading.sandbox import warm_failure

    failure = warm_failure()
    return f"warm kernels are off in a worker, kernels start cold: {failure}"[:300] if failure else ""


def _die_with_parent() -> None:
    """When the driver that started this worker is gone (killed, or a Dask worker lost), the worker and
    its kernels go at once: a submission is never recorded by a worker nobody waits for."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os.killpg(0, signal.SIGKILL)  # this worker's session (start_new_session): itself and what it started

    threading.Thread(target=watch, daemon=True).start()


def prewarm(root: Path) -> None:
    """Worker, before its first job: import what grading needs and start the sandbox's warm template,
    while the driver is still sanitizing and staging the class.  A failure here is left to the first
    job, which meets it again and reports it."""
    import nbgrader.converters  # noqa: F401 -- imported now, not during the first submission

    from grader.grading.sandbox import SandboxKernelManager
    from grader.grading.trusted import TrustedExecute

    config = _config(root)
    with contextlib.suppress(Exception):
        if TrustedExecute(config=config).sandbox:
            SandboxKernelManager(config=config).prewarm()


def serve(root: Path, assignment: Assignment) -> int:
    """Worker loop: one JSON job per line in, one line "ok" / "error <why>" out.

    A job {"student", "staged", "out"} executes the staged notebook into ``out`` and records it;
    with "fail": <reason> it records zero for every test, giving the reason, without executing.

    The protocol keeps private copies of stdin and stdout; fds 0 and 1 become /dev/null, so a
    kernel started here (and the student code in it) can neither read nor forge the driver's lines.
    """
    _die_with_parent()
    requests, replies = os.fdopen(os.dup(0), "r"), os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 -- for the life of the worker
    prewarm(root)
    for line in requests:
        job = json.loads(line)
        student, staged, out = job["student"], Path(job["staged"]), Path(job["out"])
        try:
            phases: dict[str, float] = {}
            if job.get("fail"):
                out.write_text(json.dumps(failed_record(root, staged, student, job["fail"], assignment)),
                               encoding="utf-8")
            else:
                phases = execute_one(root, staged, out, student, assignment)
            phases.update(record_one(root, staged.parents[2], out.parent, student, assignment))
            reply = {"warning": sandbox_warnings(), "phases": {k: round(v, 4) for k, v in phases.items()}}
            replies.write(f"ok {json.dumps(reply)}\n")
        except Exception as exc:  # noqa: BLE001 -- reported to the driver, which records it
            first = str(exc).splitlines()[0][:300] if str(exc) else ""
            replies.write(f"error {type(exc).__name__}: {first}\n")
        replies.flush()
    return 0


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def save_result(results: Path, staged_dir: Path, outcome: Outcome, assignment: Assignment) -> None:
    """What grading ``outcome`` gave, with the digest of the notebook graded (for ``--resume``)."""
    staged = staged_dir / outcome.student / assignment.id / assignment.notebook
    results.mkdir(parents=True, exist_ok=True)
    record = {"digest": _digest(staged), "failure": outcome.failure, "seconds": round(outcome.seconds, 2)}
    (results / f"{outcome.student}.json").write_text(json.dumps(record), encoding="utf-8")


def resumed(results: Path, staged_dir: Path, outcome: Outcome, assignment: Assignment, recorded: set[str]) -> bool:
    """Whether ``outcome``'s submission was graded already, as staged now (its result matches and the
    gradebook holds it: ``recorded``): then its result is taken."""
    try:
        record = json.loads((results / f"{outcome.student}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    staged = staged_dir / outcome.student / assignment.id / assignment.notebook
    if record.get("digest") != _digest(staged) or outcome.student not in recorded:
        return False
    outcome.failure = outcome.failure or record.get("failure")
    outcome.seconds = float(record.get("seconds") or 0)
    return True


class Slot:
    """One submission at a time in a grading process (``Worker``), replaced whenever a submission
    leaves it in an unknown state.  Local threads and Dask tasks (``grader.grading.distributed``) grade
    through it alike."""

    def __init__(self, root: Path, assignment: Assignment):
        self.root, self.assignment = root, assignment
        self.worker: Worker | None = None
        self.phases: dict[str, float] = {}

    def _worker(self) -> Worker:
        if self.worker is None:
            self.worker = Worker(self.root, self.assignment)
        return self.worker

    def start(self) -> Slot:
        """Start the grading process now (it imports and warms up while the caller does other work)."""
        self._worker()
        return self

    def _replace(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.worker = None

    def grade(self, student: str, staged: Path, out: Path, timeout: float,
              failure: str | None = None) -> tuple[str | None, str | None]:
        """Execute and record ``student``'s staged notebook, or record zero with ``failure`` (the
        sanitizer found no usable notebook); (why grading failed, why recording that failed) or Nones.
        ``self.phases``: the seconds by phase it took."""
        out.unlink(missing_ok=True)
        self.phases = {}
        if failure is None:
            failure = self._worker().grade(student, staged, out, timeout)
            if failure:
                self._replace()
            else:
                self.phases = self.worker.phases
        unrecorded = None
        if failure:
            unrecorded = self._worker().grade(student, staged, out, RECORD_TIMEOUT, fail=failure)
            if unrecorded:
                self._replace()
        return failure, unrecorded

    def stop(self, grace: float = 0) -> None:
        if self.worker is not None:
            self.worker.stop(grace)
        self.worker = None


Done = tuple[str, str | None, str | None, float, dict]  # student, failure, unrecorded, seconds, phases


def execute_all(root: Path, staged_dir: Path, replay_dir: Path, outcomes: dict[str, Outcome],
                workers: int | list[Slot], timeout: float, assignment: Assignment, scheduler: str | None = None,
                results: Path | None = None) -> None:
    """Grade every outcome's staged notebook: ``workers`` local slots (a number, or the slots,
    started already), or the workers of the Dask cluster at ``scheduler``; as each is done, write what
    it got into ``results``/<student>.json."""
    replay_dir.mkdir(parents=True, exist_ok=True)
    if scheduler:
        graded = distributed.grade_on_cluster(scheduler, root, staged_dir, replay_dir, outcomes, timeout, assignment)
    else:
        slots = workers if isinstance(workers, list) else [Slot(root, assignment) for _ in range(workers)]
        graded = _grade_locally(staged_dir, replay_dir, outcomes, slots, timeout, assignment)
    with tqdm(total=len(outcomes), unit="submission", desc="grading", file=sys.stderr, disable=None) as bar:
        for student, failure, unrecorded, seconds, phases in graded:
            outcome = outcomes[student]
            outcome.seconds = seconds
            outcome.phases.update(phases)
            if failure:
                outcome.failure = failure
            if unrecorded:
                outcome.failure = f"{failure}; and recording that failed too: {unrecorded}"
            if results is not None:
                save_result(results, staged_dir, outcome, assignment)
            bar.set_postfix_str(f"{printable(student)}: {'FAILED' if failure else 'ok'}", refresh=False)
            bar.update()


def _grade_locally(staged_dir: Path, replay_dir: Path, outcomes: dict[str, Outcome], slots: list[Slot],
                   timeout: float, assignment: Assignment):
    """Yield each submission's ``Done`` as it is graded, by a thread for each slot (as many as there
    are submissions; the others are stopped)."""
    todo: queue.Queue[str] = queue.Queue()
    for student in outcomes:
        todo.put(student)
    done: queue.Queue[Done] = queue.Queue()
    for spare in slots[len(outcomes):]:
        spare.stop()
    slots = slots[:len(outcomes)]

    def run_slot(slot: Slot) -> None:
        try:
            while True:
                try:
                    student = todo.get_nowait()
                except queue.Empty:
                    return
                staged = staged_dir / student / assignment.id / assignment.notebook
                start = time.monotonic()
                failure, unrecorded = slot.grade(student, staged, replay_dir / f"{student}.json", timeout,
                                                 outcomes[student].failure)
                done.put((student, failure, unrecorded, time.monotonic() - start, slot.phases))
        finally:
            slot.stop(grace=30)

    threads = [threading.Thread(target=run_slot, args=(slot,), daemon=True) for slot in slots]
    for thread in threads:
        thread.start()
    for _ in range(len(outcomes)):
        yield done.get()
    for thread in threads:
        thread.join()


def write_summary(path: Path, report: dict, keep_others: bool) -> None:
    """Write summary.json: this run's students, and with ``keep_others`` (a run of some students) the
    others as earlier runs left them; under a lock and by rename, so runs side by side lose nothing."""
    with (path.parent / "summary.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = {}
        if keep_others and path.exists():
            with contextlib.suppress(ValueError):
                merged = json.loads(path.read_text(encoding="utf-8"))
        merged.update(report)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(merged, indent=1), encoding="utf-8")
        partial.replace(path)


def discover(submitted: Path, assignment_id: str | None = None) -> list[str]:
    """The names in submitted/ that are folders or symbolic links (to anything: a link is refused
    when graded, never followed, never dropped silently); plain files are not submissions.

    With ``assignment_id``, a student folder holding nothing of that name has not handed it in (a
    student of the class who skipped it, or has not reached it yet): it is left out, not graded as
    the untouched release. Anything there by that name, a folder or not, is a submission."""
    if not submitted.is_dir():
        return []
    with os.scandir(submitted) as entries:
        found = sorted(e.name for e in entries if e.is_symlink() or e.is_dir(follow_symlinks=False))
    if assignment_id is None:
        return found
    return [name for name in found
            if (submitted / name).is_symlink() or os.path.lexists(submitted / name / assignment_id)]


@dataclass
class Late:
    timestamp: datetime
    seconds_late: float
    penalty: float


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else "",
             f"{secs} s" if secs or not (days or hours or minutes) else ""]
    return " ".join(p for p in parts if p)


def summary(outcomes: dict[str, Outcome], scores: dict[str, float], refused: dict[str, str] | None = None,
            late: dict[str, Late] | None = None) -> str:
    """What the instructor reads.  Ids and reasons are escaped: nothing a student named reaches the
    terminal as a control sequence."""
    refused, late = refused or {}, late or {}
    lines = []
    failed = [o for o in outcomes.values() if o.failure]
    flagged = [o for o in outcomes.values() if o.flags]
    repaired = [o for o in outcomes.values() if o.problems and not o.failure]
    overdue = sorted(s for s, info in late.items() if info.seconds_late > 0 and s in outcomes)
    head = (f"graded {len(outcomes)} submissions: {len(outcomes) - len(failed)} ran, "
            f"{len(failed)} failed, {len(repaired)} repaired, {len(flagged)} flagged for review")
    if overdue:
        head += f", {len(overdue)} late"
    if refused:
        head += f"; {len(refused)} folder(s) in submitted/ refused (not graded, not in the gradebook)"
    lines.append(head)
    for o in sorted(failed, key=lambda o: o.student):
        lines.append(f"  FAILED   {printable(o.student)}: {printable(o.failure)} (score {scores.get(o.student, 0):g})")
    for o in sorted(repaired, key=lambda o: o.student):
        lines.append(f"  repaired {printable(o.student)}: {printable('; '.join(o.problems)[:300])}")
    for student in overdue:
        info, score = late[student], scores.get(student, 0) or 0
        penalty = (f"late penalty {info.penalty:g} (score {score:g} - {info.penalty:g} = "
                   f"{max(0.0, score - info.penalty):g})" if info.penalty else
                   "no late penalty (c.AssignLatePenalties.plugin_class assigns none)")
        lines.append(f"  late     {printable(student)}: submitted {info.timestamp:%Y-%m-%d %H:%M:%S} UTC, "
                     f"{_duration(info.seconds_late)} after the due date; {penalty}")
    for o in sorted(flagged, key=lambda o: o.student):
        kinds = sorted({f.kind for f in o.flags})
        lines.append(f"  flagged  {printable(o.student)}: {len(o.flags)} finding(s): {', '.join(kinds)}")
    for student in sorted(refused):
        lines.append(f"  REFUSED  {printable(repr(student))}: {printable(refused[student])}; "
                     "rename the folder to an accepted id to grade it")
    return "\n".join(lines)


def scores_from_gradebook(root: Path, assignment_id: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url(root)) as gb:
        return {s.student_id: s.score for s in gb.assignment_submissions(assignment_id)}


def lateness_from_gradebook(root: Path, assignment_id: str) -> dict[str, Late]:
    """Submission time, seconds after the due date and late penalty, as nbgrader recorded them
    (only submissions with a timestamp)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url(root)) as gb:
        return {s.student_id: Late(s.timestamp, s.total_seconds_late, s.late_submission_penalty or 0.0)
                for s in gb.assignment_submissions(assignment_id) if s.timestamp is not None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.grading.autograde", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course directory (default: .)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="submissions graded at once (default: one per core, %(default)s)")
    parser.add_argument("--timeout", type=float, default=600, help="wall-clock seconds per submission")
    parser.add_argument("--student", action="append", default=[], help="grade only this student (repeatable)")
    parser.add_argument("--assignment", default=None,
                        help="assignment id (default: the one in nbgrader_config.py's c.GradedAssignments)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                        help="grade on the workers of this Dask cluster instead of local processes "
                        "(grader/grading/distributed.py says what the workers need)")
    parser.add_argument("--resume", action="store_true",
                        help="grade only the submissions not graded yet: skip those the gradebook holds and "
                        "build/grading/<assignment>/results/ records for the same notebook (after an interrupted run)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # a worker process
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "nbgrader_config.py").is_file():
        parser.error(f"{root} has no nbgrader_config.py: run from the course directory or pass --root")
    try:
        assignment = assignments.load(_config(root), args.assignment)
    except (ValueError, ImportError) as exc:
        parser.error(str(exc))
    if args.serve:
        return serve(root, assignment)

    from grader.grading.sandbox import SandboxKernelManager, isolation_report

    submitted = root / "submitted"
    for student in args.student:
        if student_id_problem(student):
            parser.error(f"--student {printable(repr(student))}: {student_id_problem(student)}")
    problem = gradebook_problem(root, assignment)
    if problem:
        parser.error(problem)
    candidates = list(dict.fromkeys(args.student)) or discover(submitted, assignment.id)
    refused = {s: student_id_problem(s) for s in candidates if student_id_problem(s)}
    students = [s for s in candidates if s not in refused]
    if not candidates:
        parser.error(f"no submissions in {submitted}/<student>/{assignment.id}/")
    if args.workers < 1:
        parser.error("--workers must be at least 1")

    report = isolation_report()
    print(SandboxKernelManager().describe())
    for warning in report.warnings:
        print(f"WARNING: {warning}")
    if assignments.is_sqlite(db_url(root)):
        saved = backup(root / "gradebook.db", root / "backups")
        if saved:
            print(f"gradebook backed up to {saved.relative_to(root)}")
    else:
        print(f"gradebook: {safe_url(db_url(root))} (back it up with the database's own tools, e.g. pg_dump)")
    if args.scheduler:
        try:  # before anything is staged: a scheduler that is not there stops the run here
            with distributed.connect(args.scheduler) as client:
                count = len(client.scheduler_info()["workers"])
        except ClusterError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"grading on the Dask cluster at {args.scheduler} ({count} workers)")

    work = work_dir(root, assignment.id)
    staged_dir, replay_dir = work / "staged", work / "executed"
    if args.student:  # other runs may be grading other students beside this one (a batch system's fan-out)
        for student in students:
            shutil.rmtree(staged_dir / student, ignore_errors=True)
    else:
        shutil.rmtree(staged_dir, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    # The local workers start first: they import and warm their kernels while the class is staged.
    slots = [] if args.scheduler else [Slot(root, assignment).start()
                                       for _ in range(min(args.workers, len(students)))]
    try:
        outcomes = stage(root, submitted, staged_dir, students, assignment)
        print(f"sanitized and scanned {len(students)} submissions in {time.monotonic() - start:.1f} s"
              + (f"; {len(refused)} refused (student id)" if refused else ""), flush=True)
        phase = time.monotonic()
        results = work / "results"
        recorded = set(scores_from_gradebook(root, assignment.id)) if args.resume else set()
        todo = {s: o for s, o in outcomes.items()
                if not (args.resume and resumed(results, staged_dir, o, assignment, recorded))}
        if len(todo) < len(outcomes):
            print(f"--resume: {len(outcomes) - len(todo)} submission(s) already graded, {len(todo)} to grade")
        if todo:
            try:
                execute_all(root, staged_dir, replay_dir, todo, slots, args.timeout, assignment, args.scheduler,
                            results)
            except ClusterError as exc:  # no scheduler, or one without workers: nothing was sent
                print(f"error: {exc}", file=sys.stderr)
                return 2
    finally:
        for slot in slots:  # those execute_all did not use (all of them, when there was nothing to grade)
            slot.stop()
    print(f"executed and recorded in {time.monotonic() - phase:.1f} s", flush=True)
    scores = scores_from_gradebook(root, assignment.id)
    late = lateness_from_gradebook(root, assignment.id)
    missing = [s for s in students if s not in scores]
    for student in missing:
        outcomes[student].failure = (outcomes[student].failure or "not graded") + \
            f"; not in the gradebook, see {work / 'logs' / (student + '.log')}"
    elapsed = time.monotonic() - start
    (work / "integrity.md").write_text(integrity.report({o.student: o.flags for o in outcomes.values()}),
                                       encoding="utf-8")
    report = {
        s: {"score": scores.get(s), "failure": o.failure, "problems": o.problems,
            "flags": [f.kind for f in o.flags], "seconds": round(o.seconds, 2), "phases": o.phases,
            "timestamp": late[s].timestamp.isoformat() if s in late else None,
            "seconds_late": late[s].seconds_late if s in late else 0,
            "late_penalty": late[s].penalty if s in late else 0, "refused": False}
        for s, o in outcomes.items()}
    report.update({s: {"score": None, "failure": f"refused: {why}", "problems": [], "flags": [], "seconds": 0,
                       "timestamp": None, "seconds_late": 0, "late_penalty": 0, "refused": True}
                   for s, why in refused.items()})
    write_summary(work / "summary.json", report, keep_others=bool(args.student))
    print(summary(outcomes, scores, refused, late))
    where = f"on the Dask cluster at {args.scheduler}" if args.scheduler else f"with {args.workers} worker(s)"
    print(f"{len(students)} submissions in {elapsed:.1f} s {where}; "
          f"integrity report: {(work / 'integrity.md').relative_to(root)}")
    return 1 if missing else 0  # refused folders are reported above; the others are graded and recorded


if __name__ == "__main__":
    sys.exit(main())

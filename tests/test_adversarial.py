"""Hostile and broken submissions (tests/hostile/) graded end to end, in the sandbox.

One temporary course, one class with a student per case, one run of
``python -m grader.grading.autograde``; then each case's score, status and integrity
flags are checked against what it declares, and the run against what no
submission may do: touch the course's files, outlive the grading, or stop
the honest student from getting full marks.  Needs bubblewrap and root, as CI (the
``sandbox`` tier: skipped elsewhere, see tests/conftest.py).
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import importlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import time
from pathlib import Path

import hostile
import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course import contract
from grader.course.contract import ASSIGNMENT, NOTEBOOK, TOTAL_POINTS
from grader.grading.sandbox import SLOT_DIR, UID_BASE, UID_SLOTS
from grader.publish.sample_class import solutions, students, submission

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

ROOT = Path(__file__).resolve().parent.parent
CASES = {m.name: importlib.import_module(f"hostile.{m.name}")
         for m in pkgutil.iter_modules(hostile.__path__) if not m.name.startswith("_")}
STATUSES = ("graded", "repaired", "failed")
# What grading may add to the course directory (besides what was there before the run).
WRITTEN_BY_GRADING = {"build", "autograded", "backups", "gradebook.db", ".grading_secret", "submitted", ".nbgrader.log"}


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", MPLBACKEND="Agg")
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def gradebook_sources(course: Path) -> dict[str, str]:
    """The instructor's cell sources recorded in the gradebook (hidden tests included)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {c.name: c.source for c in gb.find_notebook(NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT).source_cells}


def leftover_processes() -> list[str]:
    """'pid uid command' of every process of a sandbox uid that no running grader holds.

    Other tests may run sandboxes meanwhile (pytest -n): their uids are locked (grader.grading.sandbox._claim_uid).
    """
    found = []
    for entry in Path("/proc").iterdir():
        try:
            uid = int(next(line for line in (entry / "status").read_text().splitlines()
                           if line.startswith("Uid:")).split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, StopIteration):
            continue
        if UID_BASE <= uid < UID_BASE + UID_SLOTS and not uid_in_use(uid):
            found.append(f"{entry.name} {uid} {command}")
    return found


def uid_in_use(uid: int) -> bool:
    try:
        fd = os.open(SLOT_DIR / f"{uid}.lock", os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def perfect_notebook(course: Path) -> tuple[dict, nbformat.NotebookNode]:
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    answers = solutions(nbformat.read(course / "source" / ASSIGNMENT / NOTEBOOK, as_version=4))
    perfect = next(s for s in students([], []) if s.student_id == "perfect")
    return json.loads(json.dumps(submission(release, answers, perfect))), release


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    course = tmp_path_factory.mktemp("course")
    for name in ("source", "release", "nbgrader_config.py"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, course / name)
    run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], course)
    perfect, release = perfect_notebook(course)
    for name, case in CASES.items():
        folder = course / "submitted" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        case.build(copy.deepcopy(perfect), copy.deepcopy(release), folder)
    before = {"entries": {p.name for p in course.iterdir()}, "source": digests(course / "source"),
              "release": digests(course / "release"), "submitted": digests(course / "submitted"),
              "gradebook": gradebook_sources(course)}
    start = time.monotonic()
    proc = run([sys.executable, "-m", "grader.grading.autograde", "--root", str(course), "--assignment", ASSIGNMENT, "--workers", "2",
                "--timeout", "300"], course)
    seconds = time.monotonic() - start
    summary = json.loads((course / "build" / "grading" / ASSIGNMENT / "summary.json").read_text(encoding="utf-8"))
    print(f"\n{proc.stdout}\nautograde of {len(CASES)} submissions: {seconds:.0f} s")
    return {"course": course, "before": before, "stdout": proc.stdout, "summary": summary,
            "left_running": leftover_processes()}


def status(outcome: dict) -> str:
    return "failed" if outcome["failure"] else "repaired" if outcome["problems"] else "graded"


def test_cases_are_well_formed():
    assert len(CASES) >= 28
    for name, case in CASES.items():
        assert case.DESCRIPTION and "\n" not in case.DESCRIPTION, name
        assert case.EXPECTED_STATUS in STATUSES, name
        expected = case.EXPECTED_SCORE
        low, high = expected if isinstance(expected, tuple) else (expected, expected)
        assert 0 <= low <= high <= TOTAL_POINTS, name
        assert callable(case.build), name


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_gets_its_expected_grade(graded, name):
    case, outcome = CASES[name], graded["summary"][name]
    shown = json.dumps(outcome, indent=1)
    assert outcome["score"] is not None, f"{name} was not graded:\n{shown}"
    expected = case.EXPECTED_SCORE
    low, high = expected if isinstance(expected, tuple) else (expected, expected)
    assert low <= outcome["score"] <= high, f"{name}: {case.DESCRIPTION}\n{shown}"
    assert status(outcome) == case.EXPECTED_STATUS, f"{name}: {case.DESCRIPTION}\n{shown}"
    missing = set(getattr(case, "EXPECTED_FLAGS", set())) - set(outcome["flags"])
    assert not missing, f"{name}: flags {sorted(missing)} not raised\n{shown}"


def test_every_submission_was_graded(graded):
    assert set(graded["summary"]) == set(CASES)
    assert all(outcome["score"] is not None for outcome in graded["summary"].values())


def test_honest_solution_gets_full_marks_in_the_sandbox(graded):
    assert "isolation: bubblewrap+uid" in graded["stdout"]
    honest = graded["summary"]["honest_perfect"]
    assert honest["score"] == TOTAL_POINTS and status(honest) == "graded" and honest["flags"] == []


def test_course_files_are_untouched(graded):
    course, before = graded["course"], graded["before"]
    for folder in ("source", "release", "submitted"):
        assert digests(course / folder) == before[folder], f"{folder}/ changed during grading"
    stray = {p.name for p in course.iterdir()} - before["entries"] - WRITTEN_BY_GRADING
    assert not stray, f"files appeared in the course directory: {sorted(stray)}"


def test_gradebook_holds_nbgraders_grades(graded):
    course = graded["course"]
    assert gradebook_sources(course) == graded["before"]["gradebook"], "the instructor's cells changed"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s.student_id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}
    assert scores == {name: outcome["score"] for name, outcome in graded["summary"].items()}


def test_every_test_cell_carries_the_graders_verdict_and_no_other_cell_one(graded):
    """What the class report reads: a verdict per test cell, agreeing with nbgrader's score; none forged."""
    course, test_ids = graded["course"], {t.grade_id for t in contract.TESTS}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for name in CASES:
            path = course / "autograded" / name / ASSIGNMENT / NOTEBOOK
            if not path.exists():  # not recorded by nbgrader (a failed one is, with its reason)
                continue
            scores = {g.name: (g.score, g.max_score)
                      for g in gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, name).grades}
            seen = set()
            for cell in nbformat.read(path, as_version=4).cells:
                gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                found = cell.metadata.get("verdict")
                if gid not in test_ids or cell.cell_type != "code":
                    assert found is None, f"{name}: a verdict on {gid or 'a cell'} that is no test cell: {found}"
                    continue
                seen.add(gid)
                assert found is not None and found["grade_id"] == gid, f"{name}/{gid}: no verdict of its own"
                score, top = scores[gid]
                assert found["passed"] == (score == top), f"{name}/{gid}: verdict {found} but score {score}/{top}"
                assert all(not m["id"].startswith("forged") for m in found["misconceptions"]), f"{name}/{gid}"
            assert seen == test_ids, f"{name}: test cells without a verdict: {sorted(test_ids - seen)}"
    floor = nbformat.read(course / "autograded" / "wrong_floor" / ASSIGNMENT / NOTEBOOK, as_version=4)
    recorded = {m["id"] for c in floor.cells for m in c.metadata.get("verdict", {}).get("misconceptions", [])}
    assert "quantize.floor_instead_of_round" in recorded


def test_no_sandbox_process_outlives_the_grading(graded):
    assert graded["left_running"] == [], "processes of sandbox uids left running"
    assert leftover_processes() == []

"""The SQLite gradebook's write lock: taken at a session's first write, given back when its transaction
ends, never taken for reads or for another database; processes take turns."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, Student

from grader.grading import gradebook_lock


def _locked(lock: Path) -> bool:
    """Whether some open file holds ``lock`` (a second open file description of it cannot take it)."""
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@pytest.fixture(scope="module")
def empty(tmp_path_factory) -> Path:
    database = tmp_path_factory.mktemp("empty") / "gradebook.db"
    Gradebook(f"sqlite:///{database}").close()  # nbgrader's tables
    return database


@pytest.fixture
def gradebook(tmp_path, empty):
    database, lock = tmp_path / "gradebook.db", tmp_path / "gradebook.lock"
    shutil.copy(empty, database)
    lock.touch()
    gradebook_lock.hold_while_writing(database, lock)
    yield database, lock
    gradebook_lock.hold_while_writing(tmp_path / "nothing.db", lock)  # later tests' gradebooks are not this one


def test_reads_take_no_lock_and_a_write_holds_it_until_its_commit(gradebook):
    database, lock = gradebook
    before = dict(gradebook_lock.SECONDS)
    with Gradebook(f"sqlite:///{database}") as gb:
        assert gb.students == [] and not _locked(lock)
        gb.db.add(Student(id="ada"))
        assert not _locked(lock)  # nothing written yet
        gb.db.flush()
        assert _locked(lock)
        time.sleep(0.05)
        gb.db.commit()
        assert not _locked(lock)
        assert [s.id for s in gb.students] == ["ada"] and not _locked(lock)
    assert gradebook_lock.SECONDS["held"] - before["held"] >= 0.05


def test_a_rollback_or_a_close_gives_the_lock_back(gradebook):
    database, lock = gradebook
    with Gradebook(f"sqlite:///{database}") as gb:
        gb.db.add(Student(id="ada"))
        gb.db.flush()
        assert _locked(lock)
        gb.db.rollback()
        assert not _locked(lock) and gb.students == []
        gb.db.add(Student(id="alan"))
        gb.db.flush()
        assert _locked(lock)
    assert not _locked(lock)  # closed without a commit


def test_another_database_takes_no_lock(gradebook, tmp_path, empty):
    _, lock = gradebook
    shutil.copy(empty, tmp_path / "other.db")
    with Gradebook(f"sqlite:///{tmp_path / 'other.db'}") as gb:
        gb.db.add(Student(id="ada"))
        gb.db.flush()
        assert not _locked(lock)
        gb.db.commit()


def test_processes_take_turns(gradebook):
    """A process that writes while another holds the lock waits for its commit; both rows land."""
    database, lock = gradebook
    holder = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from nbgrader.api import Gradebook, Student
        from grader.grading import gradebook_lock
        gradebook_lock.hold_while_writing(Path({str(database)!r}), Path({str(lock)!r}))
        with Gradebook("sqlite:///{database}") as gb:
            gb.db.add(Student(id="first"))
            gb.db.flush()
            print("holding", flush=True)
            time.sleep(1.0)
            gb.db.commit()
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
        assert _locked(lock)
        waited = gradebook_lock.SECONDS["wait"]
        with Gradebook(f"sqlite:///{database}") as gb:
            assert gb.students == []  # reading goes on beside the writer
            gb.db.add(Student(id="second"))
            gb.db.flush()  # waits here for the other's commit
            assert gradebook_lock.SECONDS["wait"] - waited > 0.5
            gb.db.commit()
            assert sorted(s.id for s in gb.students) == ["first", "second"]
    finally:
        assert proc.wait(timeout=30) == 0

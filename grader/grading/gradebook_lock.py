"""The SQLite gradebook's write lock: one grading process writes at a time, and only while it writes.

SQLite takes one writer at a time, and two connections that both try to write can get "database is
locked" at once rather than wait for each other.  Grading processes therefore take turns through a lock
file (``build/grading/gradebook.lock``), and each holds it only while it writes: a session of this
process takes it at its first flush that has changes to write, and gives it back when that transaction
ends (commit, rollback or close).  The reads before (nbgrader's lookups, the notebook's rows) run beside
other processes' writes: Python's sqlite3 opens a transaction only before a statement that writes, so a
reader holds no lock between its queries, and a writer waiting for the lock file holds none either.

``hold_while_writing(database, lock)`` installs it for the SQLAlchemy sessions of this process bound to
that SQLite file (nbgrader's ``Gradebook`` among them); ``SECONDS`` adds up the time this process waited
for the lock and held it (the serial part of grading, which ``make bench`` prints).  A database server
(PostgreSQL) takes concurrent writers: there is no lock then.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

SECONDS = {"wait": 0.0, "held": 0.0}  # this process's time waiting for and holding the lock

_state: dict = {"database": None, "lock": None, "handle": None, "since": 0.0, "writers": set()}


def hold_while_writing(database: Path, lock: Path) -> None:
    """From now on, in this process, a session bound to the SQLite file ``database`` that writes holds the
    lock file ``lock`` until its transaction ends."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "before_flush", _take):
        event.listen(Session, "before_flush", _take)
        event.listen(Session, "after_transaction_end", _give)
    _state["database"], _state["lock"] = os.path.realpath(database), lock


def _gradebook(session) -> bool:
    bind = session.get_bind()
    return bind.url.get_backend_name() == "sqlite" and bool(bind.url.database) and \
        os.path.realpath(bind.url.database) == _state["database"]


def _take(session, flush_context, instances) -> None:
    """Before a flush that writes to the gradebook: the lock, unless this session holds it already."""
    if _state["database"] is None or id(session) in _state["writers"] or not _gradebook(session):
        return
    if not _state["writers"]:  # the first writer of this process takes the file lock
        handle: IO[str] = _state["lock"].open("w")
        waiting = time.monotonic()
        fcntl.flock(handle, fcntl.LOCK_EX)
        _state["since"] = time.monotonic()
        SECONDS["wait"] += _state["since"] - waiting
        _state["handle"] = handle
    _state["writers"].add(id(session))


def _give(session, transaction) -> None:
    """At the end of a session's outermost transaction: the lock back, once no session here writes."""
    if transaction.parent is not None or id(session) not in _state["writers"]:
        return
    _state["writers"].discard(id(session))
    if not _state["writers"]:
        SECONDS["held"] += time.monotonic() - _state["since"]
        handle, _state["handle"] = _state["handle"], None
        handle.close()  # closing the file releases the lock

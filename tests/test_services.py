"""The servers grading at scale talks to (grader.publish.services), started for real, on loopback.

PostgreSQL: a cluster in a fresh folder on a free port holds an nbgrader gradebook at the URL it
prints, takes the grading role's password and no other, listens on 127.0.0.1 only, starts
idempotently and stops. Dask: a scheduler and two workers run tasks in worker processes of this
environment (its Python, its bin/ first on PATH, the course directory as working directory), listen
on 127.0.0.1 only, start idempotently, and leave no process behind when stopped or interrupted.
Each server is driven through the command line, as an instructor does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grader.publish import services

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
# The command runs without this environment on PATH: the services must put it there for the workers.
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"
GONE = contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError)  # a process or fd went away


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_services(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m grader.publish.services ARGS`` from the course directory."""
    done = subprocess.run([sys.executable, "-m", "grader.publish.services", *args], cwd=ROOT,
                          env=dict(os.environ, PATH=BARE_PATH), capture_output=True, text=True, timeout=180)
    if check:
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def children() -> dict[int, list[int]]:
    """Every live process's pid -> its children's pids."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and services.alive(int(entry.name)):
            stat_fields = services._stat(int(entry.name))
            if stat_fields is not None:
                tree.setdefault(int(stat_fields[1]), []).append(int(entry.name))
    return tree


def with_descendants(pids: list[int]) -> set[int]:
    """``pids`` (those alive) and all their live descendants."""
    tree, found, todo = children(), set(), [p for p in pids if services.alive(p)]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(tree.get(pid, []))
    return found


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    return socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))


def listening(pids: set[int]) -> set[tuple[str, int]]:
    """The (address, port) of every TCP socket the processes ``pids`` listen on (IPv4 and IPv6)."""
    inodes = set()
    for pid in pids:
        with GONE:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with GONE:
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[len("socket:["):-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address, port = fields[1].rsplit(":", 1)
                found.add((_address(address), int(port, 16)))
    return found


def refused(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((host, port)) != 0


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """A short folder under /tmp that the postgres user can reach: pytest's tmp_path is private to its
    user, and too long a path for a unix socket."""
    path = Path(tempfile.mkdtemp(prefix="grader-services-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------ PostgreSQL


def test_missing_postgresql_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(services, "DEBIAN_POSTGRESQL", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(services.ServiceError, match="apt-get install postgresql"):
        services.postgres_bindir()


@pytest.fixture(scope="module")
def postgres(folder) -> Iterator[tuple[Path, int, str]]:
    """A running cluster: its folder, port and URL; stopped at the end."""
    pg, port = folder / "pg", free_port()
    try:
        url = run_services("postgres", "start", "--dir", str(pg), "--port", str(port)).stdout.strip()
        yield pg, port, url
    finally:
        run_services("postgres", "stop", "--dir", str(pg), check=False)


@pytest.mark.services
def test_postgres_url_holds_an_nbgrader_gradebook(postgres):
    from nbgrader.api import Gradebook

    pg, port, url = postgres
    assert url.startswith("postgresql+psycopg2://grader:") and url.endswith(f"@127.0.0.1:{port}/gradebook")
    old_path = os.environ["PATH"]
    os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{old_path}"  # nbgrader runs alembic from PATH on a new gradebook
    try:
        with Gradebook(url) as gb:
            gb.update_or_create_assignment("a1")
            gb.update_or_create_student("s1", first_name="Ada")
        with Gradebook(url) as gb:
            assert [a.name for a in gb.assignments] == ["a1"]
            assert gb.find_student("s1").first_name == "Ada"
    finally:
        os.environ["PATH"] = old_path
    assert run_services("postgres", "url", "--dir", str(pg)).stdout.strip() == url


@pytest.mark.services
def test_postgres_takes_the_password_and_no_other(postgres):
    import sqlalchemy

    pg, _, url = postgres
    assert stat.S_IMODE((pg / "password").stat().st_mode) == 0o600
    password = (pg / "password").read_text().strip()
    for attempt, works in ((url, True), (url.replace(password, "wrong"), False)):
        engine = sqlalchemy.create_engine(attempt)
        try:
            with engine.connect() as connection:
                assert works and connection.execute(sqlalchemy.text("SELECT current_user")).scalar() == "grader"
        except sqlalchemy.exc.OperationalError as exc:
            assert not works and "password authentication failed" in str(exc)
        finally:
            engine.dispose()


@pytest.mark.services
def test_postgres_listens_on_loopback_only(postgres):
    pg, port, _ = postgres
    server = services.postgres_pid(services.PostgresCluster(pg))
    assert server is not None
    assert listening(with_descendants([server])) == {("127.0.0.1", port)}
    assert not refused("127.0.0.1", port)
    assert refused("127.0.0.2", port)  # a wildcard listener would take this one
    assert (pg / f".s.PGSQL.{port}").is_socket()


@pytest.mark.services
def test_postgres_start_is_idempotent(postgres):
    pg, port, url = postgres
    server = services.postgres_pid(services.PostgresCluster(pg))
    again = run_services("postgres", "start", "--dir", str(pg))
    assert again.stdout.strip() == url
    assert "already running" in again.stderr
    assert services.postgres_pid(services.PostgresCluster(pg)) == server
    status = run_services("postgres", "status", "--dir", str(pg))
    assert f"127.0.0.1:{port}/gradebook" in status.stdout and "***" in status.stdout


@pytest.mark.services
def test_postgres_stop_stops_it_and_start_brings_it_back(postgres):
    pg, port, url = postgres
    server = services.postgres_pid(services.PostgresCluster(pg))
    run_services("postgres", "stop", "--dir", str(pg))
    assert not services.alive(server)
    assert run_services("postgres", "status", "--dir", str(pg), check=False).returncode == services.NOT_RUNNING
    assert refused("127.0.0.1", port)
    assert run_services("postgres", "start", "--dir", str(pg)).stdout.strip() == url  # same port, same password


def processes_mentioning(text: str) -> list[str]:
    """The command lines of live processes that mention ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and services.alive(int(entry.name)) and text in services.cmdline(int(entry.name)):
            found.append(services.cmdline(int(entry.name)))
    return found


def interrupted(start: list[str], started: Callable[[], bool], undo: Callable[[], None]) -> tuple[str, str]:
    """Run ``start``, press Ctrl-C once ``started()`` holds; its (stdout, stderr).

    On a loaded machine the start may finish between seeing it under way and the signal arriving:
    then it is undone and tried again, up to three times; the interrupt itself must happen once.
    """
    for _ in range(3):
        command = subprocess.Popen(start, cwd=ROOT, env=dict(os.environ, PATH=BARE_PATH), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not started():
            assert command.poll() is None and time.monotonic() < deadline, command.communicate()
            time.sleep(0.02)
        command.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = command.communicate(timeout=120)
        if command.returncode == 0:  # finished before the signal arrived
            undo()
            continue
        assert command.returncode == 130, err
        return out, err
    raise AssertionError("the start finished before Ctrl-C three times: no interrupted start was seen")


@pytest.mark.services
def test_an_interrupted_postgres_start_leaves_nothing(folder):
    pg = folder / "pg-interrupted"
    out, err = interrupted(
        [sys.executable, "-m", "grader.publish.services", "postgres", "start", "--dir", str(pg),
         "--port", str(free_port())],
        lambda: (pg / "data.partial").exists(),  # initdb is at work
        lambda: (run_services("postgres", "stop", "--dir", str(pg)), shutil.rmtree(pg / "data")))
    assert out == "" and "interrupted" in err
    assert not (pg / "data.partial").exists() and not (pg / "data").exists()  # no half cluster
    assert processes_mentioning(str(pg)) == []
    assert run_services("postgres", "status", "--dir", str(pg), check=False).returncode == services.NOT_RUNNING


# ------------------------------------------------------------------ Dask


def dask_pids(dask: Path) -> list[int]:
    return [int((dask / f"{role}.pid").read_text()) for role in ("scheduler", "workers")]


@pytest.fixture(scope="module")
def dask_cluster(folder) -> Iterator[tuple[Path, str]]:
    """A running scheduler with two workers: its folder and address; stopped at the end."""
    dask = folder / "dask"
    try:
        address = run_services("dask", "start", "--dir", str(dask), "--port", str(free_port()),
                               "--workers", "2").stdout.strip()
        yield dask, address
    finally:
        run_services("dask", "stop", "--dir", str(dask), check=False)


@pytest.mark.services
def test_dask_runs_tasks_in_worker_processes_of_this_environment(dask_cluster):
    from distributed import Client

    dask, address = dask_cluster
    workers = with_descendants([int((dask / "workers.pid").read_text())])

    def where_am_i() -> dict:  # defined here, it is pickled by value: the workers need not import this module
        import os
        import shutil
        import sys

        return {"pid": os.getpid(), "path": os.environ["PATH"], "python": sys.executable, "cwd": os.getcwd(),
                "alembic": shutil.which("alembic")}

    with Client(address, timeout="30s") as client:
        assert len(client.nthreads()) == 2
        submitted = client.submit(where_am_i, pure=False).result(timeout=60)
        every_worker = list(client.run(where_am_i).values())
    assert len({seen["pid"] for seen in every_worker}) == 2
    for seen in (submitted, *every_worker):
        assert seen["pid"] != os.getpid() and seen["pid"] in workers
        assert seen["path"].split(os.pathsep)[0] == str(VENV_BIN)
        assert seen["python"] == sys.executable
        assert seen["cwd"] == str(ROOT)
        assert seen["alembic"] == str(VENV_BIN / "alembic")


@pytest.mark.services
def test_dask_listens_on_loopback_only(dask_cluster):
    dask, address = dask_cluster
    sockets = listening(with_descendants(dask_pids(dask)))
    assert ("127.0.0.1", int(address.rsplit(":", 1)[1])) in sockets
    assert len(sockets) >= 5  # the scheduler, and each worker and its nanny
    assert {host for host, _ in sockets} == {"127.0.0.1"}


@pytest.mark.services
def test_dask_start_is_idempotent(dask_cluster):
    dask, address = dask_cluster
    pids = dask_pids(dask)
    again = run_services("dask", "start", "--dir", str(dask))
    assert again.stdout.strip() == address
    assert "already running" in again.stderr
    assert dask_pids(dask) == pids
    assert run_services("dask", "status", "--dir", str(dask)).stdout.strip() == f"running: {address}, 2 worker(s)"


@pytest.mark.services
def test_dask_stop_leaves_no_process_and_start_brings_it_back(dask_cluster):
    dask, address = dask_cluster
    leaders = dask_pids(dask)
    processes = with_descendants(leaders)
    assert len(processes) >= 4  # the scheduler, the workers' parent (nannies), two workers
    run_services("dask", "stop", "--dir", str(dask))
    assert not [pid for pid in processes if services.alive(pid)]
    assert not [services.group_members(pid) for pid in leaders if services.group_members(pid)]
    assert run_services("dask", "status", "--dir", str(dask), check=False).returncode == services.NOT_RUNNING
    port = address.rsplit(":", 1)[1]
    assert run_services("dask", "start", "--dir", str(dask), "--port", port).stdout.strip() == address


@pytest.mark.services
def test_an_interrupted_dask_start_leaves_no_process(folder):
    dask = folder / "dask-interrupted"
    seen: dict[str, list[int]] = {}

    def started() -> bool:  # the scheduler runs, the workers are starting: note who is there
        if not (dask / "workers.pid").exists():
            return False
        seen["leaders"] = dask_pids(dask)
        seen["processes"] = with_descendants(seen["leaders"])
        return True

    out, err = interrupted(
        [sys.executable, "-m", "grader.publish.services", "dask", "start", "--dir", str(dask),
         "--port", str(free_port()), "--workers", "2"],
        started, lambda: run_services("dask", "stop", "--dir", str(dask)))
    leaders, processes = seen["leaders"], seen["processes"]
    assert out == "" and "interrupted" in err
    assert not [pid for pid in processes if services.alive(pid)]
    assert not [services.group_members(pid) for pid in leaders if services.group_members(pid)]  # started later
    assert run_services("dask", "status", "--dir", str(dask), check=False).returncode == services.NOT_RUNNING

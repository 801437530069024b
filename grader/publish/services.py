"""The servers that grading at scale talks to, started on this machine and listening on loopback only.

    python -m grader.publish.services postgres start [--dir build/postgres] [--port 5433]
    python -m grader.publish.services postgres {stop,status,url} [--dir build/postgres]
    python -m grader.publish.services dask start [--dir build/dask] [--port 8786] [--workers 2] [--root .]
    python -m grader.publish.services dask {stop,status} [--dir build/dask]

``postgres start`` creates a PostgreSQL cluster in its folder (when the folder holds none yet) with
Debian's server programs (``/usr/lib/postgresql/<version>/bin``: ``apt-get install postgresql``), and
starts it: TCP on 127.0.0.1 at the port, a unix socket in the folder, nothing else. The cluster runs as
the ``postgres`` system user when this runs as root (PostgreSQL refuses to run as root), else as the
user running this. It then makes sure of a role ``grader`` (its password, generated once, in the
folder's ``password`` file, mode 0600) and a database ``gradebook`` it owns, reachable by password
(scram-sha-256) over loopback only, and prints the SQLAlchemy URL for nbgrader's ``db_url``::

    export GRADEBOOK_URL=$(python -m grader.publish.services postgres start)

Its folder: ``data/`` (the cluster), ``password``, ``postgres.log`` and the socket. The port is the
cluster's: given once, kept by later starts (``--port`` changes it). ``stop`` stops the server,
``status`` says whether it runs (exit 3 when not), ``url`` prints the URL again.

``dask start`` starts a Dask scheduler on 127.0.0.1 at the port and one ``dask worker`` process with
``--workers`` worker processes (one thread each, under nannies, no dashboards), in the background, all
with this Python, the course directory (``--root``) as working directory and this environment's
``bin/`` first on PATH (nbgrader calls ``alembic`` from PATH). It waits until the scheduler reports
every worker, then prints the scheduler's address for ``grader.grading.autograde --scheduler``.
The workers grade into the gradebook of their own environment: export GRADEBOOK_URL before ``dask
start``. Its folder: ``scheduler.json``, the pid and log of the scheduler and of the workers, and
the workers' scratch space. ``stop`` stops the workers, then the scheduler; ``status`` prints the
address and the number of workers (exit 3 when not running).

Both ``start`` commands are idempotent (a running server is said to be running, and its URL or
address printed) and Ctrl-C safe: an interrupted or failed start stops what it had started. The URL
and the address are the only lines on stdout; what happens goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
START_TIMEOUT = 60.0  # seconds for a server to accept connections, or for the workers to join
STOP_TIMEOUT = 30.0  # seconds for a process to exit after SIGTERM, before SIGKILL
NOT_RUNNING = 3  # exit status of `status` when the service is not running (as pg_ctl status, LSB)

DEBIAN_POSTGRESQL = Path("/usr/lib/postgresql")
POSTGRES_DIR = Path("build") / "postgres"
POSTGRES_PORT = 5433  # not 5432: Debian's own cluster may be there
POSTGRES_SYSTEM_USER = "postgres"  # who runs the cluster when we are root
ROLE = "grader"
DATABASE = "gradebook"
SERVER_PROGRAMS = ("initdb", "pg_ctl", "psql")
SETTINGS = "grader_services.conf"  # in the data folder, included from postgresql.conf

DASK_DIR = Path("build") / "dask"
DASK_PORT = 8786
DASK_WORKERS = 2
# No dashboard; the HTTP server (health, metrics) a scheduler or worker starts anyway, on loopback too.
NO_DASHBOARD = ("--no-dashboard", "--dashboard-address", f"{HOST}:0")


class ServiceError(RuntimeError):
    """A service cannot be started, stopped or found; the message says what to do."""


def say(message: str) -> None:
    """What is happening, on stderr (stdout carries only the URL or address)."""
    print(message, file=sys.stderr, flush=True)


def log_tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file, indented, for an error message."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return f"  (no log at {path})"
    return "\n".join(f"  {line}" for line in text) or f"  ({path} is empty)"


def require_free_port(port: int) -> None:
    """ServiceError unless ``port`` on 127.0.0.1 can be listened on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise ServiceError(f"port {port} on {HOST} is not free ({exc.strerror}): choose another with --port") from None


# ------------------------------------------------------------------ PostgreSQL


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def cluster_user() -> pwd.struct_passwd:
    """The system user the cluster runs as: ``postgres`` when we are root, else ourselves."""
    if not is_root():
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        raise ServiceError(f"running as root, PostgreSQL must run as the {POSTGRES_SYSTEM_USER!r} system user, "
                           "which does not exist: apt-get install postgresql creates it") from None


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def has_server_programs(bindir: Path) -> bool:
    return all((bindir / program).exists() for program in SERVER_PROGRAMS)


def postgres_bindir(version: str | None = None) -> Path:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl): Debian's newest, or ``version``'s."""
    found = sorted((b for b in DEBIAN_POSTGRESQL.glob("*/bin") if has_server_programs(b)), key=_version_key)
    if version is not None:
        for bindir in found:
            if bindir.parent.name == version:
                return bindir
        raise ServiceError(f"this cluster was made by PostgreSQL {version}, whose server programs are not installed "
                           f"({DEBIAN_POSTGRESQL}/{version}/bin): apt-get install postgresql-{version}")
    if found:
        return found[-1]
    on_path = shutil.which("pg_ctl")  # another system's layout: the folder pg_ctl (or its link) is in
    if on_path and has_server_programs(Path(on_path).resolve().parent):
        return Path(on_path).resolve().parent
    raise ServiceError(f"PostgreSQL's server programs ({', '.join(SERVER_PROGRAMS)}) are not installed ({DEBIAN_POSTGRESQL}/<version>"
                       "/bin): apt-get install postgresql")


def postgres_problem() -> str | None:
    """Why ``postgres start`` cannot work here, or None when it can (for the test suite)."""
    try:
        postgres_bindir()
        cluster_user()
        if is_root():
            runuser()
    except ServiceError as err:
        return str(err)
    return None


@dataclass(frozen=True)
class PostgresCluster:
    """A PostgreSQL cluster in ``folder``: ``data/`` (initdb), ``password``, ``postgres.log``, the socket."""

    folder: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def password_file(self) -> Path:
        return self.folder / "password"

    @property
    def log(self) -> Path:
        return self.folder / "postgres.log"

    def exists(self) -> bool:
        return (self.data / "PG_VERSION").is_file()

    def version(self) -> str | None:
        """The major version that made the cluster, or None when there is none."""
        return (self.data / "PG_VERSION").read_text().strip() if self.exists() else None

    def port(self) -> int | None:
        """The port the cluster is configured to listen on, or None before its first start."""
        try:
            match = re.search(r"^port = (\d+)$", (self.data / SETTINGS).read_text(), re.M)
        except OSError:
            return None
        return int(match.group(1)) if match else None

    def password(self) -> str:
        """The ``grader`` role's password (generated on first use, kept in a 0600 file)."""
        if not self.password_file.exists():
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(24) + "\n")  # letters, digits, - and _: no quoting in SQL or a URL
        return self.password_file.read_text().strip()

    def url(self, hide_password: bool = False) -> str:
        """The SQLAlchemy URL of the gradebook database (GRADEBOOK_URL)."""
        if not self.exists() or self.port() is None:
            raise ServiceError(f"no PostgreSQL cluster in {self.folder}: run "
                               f"'python -m grader.publish.services postgres start --dir {self.folder}'")
        password = "***" if hide_password else self.password()
        return f"postgresql+psycopg2://{ROLE}:{password}@{HOST}:{self.port()}/{DATABASE}"


def runuser() -> str:
    """util-linux's runuser (in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("runuser", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if found is None:
        raise ServiceError("runuser is not installed (it runs the cluster as the postgres user): apt-get install util-linux")
    return found


def run_as_cluster_user(cluster: PostgresCluster, command: list, input: str | None = None, check: bool = True,
                        shielded: bool = False) -> subprocess.CompletedProcess:
    """Run a PostgreSQL program as the cluster's user (``runuser`` when root), in the cluster's folder.

    It runs in a process group of its own, so that a Ctrl-C is handled here: passed on to the program
    (initdb removes what it made, psql stops), or, when ``shielded`` (pg_ctl start), waited out, so that
    the server it starts is known to be up and can be stopped.
    """
    argv = [str(part) for part in command]
    if is_root():
        argv = [runuser(), "-u", cluster_user().pw_name, "--", *argv]
    process = subprocess.Popen(argv, cwd=cluster.folder, stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(input)
    except KeyboardInterrupt:
        if not shielded:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        raise
    if check and process.returncode != 0:
        raise ServiceError(f"{Path(str(command[0])).name} failed (exit {process.returncode}): {(err or out).strip()}")
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def prepare_folder(cluster: PostgresCluster) -> None:
    """The cluster's folder, made when missing, private, owned by the cluster's user and reachable by it."""
    folder = cluster.folder
    ours = ("data", "data.partial", "password", "postgres.log")
    if folder.exists() and any(p.name not in ours and not p.name.startswith(".s.PGSQL") for p in folder.iterdir()):
        raise ServiceError(f"{folder} holds files that are not a PostgreSQL cluster of ours: choose another --dir")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    user = cluster_user()
    if is_root():
        os.chown(folder, user.pw_uid, user.pw_gid)
    can_write = ["/bin/sh", "-c", 'test -w "$1" && test -x "$1"', "sh", folder]
    if run_as_cluster_user(cluster, can_write, check=False).returncode != 0:
        raise ServiceError(f"the {user.pw_name!r} user cannot reach {folder}: make its parent folders searchable "
                           "(chmod o+x) or choose another --dir")
    cluster.password()


def initdb(cluster: PostgresCluster, bindir: Path) -> None:
    """Create the cluster in ``data/``: made aside and renamed, so an interrupted initdb leaves no half cluster."""
    partial = cluster.folder / "data.partial"
    if partial.exists():
        shutil.rmtree(partial)  # left by an interrupted initdb
    say(f"creating a PostgreSQL cluster in {cluster.data}")
    run_as_cluster_user(cluster, [bindir / "initdb", "-D", partial, "--encoding=UTF8", "--no-locale",
                                  "--auth-local=peer", "--auth-host=scram-sha-256"])
    with (partial / "postgresql.conf").open("a") as conf:
        conf.write(f"\n# grader.publish.services: loopback only, socket in the cluster's folder\ninclude = '{SETTINGS}'\n")
    partial.rename(cluster.data)


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def write_cluster_file(cluster: PostgresCluster, name: str, text: str) -> None:
    """A configuration file in the data folder, readable by the server."""
    path = cluster.data / name
    path.write_text(text)
    path.chmod(0o600)
    if is_root():
        user = cluster_user()
        os.chown(path, user.pw_uid, user.pw_gid)


def configure(cluster: PostgresCluster, port: int) -> None:
    """Listen on 127.0.0.1:``port`` and the folder's socket only; passwords over TCP, the owner by peer."""
    socket_path = cluster.folder / f".s.PGSQL.{port}"
    if len(str(socket_path).encode()) > 100:  # the kernel's limit on a unix socket path is 107 bytes
        raise ServiceError(f"the socket path {socket_path} is too long for a unix socket: choose a shorter --dir")
    write_cluster_file(cluster, SETTINGS, (
        "# Written by grader.publish.services at each start.\n"
        f"listen_addresses = {_quoted(HOST)}\n"
        f"port = {port}\n"
        f"unix_socket_directories = {_quoted(str(cluster.folder))}\n"
        "unix_socket_permissions = 0700\n"
        "password_encryption = 'scram-sha-256'\n"
    ))
    write_cluster_file(cluster, "pg_hba.conf", (
        "# Written by grader.publish.services: the cluster's owner over the unix socket (peer), the grading\n"
        "# role over loopback TCP with its password; nobody else, from nowhere else.\n"
        f"local  all        {cluster_user().pw_name}  peer\n"
        f"host   {DATABASE}  {ROLE}  {HOST}/32  scram-sha-256\n"
    ))


def postgres_running(cluster: PostgresCluster, bindir: Path) -> bool:
    return cluster.exists() and run_as_cluster_user(cluster, [bindir / "pg_ctl", "status", "-D", cluster.data],
                                                    check=False).returncode == 0


def postgres_pid(cluster: PostgresCluster) -> int | None:
    """The server's pid (first line of postmaster.pid), or None."""
    try:
        return int((cluster.data / "postmaster.pid").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


def launch_postgres(cluster: PostgresCluster, bindir: Path) -> None:
    """``pg_ctl start``, waiting until the server accepts connections."""
    say(f"starting PostgreSQL on {HOST}:{cluster.port()} (log: {cluster.log})")
    done = run_as_cluster_user(cluster, [bindir / "pg_ctl", "start", "-D", cluster.data, "-l", cluster.log,
                                         "-w", "-t", int(START_TIMEOUT), "-s"], check=False, shielded=True)
    if done.returncode != 0:
        raise ServiceError(f"PostgreSQL did not start (pg_ctl exit {done.returncode}); its log:\n{log_tail(cluster.log)}")


def ensure_gradebook(cluster: PostgresCluster, bindir: Path) -> None:
    """The ``grader`` role (with the folder's password) and the ``gradebook`` database it owns."""
    sql = (  # on stdin, so that the password is never in a command line
        f"SELECT 'CREATE ROLE {ROLE}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}')\\gexec\n"
        f"ALTER ROLE {ROLE} WITH LOGIN PASSWORD {_quoted(cluster.password())};\n"
        f"SELECT 'CREATE DATABASE {DATABASE} OWNER {ROLE}' "
        f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}')\\gexec\n"
    )
    run_as_cluster_user(cluster, [bindir / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", cluster.folder,
                                  "-p", cluster.port(), "-U", cluster_user().pw_name, "-d", "postgres", "-f", "-"],
                        input=sql)


def postgres_start(folder: Path, port: int | None = None) -> str:
    """Create (once) and start the cluster in ``folder``; make sure of the gradebook; its URL."""
    cluster = PostgresCluster(folder.resolve())
    bindir = postgres_bindir(cluster.version())
    if postgres_running(cluster, bindir):
        say(f"PostgreSQL is already running in {folder} on {HOST}:{cluster.port()}")
        if port is not None and port != cluster.port():
            say(f"  (not on --port {port}: stop it first to change its port)")
        ensure_gradebook(cluster, bindir)
        return cluster.url()
    port = port or cluster.port() or POSTGRES_PORT
    require_free_port(port)
    prepare_folder(cluster)
    if not cluster.exists():
        initdb(cluster, bindir)
    configure(cluster, port)
    try:
        launch_postgres(cluster, bindir)
        ensure_gradebook(cluster, bindir)
    except BaseException:  # failed or interrupted (Ctrl-C): leave nothing running
        if postgres_running(cluster, bindir):
            say("stopping the PostgreSQL server this start had started")
            postgres_stop(folder)
        raise
    return cluster.url()


def postgres_stop(folder: Path) -> None:
    """Stop the cluster's server (fast shutdown: open sessions are ended)."""
    cluster = PostgresCluster(folder.resolve())
    if not cluster.exists():
        say(f"no PostgreSQL cluster in {folder}: nothing to stop")
        return
    bindir = postgres_bindir(cluster.version())
    if not postgres_running(cluster, bindir):
        say(f"PostgreSQL in {folder} is not running")
        return
    run_as_cluster_user(cluster, [bindir / "pg_ctl", "stop", "-D", cluster.data, "-m", "fast", "-w",
                                  "-t", int(STOP_TIMEOUT), "-s"])
    say(f"stopped PostgreSQL in {folder}")


def postgres_status(folder: Path) -> tuple[bool, str]:
    """Whether the cluster's server runs, and a line saying so."""
    cluster = PostgresCluster(folder.resolve())
    if not cluster.exists():
        return False, f"no PostgreSQL cluster in {folder}"
    if not postgres_running(cluster, postgres_bindir(cluster.version())):
        return False, f"PostgreSQL in {folder} is not running"
    return True, f"running (pid {postgres_pid(cluster)}): {cluster.url(hide_password=True)}"


# ------------------------------------------------------------------ Dask


@dataclass(frozen=True)
class DaskCluster:
    """A Dask scheduler and its workers, run from ``folder``: pids, logs, scheduler.json, scratch space."""

    folder: Path

    @property
    def scheduler_file(self) -> Path:
        return self.folder / "scheduler.json"

    @property
    def space(self) -> Path:
        return self.folder / "worker-space"

    def pid_file(self, role: str) -> Path:
        return self.folder / f"{role}.pid"

    def log(self, role: str) -> Path:
        return self.folder / f"{role}.log"

    def address(self) -> str | None:
        """The address the scheduler wrote to scheduler.json, or None."""
        try:
            return json.loads(self.scheduler_file.read_text())["address"]
        except (OSError, ValueError, KeyError):
            return None

    def pid(self, role: str) -> int | None:
        """The pid of ``role`` ("scheduler" or "workers") when it is alive and started from this folder."""
        try:
            pid = int(self.pid_file(role).read_text())
        except (OSError, ValueError):
            return None
        return pid if alive(pid) and str(self.folder) in cmdline(pid) else None  # never a recycled pid


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _live(stat: list[str] | None) -> bool:
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie has exited


def alive(pid: int) -> bool:
    """Whether ``pid`` is a process that has not exited."""
    return _live(_stat(pid))


def group_members(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if _live(stat) and stat[2] == str(pgid):
                members.append(int(entry.name))
    return members


def stop_group(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the leader of a process group we started, wait for the whole group, then SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while group_members(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if group_members(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while group_members(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status when it is our child (a start that failed in this process)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def spawn(dask: DaskCluster, role: str, command: list[str], root: Path) -> int:
    """Start ``command`` in the background, its own process group, in ``root``; its pid, recorded."""
    bindir = Path(sys.executable).parent  # this environment's bin/ (not resolved: a venv's python is a link)
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', os.defpath)}", MPLBACKEND="Agg")
    with dask.log(role).open("ab") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    dask.pid_file(role).write_text(f"{process.pid}\n")
    return process.pid


def start_scheduler(dask: DaskCluster, port: int, root: Path) -> str:
    """Start the scheduler on 127.0.0.1:``port``; its address once it serves."""
    require_free_port(port)
    dask.scheduler_file.unlink(missing_ok=True)
    say(f"starting the Dask scheduler on {HOST}:{port} (log: {dask.log('scheduler')})")
    pid = spawn(dask, "scheduler", [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", HOST,
                                    "--port", str(port), *NO_DASHBOARD, "--scheduler-file",
                                    str(dask.scheduler_file)], root)
    deadline = time.monotonic() + START_TIMEOUT
    while dask.address() is None:
        if not alive(pid):
            raise ServiceError(f"the Dask scheduler exited; its log:\n{log_tail(dask.log('scheduler'))}")
        if time.monotonic() > deadline:
            raise ServiceError(f"the Dask scheduler did not start in {START_TIMEOUT:.0f} s; its log:\n"
                               f"{log_tail(dask.log('scheduler'))}")
        time.sleep(0.1)
    return dask.address()


def start_workers(dask: DaskCluster, address: str, workers: int, root: Path) -> int:
    """Start ``workers`` worker processes (one thread each, under nannies, on loopback); the pid of their parent."""
    say(f"starting {workers} Dask worker(s) in {root} (log: {dask.log('workers')})")
    return spawn(dask, "workers", [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", HOST,
                                   "--nthreads", "1", "--nworkers", str(workers), *NO_DASHBOARD,
                                   "--local-directory", str(dask.space), "--death-timeout", "60"], root)


def wait_for_workers(dask: DaskCluster, address: str, workers: int, pid: int) -> None:
    """Until the scheduler reports ``workers`` workers; ServiceError when they die or take too long."""
    from distributed import Client

    deadline = time.monotonic() + START_TIMEOUT
    with Client(address, timeout=f"{START_TIMEOUT:.0f}s") as client:
        while True:
            try:
                client.wait_for_workers(workers, timeout=1)
                return
            except TimeoutError:
                pass
            if not alive(pid):
                raise ServiceError(f"the Dask workers exited; their log:\n{log_tail(dask.log('workers'))}")
            if time.monotonic() > deadline:
                raise ServiceError(f"{len(client.nthreads())} of {workers} Dask workers joined in "
                                   f"{START_TIMEOUT:.0f} s; their log:\n{log_tail(dask.log('workers'))}")


def worker_count(address: str) -> int:
    """How many workers the scheduler at ``address`` has."""
    from distributed import Client

    with Client(address, timeout="10s") as client:
        return len(client.nthreads())


def require_course(root: Path) -> None:
    if not (root / "nbgrader_config.py").is_file():
        raise ServiceError(f"{root} is not the course directory (no nbgrader_config.py): run this from the course "
                           "root or pass --root")


def require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ServiceError("Dask is not installed in this environment: pip install dask distributed "
                           "(or make install)") from None


def stop_role(dask: DaskCluster, role: str) -> bool:
    """Stop ``role`` ("workers" or "scheduler") and what it started; whether it was running."""
    pid = dask.pid(role)
    if pid is not None:
        stop_group(pid)
    dask.pid_file(role).unlink(missing_ok=True)
    return pid is not None


def dask_start(folder: Path, port: int = DASK_PORT, workers: int = DASK_WORKERS, root: Path = Path(".")) -> str:
    """Start the scheduler and the workers (those not running yet); the scheduler's address."""
    require_dask()
    root = root.resolve()
    require_course(root)
    dask = DaskCluster(folder.resolve())
    dask.folder.mkdir(parents=True, exist_ok=True)
    running = {role for role in ("scheduler", "workers") if dask.pid(role) is not None}
    try:
        if "scheduler" in running and dask.address():
            address = dask.address()
            say(f"the Dask scheduler is already running at {address}")
        else:
            for role in ("workers", "scheduler"):  # workers of a scheduler that is gone, a scheduler that never served
                stop_role(dask, role)
            running.clear()
            address = start_scheduler(dask, port, root)
        if "workers" in running:
            count = worker_count(address)
            say(f"its workers are already running: {count} worker(s)"
                + (f" (not --workers {workers}: stop the cluster first to change that)" if count != workers else ""))
        else:
            pid = start_workers(dask, address, workers, root)
            wait_for_workers(dask, address, workers, pid)
    except BaseException:  # failed or interrupted (Ctrl-C): stop what this start started
        for role in ("workers", "scheduler"):
            if role not in running:
                stop_role(dask, role)
        raise
    if not os.environ.get("GRADEBOOK_URL"):
        say("note: GRADEBOOK_URL is not set: the workers grade into nbgrader_config.py's db_url")
    return address


def dask_stop(folder: Path) -> None:
    """Stop the workers (so that none is left waiting for a scheduler), then the scheduler."""
    dask = DaskCluster(folder.resolve())
    stopped = [role for role in ("workers", "scheduler") if stop_role(dask, role)]
    dask.scheduler_file.unlink(missing_ok=True)
    say(f"stopped the Dask {' and '.join(stopped)} in {folder}" if stopped else f"no Dask cluster runs from {folder}")


def dask_status(folder: Path) -> tuple[bool, str]:
    """Whether the scheduler runs, and a line with its address and worker count."""
    dask = DaskCluster(folder.resolve())
    address = dask.address() if dask.pid("scheduler") is not None else None
    if address is None:
        return False, f"no Dask scheduler runs from {folder}"
    require_dask()
    return True, f"running: {address}, {worker_count(address)} worker(s)"


# ------------------------------------------------------------------ command line


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m grader.publish.services", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    services = top.add_subparsers(dest="service", required=True, metavar="{postgres,dask}")
    for service, folder, helps in (
        ("postgres", POSTGRES_DIR, {"start": "create (once) and start the cluster; print the gradebook's URL",
                                    "stop": "stop the server", "status": "whether it runs (exit 3 when not)",
                                    "url": "print the gradebook's URL (GRADEBOOK_URL)"}),
        ("dask", DASK_DIR, {"start": "start the scheduler and its workers; print the scheduler's address",
                            "stop": "stop the workers, then the scheduler",
                            "status": "the address and the number of workers (exit 3 when not running)"}),
    ):
        sub = services.add_parser(service, help=f"the {'PostgreSQL gradebook' if service == 'postgres' else 'Dask cluster'}")
        actions = sub.add_subparsers(dest="action", required=True, metavar="{" + ",".join(helps) + "}")
        for action, text in helps.items():
            command = actions.add_parser(action, help=text, description=text)
            command.add_argument("--dir", type=Path, default=folder, help="its folder (default: %(default)s)")
            if action == "start" and service == "postgres":
                command.add_argument("--port", type=int, default=None,
                                     help=f"TCP port on {HOST} (default: the cluster's, {POSTGRES_PORT} for a new one)")
            if action == "start" and service == "dask":
                command.add_argument("--port", type=int, default=DASK_PORT,
                                     help=f"the scheduler's TCP port on {HOST} (default: %(default)s)")
                command.add_argument("--workers", type=int, default=DASK_WORKERS,
                                     help="worker processes, one thread each (default: %(default)s)")
                command.add_argument("--root", type=Path, default=Path("."),
                                     help="the course directory, the workers' working directory (default: .)")
    return top


def run(args: argparse.Namespace) -> int:
    """Do what the command line asks; its exit status."""
    if args.action in ("start", "url"):
        if args.service == "postgres":
            print(postgres_start(args.dir, args.port) if args.action == "start" else
                  PostgresCluster(args.dir.resolve()).url(), flush=True)
        else:
            if args.workers < 1:
                raise ServiceError("--workers must be at least 1")
            print(dask_start(args.dir, args.port, args.workers, args.root), flush=True)
        return 0
    if args.action == "stop":
        (postgres_stop if args.service == "postgres" else dask_stop)(args.dir)
        return 0
    running, line = (postgres_status if args.service == "postgres" else dask_status)(args.dir)
    print(line, flush=True)
    return 0 if running else NOT_RUNNING


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except ServiceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        left = ": nothing it had started is left running" if args.action == "start" else ""
        print(f"interrupted ({args.service} {args.action}){left}", file=sys.stderr)
        # A Dask client interrupted while it connected leaves its event-loop thread behind, and the
        # interpreter would wait for it at exit: everything is cleaned up, so leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


if __name__ == "__main__":
    sys.exit(main())

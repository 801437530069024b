"""Run untrusted student notebooks in a locked-down Jupyter kernel.

``SandboxKernelManager`` is a drop-in ``AsyncKernelManager`` (pass it as
``kernel_manager_class`` to nbclient or nbgrader's ``Execute``) that starts the
kernel inside bubblewrap:

- its own mount namespace: read-only ``/usr`` and the Python installation, a
  minimal ``/etc``, private ``/proc``, ``/dev`` and a small tmpfs ``/tmp``; the
  course repository (gradebook.db, source/, submitted/, grader/) is not mounted.
  The kernel's cwd and HOME, ``/home/student``, is a tmpfs of bounded size
  (``home_mb``), so that what a sandbox writes never reaches the host's disk;
  the only writable host path is the directory holding the kernel's connection
  file and unix sockets (and a ``workdir`` given by the caller, bound as HOME);
- its own network namespace (no network: the kernel talks over unix sockets,
  transport ``ipc``), PID namespace (every process dies with the sandbox), IPC
  and UTS namespaces;
- a dedicated uid per concurrent sandbox (61000 + slot) when the grader runs as
  root, so that the process limit counts the sandbox's processes only;
- resource limits per process: address space, process count, CPU seconds, file size;
- one cgroup per sandbox (``_Cgroups``: v2 where its hierarchy can delegate the
  memory, pids and cpu controllers, else the v1 hierarchies of those
  controllers), which holds every process of the sandbox before any student
  code runs: memory (with tmpfs pages, without swap) and processes counted for
  the sandbox as a whole, an equal CPU share and at most ``cpus`` cores.
  A cold kernel's launcher joins it and then execs bubblewrap
  (``zygote.py join``); a warm kernel is moved into it by the grader's side of
  its connection to the template (``zygote.py attach``).  Groups live under a
  parent group per grading process, ``nbsbx-<pid>``, are removed with their
  kernel, and the parents of grading processes that are gone are swept.

The working directory starts empty: a submission's extra files (say a
``numpy.py`` beside the notebook) are never copied in, so they cannot shadow
packages. The kernel's PYTHONPATH holds only the student package
(``build_student_package``): ``grader/__init__.py`` and ``grader/plots.py``.

The kernel command is fixed (this interpreter, ``-m ipykernel_launcher``): the
kernel name in a submission's metadata selects nothing.

``isolation_report()`` probes once what works on this machine. Without a usable
bubblewrap, kernels run unsandboxed with resource limits only, and without
usable cgroups the limits hold per process only; the report carries a warning
saying so.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import fcntl
import functools
import itertools
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import IO, Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, DottedObjectName, Enum, Float, Integer, Type, Unicode

__all__ = ["Isolation", "SandboxKernelManager", "build_student_package", "isolation_report"]

UID_BASE = 61000
UID_SLOTS = 128

SANDBOX_HOME = "/home/student"
SANDBOX_PACKAGE = "/opt/course"
SANDBOX_VENV = "/opt/venv"
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/fonts")
REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(__file__).resolve().parents[1]  # grader/
SLOT_DIR = Path(tempfile.gettempdir()) / "nbgrader-sandbox-slots"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Isolation:
    """What isolation kernels get here: "bubblewrap+uid", "bubblewrap" or "none"; cgroup "v2", "v1" or "none"."""

    level: str
    warnings: list[str] = field(default_factory=list)
    cgroup: str = "none"


def build_student_package(dest: Path) -> Path:
    """Copy what a student's environment holds (``grader/__init__.py`` and ``grader/student/``) to ``dest``.

    Put ``dest`` on the kernel's PYTHONPATH: ``from grader.student import plots`` works, while
    ``grader.course`` (the reference and the checks) and ``grader.grading`` do not exist there.
    The boundary is a folder, not a list of modules: whatever ``grader/student/`` holds is shipped.
    """
    package = Path(dest) / "grader"
    package.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PACKAGE / "__init__.py", package / "__init__.py")
    shutil.copytree(PACKAGE / "student", package / "student", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return Path(dest)


# ------------------------------------------------------------------ commands


@dataclass(frozen=True)
class _Limits:
    memory_mb: int = 2048
    cpu_seconds: int = 600
    file_size_mb: int = 64
    max_processes: int = 64
    tmp_mb: int = 64
    home_mb: int = 256
    cpus: float = 1.0


def _python_mounts() -> tuple[list[tuple[str, str]], str]:
    """Read-only (host, sandbox) mounts of this interpreter, and its path in the sandbox.

    The installation keeps its path; a virtual environment is mounted at
    SANDBOX_VENV, so that no path of the course repository (where the venv may
    live) exists in the sandbox.
    """
    mounts = []
    prefixes = {sys.base_prefix, sys.base_exec_prefix}
    for prefix in sorted(prefixes | {os.path.realpath(p) for p in prefixes}):
        if not Path(prefix).is_relative_to("/usr"):
            mounts.append((prefix, prefix))
    if sys.prefix == sys.base_prefix:
        return mounts, os.path.realpath(sys.executable)
    mounts.append((os.path.realpath(sys.prefix), SANDBOX_VENV))
    return mounts, f"{SANDBOX_VENV}/bin/{os.path.basename(sys.executable)}"


def _prlimit(limits: _Limits, with_nproc: bool) -> list[str]:
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return []
    cmd = [
        prlimit,
        f"--as={limits.memory_mb * MIB}",
        f"--cpu={limits.cpu_seconds}",
        f"--fsize={limits.file_size_mb * MIB}",
        "--core=0",
    ]
    if with_nproc:
        cmd.append(f"--nproc={limits.max_processes}")
    return [*cmd, "--"]


def _bwrap(
    level: str,
    env: dict[str, str],
    ro: list[tuple[str, str]],
    rw: list[tuple[str, str]],
    chdir: str,
    limits: _Limits,
    caps: str = "CAP_SETUID,CAP_SETGID,CAP_SETPCAP",
    tmpfs: tuple[str, ...] = (),
    home: list[tuple[str, str]] | None = None,
) -> list[str]:
    """The bubblewrap command line, up to and including ``--``.

    With ``home`` (a list of (host file, path under HOME) to show read-only there), HOME is a tmpfs of
    ``limits.home_mb``: bwrap makes it as root, so it is world-writable and sticky, as ``/tmp`` is.
    """
    cmd = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session"]
    if level == "bubblewrap+uid":
        # bwrap runs as root (no user namespace) and keeps just what setpriv needs to drop to the uid.
        cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        cmd += ["--cap-add", caps]
    else:
        cmd += ["--unshare-all"]
    cmd += ["--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/", name)
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    cmd += ["--perms", "1777", "--size", str(limits.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    etc = [(path, path) for path in ETC_FILES if os.path.exists(path)]
    made = {"/", "/tmp"}
    for option, mounts in (("--ro-bind", etc + ro), ("--bind", rw)):
        for source, dest in mounts:
            # bwrap would create missing parents with mode 0700, closed to the sandbox uid.
            for parent in reversed(Path(dest).parents):
                if str(parent) not in made:
                    cmd += ["--perms", "0755", "--dir", str(parent)]
                    made.add(str(parent))
            cmd += [option, source, dest]
    for dest in tmpfs:
        cmd += ["--perms", "0755", "--tmpfs", dest]
    if home is not None:
        for parent in reversed(Path(SANDBOX_HOME).parents):
            if str(parent) not in made:
                cmd += ["--perms", "0755", "--dir", str(parent)]
                made.add(str(parent))
        cmd += ["--perms", "1777", "--size", str(limits.home_mb * MIB), "--tmpfs", SANDBOX_HOME]
        made.add(SANDBOX_HOME)
        for source, name in home:
            dest = Path(SANDBOX_HOME, name)
            for parent in reversed(dest.parents):
                if str(parent) not in made:
                    cmd += ["--perms", "1777", "--dir", str(parent)]
                    made.add(str(parent))
            cmd += ["--ro-bind", source, str(dest)]
    cmd += ["--chdir", chdir, "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    return [*cmd, "--"]


def _setpriv(uid: int) -> list[str]:
    return [
        shutil.which("setpriv") or "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


def _kernel_env(home: str, package: str, bin_dir: str) -> dict[str, str]:
    return {
        "PATH": f"{bin_dir}:{SANDBOX_PATH}",
        "HOME": home,
        "USER": "student",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": package,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # The kernel's parent is the sandbox's init: no parent polling, no console banner.
        "JPY_PARENT_PID": "1",
        # One malloc arena per thread reserves 64 MB of address space each: keep RLIMIT_AS for data.
        "MALLOC_ARENA_MAX": "2",
    }


def _command(
    level: str,
    inner: list[str],
    *,
    limits: _Limits,
    uid: int | None,
    env: dict[str, str],
    ro: list[tuple[str, str]],
    rw: list[tuple[str, str]],
    chdir: str = "/",
    home: list[tuple[str, str]] | None = None,
) -> list[str]:
    """``inner`` wrapped in the sandbox of ``level`` (paths in ``inner`` are sandbox paths)."""
    if level == "none":
        return _prlimit(limits, with_nproc=False) + inner
    if level == "bubblewrap+uid":
        assert uid is not None
        wrapper = _prlimit(limits, with_nproc=True) + _setpriv(uid)
    else:
        wrapper = _prlimit(limits, with_nproc=False)
    return _bwrap(level, env, ro, rw, chdir, limits, home=home) + wrapper + inner


# --------------------------------------------------------------------- uids


def _user_exists(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def _processes_of(uid: int) -> list[int]:
    """PIDs of the host processes whose real uid is ``uid``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:"):
                if int(line.split()[1]) == uid:
                    pids.append(int(entry.name))
                break
    return pids


def _kill_processes_of(uid: int, timeout: float = 5.0) -> None:
    """SIGKILL every process of ``uid`` until none is left (a fork bomb included)."""
    deadline = time.monotonic() + timeout
    while pids := _processes_of(uid):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of uid {uid} survive SIGKILL: {pids}")
        time.sleep(0.01)


def _claim_uid() -> tuple[int, IO[str]]:
    """A free sandbox uid and the open lock file that holds it (closing it frees the uid).

    Locks are flock(2) on files in SLOT_DIR, so that graders in other processes
    never share a uid; the kernel drops them if the grader dies.
    """
    SLOT_DIR.mkdir(mode=0o700, exist_ok=True)
    if SLOT_DIR.stat().st_uid != os.geteuid():
        raise RuntimeError(f"{SLOT_DIR} belongs to another user: remove it")
    for uid in range(UID_BASE, UID_BASE + UID_SLOTS):
        if _user_exists(uid):
            continue
        lock = open(SLOT_DIR / f"{uid}.lock", "w")  # held until shutdown
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _kill_processes_of(uid)  # left over by a grader that crashed
        return uid, lock
    raise RuntimeError(f"no free sandbox uid in {UID_BASE}..{UID_BASE + UID_SLOTS - 1}")


# ------------------------------------------------------------------- cgroups

CONTROLLERS = ("cpu", "memory", "pids")
CPU_PERIOD_US = 100_000
# The sandbox's own processes in its group besides the student's: bwrap and its init (cold), or the fork's
# watcher and init (warm).  The group holds max_processes + these, so that the student's processes get
# what the uid limit gives them, as without cgroups.
OWN_PROCESSES = 2
CGROUP_RUN = re.compile(r"nbsbx-(\d+)$")  # the parent group of one grading process
CGROUP_JOIN = Path(__file__).with_name("zygote.py")  # ``zygote.py join``: enter the groups, exec the sandbox


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, value: object) -> None:
    with open(path, "w") as fh:
        fh.write(str(value))


def _keyed(path: Path) -> dict[str, int]:
    """A flat keyed file ("key value" lines: memory.events, pids.events, cpu.stat, memory.oom_control)."""
    found = {}
    for line in _read(path).splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            found[key] = int(value)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class _Mount:
    root: str  # the hierarchy's folder that is mounted (mountinfo's 4th field)
    point: Path  # where (under the detector's file-system root)
    fstype: str
    options: frozenset[str]  # super options: the v1 controllers of the hierarchy


def _mounts(mountinfo: str, fs_root: Path) -> list[_Mount]:
    """The cgroup mounts listed in /proc/self/mountinfo's text."""
    def unescape(text: str) -> str:
        return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)

    found = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        tail = fields[fields.index("-") + 1:]
        if len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        point = fs_root / unescape(fields[4]).lstrip("/")
        found.append(_Mount(unescape(fields[3]), point, tail[0], frozenset(tail[2].split(","))))
    return found


def _own_groups(text: str) -> dict[str, str]:
    """Controller (``""`` for the v2 hierarchy) -> this process's group, from /proc/self/cgroup's text."""
    own = {}
    for line in text.splitlines():
        number, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if number == "0" and not controllers:
            own[""] = path
        for controller in filter(None, controllers.split(",")):
            own[controller] = path
    return own


def _group_dir(mount: _Mount, path: str | None) -> Path | None:
    """Where the group ``path`` of the mount's hierarchy is, if that mount shows it."""
    if path is None:
        return None
    root = mount.root.rstrip("/")
    if path != mount.root and not path.startswith(root + "/"):
        return None
    return mount.point / path[len(root):].lstrip("/")


def _v2_base(mount: Path, own: Path) -> Path | str:
    """The lowest group at or above the grader's own that gives the controllers to its children, or why none.

    The grader's own group holds processes, and a v2 group with processes of its own cannot give
    controllers to its children (EBUSY): then the nearest ancestor that can does.
    """
    wanted = set(CONTROLLERS)
    for group in [own, *(p for p in own.parents if p.is_relative_to(mount))]:
        if not wanted <= set(_read(group / "cgroup.controllers").split()):
            continue
        missing = wanted - set(_read(group / "cgroup.subtree_control").split())
        if not missing:
            return group
        try:
            _write(group / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(missing)))
        except OSError:
            continue
        return group
    absent = wanted - set(_read(mount / "cgroup.controllers").split())
    if absent:
        return f"the cgroup v2 hierarchy has no {', '.join(sorted(absent))} controller"
    return "no cgroup v2 group at or above the grader's can give memory, pids and cpu to its children"


def _detect_cgroups(proc: Path = Path("/proc/self"), fs_root: Path = Path("/"),
                    euid: int | None = None) -> _Cgroups | str:
    """Where this process can make its sandboxes' cgroups: v2 if usable, else v1; or why neither.

    Reads ``proc``/mountinfo and ``proc``/cgroup; the mount points they name are looked up under
    ``fs_root`` (the tests point both at a fake tree).  Using v2 may enable the controllers in a
    group's ``cgroup.subtree_control``; nothing else is written.
    """
    if (os.geteuid() if euid is None else euid) != 0:
        return "the grader does not run as root"
    try:
        mounts = _mounts((proc / "mountinfo").read_text(), fs_root)
        own = _own_groups((proc / "cgroup").read_text())
    except OSError as error:
        return f"cannot read {error.filename}: {error.strerror}"
    reasons = []
    unified = next((m for m in mounts if m.fstype == "cgroup2"), None)
    group = _group_dir(unified, own.get("")) if unified else None
    if unified is None:
        reasons.append("no cgroup v2 hierarchy")
    elif group is None or not group.is_dir():
        reasons.append("the grader's cgroup v2 group is not visible")
    else:
        base = _v2_base(unified.point, group)
        if isinstance(base, Path):
            return _Cgroups("v2", {c: base for c in CONTROLLERS}, [unified.point], {c: group for c in CONTROLLERS})
        reasons.append(base)
    bases, points = {}, []
    for controller in CONTROLLERS:
        mount = next((m for m in mounts if m.fstype == "cgroup" and controller in m.options), None)
        group = _group_dir(mount, own.get(controller)) if mount else None
        if mount is None:
            reasons.append(f"no cgroup v1 {controller} hierarchy")
        elif group is None or not group.is_dir():
            reasons.append(f"the grader's cgroup v1 {controller} group is not visible")
        else:
            bases[controller] = group
            points.append(mount.point)
    if len(bases) == len(CONTROLLERS):
        return _Cgroups("v1", bases, list(dict.fromkeys(points)))
    return "; ".join(reasons)


def _remove_group(path: Path, timeout: float = 5.0) -> bool:
    """Kill every process in the group ``path`` and its subgroups, delete them; whether they are gone."""
    try:
        children = [Path(entry.path) for entry in os.scandir(path) if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return True
    except OSError:
        children = []
    gone = all([_remove_group(child, timeout) for child in children])
    deadline = time.monotonic() + timeout
    while True:
        if (path / "cgroup.kill").exists():  # v2, Linux 5.14+: every process at once
            with contextlib.suppress(OSError):
                _write(path / "cgroup.kill", 1)
        for pid in _read(path / "cgroup.procs").split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        try:
            path.rmdir()
            return gone
        except FileNotFoundError:
            return gone
        except OSError as error:
            if error.errno != errno.EBUSY or time.monotonic() > deadline:
                return False
        time.sleep(0.01)


@dataclass
class _Group:
    """One sandbox's cgroup: for v1 one folder per controller's hierarchy, for v2 one folder."""

    version: str
    dirs: dict[str, Path]  # controller -> folder

    def _file(self, name: str) -> Path:
        return self.dirs[name.split(".", 1)[0]] / name  # "memory.max" is in the memory folder

    @property
    def folders(self) -> list[Path]:
        return list(dict.fromkeys(self.dirs.values()))

    @property
    def procs(self) -> list[str]:
        """The files a process writes a pid into to put it in the group (in every hierarchy)."""
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def limit(self, memory_mb: int, max_processes: int, cpus: float) -> None:
        """Memory (without swap) and processes for the group as a whole; an equal CPU share, ``cpus`` cores at most."""
        memory = memory_mb * MIB
        quota = round(cpus * CPU_PERIOD_US) if cpus > 0 else None
        if self.version == "v2":
            _write(self._file("memory.max"), memory)
            if self._file("memory.swap.max").exists():
                _write(self._file("memory.swap.max"), 0)
            _write(self._file("pids.max"), max_processes)
            _write(self._file("cpu.weight"), 100)
            _write(self._file("cpu.max"), f"{quota or 'max'} {CPU_PERIOD_US}")
        else:
            _write(self._file("memory.limit_in_bytes"), memory)
            if self._file("memory.memsw.limit_in_bytes").exists():  # memory + swap: no swap beyond the limit
                _write(self._file("memory.memsw.limit_in_bytes"), memory)
            _write(self._file("pids.max"), max_processes)
            _write(self._file("cpu.shares"), 1024)
            _write(self._file("cpu.cfs_period_us"), CPU_PERIOD_US)
            _write(self._file("cpu.cfs_quota_us"), quota or -1)

    def usage(self) -> dict[str, int | None]:
        """Peak memory (bytes), out-of-memory kills, forks refused at the process limit, processes now,
        CPU periods throttled (None where this kernel does not count it)."""
        v2 = self.version == "v2"
        peak = _read(self._file("memory.peak" if v2 else "memory.max_usage_in_bytes")).strip()
        current = _read(self._file("pids.current")).strip()
        return {
            "memory_peak": int(peak) if peak.isdigit() else None,
            "oom_kills": _keyed(self._file("memory.events" if v2 else "memory.oom_control")).get("oom_kill"),
            "forks_refused": _keyed(self._file("pids.events")).get("max"),
            "processes": int(current) if current.isdigit() else None,
            "cpu_throttled": _keyed(self._file("cpu.stat")).get("nr_throttled"),
        }

    def remove(self, timeout: float = 5.0) -> bool:
        """Kill what is left in the group and delete it; whether it is gone."""
        return all([_remove_group(folder, timeout) for folder in self.folders])


class _Cgroups:
    """Where this grading process makes its sandboxes' cgroups.

    ``bases`` maps each controller to the group under which this process's parent group,
    ``nbsbx-<pid>``, is made (the grader's own group in each v1 hierarchy; for v2 the lowest
    group at or above it that gives the controllers to its children).  ``mounts`` are the
    hierarchies the sweep of stale parent groups searches; ``own`` the grader's own groups
    (the bases, for v1), where a warm kernel without a group of its own goes, out of the template's.
    """

    def __init__(self, version: str, bases: dict[str, Path], mounts: list[Path],
                 own: dict[str, Path] | None = None) -> None:
        self.version, self.bases, self.mounts = version, bases, mounts
        self.own = own or bases
        self._lock = threading.Lock()
        self._names = itertools.count()
        self._at_exit = False

    def parents(self) -> dict[str, Path]:
        return {c: base / f"nbsbx-{os.getpid()}" for c, base in self.bases.items()}

    @property
    def own_procs(self) -> list[str]:
        """The ``cgroup.procs`` files of the grader's own groups."""
        return [str(folder / "cgroup.procs") for folder in dict.fromkeys(self.own.values())]

    def _ensure_parents(self) -> dict[str, Path]:
        with self._lock:
            parents = self.parents()
            for folder in dict.fromkeys(parents.values()):
                if not folder.is_dir():
                    folder.mkdir(exist_ok=True)
                    if self.version == "v2":  # it has no processes: it can give the controllers on
                        _write(folder / "cgroup.subtree_control", " ".join(f"+{c}" for c in CONTROLLERS))
            if not self._at_exit:
                atexit.register(self.remove_parents)
                self._at_exit = True
            return parents

    def create(self, kind: str, limits: _Limits) -> _Group:
        """A new group ``<kind>-<n>`` under this process's parent group, with the limits set."""
        parents = self._ensure_parents()
        name = f"{kind}-{next(self._names)}"
        group = _Group(self.version, {c: parent / name for c, parent in parents.items()})
        try:
            for folder in group.folders:
                folder.mkdir()
            group.limit(limits.memory_mb, limits.max_processes + OWN_PROCESSES, limits.cpus)
        except OSError:
            group.remove()
            raise
        return group

    def remove_parents(self) -> None:
        """Delete this process's parent groups and anything left in them."""
        with self._lock:
            for folder in dict.fromkeys(self.parents().values()):
                _remove_group(folder)

    def sweep(self) -> None:
        """Delete the parent groups of grading processes that are gone (killed before they could)."""
        for mount in self.mounts:
            for folder, subfolders, _ in os.walk(mount):
                for name in list(subfolders):
                    match = CGROUP_RUN.match(name)
                    if match and not _alive(int(match.group(1))):
                        _remove_group(Path(folder, name))
                        subfolders.remove(name)


_cgroups_lock = threading.Lock()
_cgroups_state: dict[str, tuple[_Cgroups | None, str]] = {}


def _cgroups() -> tuple[_Cgroups | None, str]:
    """This machine's cgroups for sandboxes, probed once per process (a group made and removed), or why none."""
    with _cgroups_lock:
        if "found" not in _cgroups_state:
            _cgroups_state["found"] = _probe_cgroups()
        return _cgroups_state["found"]


def _probe_cgroups() -> tuple[_Cgroups | None, str]:
    found = _detect_cgroups()
    if isinstance(found, str):
        return None, found
    found.sweep()
    try:
        found.create("probe", _Limits()).remove()
    except OSError as error:
        return None, f"cgroup {found.version} found, but a bounded group cannot be made: {error}"
    finally:
        found.remove_parents()
    return found, ""


# ------------------------------------------------------------------- probing


def _probe(level: str) -> str | None:
    """Run a tiny sandbox of ``level``; None when it works, else why not."""
    ro, python = _python_mounts()
    uid, lock = _claim_uid() if level == "bubblewrap+uid" else (None, None)
    expected = uid if uid is not None else os.getuid()
    code = "import os, importlib.util as u; print(os.getuid(), u.find_spec('ipykernel') is not None)"
    env = _kernel_env("/", "/", os.path.dirname(python))
    cmd = _command(level, [python, "-c", code], limits=_Limits(), uid=uid, env=env, ro=ro, rw=[])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    finally:
        if lock is not None:
            lock.close()
    if done.stdout.split() != [str(expected), "True"]:
        return (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}")[-300:]
    return None


@functools.cache
def isolation_report() -> Isolation:
    """Probe, once per process, the strongest isolation that works on this machine."""
    warnings = []
    missing = [tool for tool in ("bwrap", "prlimit") if shutil.which(tool) is None]
    if "prlimit" in missing:
        warnings.append("prlimit (util-linux) is missing: kernels run without resource limits")
    level = "none"
    if "bwrap" not in missing:
        candidates = ["bubblewrap"]
        if os.geteuid() == 0 and shutil.which("setpriv"):
            candidates.insert(0, "bubblewrap+uid")
        for candidate in candidates:
            failure = _probe(candidate)
            if failure is None:
                level = candidate
                break
            warnings.append(f"sandbox level {candidate!r} does not work here: {failure}")
    if level == "bubblewrap":
        who = "root (without capabilities)" if os.geteuid() == 0 else f"uid {os.getuid()}"
        warnings.append(
            f"kernels run as {who}, not as a dedicated uid (that needs the grader to run as root): "
            "no limit on the number of processes"
        )
    if level == "none":
        reason = (
            "bwrap is not installed: apt-get install bubblewrap"
            if "bwrap" in missing
            else "bwrap fails here, see above"
        )
        warnings.append(
            f"STUDENT CODE RUNS UNSANDBOXED ({reason}): it can read the course repository "
            "(gradebook.db, reference solutions), use the network and leave processes behind; "
            "only memory, CPU and file-size limits apply"
        )
    else:
        ro, _ = _python_mounts()
        if any(REPO_ROOT.is_relative_to(source) for source, _ in ro):
            warnings.append(f"the course repository {REPO_ROOT} lies inside a mounted Python installation")
    cgroups, why_not = _cgroups()
    if cgroups is None:
        warnings.append(
            f"no cgroup ({why_not}): memory, processes and CPU are limited per process only (rlimits), so a "
            "sandbox's processes together can use more memory than its limit and slow the sandboxes beside it"
        )
    return Isolation(level, warnings, cgroups.version if cgroups else "none")


# ------------------------------------------------------------ font cache

MPL_CACHE = ".cache/matplotlib"  # under the kernel's HOME


@functools.cache
def _matplotlib_cache() -> dict[str, bytes]:
    """matplotlib's font list as a sandboxed kernel builds it (file name -> bytes), built once.

    Every kernel starts with an empty HOME, where matplotlib would scan the fonts
    again (half a second per kernel); a copy of this list spares it.  It is built
    in the same sandbox as the kernels, so its font paths are the sandbox's.  Empty
    when it cannot be built: kernels then build their own, as before.
    """
    level = isolation_report().level
    home = Path(tempfile.mkdtemp(prefix=f"nbsbx-fonts-{os.getpid()}-"))
    uid, lock = _claim_uid() if level == "bubblewrap+uid" else (None, None)
    try:
        if uid is not None:
            os.chown(home, uid, uid)
        code = "import matplotlib.font_manager"
        if level == "none":
            env = _kernel_env(str(home), str(home), os.path.dirname(sys.executable))
            cmd = _command(level, [sys.executable, "-c", code], limits=_Limits(), uid=None, env=env, ro=[], rw=[])
        else:
            ro, python = _python_mounts()
            env = _kernel_env(SANDBOX_HOME, "/", os.path.dirname(python))
            cmd = _command(level, [python, "-c", code], limits=_Limits(), uid=uid, env=env, ro=ro,
                           rw=[(str(home), SANDBOX_HOME)], chdir=SANDBOX_HOME)
        try:
            subprocess.run(cmd, capture_output=True, timeout=120, stdin=subprocess.DEVNULL, check=True,
                           env={"PATH": SANDBOX_PATH} if level != "none" else env)
        except (OSError, subprocess.SubprocessError):
            return {}
        return {f.name: f.read_bytes() for f in (home / MPL_CACHE).glob("fontlist-*.json")}
    finally:
        if uid is not None:
            _kill_processes_of(uid)
        if lock is not None:
            lock.close()
        shutil.rmtree(home, ignore_errors=True)


def _font_files(folder: Path) -> list[tuple[str, str]]:
    """The prebuilt matplotlib font list as files in ``folder``, with their path under a kernel's HOME."""
    files = _matplotlib_cache()
    if files:
        folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [(str(folder / name), f"{MPL_CACHE}/{name}") for name in files]


def _seed_home(home: Path, uid: int | None) -> None:
    """Put the prebuilt matplotlib font list into a kernel's empty HOME."""
    files = _matplotlib_cache()
    if not files:
        return
    folder = home / MPL_CACHE
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    if uid is not None:
        for path in (home / ".cache", folder, *folder.iterdir()):
            os.chown(path, uid, uid)


# ------------------------------------------------------------ warm kernels

ZYGOTE = Path(__file__).with_name("zygote.py")
SANDBOX_ZYGOTE = "/opt/zygote.py"
TEMPLATE_START_SECONDS = 120


STALE = re.compile(r"nbsbx-(?:warm-|fonts-)?(\d+)-")


def _remove_stale_folders() -> None:
    """Delete sandbox folders whose grading process is gone (killed before it could clean up).

    Top-level sandbox folders carry their process's pid: ``nbsbx-<pid>-*`` for a cold
    kernel, ``nbsbx-warm-<pid>-*`` for a template and the warm kernels inside it.
    """
    for folder in Path(tempfile.gettempdir()).glob("nbsbx-*"):
        match = STALE.match(folder.name)
        if match is None or not folder.is_dir() or folder.stat().st_uid != os.geteuid():
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, another user's
            pass


class _Template:
    """A running ``grader.grading.zygote`` template: kernels are forked from it, already warm.

    It runs in a bubblewrap sandbox like a kernel's (same mounts, no network), as
    root with the capabilities it needs to seal each fork; it never runs student
    code.  Kernels' folders live in ``self.shared``, mounted at the same path.
    Where there are cgroups it runs in one of its own (``self.group``), and each
    fork is moved into its kernel's group before it forks anything.
    """

    def __init__(self) -> None:
        _remove_stale_folders()
        cgroups, _ = _cgroups()
        self.group = cgroups.create("template", _Limits()) if cgroups else None
        self.base = Path(tempfile.mkdtemp(prefix=f"nbsbx-warm-{os.getpid()}-"))
        self.shared = self.base / "kernels"
        self.shared.mkdir()
        self.socket = self.shared / "zygote.sock"
        package = build_student_package(self.base / "course")
        ro, python = _python_mounts()
        env = _kernel_env(SANDBOX_HOME, SANDBOX_PACKAGE, os.path.dirname(python))
        cmd = _bwrap("bubblewrap+uid", env, [*ro, (str(package), SANDBOX_PACKAGE), (str(ZYGOTE), SANDBOX_ZYGOTE)],
                     [(str(self.shared), str(self.shared))], SANDBOX_HOME, _Limits(),
                     caps="CAP_SYS_ADMIN,CAP_SETUID,CAP_SETGID,CAP_SETPCAP", tmpfs=(SANDBOX_HOME,))
        # 0600: a kernel inherits this file as its stderr and must not reopen it to read the others' lines.
        self.log = os.fdopen(os.open(self.base / "zygote.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
        self.proc = subprocess.Popen([*_join(self.group), *cmd, python, SANDBOX_ZYGOTE, str(self.socket)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log,
                                     env={"PATH": SANDBOX_PATH})
        ready = self._wait_ready()
        if ready is not None:
            self.close()
            raise RuntimeError(ready)

    def _wait_ready(self) -> str | None:
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(TEMPLATE_START_SECONDS):
                return f"no answer within {TEMPLATE_START_SECONDS} s"
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            self.proc.wait(timeout=10)
            return (self.base / "zygote.log").read_text(errors="replace")[-500:] or f"exit status {self.proc.poll()}"
        return None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def command(self, request: dict[str, Any], group: _Group | None = None) -> list[str]:
        """The kernel command's stand-in: a thin client that lives as long as its forked kernel.

        It first moves the forked child into ``group``, or, without one, out of the template's
        group into the grader's own (the request then says "join"): a kernel never shares the
        template's group.
        """
        import json

        cgroups, _ = _cgroups()
        procs = group.procs if group else cgroups.own_procs if self.group and cgroups else []
        request = {**request, "join": bool(procs)}
        return [sys.executable, "-I", "-S", str(ZYGOTE), "attach", str(self.socket), json.dumps(request), *procs]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()
        if self.group is not None:
            self.group.remove()
        shutil.rmtree(self.base, ignore_errors=True)


def _join(group: _Group | None) -> list[str]:
    """The launcher that puts a sandbox into ``group`` before it starts (nothing without a group)."""
    if group is None:
        return []
    return [sys.executable, "-I", "-S", str(CGROUP_JOIN), "join", *group.procs, "--"]


_template_lock = threading.Lock()
_template_state: dict[str, Any] = {}


def warm_failure() -> str | None:
    """Why this process's warm template could not start, if it could not."""
    failure = _template_state.get("failed")
    return " ".join(failure.split()) if failure else None


def _warm_template() -> _Template | None:
    """This process's template (started on first use), or None when it cannot run here."""
    with _template_lock:
        if "failed" in _template_state:
            return None
        template = _template_state.get("template")
        if template is not None and template.alive():
            return template
        if template is not None:
            template.close()
        try:
            template = _template_state["template"] = _Template()
        except (OSError, RuntimeError, subprocess.SubprocessError) as error:
            _template_state["failed"] = str(error)
            print(f"WARNING: warm kernels are off, each kernel starts cold: {error}", file=sys.stderr)
            return None
        atexit.register(template.close)
        return template


# ------------------------------------------------------------ kernel manager


class ReadyKernelClient(AsyncKernelClient):
    """jupyter_client's async client, ready as soon as its kernel is.

    Its ``wait_for_ready`` is jupyter_client's handshake (``kernel_info`` until a reply comes on shell and a
    message on IOPub, which is then connected), without the wait that ends jupyter_client's: there, IOPub
    is read until it has been silent for 0.2 s, a fixed 0.2 s more per kernel.  Here IOPub is drained of
    what has come, without waiting: nbclient, and the trusted grading's calls into the kernel, keep only
    messages whose parent is their own request, so a start-up message arriving later is never taken for a
    cell's.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass  # IOPub not connected yet: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                return


class SandboxKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernels run in the sandbox of ``isolation_report()``."""

    client_class = DottedObjectName("grader.grading.sandbox.ReadyKernelClient", config=True)
    client_factory = Type(ReadyKernelClient, klass=AsyncKernelClient, config=True)

    memory_mb = Integer(
        2048, config=True,
        help="Memory of the sandbox (MB): the address space of each process and, in its cgroup, what all its "
        "processes hold together (tmpfs files included, no swap).",
    )
    max_processes = Integer(
        64, config=True,
        help="Processes and threads of the sandbox: of its uid (needs a dedicated uid) and, in its cgroup, "
        "of all its processes together.",
    )
    cpu_seconds = Integer(600, config=True, help="CPU time limit of each kernel process (s).")
    cpus = Float(
        1.0, config=True,
        help="CPU cores the sandbox's processes may use together at most (cgroup CPU quota); 0: no quota, "
        "only a CPU share equal to every other sandbox's.",
    )
    cgroup = Bool(
        True, config=True,
        help="Bound each sandbox as a whole with a cgroup (v2, else v1) where the machine has them; "
        "False: per-process limits only.",
    )
    file_size_mb = Integer(64, config=True, help="Largest file the kernel may write (MB).")
    tmp_mb = Integer(64, config=True, help="Size of the sandbox's private /tmp (MB), a tmpfs.")
    home_mb = Integer(
        256, config=True,
        help="Size of the sandbox's HOME and working directory (MB), a tmpfs of its own (not with a workdir).",
    )
    uid = Integer(
        None,
        allow_none=True,
        config=True,
        help=f"Uid the kernel runs as; None takes a free one from {UID_BASE} up, held until shutdown.",
    )
    workdir = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Writable working directory of the kernel; None makes an empty one, deleted at shutdown.",
    )
    student_package = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Directory on the kernel's PYTHONPATH; None builds one with build_student_package().",
    )
    minimum_isolation = Enum(
        ["none", "bubblewrap", "bubblewrap+uid"], "none", config=True,
        help="Refuse to start a kernel with weaker isolation than this (isolation_report().level): e.g. "
        "'bubblewrap+uid' where grading must run as root, so that a grading started elsewhere fails rather "
        "than running student code with less isolation.",
    )
    isolation_hint = Unicode(
        "", config=True, help="Appended to the refusal of minimum_isolation: what to run instead.")
    warm = Bool(
        True,
        config=True,
        help="Fork kernels from a template that has imported IPython, numpy, matplotlib and seaborn "
        "(grader.grading.zygote), sealed as a fresh sandbox is.  Needs the dedicated-uid sandbox and neither "
        "workdir nor student_package; otherwise, or when the template cannot start, kernels start cold.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._template: _Template | None = None
        self._base: Path | None = None
        self._work: Path | None = None
        self._sandbox_uid: int | None = None
        self._uid_lock: IO[str] | None = None
        self._package: Path | None = None
        self._group: _Group | None = None
        self._fonts: list[tuple[str, str]] = []
        self.cgroup_usage: dict[str, int | None] | None = None  # the last kernel's group, at its shutdown

    # The sandbox runs this interpreter's ipykernel, whatever kernel a notebook names.
    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            level = isolation_report().level
            python = _python_mounts()[1] if level != "none" else sys.executable
            self._kernel_spec = KernelSpec(
                # No history database: a kernel's inputs stay in memory (In, _i), none is written to disk.
                argv=[python, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--HistoryManager.enabled=False"],
                display_name="Python 3 (sandbox)",
                language="python",
                # A signal to the bwrap process would not reach the kernel: ask the kernel itself.
                interrupt_mode="message",
            )
        return self._kernel_spec

    @property
    def ipykernel(self) -> bool:
        return True

    @property
    def forked(self) -> bool:
        """Whether the running kernel was forked from the warm template (else it started cold)."""
        return self._template is not None

    @property
    def sandbox_uid(self) -> int | None:
        """The uid the running kernel has, or None when it runs as the grader's uid."""
        return self._sandbox_uid

    @property
    def sandbox_cgroup(self) -> _Group | None:
        """The running kernel's cgroup, or None when it has none."""
        return self._group

    def describe(self) -> str:
        """One line on the isolation and limits kernels of this manager get."""
        level = isolation_report().level
        cgroups = _cgroups()[0] if self.cgroup else None
        parts = [f"isolation: {level}"]
        if level == "bubblewrap+uid":
            parts.append(f"uid {self.uid}" if self.uid is not None else f"uid {UID_BASE}+")
        if level != "none":
            parts.append("no network")
        if cgroups is not None:
            parts.append(f"cgroup {cgroups.version}: {self.memory_mb} MB memory (all processes)")
            parts.append(f"{self.max_processes} processes")
            parts.append(f"{self.cpus:g} CPU at most" if self.cpus > 0 else "an equal CPU share")
        else:
            parts.append(f"no cgroup: {self.memory_mb} MB per process")
            parts.append(f"{self.max_processes} processes" if level == "bubblewrap+uid" else "no process limit")
        if level != "none" and not self.workdir:
            parts.append(f"{self.home_mb} MB home + {self.tmp_mb} MB /tmp")
        parts.append(f"{self.cpu_seconds} s CPU")
        if self.warm and level == "bubblewrap+uid":
            parts.append("warm kernels")
        return ", ".join(parts)

    def _limits(self) -> _Limits:
        return _Limits(self.memory_mb, self.cpu_seconds, self.file_size_mb, self.max_processes, self.tmp_mb,
                       self.home_mb, self.cpus)

    def _forks(self) -> bool:
        """Whether kernels fork from the warm template (if it can start): see ``warm``."""
        return self.warm and not self.workdir and not self.student_package and \
            isolation_report().level == "bubblewrap+uid"

    def prewarm(self) -> None:
        """Start this process's warm template now, not at the first kernel: a grading worker does so
        while the driver is still staging the class."""
        if self._forks():
            _warm_template()

    def _prepare(self) -> None:
        """Make the per-kernel directories, claim a uid, point the connection at unix sockets."""
        self._template = _warm_template() if self._forks() else None
        if self._template is None:
            _remove_stale_folders()
            self._base = Path(tempfile.mkdtemp(prefix=f"nbsbx-{os.getpid()}-"))
        else:  # a warm kernel's folders must be inside the template's shared folder, which it sees
            self._base = Path(tempfile.mkdtemp(prefix="nbsbx-", dir=self._template.shared))
        run = self._base / "run"
        run.mkdir()
        self._work = Path(self.workdir) if self.workdir else self._base / "work"
        self._work.mkdir(parents=True, exist_ok=True)
        self._package = (
            Path(self.student_package)
            if self.student_package
            else build_student_package(self._base / "course")
        )
        if isolation_report().level == "bubblewrap+uid":
            if self.uid is None:
                self._sandbox_uid, self._uid_lock = _claim_uid()
            else:
                self._sandbox_uid = self.uid
            os.chown(self._work, self._sandbox_uid, self._sandbox_uid)
            self._work.chmod(0o700)
        if not self.workdir and self._template is None:  # a cold kernel's own empty HOME, with the font list
            if isolation_report().level == "none":
                _seed_home(self._work, self._sandbox_uid)
            else:  # a tmpfs in the sandbox: the list is shown there, read-only
                self._fonts = _font_files(self._base / "fonts")
        cgroups, _ = _cgroups() if self.cgroup else (None, "")
        if cgroups is not None:
            try:
                self._group = cgroups.create("kernel", self._limits())
            except OSError as error:
                self._teardown()
                raise RuntimeError(f"cannot make the sandbox's cgroup: {error}") from error
        self.transport = "ipc"
        self.ip = str(run / "kernel")
        self.connection_file = str(run / "kernel.json")

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self._sandbox_uid is not None:
            os.chown(self.connection_file, self._sandbox_uid, self._sandbox_uid)

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        levels = ("none", "bubblewrap", "bubblewrap+uid")
        level = isolation_report().level
        if levels.index(level) < levels.index(self.minimum_isolation):
            raise RuntimeError(f"refusing to run student code with isolation {level!r}: this grading needs at "
                               f"least {self.minimum_isolation!r} (root and bubblewrap). {self.isolation_hint}".strip())
        if self._base is None:  # a restart keeps directories and uid
            self._prepare()
        if self._sandbox_uid is not None:  # the kernel binds its sockets there; sealed after start
            run = Path(self.ip).parent
            os.chown(run, self._sandbox_uid, self._sandbox_uid)
            run.chmod(0o700)
        return await super()._async_pre_start_kernel(**kw)

    async def _async_post_start_kernel(self, **kw: Any) -> None:
        await self._seal_sockets()
        await super()._async_post_start_kernel(**kw)

    async def _seal_sockets(self, timeout: float = 60) -> None:
        """Once the kernel has bound its unix sockets, give their folder back to root.

        The kernel could otherwise swap a socket for a symlink to any socket of
        the host, which the grader (root) would follow when zmq reconnects. No
        student code runs before the first execute request, so this is race-free.
        """
        if self._sandbox_uid is None:
            return
        sockets = [f"{self.ip}-{port}" for port in self.ports]
        deadline = time.monotonic() + timeout
        while not all(os.path.lexists(path) for path in sockets):
            if time.monotonic() > deadline or not await self._async_is_alive():
                return  # the client's wait_for_ready reports the failed start
            await asyncio.sleep(0.01)
        run = Path(self.ip).parent
        run.chmod(0o755)  # first: the kernel may still be looking up its connection file there
        os.chown(run, os.getuid(), os.getgid())

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        inner = super().format_kernel_cmd(extra_arguments)
        assert self._base is not None and self._work is not None
        level = isolation_report().level
        if level == "none":
            return _join(self._group) + _command(level, inner, limits=self._limits(), uid=None, env={}, ro=[], rw=[])
        python_ro, python = _python_mounts()
        run = str(self._base / "run")
        if self._template is not None:
            limits = self._limits()
            return self._template.command({
                "argv": inner[inner.index("-f"):],
                "run": run, "shared": str(self._template.shared),
                "uid": self._sandbox_uid, "tmp_mb": limits.tmp_mb, "home_mb": limits.home_mb,
                "limits": {"memory_mb": limits.memory_mb, "cpu_seconds": limits.cpu_seconds,
                           "file_size_mb": limits.file_size_mb, "max_processes": limits.max_processes},
                "env": _kernel_env(SANDBOX_HOME, SANDBOX_PACKAGE, os.path.dirname(python)),
            }, self._group)
        given = bool(self.workdir)  # the caller's folder is HOME; else HOME is a tmpfs in the sandbox
        return _join(self._group) + _command(
            level,
            inner,
            limits=self._limits(),
            uid=self._sandbox_uid,
            env=_kernel_env(SANDBOX_HOME, SANDBOX_PACKAGE, os.path.dirname(python)),
            ro=[*python_ro, (str(self._package), SANDBOX_PACKAGE)],
            rw=[(str(self._work), SANDBOX_HOME), (run, run)] if given else [(run, run)],
            chdir=SANDBOX_HOME,
            home=None if given else self._fonts,
        )

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        assert self._work is not None
        # Whatever cwd the caller asked for (nbclient: the notebook's folder), the kernel gets the workdir.
        kw["cwd"] = str(self._work)
        if isolation_report().level == "none":
            kw["env"] = _kernel_env(str(self._work), str(self._package), os.path.dirname(sys.executable))
        else:
            kw["env"] = {"PATH": SANDBOX_PATH}
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        """jupyter_client's wait for the kernel process to end, polling every 10 ms instead of every 100 ms: a
        sandboxed kernel is gone within milliseconds of its signal, and would otherwise cost a 0.1 s step."""
        await super()._async_wait(pollinterval=min(pollinterval, 0.01))

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._teardown()

    def _teardown(self) -> None:
        """Kill what the kernel left, delete its cgroup and directories, free the uid. Idempotent."""
        if self._base is None:
            return
        if self._sandbox_uid is not None:
            _kill_processes_of(self._sandbox_uid)
        if self._group is not None:
            self.cgroup_usage = self._group.usage()
            if not self._group.remove():  # the sweep of stale parent groups removes it later
                print(f"WARNING: the sandbox's cgroup {self._group.folders[0]} could not be removed", file=sys.stderr)
        if self._uid_lock is not None:
            self._uid_lock.close()
        shutil.rmtree(self._base, ignore_errors=True)  # a workdir given by the caller lives elsewhere
        self._base = self._work = self._package = self._sandbox_uid = self._uid_lock = self._group = None
        self._fonts = []

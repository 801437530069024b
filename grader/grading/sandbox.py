"""Run untrusted student notebooks in a locked-down Jupyter kernel.

``SandboxKernelManager`` is a drop-in ``AsyncKernelManager`` (pass it as
``kernel_manager_class`` to nbclient or nbgrader's ``Execute``) that starts the
kernel inside bubblewrap:

- its own mount namespace: read-only ``/usr`` and the Python installation, a
  minimal ``/etc``, private ``/proc``, ``/dev`` and a small tmpfs ``/tmp``; the
  course repository (gradebook.db, source/, submitted/, grader/) is not mounted.
  The only writable host path is the throwaway working directory, seen as
  ``/home/student`` (the kernel's cwd and HOME), plus the directory holding the
  kernel's connection file and unix sockets;
- its own network namespace (no network: the kernel talks over unix sockets,
  transport ``ipc``), PID namespace (every process dies with the sandbox), IPC
  and UTS namespaces;
- a dedicated uid per concurrent sandbox (61000 + slot) when the grader runs as
  root, so that the process limit counts the sandbox's processes only;
- resource limits: address space, process count, CPU seconds, file size.

The working directory starts empty: a submission's extra files (say a
``numpy.py`` beside the notebook) are never copied in, so they cannot shadow
packages. The kernel's PYTHONPATH holds only the student package
(``build_student_package``): ``grader/__init__.py`` and ``grader/plots.py``.

The kernel command is fixed (this interpreter, ``-m ipykernel_launcher``): the
kernel name in a submission's metadata selects nothing.

``isolation_report()`` probes once what works on this machine. Without a usable
bubblewrap, kernels run unsandboxed with resource limits only, and the report
carries a warning saying so.
"""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import functools
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
from typing import IO, Any

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, Unicode

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


@dataclass(frozen=True)
class Isolation:
    """What isolation kernels get here: "bubblewrap+uid", "bubblewrap" or "none"."""

    level: str
    warnings: list[str] = field(default_factory=list)


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
    mib = 1024 * 1024
    cmd = [
        prlimit,
        f"--as={limits.memory_mb * mib}",
        f"--cpu={limits.cpu_seconds}",
        f"--fsize={limits.file_size_mb * mib}",
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
) -> list[str]:
    """The bubblewrap command line, up to and including ``--``."""
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
) -> list[str]:
    """``inner`` wrapped in the sandbox of ``level`` (paths in ``inner`` are sandbox paths)."""
    if level == "none":
        return _prlimit(limits, with_nproc=False) + inner
    if level == "bubblewrap+uid":
        assert uid is not None
        wrapper = _prlimit(limits, with_nproc=True) + _setpriv(uid)
    else:
        wrapper = _prlimit(limits, with_nproc=False)
    return _bwrap(level, env, ro, rw, chdir, limits) + wrapper + inner


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
    return Isolation(level, warnings)


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
    """

    def __init__(self) -> None:
        _remove_stale_folders()
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
        self.proc = subprocess.Popen([*cmd, python, SANDBOX_ZYGOTE, str(self.socket)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.log, env={"PATH": SANDBOX_PATH})
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

    def command(self, request: dict[str, Any]) -> list[str]:
        """The kernel command's stand-in: a thin client that lives as long as its forked kernel."""
        import json

        return [sys.executable, "-I", "-S", str(ZYGOTE), "attach", str(self.socket), json.dumps(request)]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.base, ignore_errors=True)


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


class SandboxKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernels run in the sandbox of ``isolation_report()``."""

    memory_mb = Integer(2048, config=True, help="Address space limit of each kernel process (MB).")
    max_processes = Integer(
        64, config=True, help="Processes and threads the sandbox uid may have (needs a dedicated uid)."
    )
    cpu_seconds = Integer(600, config=True, help="CPU time limit of each kernel process (s).")
    file_size_mb = Integer(64, config=True, help="Largest file the kernel may write (MB).")
    tmp_mb = Integer(64, config=True, help="Size of the sandbox's private /tmp (MB).")
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

    # The sandbox runs this interpreter's ipykernel, whatever kernel a notebook names.
    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            level = isolation_report().level
            python = _python_mounts()[1] if level != "none" else sys.executable
            self._kernel_spec = KernelSpec(
                argv=[python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
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

    def describe(self) -> str:
        """One line on the isolation and limits kernels of this manager get."""
        level = isolation_report().level
        parts = [f"isolation: {level}"]
        if level == "bubblewrap+uid":
            parts.append(f"uid {self.uid}" if self.uid is not None else f"uid {UID_BASE}+")
        if level != "none":
            parts.append("no network")
        parts.append(f"{self.memory_mb} MB")
        parts.append(f"{self.max_processes} processes" if level == "bubblewrap+uid" else "no process limit")
        parts.append(f"{self.cpu_seconds} s CPU")
        if self.warm and level == "bubblewrap+uid":
            parts.append("warm kernels")
        return ", ".join(parts)

    def _limits(self) -> _Limits:
        return _Limits(self.memory_mb, self.cpu_seconds, self.file_size_mb, self.max_processes, self.tmp_mb)

    def _prepare(self) -> None:
        """Make the per-kernel directories, claim a uid, point the connection at unix sockets."""
        self._template = None
        if self.warm and not self.workdir and not self.student_package and \
                isolation_report().level == "bubblewrap+uid":
            self._template = _warm_template()
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
        if not self.workdir and self._template is None:  # a cold kernel's own empty HOME
            _seed_home(self._work, self._sandbox_uid)
        self.transport = "ipc"
        self.ip = str(run / "kernel")
        self.connection_file = str(run / "kernel.json")

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self._sandbox_uid is not None:
            os.chown(self.connection_file, self._sandbox_uid, self._sandbox_uid)

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
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
            return _command(level, inner, limits=self._limits(), uid=None, env={}, ro=[], rw=[])
        python_ro, python = _python_mounts()
        run = str(self._base / "run")
        if self._template is not None:
            limits = self._limits()
            return self._template.command({
                "argv": inner[inner.index("-f"):],
                "home": str(self._work), "run": run, "shared": str(self._template.shared),
                "uid": self._sandbox_uid, "tmp_mb": limits.tmp_mb,
                "limits": {"memory_mb": limits.memory_mb, "cpu_seconds": limits.cpu_seconds,
                           "file_size_mb": limits.file_size_mb, "max_processes": limits.max_processes},
                "env": _kernel_env(SANDBOX_HOME, SANDBOX_PACKAGE, os.path.dirname(python)),
            })
        return _command(
            level,
            inner,
            limits=self._limits(),
            uid=self._sandbox_uid,
            env=_kernel_env(SANDBOX_HOME, SANDBOX_PACKAGE, os.path.dirname(python)),
            ro=[*python_ro, (str(self._package), SANDBOX_PACKAGE)],
            rw=[(str(self._work), SANDBOX_HOME), (run, run)],
            chdir=SANDBOX_HOME,
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

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._teardown()

    def _teardown(self) -> None:
        """Kill what the kernel left, delete the directories, free the uid. Idempotent."""
        if self._base is None:
            return
        if self._sandbox_uid is not None:
            _kill_processes_of(self._sandbox_uid)
        if self._uid_lock is not None:
            self._uid_lock.close()
        shutil.rmtree(self._base, ignore_errors=True)  # a workdir given by the caller lives elsewhere
        self._base = self._work = self._package = self._sandbox_uid = self._uid_lock = None

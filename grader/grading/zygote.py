"""Warm kernels: a template process that forks each sandboxed kernel.

A fresh kernel spends most of its start-up importing IPython, numpy, matplotlib
and seaborn.  The template imports them once, inside a bubblewrap sandbox that
sees only what a kernel may see, and then forks one kernel per request.  Each
fork is sealed before any student code runs, as a fresh bubblewrap sandbox
would be:

- its own cgroup (when the grader bounds sandboxes with cgroups): the grader's
  side of the connection moves the forked child into it, before the child
  forks anything, so that every process of the kernel is in it;
- new mount, PID, network, IPC and UTS namespaces: its own fresh ``/tmp`` and
  ``/proc``; its HOME (``/home/student``) is a tmpfs of bounded size owned by
  the kernel's uid, its kernel socket folder a bind mount of its own folder, and
  the folder holding every kernel's files and the template's socket is covered
  by an empty tmpfs;
- a reaper is PID 1 of the namespace, so every process the kernel starts dies
  with it;
- resource limits, no supplementary groups, the kernel's dedicated uid (which
  drops every capability) and no_new_privs.

The template talks to the grader over a unix socket in that folder: one JSON
request per connection; the connection stays open for the life of the kernel
and closing it kills the kernel, so the thin client that ``grader.grading.sandbox``
starts in the kernel's place behaves like the kernel process itself
(``attach``).

This file runs as a script: inside the sandbox as the template (``python
zygote.py SOCKET``), and on the grader's side as the stand-in (``python -I -S
zygote.py attach SOCKET REQUEST [CGROUP_PROCS ...]``) and as the launcher that
puts a cold kernel's sandbox into its cgroup (``python -I -S zygote.py join
CGROUP_PROCS ... -- COMMAND ...``); only the standard library is imported
before the template's preloads.  The grader never imports it.

Joining a cgroup is done by a privileged process on the grader's side, never in
the sandbox (whose view of ``/sys`` is gone): ``join`` writes its own pid, then
execs the sandbox; for a warm kernel the forked child sends its pid over the
connection as SCM_CREDENTIALS (the kernel translates it to the grader's PID
namespace), ``attach`` writes it, and only then does the child go on.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import json
import os
import resource
import selectors
import signal
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
HOME = "/home/student"
# What a kernel imports before it runs a cell: the course's libraries, and what IPKernelApp.initialize
# imports (its debugger, pdb, the history's sqlite3), which a fork would otherwise import each time.
PRELOAD = ("numpy", "pandas", "matplotlib.pyplot", "seaborn", "grader.student.plots", "ipykernel.kernelapp",
           "ipykernel.ipkernel", "IPython.core.interactiveshell", "ipykernel.debugger", "debugpy", "pdb",
           "sqlite3", "faulthandler", "code", "xmlrpc.client", "stringprep")

_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _bytes(value: str | None) -> bytes | None:
    return value.encode() if value is not None else None


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    result = _libc.mount(_bytes(source), _bytes(target), _bytes(fstype), ctypes.c_ulong(flags), _bytes(data))
    _check(result, f"mount {target}")


def _seal(request: dict) -> None:
    """In the new namespaces, as root: the kernel's own view of the file system."""
    run, shared, uid = request["run"], request["shared"], request["uid"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Hold the kernel's own socket folder, then cover everything the template's children share.
    folder = os.open(run, os.O_PATH | os.O_DIRECTORY)
    _mount("tmpfs", shared, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={request['tmp_mb']}m")
    os.makedirs(run, 0o755, exist_ok=True)
    _mount(f"/proc/self/fd/{folder}", run, None, MS_BIND)
    os.close(folder)
    # The home: memory of its own, bounded (the pages count in the kernel's memory cgroup), gone with it.
    _mount("tmpfs", HOME, "tmpfs", MS_NOSUID | MS_NODEV,
           f"mode=0700,uid={uid},gid={uid},size={request['home_mb']}m")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _drop(request: dict) -> None:
    """Limits, then the dedicated uid (which clears every capability), then no_new_privs."""
    mib = 1024 * 1024
    limits = request["limits"]
    for which, value in ((resource.RLIMIT_AS, limits["memory_mb"] * mib),
                         (resource.RLIMIT_CPU, limits["cpu_seconds"]),
                         (resource.RLIMIT_FSIZE, limits["file_size_mb"] * mib),
                         (resource.RLIMIT_NPROC, limits["max_processes"]),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))
    for cap in range(64):  # the bounding set: nothing can ever be gained back
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            _check(-1, f"drop capability {cap} from the bounding set")
    uid = request["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # clears the effective and permitted sets
    header, data = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "clear the inheritable set")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _kernel(request: dict) -> None:
    """In the sealed namespace, unprivileged: become the IPython kernel."""
    os.chdir(HOME)
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["ipykernel_launcher", *request["argv"]]
    sys.path[0] = ""  # as ``python -m``: the working directory first
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance()


def _reap(kernel: int) -> int:
    """PID 1 of the kernel's namespace: reap every orphan until the kernel exits; its status."""
    while True:
        pid, status = os.wait()
        if pid == kernel:
            return os.waitstatus_to_exitcode(status)


def _read_line(conn: socket.socket) -> bytes | None:
    """One newline-terminated message, or None when the other side hung up first."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    return data


CREDENTIALS = struct.Struct("iII")  # struct ucred: pid, uid, gid


def _join_cgroup(conn: socket.socket) -> None:
    """Have the grader's side move this process into the kernel's cgroup; return once it is in.

    Nothing has been forked yet, so every process of the kernel starts in the group.
    """
    creds = CREDENTIALS.pack(os.getpid(), os.getuid(), os.getgid())
    conn.sendmsg([b"join\n"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)])
    if _read_line(conn) != b"joined\n":
        os._exit(70)  # not bounded: no kernel


def _serve_one(conn: socket.socket) -> None:
    """A forked child: read the request, start the kernel in new namespaces, report its exit."""
    data = _read_line(conn)
    if data is None:
        os._exit(0)
    request = json.loads(data)
    if request.get("join"):
        _join_cgroup(conn)
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    init = os.fork()
    if init == 0:  # PID 1 of the new namespace
        status = 70
        try:
            conn.close()
            _seal(request)
            _drop(request)
            kernel = os.fork()
            if kernel == 0:
                try:
                    _kernel(request)
                    os._exit(0)
                except SystemExit as stop:
                    os._exit(stop.code if isinstance(stop.code, int) else 1)
                except BaseException as exc:  # noqa: BLE001 -- the kernel's own failure, told on stderr
                    print(f"kernel failed to start: {exc!r}", file=sys.stderr)
                    os._exit(70)
            status = _reap(kernel)
        except BaseException as exc:  # noqa: BLE001
            print(f"sandbox setup failed: {exc!r}", file=sys.stderr)
        os._exit(status & 0xFF if status >= 0 else 128 - status)
    # Watch both: the kernel's namespace ending, and the grader's side hanging up.
    conn.setblocking(True)
    readable = os.pidfd_open(init) if hasattr(os, "pidfd_open") else None
    sel = selectors.DefaultSelector()
    sel.register(conn, selectors.EVENT_READ)
    if readable is not None:
        sel.register(readable, selectors.EVENT_READ)
    while True:
        events = sel.select(timeout=None if readable is not None else 0.2)
        done, status = os.waitpid(init, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            try:
                conn.sendall(f"{code}\n".encode())
            except OSError:
                pass
            os._exit(0)
        for key, _ in events:
            if key.fileobj is conn and not conn.recv(1):  # the grader's side is gone: end the kernel
                os.kill(init, signal.SIGKILL)
                os.waitpid(init, 0)
                os._exit(0)


def main(path: str) -> None:
    for name in PRELOAD:
        __import__(name)
    # What the imports made stays out of the collector's sight: a fork's collections then never walk (and
    # so copy, page by page) the template's memory.
    gc.freeze()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    print("ready", flush=True)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)  # kernels inherit it: the grader reads nothing more from here
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the per-kernel children are never waited for here
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                _serve_one(conn)
            finally:
                os._exit(0)
        conn.close()


def _enter(procs: list[str], pid: int) -> None:
    """Write ``pid`` into each ``cgroup.procs`` (or v1 ``tasks``) file: the process is in those groups."""
    for path in procs:
        with open(path, "w") as fh:
            fh.write(str(pid))


def _peer_pid(conn: socket.socket) -> int | None:
    """Read the child's b"join" line; the pid its SCM_CREDENTIALS carry, as this PID namespace sees it."""
    data, pid = b"", None
    while not data.endswith(b"\n"):
        chunk, ancillary, _, _ = conn.recvmsg(64, socket.CMSG_SPACE(CREDENTIALS.size))
        if not chunk:
            return None
        data += chunk
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and pid is None:
                pid = CREDENTIALS.unpack(value[:CREDENTIALS.size])[0]
    return pid if data == b"join\n" and pid and pid > 0 and _in_a_child_namespace(pid) else None


def _in_a_child_namespace(pid: int) -> bool:
    """Whether ``pid`` lives in a PID namespace below this one (the template's): never one of the host's processes."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            line = next((line for line in fh if line.startswith("NSpid:")), "")
    except OSError:
        return False
    return len(line.split()) > 2  # "NSpid:", its pid here, its pid in the template's namespace


def attach(path: str, request: str, procs: list[str]) -> int:
    """The kernel command's stand-in on the grader's side (``python -I -S zygote.py attach SOCKET REQUEST [PROCS ...]``).

    Asks the template for a kernel and lives exactly as long as it: its exit status is the
    kernel's, and killing it hangs up, which kills the kernel.  With ``procs`` (the request then
    says "join"), it first moves the template's forked child into those cgroups.
    """
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if procs:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    conn.connect(path)
    conn.sendall(request.encode() + b"\n")
    if procs:
        pid = _peer_pid(conn)
        if pid is None:
            print("no process of the template's PID namespace asked to join the kernel's cgroup", file=sys.stderr)
            return 70
        try:
            _enter(procs, pid)
        except OSError as error:
            print(f"cannot put the kernel into its cgroup: {error}", file=sys.stderr)
            return 70  # hanging up ends the child
        conn.sendall(b"joined\n")
    reply = (_read_line(conn) or b"").strip()
    return int(reply) if reply.lstrip(b"-").isdigit() else 70


def join(argv: list[str]) -> None:
    """``join PROCS ... -- COMMAND ...``: enter those cgroups, then become COMMAND (a cold kernel's sandbox)."""
    split = argv.index("--")
    try:
        _enter(argv[:split], os.getpid())
    except OSError as error:
        print(f"cannot enter the sandbox's cgroup: {error}", file=sys.stderr)
        sys.exit(70)
    os.execvp(argv[split + 1], argv[split + 1:])


if __name__ == "__main__":
    if sys.argv[1] == "attach":
        sys.exit(attach(sys.argv[2], sys.argv[3], sys.argv[4:]))
    if sys.argv[1] == "join":
        join(sys.argv[2:])
    main(sys.argv[1])

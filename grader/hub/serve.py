"""Run the hub in the foreground: print its URL and the accounts, stop cleanly on Ctrl-C and SIGTERM.

JupyterHub runs in a session of its own (the terminal's Ctrl-C reaches this process only), with
``jupyterhub_config.py``; its log goes to build/hub/jupyterhub-<port>.log. On Ctrl-C or SIGTERM it
gets SIGTERM and stops the proxy and every user's server itself (``cleanup_servers``,
``cleanup_proxy``); whatever is still running afterwards (a server of a class account, the proxy) is
stopped here, by pid, and named.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from grader.hub import accounts
from grader.hub.classroom import ClassError, Classroom

CONFIG = Path(__file__).resolve().parent / "jupyterhub_config.py"
STARTUP_SECONDS = 120
STOP_SECONDS = 60


def log_path(classroom: Classroom, port: int) -> Path:
    return classroom.state / f"jupyterhub-{port}.log"


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/hub/health", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(classroom: Classroom, port: int) -> subprocess.Popen:
    """The hub, started and answering on ``port``; ClassError with its log's tail when it does not."""
    url = f"http://127.0.0.1:{port}"
    if ready(url):
        raise ClassError(f"something already answers on {url}: stop it, or pass --port")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JUPYTER_CONFIG_DIR",
                                                              "JUPYTER_CONFIG_PATH", "JUPYTER_DATA_DIR")}
    env["GRADER_HUB_PORT"] = str(port)
    env["PATH"] = f"{classroom.course_venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    log = log_path(classroom, port)
    with log.open("w") as handle:
        process = subprocess.Popen([str(classroom.course_venv / "bin" / "jupyterhub"), "-f", str(CONFIG)],
                                   cwd=classroom.state, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + STARTUP_SECONDS
    while not ready(url):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(classroom, process, port)
            raise ClassError(f"JupyterHub did not start on {url} (log {log}):\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    return process


def class_processes(classroom: Classroom, port: int) -> dict[int, str]:
    """pid -> what it is, of processes the hub leaves behind: the class accounts' and the proxy."""
    import pwd

    uids = {}
    for name in classroom.users:
        try:
            uids[pwd.getpwnam(name).pw_uid] = name
        except KeyError:
            continue
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            uid = entry.stat().st_uid
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if uid in uids and cmdline:
            found[int(entry.name)] = f"{uids[uid]}: {cmdline[:120]}"
    pid_file = classroom.state / f"proxy-{port}.pid"
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        if b"configurable-http-proxy" in cmdline:
            found[pid] = "the proxy: " + cmdline.replace(b"\0", b" ").decode(errors="replace")[:120]
    except (OSError, ValueError):
        pass
    return found


def stop(classroom: Classroom, process: subprocess.Popen, port: int) -> list[str]:
    """Stop the hub (SIGTERM, then SIGKILL), then anything of the class it left; what had to be stopped."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    left = class_processes(classroom, port)
    for pid in left:
        with _quiet():
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in left):
        time.sleep(0.2)
    for pid in left:
        with _quiet():
            os.kill(pid, signal.SIGKILL)
    return list(left.values())


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        return kind is not None and issubclass(kind, ProcessLookupError)


def banner(classroom: Classroom, port: int) -> str:
    details = accounts.details(classroom)
    lines = [f"The class is on JupyterHub at http://127.0.0.1:{port}/ (Ctrl-C to stop)", "", "accounts:"]
    for name in classroom.users:
        role = "instructor" if name == classroom.instructor else "student"
        lines.append(f"  {name:<20} password {details[name]['password']:<16} {role}")
    command = "python -m grader.hub autograde"
    lines += ["", f"course folder: {classroom.course} (the instructor's: formgrader in their server)",
              f"exchange:      {classroom.exchange}",
              f"to grade: the instructor runs `{command}` in a JupyterLab terminal (sandboxed, via sudo)",
              f"hub log:       {log_path(classroom, port)}"]
    return "\n".join(lines)


def run(classroom: Classroom, port: int) -> int:
    """Start the hub, print how to reach it, wait for Ctrl-C or SIGTERM (or the hub's end), stop it."""
    stopping = threading.Event()

    def on_signal(signum, frame):
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        process = start(classroom, port)
        print(banner(classroom, port), flush=True)
        while not stopping.is_set() and process.poll() is None:
            stopping.wait(0.5)
        ended = process.poll()
        print("stopping the hub ...", flush=True)
        left = stop(classroom, process, port)
        for what in left:
            print(f"stopped what the hub left running: {what}", flush=True)
        if ended is not None and not stopping.is_set():
            print(f"JupyterHub exited with status {ended} (log {log_path(classroom, port)})", flush=True)
            return 1
        print("stopped: the hub, the proxy and every user's server", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

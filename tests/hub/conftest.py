"""The class on a real JupyterHub (``make test-hub``): root, sudo, npm; the ``hub`` marker.

The session's hub is the project's own command, ``python -m grader.hub start --port P`` (after
``reset --yes``: the sample roster's class starts again), on free loopback ports; it is stopped with
SIGTERM at the end, and must then exit 0 leaving no process of a class account and no proxy.
Helpers run nbgrader's commands and probes as a class account (``runuser``), in the environment that
account's server has.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import random
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.hub import serve
from grader.hub.classroom import Classroom

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 600  # the first setup builds the student environment
SCREENSHOTS = ROOT / "build" / "screenshots" / "hub"

# Headless Debian Chromium and watched contexts: the browser tests' own fixtures (tests/browser/conftest.py).
_spec = importlib.util.spec_from_file_location("browser_fixtures", ROOT / "tests" / "browser" / "conftest.py")
_browser_fixtures = sys.modules.setdefault("browser_fixtures", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(_browser_fixtures)
browser = _browser_fixtures.browser
watched_context = _browser_fixtures.watched_context


def free_base_port() -> int:
    """A port P with P, P+1 and P+2 free on 127.0.0.1 (the hub, its API, the proxy's API)."""
    for _ in range(100):
        base = random.randrange(20000, 30000)
        with socket.socket() as a, socket.socket() as b, socket.socket() as c:
            try:
                for sock, port in ((a, base), (b, base + 1), (c, base + 2)):
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return base
    raise RuntimeError("no three free ports in a row on 127.0.0.1")


@dataclass
class Hub:
    url: str
    port: int
    classroom: Classroom
    passwords: dict[str, str]
    process: subprocess.Popen
    output: list[str]

    def run_as(self, user: str, argv: list[str], cwd: Path | None = None, check: bool = True,
               timeout: float = 600) -> subprocess.CompletedProcess:
        """``argv`` as ``user``, with the environment their server has (their venv first on PATH)."""
        home = pwd.getpwnam(user).pw_dir
        env = ["env", "-i", f"HOME={home}", f"USER={user}", f"LOGNAME={user}",
               *(f"{k}={v}" for k, v in self.classroom.server_environment(user).items())]
        done = subprocess.run(["runuser", "-u", user, "--", *env, *argv], cwd=cwd or home, capture_output=True,
                              text=True, timeout=timeout)
        if check and done.returncode:
            raise AssertionError(f"{' '.join(argv)} as {user}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def nbgrader_as(self, user: str, *args: str) -> subprocess.CompletedProcess:
        """An nbgrader command as ``user``, without the hub's API (the groups are the hub's config)."""
        cwd = self.classroom.course if user == self.classroom.instructor else None
        return self.run_as(user, ["nbgrader", *args, "--Authenticator.plugin_class=nbgrader.auth.NoAuthPlugin",
                                  "--log-level=WARN"], cwd=cwd)

    def python_as(self, user: str, code: str) -> dict:
        """Run ``code`` (which prints one JSON line last) in ``user``'s Python, from their home."""
        done = self.run_as(user, ["python", "-I", "-c", code])
        return json.loads(done.stdout.strip().splitlines()[-1])


def _require_root():
    if os.geteuid() != 0:  # never a silent skip: this tier is make test-hub's, which runs as root
        pytest.fail("the hub tests need root (local accounts, PAM, servers as their users): sudo make test-hub",
                    pytrace=False)


@pytest.fixture(scope="session")
def hub():
    _require_root()
    python = str(ROOT / ".venv" / "bin" / "python")
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    subprocess.run([python, "-m", "grader.hub", "reset", "--yes"], cwd=ROOT, env=env, capture_output=True)
    port = free_base_port()
    process = subprocess.Popen([python, "-m", "grader.hub", "start", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    deadline = time.monotonic() + STARTUP_SECONDS
    url = None
    while url is None:
        line = process.stdout.readline()
        if not line and process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("python -m grader.hub start did not start:\n" + "".join(output)[-4000:], pytrace=False)
        output.append(line)
        match = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)
        if match:
            url = match.group(1)
    while not any(line.startswith("hub log:") for line in output):
        output.append(process.stdout.readline())
    classroom = Classroom.load()
    from grader.hub import accounts

    yield Hub(url, port, classroom, accounts.passwords(classroom), process, output)

    process.send_signal(signal.SIGTERM)
    try:
        rest, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("python -m grader.hub start did not stop within 120 s of SIGTERM", pytrace=False)
    output.append(rest)
    text = "".join(output)
    assert process.returncode == 0, text[-3000:]
    assert "stopped: the hub, the proxy and every user's server" in text, text[-3000:]
    assert "stopped what the hub left running" not in text, text[-3000:]  # JupyterHub cleaned up itself
    assert serve.class_processes(classroom, port) == {}, "left running after SIGTERM"
    sys.stdout.write(f"\nhub stopped on SIGTERM, nothing left running:\n{text[-600:]}\n")

    # Then the class is removed from the machine, by its own command: nothing of it is left.
    removed = subprocess.run([python, "-m", "grader.hub", "remove", "--yes"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert [name for name in classroom.users if accounts.exists(name)] == []
    assert not classroom.root.exists() and not Path("/etc/sudoers.d", classroom.course_id).exists()
    assert (os.stat(ROOT).st_mode & 0o777, os.stat(ROOT).st_gid) == (0o755, 0)
    assert not classroom.accounts_file.exists() and not (classroom.state / "class.json").exists()
    sys.stdout.write(f"\nthe class removed from the machine:\n{removed.stdout}\n")


ORDER = ("test_hub_story.py", "test_hub_isolation.py")  # the isolation test reads what the story leaves


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: ORDER.index(Path(item.fspath).name) if Path(item.fspath).name in ORDER else -1)

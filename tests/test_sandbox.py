"""The kernel sandbox holds against hostile notebook code.

Every kernel test runs code a hostile submission could contain inside a
SandboxKernelManager kernel and checks, from the grading process, that it
neither reaches the course nor outlives or harms the grader.  They need
bubblewrap and root (CI has both): the ``sandbox`` tier, skipped without them, except in CI
(REQUIRE_SANDBOX=1), where they fail (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import nbformat
import pytest
from jupyter_client.asynchronous import AsyncKernelClient
from nbclient import NotebookClient

from grader.grading.sandbox import (
    SANDBOX_HOME,
    Isolation,
    ReadyKernelClient,
    SandboxKernelManager,
    _processes_of,
    build_student_package,
    isolation_report,
)

ROOT = Path(__file__).resolve().parents[1]
# Kernels forked from the warm template (grader.grading.zygote) and kernels started cold must hold alike.
WARM_AND_COLD = pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
INSTALL = "install bubblewrap (apt-get install bubblewrap) and run the tests as root, as CI does"


def require_sandbox() -> Isolation:
    report = isolation_report()
    assert report.level == "bubblewrap+uid", (
        f"kernels are not sandboxed (isolation {report.level!r}: {report.warnings}); {INSTALL}"
    )
    return report


class Kernel:
    """A started sandbox kernel and the outputs of the code it ran."""

    def __init__(self, km: SandboxKernelManager, kc: AsyncKernelClient) -> None:
        self.km, self.kc = km, kc

    async def run(self, code: str, timeout: float = 30) -> tuple[str, str | None]:
        """Execute ``code``; return its stdout and the name of the exception it raised, if any."""
        stdout, errors = [], []

        def collect(msg: dict) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                stdout.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                errors.append(msg["content"]["ename"])

        await self.kc.execute_interactive(textwrap.dedent(code), output_hook=collect, timeout=timeout)
        return "".join(stdout), (errors[0] if errors else None)

    async def facts(self, code: str) -> dict:
        """Run ``code``, which ends by printing one JSON object; return the object."""
        out, error = await self.run(code)
        assert error is None, f"{error} in:\n{code}"
        return json.loads(out.strip().splitlines()[-1])


@contextlib.asynccontextmanager
async def sandbox(**traits) -> AsyncIterator[Kernel]:
    require_sandbox()
    km = SandboxKernelManager(**traits)
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        if "warm" in traits:  # a warm kernel that quietly started cold would test nothing
            assert km.forked == traits["warm"], "the kernel did not start the way the test asked for"
        yield Kernel(km, kc)
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


def host_processes(uid: int) -> list[str]:
    """Command lines of the host processes of ``uid``."""
    lines = []
    for pid in _processes_of(uid):
        with contextlib.suppress(OSError):
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip())
    return lines


# ---------------------------------------------------------------- no kernel


@pytest.mark.sandbox
def test_bubblewrap_with_a_dedicated_uid_is_in_force():
    report = require_sandbox()
    assert report.warnings == []
    assert report.cgroup in ("v1", "v2")  # these machines: v1 (tests/test_cgroups.py)
    assert SandboxKernelManager().describe() == (
        f"isolation: bubblewrap+uid, uid 61000+, no network, cgroup {report.cgroup}: 2048 MB memory (all processes), "
        "64 processes, 1 CPU at most, 256 MB home + 64 MB /tmp, 600 s CPU, warm kernels"
    )
    assert SandboxKernelManager(warm=False).describe().endswith("64 MB /tmp, 600 s CPU")


@pytest.mark.parametrize("level", ["none", "bubblewrap"])
def test_a_kernel_below_the_minimum_isolation_is_refused(monkeypatch, level):
    """Where grading must be root's (the class on JupyterHub), a grading started elsewhere runs nothing."""
    from grader.grading import sandbox

    monkeypatch.setattr(sandbox, "isolation_report", lambda: Isolation(level, []))
    manager = SandboxKernelManager(minimum_isolation="bubblewrap+uid", isolation_hint="Run the root grader.")
    with pytest.raises(RuntimeError, match=rf"isolation '{level}'.*'bubblewrap\+uid'.*Run the root grader\.$"):
        asyncio.run(manager.start_kernel())
    assert not manager.has_kernel


def test_student_package_is_the_student_folder_only(tmp_path):
    dest = build_student_package(tmp_path)
    assert dest == tmp_path
    shipped = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.py"))
    expected = sorted(["grader/__init__.py"] + [f"grader/student/{p.name}" for p in (ROOT / "grader" / "student").glob("*.py")])
    assert shipped == expected
    assert not (tmp_path / "grader" / "course").exists() and not (tmp_path / "grader" / "grading").exists()


@pytest.mark.sandbox
def test_sandbox_folders_whose_grader_died_are_removed():
    import os
    import shutil
    import subprocess
    import tempfile

    from grader.grading.sandbox import _remove_stale_folders

    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = [Path(tempfile.mkdtemp(prefix=f"nbsbx-{kind}{gone.pid}-")) for kind in ("", "warm-", "fonts-")]
    (dead[1] / "kernels").mkdir()
    alive = Path(tempfile.mkdtemp(prefix=f"nbsbx-warm-{os.getpid()}-"))
    try:
        _remove_stale_folders()
        assert [folder.exists() for folder in dead] == [False] * 3
        assert alive.exists()
    finally:
        for folder in dead:
            shutil.rmtree(folder, ignore_errors=True)
        alive.rmdir()


# ------------------------------------------------------------------ kernels


@pytest.mark.sandbox
@pytest.mark.slow
def test_notebook_runs_numpy_and_plots_but_not_the_grader(tmp_path):
    """nbclient with the sandbox, on a notebook inside a fake course with a gradebook and extras."""
    require_sandbox()
    course = tmp_path / "course"
    folder = course / "submitted" / "alice" / "quantization_distillation"
    folder.mkdir(parents=True)
    (course / "gradebook.db").write_text("grades")
    (course / "source").mkdir()
    (folder / "numpy.py").write_text("raise SystemExit('shadowed numpy')")
    cells = [
        "import numpy as np\nfrom grader.student import plots\nax = plots.plot_memory(13e9)\nprint(np.__file__)",
        "import grader.course.reference",
        "import grader.course.checks",
        f"""import json, os
print(json.dumps({{
    "uid": os.getuid(), "cwd": os.getcwd(), "files": sorted(os.listdir(".")),
    "visible": [p for p in ({str(course)!r}, {str(ROOT)!r}, {str(ROOT / "gradebook.db")!r}) if os.path.exists(p)],
}}))""",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "x", "language": "python"}
    client = NotebookClient(
        nb,
        kernel_manager_class=SandboxKernelManager,
        allow_errors=True,
        timeout=60,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    outputs = [cell.outputs for cell in nb.cells]

    assert [o.output_type for o in outputs[0]] == ["stream"]
    assert outputs[0][0].name == "stdout" and outputs[0][0].text.startswith("/opt/venv/")
    assert [o.get("ename") for o in outputs[1] + outputs[2]] == ["ModuleNotFoundError"] * 2
    facts = json.loads(outputs[3][0].text)
    assert facts["uid"] >= 61000
    assert facts["cwd"] == SANDBOX_HOME
    assert "numpy.py" not in facts["files"]
    assert facts["visible"] == []


@pytest.mark.sandbox
@pytest.mark.slow
def test_only_the_workdir_is_writable_and_the_course_is_not_mounted(tmp_path):
    workdir = tmp_path / "work"

    async def scenario() -> dict:
        async with sandbox(workdir=str(workdir), file_size_mb=1) as kernel:
            sockets = Path(kernel.km.ip).parent
            return await kernel.facts(f"""
                import json, os
                written = []
                try:  # the grader would follow a symlink put in place of a socket
                    os.rename({str(sockets / "kernel-1")!r}, {str(sockets / "moved")!r})
                    written.append("socket")
                except OSError:
                    pass
                for path in ("/x", "/usr/x", "/etc/x", "/opt/venv/x", "/opt/course/grader/x", "/home/x",
                             "/root/x", "/proc/x", "/dev/shm/x", {str(tmp_path / "x")!r}, {str(sockets / "x")!r}):
                    try:
                        with open(path, "w") as fh:
                            fh.write("x")
                        written.append(path)
                    except OSError:
                        pass
                with open("answer.txt", "w") as fh:
                    fh.write("42")
                try:
                    with open("big.bin", "wb") as fh:
                        fh.write(bytes(2 * 1024 * 1024))
                    big = "written"
                except OSError as error:
                    big = error.errno
                mounts = [line.split()[3] for line in open("/proc/self/mountinfo")]
                print(json.dumps({{"written": written, "big": big, "mounts": mounts,
                                   "repo": os.path.exists({str(ROOT)!r})}}))
            """)

    facts = asyncio.run(scenario())
    assert facts["written"] == []
    assert facts["big"] == 27  # EFBIG: the file size limit
    assert (workdir / "answer.txt").read_text() == "42"
    assert not facts["repo"]
    # Mount sources under the repository: only the venv (it is seen as /opt/venv).
    inside_repo = {m for m in facts["mounts"] if Path(m).is_relative_to(ROOT)}
    assert inside_repo <= {str(ROOT / ".venv")}


SEALED = """
    import json, os, sys
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    print(json.dumps({
        "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
        "caps": {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
        "no_new_privs": status["NoNewPrivs"].strip(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "home": sorted(os.listdir(os.path.expanduser("~"))), "tmp": sorted(os.listdir("/tmp")),
        "numpy_preloaded": "numpy" in sys.modules,
    }))
    open(os.path.expanduser("~/left-by-the-last-student"), "w").close()
    open("/tmp/left-by-the-last-student", "w").close()
"""


@pytest.mark.sandbox
@WARM_AND_COLD
def test_a_kernel_is_ready_once_it_answers_and_nothing_of_its_start_reaches_a_cell(warm):
    """ReadyKernelClient: right after wait_for_ready the kernel runs code, and the first cell's outputs are its
    own (what the kernel sent while starting is not taken for them); it then stops on request."""

    async def scenario() -> tuple[str, str | None, float]:
        async with sandbox(warm=warm) as kernel:
            assert isinstance(kernel.kc, ReadyKernelClient)
            out, error = await kernel.run("print('first')")
            stop = time.monotonic()
            await kernel.km.shutdown_kernel()
            return out, error, time.monotonic() - stop

    out, error, stopped_in = asyncio.run(scenario())
    assert (out, error) == ("first\n", None)
    assert stopped_in < 5  # jupyter_client waits up to 5 s for a graceful end: the kernel ended on its request


@pytest.mark.sandbox
def test_a_kernel_that_dies_while_starting_is_reported_not_waited_for():
    require_sandbox()

    async def scenario() -> str:
        km = SandboxKernelManager()
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            uid = km.sandbox_uid
            await km.provisioner.kill()
            while uid is not None and _processes_of(uid):  # the kernel itself dies a moment after its stand-in
                await asyncio.sleep(0.01)
            with pytest.raises(RuntimeError) as died:
                await kc.wait_for_ready(timeout=60)
            return str(died.value)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    assert "died" in asyncio.run(scenario())


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_kernel_is_sealed_unprivileged_and_starts_clean(warm):
    """Dedicated uid, no capability at all, no_new_privs, alone in its PID namespace; nothing of the last kernel."""

    async def scenario() -> list[dict]:
        facts = []
        for _ in range(2):
            async with sandbox(warm=warm) as kernel:
                facts.append(await kernel.facts(SEALED))
        return facts

    for facts in asyncio.run(scenario()):
        assert facts["uid"] >= 61000 and facts["gid"] == facts["uid"] and facts["groups"] == []
        assert set(facts["caps"].values()) == {"0000000000000000"}, facts["caps"]
        assert facts["no_new_privs"] == "1"
        assert facts["pids"] == [1, 2]
        assert "left-by-the-last-student" not in facts["home"] + facts["tmp"]
        assert facts["numpy_preloaded"] is warm


@pytest.mark.sandbox
@pytest.mark.slow
def test_warm_kernel_sees_neither_the_template_nor_other_kernels():
    """Every warm kernel's folders sit side by side in the template's folder: each sees only its own."""

    async def scenario() -> tuple[dict, Path, Path]:
        async with sandbox(warm=True) as neighbour, sandbox(warm=True) as kernel:
            template = kernel.km._template
            mine, theirs = Path(kernel.km.connection_file).parent, Path(neighbour.km.connection_file).parent
            (theirs.parent / "work" / "secret.txt").write_text("the neighbour's work")
            facts = await kernel.facts(f"""
                import json, os, socket
                shared = {str(template.shared)!r}
                seen = sorted(os.listdir(shared))
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect({str(template.socket)!r})
                    reached = True
                except OSError:
                    reached = False
                written = []
                for path in (shared + "/x", {str(mine.parent)!r} + "/x", "/opt/course/grader/x", "/opt/zygote.py"):
                    try:
                        open(path, "a").close()
                        written.append(path)
                    except OSError:
                        pass
                log = "not inherited"  # its original stderr is the template's log: writable, never readable
                for fd in os.listdir("/proc/self/fd"):
                    try:
                        target = os.readlink(f"/proc/self/fd/{{fd}}")
                    except OSError:  # the listing's own descriptor, closed by now
                        continue
                    if target.endswith("zygote.log"):
                        try:
                            open(f"/proc/self/fd/{{fd}}").read()
                            log = "read"
                        except OSError:
                            log = "closed"
                print(json.dumps({{"seen": seen, "reached": reached, "written": written, "log": log,
                                   "neighbour": os.path.exists({str(theirs.parent / "work" / "secret.txt")!r}),
                                   "own_run": sorted(os.listdir({str(mine)!r}))}}))
            """)
            return facts, mine, theirs

    facts, mine, theirs = asyncio.run(scenario())
    assert facts["seen"] == [mine.parent.name], "only the way to its own socket folder"
    assert not facts["reached"], "the template's socket is out of reach"
    assert facts["written"] == []
    assert not facts["neighbour"]
    assert facts["log"] == "closed"
    assert "kernel.json" in facts["own_run"]


@pytest.mark.sandbox
@pytest.mark.slow
def test_a_template_that_cannot_start_means_cold_kernels_and_a_reason(tmp_path, monkeypatch):
    from grader.grading import sandbox as module

    broken = tmp_path / "zygote.py"
    broken.write_text("import sys\nsys.exit('no template today')\n")
    monkeypatch.setattr(module, "ZYGOTE", broken)
    monkeypatch.setattr(module, "_template_state", {})

    async def scenario() -> tuple[bool, str]:
        async with sandbox() as kernel:
            out, _ = await kernel.run("print('cold but working')")
            return kernel.km.forked, out

    forked, out = asyncio.run(scenario())
    assert not forked and out == "cold but working\n"
    assert "no template today" in module.warm_failure()


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_no_network_not_even_the_graders_loopback(warm):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        async def scenario() -> str | None:
            async with sandbox(warm=warm) as kernel:
                _, error = await kernel.run(f"""
                    import socket
                    socket.create_connection(("127.0.0.1", {port}), timeout=5).close()
                """)
                return error

        assert asyncio.run(scenario()) in ("ConnectionRefusedError", "OSError")  # refused or unreachable


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_fork_bomb_hits_the_process_limit(warm):
    async def scenario() -> tuple[dict, str]:
        async with sandbox(max_processes=40, warm=warm) as kernel:
            facts = await kernel.facts("""
                import json, subprocess
                procs, failures = [], 0
                for _ in range(200):
                    try:
                        procs.append(subprocess.Popen(["sleep", "5"]))
                    except OSError:
                        failures += 1
                for proc in procs:
                    proc.kill()
                    proc.wait()
                print(json.dumps({"started": len(procs), "failures": failures}))
            """)
            out, _ = await kernel.run("print('alive')")
            return facts, out

    facts, out = asyncio.run(scenario())
    assert 0 < facts["started"] < 40
    assert facts["failures"] == 200 - facts["started"]
    assert out == "alive\n"


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_memory_bomb_raises_memory_error_and_the_kernel_survives(warm):
    async def scenario() -> list[tuple[str, str | None]]:
        async with sandbox(memory_mb=1024, warm=warm) as kernel:
            return [
                await kernel.run("import numpy as np\nx = np.ones(10**10)"),
                await kernel.run("y = np.ones(2 * 2**30 // 8)"),  # 2 GB: fits the machine, not the limit
                await kernel.run("print('alive')"),
            ]

    bomb, two_gb, alive = asyncio.run(scenario())
    assert bomb[1] == "MemoryError" and two_gb[1] == "MemoryError"
    assert alive == ("alive\n", None)


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_cpu_limit_ends_a_runaway_kernel(warm):
    async def scenario() -> bool:
        async with sandbox(cpu_seconds=2, warm=warm) as kernel:
            kernel.kc.execute("while True:\n    pass")
            for _ in range(100):
                if not await kernel.km.is_alive():
                    return False
                await asyncio.sleep(0.1)
            return True

    assert asyncio.run(scenario()) is False


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_background_processes_are_gone_after_shutdown(warm):
    async def scenario() -> tuple[int, list[str], list[str]]:
        async with sandbox(warm=warm) as kernel:
            await kernel.run("""
                import os, subprocess
                subprocess.Popen(["sleep", "1000"], start_new_session=True)
                pid = os.fork()
                if pid == 0:  # a daemon: double fork, own session
                    os.setsid()
                    if os.fork() == 0:
                        os.execvp("sleep", ["sleep", "1001"])
                    os._exit(0)
                os.waitpid(pid, 0)
            """)
            uid = kernel.km.sandbox_uid
            time.sleep(0.2)
            running = host_processes(uid)
        return uid, running, host_processes(uid)

    uid, running, left = asyncio.run(scenario())
    assert {"sleep 1000", "sleep 1001"} <= set(running)
    assert left == []


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_killing_its_parent_or_everything_spares_the_grader(warm):
    async def scenario() -> tuple[str, int]:
        async with sandbox(warm=warm) as kernel:
            out, _ = await kernel.run(
                "import os, signal\nprint(os.getppid())\nos.kill(os.getppid(), signal.SIGKILL)"
            )
            with contextlib.suppress(TimeoutError):
                await kernel.run("os.kill(-1, signal.SIGKILL)", timeout=5)
            uid = kernel.km.sandbox_uid
        return out, uid

    ppid, uid = asyncio.run(scenario())
    assert ppid == "1\n"  # the sandbox's own init, not the grader
    assert host_processes(uid) == []
    # Still here: the grading process survived both.


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_concurrent_sandboxes_get_their_own_uid_and_see_only_themselves(warm):
    code = """
        import json, os
        print(json.dumps({"uid": os.getuid(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}))
    """

    async def one() -> dict:
        async with sandbox(warm=warm) as kernel:
            return await kernel.facts(code)

    async def both() -> list[dict]:
        return await asyncio.gather(one(), one())

    first, second = asyncio.run(both())
    assert first["uid"] != second["uid"]
    assert first["pids"] == second["pids"] == [1, 2]

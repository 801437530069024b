"""One student cannot hurt the others: each sandbox is bounded as a whole.

Rlimits hold per process: five forked children each under the address-space limit, or fifty
spinners each under the CPU-time limit, together take what the machine has.  So every sandbox
(a cold kernel, a warm one forked from the template, and the template itself) runs in a cgroup
of its own, joined before any student code runs: memory (tmpfs files included, no swap) and
processes counted for all its processes together, an equal CPU share and at most one core.  Its
HOME is a tmpfs of bounded size.  The tests with kernels need root and bubblewrap (the ``sandbox``
tier, tests/conftest.py) and use the cgroup version this machine has; the choice between v2 and
v1 is also tested on fake /proc and /sys trees.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_sandbox import WARM_AND_COLD, require_sandbox, sandbox

from grader.grading import sandbox as module
from grader.grading.sandbox import MIB, SandboxKernelManager, _Cgroups, _detect_cgroups, _Limits

MEMORY_MB = SandboxKernelManager.memory_mb.default_value
MAX_PROCESSES = SandboxKernelManager.max_processes.default_value
HOME_MB = SandboxKernelManager.home_mb.default_value
TMP_MB = SandboxKernelManager.tmp_mb.default_value


def machine_cgroups() -> _Cgroups:
    require_sandbox()
    cgroups, why_not = module._cgroups()
    assert cgroups is not None, f"no usable cgroup here: {why_not}"
    return cgroups


# ------------------------------------------------------- v2 or v1: the decision, on fake trees


def fake_tree(tmp_path: Path, mounts: list[str], own: list[str], groups: dict[str, dict[str, str]]) -> tuple[Path, Path]:
    """A fake /proc/self (mountinfo, cgroup) and file-system root with cgroup folders and their files."""
    proc, root = tmp_path / "proc", tmp_path / "root"
    proc.mkdir()
    (proc / "mountinfo").write_text("".join(f"{n} 1 0:{n} {line}\n" for n, line in enumerate(mounts, 30)))
    (proc / "cgroup").write_text("".join(f"{line}\n" for line in own))
    for folder, files in groups.items():
        path = root / folder.lstrip("/")
        path.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            if text is None:  # a group with processes of its own: writing its subtree_control fails (EBUSY)
                (path / name).mkdir()
            else:
                (path / name).write_text(text)
    return proc, root


V1_MOUNTS = [
    "/ /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
    "/ /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset",
    "/ /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
    "/ /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids",
    "/ /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw",
]
V1_OWN = ["4:memory:/process_api/abc", "3:pids:/", "2:cpu,cpuacct:/", "1:cpuset:/", "0::/"]


def test_v2_is_chosen_where_a_group_above_the_graders_can_give_the_controllers(tmp_path):
    scope = "/sys/fs/cgroup/user.slice/user-0.slice/session-1.scope"
    proc, root = fake_tree(
        tmp_path,
        ["/ /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"],
        ["0::/user.slice/user-0.slice/session-1.scope"],
        {
            "/sys/fs/cgroup": {"cgroup.controllers": "cpuset cpu io memory pids", "cgroup.subtree_control": "cpu memory pids"},
            "/sys/fs/cgroup/user.slice": {"cgroup.controllers": "cpu memory pids", "cgroup.subtree_control": "memory pids"},
            "/sys/fs/cgroup/user.slice/user-0.slice": {"cgroup.controllers": "memory pids", "cgroup.subtree_control": "memory pids"},
            scope: {"cgroup.controllers": "cpu memory pids", "cgroup.subtree_control": None},  # it holds processes
        },
    )
    found = _detect_cgroups(proc, root, euid=0)
    assert isinstance(found, _Cgroups), found
    slice_ = root / "sys/fs/cgroup/user.slice"
    assert found.version == "v2"
    # Not the grader's own scope (it holds processes), nor the slice above (no cpu): the one above that.
    assert found.bases == {"cpu": slice_, "memory": slice_, "pids": slice_}
    assert (slice_ / "cgroup.subtree_control").read_text() == "+cpu"  # what it lacked, enabled
    assert found.mounts == [root / "sys/fs/cgroup"]


def test_v2_groups_get_their_limits_in_the_v2_files(tmp_path):
    base = tmp_path / "unified"
    base.mkdir()
    group = _Cgroups("v2", {c: base for c in ("cpu", "memory", "pids")}, [base]).create(
        "kernel", _Limits(memory_mb=100, max_processes=10, cpus=0.5))
    folder = base / f"nbsbx-{os.getpid()}" / "kernel-0"
    assert (folder.parent / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert group.folders == [folder] and group.procs == [str(folder / "cgroup.procs")]
    assert {name: (folder / name).read_text() for name in ("memory.max", "pids.max", "cpu.max", "cpu.weight")} == {
        "memory.max": str(100 * MIB), "pids.max": "12", "cpu.max": "50000 100000", "cpu.weight": "100"}  # 10 + its own 2


def test_v1_is_chosen_where_v2_has_no_controllers_as_on_these_machines(tmp_path):
    proc, root = fake_tree(tmp_path, V1_MOUNTS, V1_OWN, {
        "/sys/fs/cgroup/unified": {"cgroup.controllers": "", "cgroup.subtree_control": ""},
        "/sys/fs/cgroup/cpu,cpuacct": {}, "/sys/fs/cgroup/memory/process_api/abc": {}, "/sys/fs/cgroup/pids": {},
    })
    found = _detect_cgroups(proc, root, euid=0)
    assert isinstance(found, _Cgroups), found
    assert found.version == "v1"
    cgroup = root / "sys/fs/cgroup"
    assert found.bases == {"cpu": cgroup / "cpu,cpuacct", "memory": cgroup / "memory/process_api/abc",
                           "pids": cgroup / "pids"}  # the grader's own group in each hierarchy
    assert not (cgroup / "unified" / "cgroup.subtree_control").read_text()


def test_neither_without_root_or_without_controllers(tmp_path):
    proc, root = fake_tree(tmp_path, V1_MOUNTS[1:], V1_OWN, {  # no cpu hierarchy
        "/sys/fs/cgroup/unified": {"cgroup.controllers": "", "cgroup.subtree_control": ""},
        "/sys/fs/cgroup/memory/process_api/abc": {}, "/sys/fs/cgroup/pids": {},
    })
    assert _detect_cgroups(proc, root, euid=1000) == "the grader does not run as root"
    reason = _detect_cgroups(proc, root, euid=0)
    assert reason == ("the cgroup v2 hierarchy has no cpu, memory, pids controller; "
                      "no cgroup v1 cpu hierarchy")


def test_the_grader_side_moves_only_a_process_of_the_templates_namespace(tmp_path):
    """``zygote.py attach`` writes the pid a template's child sends into the kernel's cgroup; a host process is refused."""
    path, procs = str(tmp_path / "zygote.sock"), tmp_path / "cgroup.procs"
    procs.write_text("")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)

        def impostor() -> None:  # a host process (this one), not the template's child
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                creds = struct.pack("iII", os.getpid(), os.getuid(), os.getgid())
                conn.sendmsg([b"join\n"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)])
                conn.recv(1)

        thread = threading.Thread(target=impostor, daemon=True)
        thread.start()
        done = subprocess.run([sys.executable, "-I", "-S", str(module.CGROUP_JOIN), "attach", path,
                               json.dumps({"join": True}), str(procs)], capture_output=True, text=True, timeout=30)
        thread.join(timeout=10)
    assert done.returncode == 70 and "asked to join" in done.stderr
    assert procs.read_text() == ""


# --------------------------------------------------------------------- this machine's cgroups


@pytest.mark.sandbox
def test_sandboxes_are_bounded_by_a_cgroup_here_and_the_first_line_says_so():
    cgroups = machine_cgroups()
    report = module.isolation_report()
    assert report.cgroup == cgroups.version and report.warnings == []
    assert f"cgroup {cgroups.version}: {MEMORY_MB} MB memory (all processes), {MAX_PROCESSES} processes, " \
           f"1 CPU at most, {HOME_MB} MB home + {TMP_MB} MB /tmp" in SandboxKernelManager().describe()


@pytest.mark.sandbox
def test_without_cgroups_the_limits_are_per_process_and_a_warning_says_so(monkeypatch):
    require_sandbox()
    monkeypatch.setitem(module._cgroups_state, "found", (None, "none in this test"))
    assert "no cgroup: 2048 MB per process, 64 processes, 256 MB home" in SandboxKernelManager().describe()
    report = module.isolation_report.__wrapped__()
    assert report.cgroup == "none"
    assert [w for w in report.warnings if w.startswith("no cgroup (none in this test): memory, processes and CPU "
                                                       "are limited per process only (rlimits)")]


@pytest.mark.sandbox
def test_parent_groups_of_graders_that_are_gone_are_swept():
    cgroups = machine_cgroups()
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = [base / f"nbsbx-{gone.pid}" for base in dict.fromkeys(cgroups.bases.values())]
    for folder in stale:
        (folder / "kernel-0").mkdir(parents=True)
    cgroups.sweep()
    assert [folder.exists() for folder in stale] == [False] * len(stale)


# ------------------------------------------------------------------------ kernels, warm and cold


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_every_process_of_the_sandbox_is_in_its_group_which_goes_with_it(warm):
    machine_cgroups()

    async def scenario() -> tuple[list[Path], set[int], set[int], list[Path]]:
        async with sandbox(warm=warm) as kernel:
            await kernel.run("import subprocess\nsubprocess.Popen(['sleep', '1000'], start_new_session=True)")
            group = kernel.km.sandbox_cgroup
            time.sleep(0.2)
            members = {int(pid) for pid in Path(group.procs[0]).read_text().split()}
            uid_pids = set(module._processes_of(kernel.km.sandbox_uid))
            template = kernel.km._template.group.folders if warm else []
        return group.folders, members, uid_pids, template

    folders, members, uid_pids, template = asyncio.run(scenario())
    assert uid_pids and uid_pids <= members  # the kernel (and a warm one's init) and its background process
    assert len(members - uid_pids) == (1 if warm else 2)  # root's part: the fork's watcher, or bwrap and its init
    assert [folder.exists() for folder in folders] == [False] * len(folders)
    assert all(folder.exists() for folder in template)  # the template lives on, in a group of its own


FORKED_MEMORY = """
    import json, os, time
    children = []
    for _ in range(5):
        pid = os.fork()
        if pid == 0:
            code = 1  # MemoryError: the address-space limit (per process) would have stopped it
            try:
                hog = bytearray(600 * 2**20)  # zero-filled: every page resident
                time.sleep(3)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    print(json.dumps([os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]))
"""


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_five_forked_children_of_600_mb_are_held_to_the_groups_limit(warm):
    machine_cgroups()

    async def scenario() -> tuple[list[int], dict, str]:
        async with sandbox(warm=warm) as kernel:
            fates = await kernel.facts(FORKED_MEMORY)
            usage = kernel.km.sandbox_cgroup.usage()
            alive, _ = await kernel.run("print('alive')")
        return fates, usage, alive

    fates, usage, alive = asyncio.run(scenario())
    assert 1 not in fates, "each child fits the address-space limit: the group must be what stops them"
    assert fates.count(0) >= 2, f"the limit leaves room for some children: {fates}"
    assert fates.count(-9) >= 1, f"3 GB do not fit in {MEMORY_MB} MB: the group's OOM killer ends children: {fates}"
    assert usage["memory_peak"] <= MEMORY_MB * MIB, usage
    assert usage["oom_kills"] is None or usage["oom_kills"] >= 1, usage
    assert alive == "alive\n"  # the kernel, smaller than any child, is not the one killed


SPINNERS = """
    import json, os
    started = refused = 0
    go, ready = os.pipe()
    for _ in range({n}):
        try:
            pid = os.fork()
        except OSError:
            refused += 1
            continue
        if pid == 0:
            os.setsid()
            os.close(ready)
            os.read(go, 1)  # all forked first: the kernel forks at full speed, then they spin
            while True:
                pass
        started += 1
    os.close(ready)
    print(json.dumps({{"started": started, "refused": refused}}))
"""


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_two_hundred_spinners_stop_at_the_process_limit(warm):
    machine_cgroups()

    async def scenario() -> tuple[dict, dict, int, bool]:
        async with sandbox(warm=warm) as kernel:
            facts = await kernel.facts(SPINNERS.format(n=200))
            usage = kernel.km.sandbox_cgroup.usage()
            of_uid = len(module._processes_of(kernel.km.sandbox_uid))
            alive = await kernel.km.is_alive()  # at the limit, a cell that needs a thread fails: not tested here
        return facts, usage, of_uid, alive

    facts, usage, of_uid, alive = asyncio.run(scenario())
    assert 0 < facts["started"] < MAX_PROCESSES and facts["started"] + facts["refused"] == 200
    assert of_uid <= MAX_PROCESSES
    assert usage["processes"] <= MAX_PROCESSES + module.OWN_PROCESSES, usage
    assert alive


FORKER = """
import json, os, signal
started = refused = 0
children = []
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        refused += 1
        continue
    if pid == 0:
        signal.pause()
        os._exit(0)
    children.append(pid)
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
print(json.dumps({"started": len(children), "refused": refused}))
"""


@pytest.mark.sandbox
def test_the_groups_process_limit_holds_for_any_process_in_it_not_only_the_uids():
    """Root's processes have no uid limit: joined to a group (as a cold kernel's launcher is), they have its."""
    cgroups = machine_cgroups()
    group = cgroups.create("test", _Limits(max_processes=10))
    try:
        done = subprocess.run([*module._join(group), sys.executable, "-c", FORKER], capture_output=True, text=True,
                              timeout=60)
        usage = group.usage()
    finally:
        assert group.remove()
    facts = json.loads(done.stdout)
    assert facts["started"] == 10 + module.OWN_PROCESSES - 1  # the forker is one of them
    assert usage["forks_refused"] == facts["refused"] > 0


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_spinners_in_one_sandbox_leave_a_neighbour_its_share(warm):
    machine_cgroups()
    work = "print(sum(i * i for i in range(3 * 10**6)))"

    async def scenario() -> tuple[dict, str, float, float]:
        async with sandbox(warm=warm) as spinner, sandbox(warm=warm) as honest:
            facts = await spinner.facts(SPINNERS.format(n=50))
            members = Path(spinner.km.sandbox_cgroup.procs[0]).read_text().split()
            before, start = cpu_seconds(members), time.monotonic()
            out, error = await honest.run(work, timeout=120)  # generous: seconds alone, not minutes
            seconds = time.monotonic() - start
            time.sleep(max(0.0, 2 - seconds))
            cores = (cpu_seconds(members) - before) / (time.monotonic() - start)
            assert error is None
        return facts, out, seconds, cores

    facts, out, seconds, cores = asyncio.run(scenario())
    assert facts["started"] == 50
    assert out == f"{sum(i * i for i in range(3 * 10**6))}\n"
    assert cores < 1.25, f"the spinners' group used {cores:.2f} cores, beyond its quota of one"
    print(f"honest workload beside 50 spinners: {seconds:.1f} s; the spinners used {cores:.2f} cores")


def cpu_seconds(pids: list[str]) -> float:
    """The CPU time (user + system) the processes ``pids`` have used."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


DISK_FILLER = """
    import errno, json, os
    written, error = 0, None
    try:
        for i in range(40):
            with open(os.path.join({folder!r}, f"fill-{{i}}.bin"), "wb") as fh:
                for _ in range(60):
                    fh.write(bytes(2**20))
                    written += 2**20
    except OSError as e:
        error = e.errno
    for name in os.listdir({folder!r}):
        if name.startswith("fill-"):
            os.remove(os.path.join({folder!r}, name))
    print(json.dumps({{"mb": written // 2**20, "errno": error}}))
"""


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_forty_files_of_60_mb_fill_the_bounded_home_not_the_hosts_disk(warm):
    machine_cgroups()

    async def scenario() -> tuple[dict, dict, int, dict]:
        async with sandbox(warm=warm) as kernel:
            home = await kernel.facts(DISK_FILLER.format(folder="/home/student"))
            tmp = await kernel.facts(DISK_FILLER.format(folder="/tmp"))
            on_host = sum(p.stat().st_size for p in kernel.km._base.rglob("*") if p.is_file())
            usage = kernel.km.sandbox_cgroup.usage()
        return home, tmp, on_host, usage

    home, tmp, on_host, usage = asyncio.run(scenario())
    assert home["errno"] == errno.ENOSPC and HOME_MB - 64 < home["mb"] <= HOME_MB, home
    assert tmp["errno"] == errno.ENOSPC and tmp["mb"] <= TMP_MB, tmp
    assert on_host < 16 * MIB  # the kernel's folders on the host: the connection file, the font list
    assert usage["memory_peak"] > HOME_MB * MIB  # the tmpfs's pages were counted in the sandbox's memory


@pytest.mark.sandbox
@pytest.mark.slow
@WARM_AND_COLD
def test_a_kernel_without_a_group_has_its_rlimits_only_and_never_shares_the_templates(warm):
    cgroups = machine_cgroups()

    def members(procs: str) -> set[int]:
        return {int(pid) for pid in Path(procs).read_text().split()}

    async def scenario() -> tuple[object, str, set[int], set[int], set[int]]:
        async with sandbox(cgroup=False, warm=warm) as kernel:
            out, _ = await kernel.run("print('per-process limits only')")
            pids = set(module._processes_of(kernel.km.sandbox_uid))
            template = members(kernel.km._template.group.procs[0]) if warm else set()
            return kernel.km.sandbox_cgroup, out, pids, template, members(cgroups.own_procs[0])

    group, out, pids, template, own = asyncio.run(scenario())
    assert group is None and out == "per-process limits only\n"
    assert pids and not pids & template, "a warm kernel is moved out of the template's group"
    assert pids <= own  # where the grader is, as any process it starts


@pytest.mark.sandbox
def test_trusted_execution_records_the_sandboxs_peak_memory(tmp_path):
    """What make bench-capstone prints: the group's own count, the kernel and whatever it started."""
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor

    from grader.grading.trusted import MEMORY_PEAK, TrustedExecute

    require_sandbox()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import subprocess, sys\n"
        "held = bytearray(300 * 2**20)\n"
        "subprocess.run([sys.executable, '-c', 'x = bytearray(200 * 2**20)'], check=True)")])
    ex = TrustedExecute(sandbox=True, timeout=120)
    ex._dead, ex._probe, ex._tests, ex._locked, ex._namespace = None, None, {}, {}, {}
    ex._in_flight, ex._running = {}, None
    ExecutePreprocessor.preprocess(ex, nb, {"metadata": {"path": str(tmp_path)}})
    assert not [o for o in nb.cells[0].outputs if o.output_type == "error"], nb.cells[0].outputs
    assert 300 + 200 <= ex.phases[MEMORY_PEAK] < 2048

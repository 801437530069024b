"""Grades decided in the grading process, never inside the student's kernel.

``TrustedExecute`` replaces nbgrader's ``Execute`` in the autograde pipeline
(see ``nbgrader_config.py``).  Student cells run in the kernel as usual.  A
graded test cell does not: its source is taken from the gradebook (what the
instructor wrote, not what the submission carries) and executed here, in the
grading process, with each graded function name bound to a ``KernelFunction``
proxy.  A proxy call ships its arguments to the kernel as plain data, runs
the student's function there and brings back plain data only
(``grader.grading.probe``).  So the comparison with the reference happens
where student code cannot reach it, on inputs drawn from a secret seed that
student code never sees.  The cell's outputs are then replaced by the
verdict: one line on success, the check's message as an error on failure.

Honest warnings cost nothing: they are recorded, not written to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import queue
import secrets
import socket
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import output_from_msg
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute
from traitlets import Bool, Enum, Integer, Unicode

from grader.grading import assignments, probe


class KernelError(Exception):
    """The kernel could not answer a call (timeout, crash, garbled reply)."""


def _remote_exception(info) -> Exception:
    """A local exception of the same builtin families as the one the student code raised.

    Every builtin exception class in its MRO is kept (a ``class Missing(KeyError, ValueError)`` is
    still a ValueError here), never the student's class itself: only names cross the wire.  Its message
    is cut to ``probe.MAX_MESSAGE`` characters here, whatever the kernel side sent: the kernel side
    runs where student code can replace it.
    """
    import builtins

    if not isinstance(info, dict):
        return KernelError("the kernel's reply named an exception it did not describe")
    name = "".join(ch for ch in str(info.get("type", "Exception"))[:200] if ch.isalnum() or ch == "_")[:80]
    name = name or "Exception"
    found = []
    names = info.get("bases")
    for candidate in names[: probe.MAX_NAMES] if isinstance(names, list) else []:
        cls = getattr(builtins, str(candidate)[:80], None)
        if isinstance(cls, type) and issubclass(cls, Exception) and cls not in found:
            found.append(cls)
    # The most specific ones: drop a class when another one kept is a subclass of it.
    bases = tuple(c for c in found if not any(o is not c and issubclass(o, c) for o in found)) or (Exception,)
    message = probe.clip(str(info.get("message", "")), probe.MAX_MESSAGE)
    for attempt in (bases, bases[:1]):
        try:
            return type(name, attempt, {})(message)
        except TypeError:  # builtin bases whose layouts conflict, or that cannot be subclassed this way
            continue
    return bases[0](message)


class KernelFunction:
    """Stands in for a student's function: calls it in the kernel, returns plain data."""

    def __init__(self, executor: TrustedExecute, name: str):
        self._executor = executor
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        reply = self._executor.call_in_kernel(self.__name__, args, kwargs)
        caught = reply.get("warnings")
        for w in caught[: probe.MAX_WARNINGS] if isinstance(caught, list) else []:
            if not isinstance(w, dict):
                continue
            names = w.get("bases")
            names = names[: probe.MAX_NAMES] if isinstance(names, list) else []
            category = RuntimeWarning if "RuntimeWarning" in names else UserWarning
            message = probe.clip(str(w.get("message", "")), probe.MAX_WARNING)
            warnings.warn_explicit(message, category, f"<{self.__name__}>", 0)
        if "raised" in reply:
            raise _remote_exception(reply["raised"])
        return probe.decode(reply.get("returned"))

    def __repr__(self):
        return f"<student function {self.__name__}>"


def _stream(text: str) -> NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _error(exc: BaseException, limit: int) -> NotebookNode:
    """An error output for ``exc``, its message cut to ``limit`` characters (it shows twice: evalue, traceback)."""
    name = type(exc).__name__[:80]
    value = probe.clip(str(exc), max(limit, 0))
    return nbformat.v4.new_output("error", ename=name, evalue=value, traceback=[f"{name}: {value}"])


def _fit(text: str, room: int) -> str:
    """The start of ``text`` whose JSON encoding (escapes included) takes at most ``room`` characters."""
    keep = min(len(text), max(room, 0))
    for _ in range(8):
        size = len(json.dumps(text[:keep]))
        if size <= room:
            return text[:keep]
        keep = keep * room // size  # fewer characters, in proportion to the overshoot
    return text[: max(room, 0) // 12]  # 12: the longest JSON escape of one character (a surrogate pair)


def _shrunk(out, room: int) -> NotebookNode | None:
    """``out`` cut to about ``room`` characters of JSON: the start of a stream's text, or an error's
    name and the start of its message (an error is a test's verdict: never dropped); None for the rest."""
    if out.get("output_type") == "stream":
        name = "stderr" if out.get("name") == "stderr" else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=_fit(str(out.get("text", "")), room - 80))
    if out.get("output_type") == "error":
        name = str(out.get("ename", "Error"))[:80]
        value = _fit(str(out.get("evalue", "")), (room - 80) // 2 - len(name))
        return nbformat.v4.new_output("error", ename=name, evalue=value, traceback=[f"{name}: {value}"])
    return None


def _fails(out) -> bool:
    """What nbgrader reads as a failed test: an error, or text on stderr."""
    return out.get("output_type") == "error" or (out.get("output_type") == "stream" and out.get("name") == "stderr")


def _key(nb) -> str:
    """Identifies a notebook's cells (types and sources) for replay."""
    text = json.dumps([(c.cell_type, c.source) for c in nb.cells])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def replay_record(nb) -> dict:
    """What TrustedExecute.replay_dir holds for an executed notebook: its outputs and verdicts."""
    return {"key": _key(nb), "outputs": [c.get("outputs", []) for c in nb.cells],
            "verdicts": [c.metadata.get(VERDICT) for c in nb.cells]}


VERDICT = "verdict"  # the cell metadata key of a test cell's verdict
# Seconds of one execution, by phase (TrustedExecute.phases); kernel_calls are part of test_cells.
PHASES = ("kernel_start_stop", "student_cells", "test_cells", "kernel_calls")
# Beside them in TrustedExecute.phases, when the sandbox had a cgroup: its peak memory, all processes.
MEMORY_PEAK = "memory_peak_mb"
VERDICT_MESSAGE_CHARS = 1000


def verdict(grade_id: str, exc: BaseException | None, dead: str | None = None) -> dict:
    """A test cell's verdict as the class report reads it back from the autograded notebook.

    ``kind`` is "passed", "not_run" (the kernel was gone), the kind a check's failure names
    ("mismatch", "error", "rejects", "warning"), or "error" for anything else it raised;
    ``misconceptions`` the ``{"id", "label"}`` a check recognised.  A test cell fails or passes
    as nbgrader scores it; the verdict only says why.
    """
    if dead:
        return {"grade_id": grade_id, "passed": False, "kind": "not_run", "misconceptions": [],
                "message": dead[:VERDICT_MESSAGE_CHARS]}
    if exc is None:
        return {"grade_id": grade_id, "passed": True, "kind": "passed", "misconceptions": [], "message": ""}
    kind = getattr(exc, "kind", None)
    found = getattr(exc, "misconceptions", None)
    return {"grade_id": grade_id, "passed": False,
            "kind": kind if isinstance(kind, str) else "mismatch" if isinstance(exc, AssertionError) else "error",
            "misconceptions": [{"id": str(m["id"]), "label": str(m["label"])} for m in found] if found else [],
            "message": str(exc)[:VERDICT_MESSAGE_CHARS]}


class TrustedExecute(Execute):
    """nbgrader's Execute, with every graded test cell run here against kernel proxies."""

    call_timeout = Integer(10, help="Seconds one call of a student function may take.").tag(config=True)
    max_output_chars = Integer(20_000, help="Characters of output kept per cell in the graded notebook.").tag(
        config=True)
    max_output_in_flight = Integer(2_000_000, help="Characters of output a cell may produce before the "
                                   "rest is dropped while it runs.").tag(config=True)
    secret_file = Unicode(
        "", help="File holding the secret that seeds the checks' random inputs (created when missing)."
    ).tag(config=True)
    sandbox = Bool(True, help="Run the kernel in grader.grading.sandbox's SandboxKernelManager.").tag(config=True)
    shutdown_kernel = Enum(
        ["graceful", "immediate"], "immediate",
        help="nbclient's: a graded kernel is killed once its cells have run, not asked to exit (its state is "
        "thrown away; its atexit hooks would earn nothing, and a kernel slow to exit costs no time).",
    ).tag(config=True)
    replay_dir = Unicode(
        "", help="Folder of <student>.json records written by a parallel run (grader.grading.autograde): a "
        "notebook whose record matches is not executed again, its recorded outputs are used."
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.phases: dict[str, float] = dict.fromkeys(PHASES, 0.0)  # of the last notebook executed
        if self.sandbox:
            from grader.grading.sandbox import SandboxKernelManager

            self.kernel_manager_class = SandboxKernelManager

    async def _async_cleanup_kernel(self) -> None:
        """nbclient's, then the sandbox's peak memory (its cgroup's, read as the kernel was torn down)."""
        km = self.km
        try:
            await super()._async_cleanup_kernel()
        finally:
            peak = (getattr(km, "cgroup_usage", None) or {}).get("memory_peak")
            if peak is not None:
                self.phases[MEMORY_PEAK] = round(peak / 2**20, 1)

    _cleanup_kernel = run_sync(_async_cleanup_kernel)  # what nbclient's (sync) setup_kernel calls

    # ------------------------------------------------------------------ setup

    def _trusted_cells(self, resources: dict) -> tuple[dict[str, str], dict[str, str]]:
        """(test cell sources, other locked code cell sources) by grade_id, from the gradebook."""
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            grade_ids = {c.name for c in notebook.grade_cells}
            sources = {c.name: (c.source, c.locked, c.cell_type) for c in notebook.source_cells}
        test_ids = self._assignment.test_ids
        tests = {g: s for g, (s, _, kind) in sources.items() if g in grade_ids and g in test_ids and kind == "code"}
        locked = {g: s for g, (s, lk, kind) in sources.items() if lk and kind == "code" and g not in grade_ids}
        return tests, locked

    def _secret(self) -> int:
        if not self.secret_file:
            return 0
        path = Path(self.secret_file)
        if not path.exists():
            path.write_text(str(secrets.randbits(63)), encoding="utf-8")
            path.chmod(0o600)
        return int(path.read_text(encoding="utf-8").strip())

    def preprocess(self, nb, resources=None, km=None):
        replayed = self._replay(nb, resources)
        if replayed:
            return nb, resources
        self._assignment = assignments.load(self.config, resources["nbgrader"]["assignment"])
        self._tests, self._locked = self._trusted_cells(resources)
        self._namespace = {name: KernelFunction(self, name) for name in self._assignment.functions}
        self._probe: socket.socket | None = None
        self._dead: str | None = None
        self._in_flight: dict[int, int] = {}
        self._running: int | None = None  # the index of the cell the kernel is running
        self._assignment.set_secret(self._secret())
        self.phases = dict.fromkeys(PHASES, 0.0)
        start = time.monotonic()
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._assignment.set_secret(0)
            self._drop_probe()
            cells = self.phases["student_cells"] + self.phases["test_cells"]
            self.phases["kernel_start_stop"] = max(0.0, time.monotonic() - start - cells)

    def _replay(self, nb, resources) -> bool:
        """Copy the outputs of a matching record from replay_dir into nb; whether it did."""
        if not self.replay_dir:
            return False
        path = Path(self.replay_dir) / f"{resources['nbgrader'].get('student')}.json"
        if not path.exists():
            return False
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("key") != _key(nb):
            self.log.warning("replay record %s does not match the notebook: executing it", path)
            return False
        verdicts = record.get("verdicts") or [None] * len(nb.cells)
        for cell, outputs, found in zip(nb.cells, record["outputs"], verdicts, strict=True):
            cell.metadata.pop(VERDICT, None)
            if cell.cell_type == "code":
                cell.outputs = [nbformat.from_dict(o) for o in outputs]
                cell.execution_count = None
            if found is not None:
                cell.metadata[VERDICT] = found
        return True

    # ------------------------------------------------------------------ cells

    def preprocess_cell(self, cell, resources, index):
        self._in_flight = {}  # output budget per cell
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell.metadata.pop(VERDICT, None)  # only the grader writes verdicts, on test cells
        if cell.cell_type != "code":
            return cell, resources
        if gid in self._tests:
            start = time.monotonic()
            cell.outputs, cell.metadata[VERDICT] = self._grade(gid)
            cell.execution_count = None
            self.phases["test_cells"] += time.monotonic() - start
            return cell, resources
        if self._dead:
            cell.outputs = [_stream(f"[not run: {self._dead}]\n")]
            return cell, resources
        self._running = index
        start = time.monotonic()
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as exc:  # no idle even after the interrupt: hung for good
            how = "died" if isinstance(exc, DeadKernelError) else "stopped responding"
            self._dead = f"the kernel {how} while running cell {index} ({exc})"
            cell.outputs = [_error(KernelError(self._dead), self.max_output_chars // 2)]
            self.clear_display_id_mapping(index)
        finally:
            self._running = None
            self.phases["student_cells"] += time.monotonic() - start
        self._cap_outputs(cell, index)
        if gid in self._locked:
            self._run_here(self._locked[gid], f"<{gid}>")
        return cell, resources

    def _cap_outputs(self, cell, index: int | None = None) -> None:
        """At most max_output_chars characters (of JSON) of outputs in ``cell``, then a note; in place.

        Outputs are kept in order while they fit.  The first that does not is cut to what is left (a
        stream's text, an error's message) or dropped (anything else), and every later one is dropped,
        except that a cell whose outputs would fail a test (an error, text on stderr) keeps its first
        failing output, cut: capping never turns a failure into a pass.  Display ids pointing at outputs
        not kept whole are forgotten (``index``: the cell's), so no later update reaches them.  The cost
        is that of the outputs kept plus the first one cut, whatever the cell holds.
        """
        outputs = cell.get("outputs")
        if not isinstance(outputs, list):
            return
        budget, kept = self.max_output_chars, []
        for cut_at, out in enumerate(outputs):
            size = len(json.dumps(out))
            if size <= budget:
                kept.append(out)
                budget -= size
                continue
            shrunk = _shrunk(out, budget)
            if shrunk is not None and (shrunk.get("text") or _fails(shrunk)):
                kept.append(shrunk)
            if not any(_fails(o) for o in kept):
                failing = next((o for o in outputs[cut_at + 1:] if _fails(o)), None)
                if failing is not None:
                    kept.append(_shrunk(failing, 300))
            kept.append(_stream(f"[output truncated: more than {self.max_output_chars} characters]\n"))
            break
        else:
            return
        outputs[:] = kept  # in place: nbclient holds this list while the cell runs
        if index is not None:
            for cell_map in self._display_id_map.values():
                if index in cell_map:
                    cell_map[index] = [i for i in cell_map[index] if i < cut_at]

    def _update_display_id(self, display_id, msg):
        """nbclient's display update (``update_display_data``, or a display reusing an id), within budget.

        The update replaces the data of every output shown with that id, in whichever cell it is; a cell
        that has finished running is then capped again (``_cap_outputs``), so no update, however large
        and wherever it lands, grows a cell past max_output_chars.  The running cell is capped when it
        ends.
        """
        targets = self._display_id_map.get(display_id)
        if not targets:
            return
        if msg["header"]["msg_type"] == "update_display_data":
            msg["header"]["msg_type"] = "display_data"
        try:
            out = output_from_msg(msg)
        except ValueError:
            self.log.error("unhandled iopub msg: %s", msg.get("msg_type"))
            return
        for cell_index, indices in list(targets.items()):
            if not 0 <= cell_index < len(self.nb.cells):
                continue
            cell = self.nb.cells[cell_index]
            outputs = cell.get("outputs", [])
            for i in indices:
                if i < len(outputs) and outputs[i].get("output_type") in ("display_data", "execute_result"):
                    outputs[i]["data"] = out["data"]
                    outputs[i]["metadata"] = out["metadata"]
            if cell_index != self._running:
                self._cap_outputs(cell, cell_index)

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's output handler, dropping what a cell prints beyond max_output_in_flight."""
        used = self._in_flight.get(id(outs), 0)
        if used > self.max_output_in_flight:
            return None
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None:
            self._in_flight[id(outs)] = used + len(json.dumps(out))
        return out

    def _run_here(self, source: str, filename: str) -> tuple[str, BaseException | None]:
        """Run instructor code in the grading process; (stdout, exception or None). IPython magics are skipped."""
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        out = io.StringIO()
        with contextlib.redirect_stdout(out), warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            try:
                exec(compile(source, filename, "exec"), self._namespace)  # noqa: S102 -- gradebook source
            except Exception as exc:  # noqa: BLE001 -- the verdict of a test cell
                return out.getvalue(), exc
        return out.getvalue(), None

    def _grade(self, gid: str) -> tuple[list[NotebookNode], dict]:
        """The test cell's outputs (what it printed, then its error if it failed, in max_output_chars)
        and its verdict.

        The error is the verdict: it is always there, its message cut to what is left of the budget
        (it shows twice, as evalue and in the traceback), whatever the check quoted from the student's
        code.
        """
        budget = self.max_output_chars
        if self._dead:
            return [_error(KernelError(f"not graded: {self._dead}"), budget // 2)], verdict(gid, None, self._dead)
        text, exc = self._run_here(self._tests[gid], f"<test {gid}>")
        if exc is None:
            return [_stream(probe.clip(text, budget) or f"✓ {gid} passed\n")], verdict(gid, None)
        text = probe.clip(text, budget // 2)
        outputs = [_stream(text)] if text else []
        return [*outputs, _error(exc, (budget - len(text)) // 2)], verdict(gid, exc)

    # ------------------------------------------------------------------ kernel calls

    async def _async_probe(self, source: str) -> tuple[str, str | None]:
        """Run ``source`` in the kernel; (its stdout, the error name or None). Lean: one request, no cell."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.call_timeout
        msg_id = self.kc.execute(source, store_history=False, allow_stdin=False, stop_on_error=False)
        stdout, size, error, interrupted = [], 0, None, False
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                if interrupted:  # no answer even after an interrupt: give up on this kernel
                    raise DeadKernelError("the kernel stopped responding")
                await ensure_async(self.km.interrupt_kernel())
                interrupted, error = True, "CellTimeoutError"
                deadline = loop.time() + 5
                continue
            try:
                msg = await ensure_async(self.kc.get_iopub_msg(timeout=remaining))
            except queue.Empty:
                if not await ensure_async(self.km.is_alive()):
                    raise DeadKernelError("the kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content.get("name") == "stdout" and size < self.max_output_in_flight:
                stdout.append(content.get("text", ""))
                size += len(stdout[-1])
            elif kind == "error" and error is None:
                error = content.get("ename")
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        with contextlib.suppress(queue.Empty, asyncio.TimeoutError):
            await ensure_async(self.kc.get_shell_msg(timeout=1))
        return "".join(stdout), error

    def _run_probe_cell(self, source: str) -> tuple[str, str | None]:
        try:
            return run_sync(self._async_probe)(source)
        except DeadKernelError as exc:
            self._dead = f"the kernel died while a test called the student's code ({exc})"
            raise KernelError(self._dead) from None

    def _connect_probe(self) -> None:
        """Listen on a unix socket the kernel can reach, start the probe in the kernel, accept it."""
        folder = Path(self.km.connection_file).parent if self.sandbox else Path(tempfile.mkdtemp(prefix="probe-"))
        path = folder / f"probe-{secrets.token_hex(6)}.sock"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.bind(str(path))
            path.chmod(0o666)
            server.listen(1)
            server.settimeout(self.call_timeout)
            _, error = self._run_probe_cell(probe.kernel_source(path))
            if error:
                raise KernelError(f"the grading probe could not start in the kernel ({error})")
            try:
                conn, _ = server.accept()
            except TimeoutError:
                raise KernelError("the grading probe did not connect back from the kernel") from None
        finally:
            server.close()
            path.unlink(missing_ok=True)
            if not self.sandbox:
                folder.rmdir()
        conn.settimeout(self.call_timeout)
        self._probe = conn

    def call_in_kernel(self, name: str, args: tuple, kwargs: dict) -> dict:
        """Call the student's ``name`` in the kernel with plain-data arguments; the decoded reply."""
        start = time.monotonic()
        try:
            return self._call_in_kernel(name, args, kwargs)
        finally:
            self.phases["kernel_calls"] += time.monotonic() - start

    def _call_in_kernel(self, name: str, args: tuple, kwargs: dict) -> dict:
        if self._dead:
            raise KernelError(self._dead)
        if self._probe is None:
            try:
                self._connect_probe()
            except KernelError as exc:  # a kernel that cannot run the probe answers no call: stop asking
                self._dead = self._dead or str(exc)
                raise
        request = {"name": name, "args": probe.encode((list(args), kwargs))}
        # One deadline for the whole call, on the monotonic clock: sending, the student's code, and every
        # chunk of the reply (a reply dripped a byte at a time cannot outlast it).
        deadline = time.monotonic() + self.call_timeout
        try:
            probe.send_frame(self._probe, json.dumps(request).encode("utf-8"), deadline)
            reply = json.loads(probe.recv_frame(self._probe, deadline, probe.MAX_FRAME))
        except TimeoutError:
            self._drop_probe()  # its thread is stuck in the student's code; the next call starts another
            raise TimeoutError(f"{name}(...) did not return within {self.call_timeout} s") from None
        except (OSError, ValueError, RecursionError) as exc:  # a closed socket, an oversized or garbled frame
            self._drop_probe()
            raise KernelError(f"{name}(...) gave no usable answer: {str(exc)[:200]}") from None
        if not isinstance(reply, dict):
            raise KernelError(f"{name}(...) gave no usable answer")
        return reply

    def _drop_probe(self) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None

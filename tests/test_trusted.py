"""grader.grading.trusted: calls into the kernel end at one deadline, and outputs stay within their caps.

Most tests here need no kernel: a socket pair stands in for the probe's connection, and nbclient's
message handling is fed kernel messages by hand.  The last one runs a real (unsandboxed) kernel.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert.preprocessors import ExecutePreprocessor

from grader.grading import probe
from grader.grading.trusted import (
    VERDICT_MESSAGE_CHARS,
    KernelError,
    KernelFunction,
    TrustedExecute,
    _remote_exception,
)

CAP = 2_000  # max_output_chars in these tests
NOTE = 400  # what a capped cell may hold beyond the cap: the truncation note, a failing output's stub


def executor(**config) -> TrustedExecute:
    ex = TrustedExecute(sandbox=False, max_output_chars=CAP, **config)
    ex._dead, ex._probe, ex._tests, ex._locked, ex._namespace = None, None, {}, {}, {}
    ex._in_flight, ex._running = {}, None
    return ex


def size(outputs) -> int:
    return len(json.dumps(outputs))


# -- the call deadline ------------------------------------------------------------------------


def kernel_side(sock: socket.socket, reply: bytes, pause: float) -> threading.Thread:
    """A fake probe: reads one request, then sends ``reply`` as a frame one byte every ``pause`` s."""

    def serve():
        try:
            probe.recv_frame(sock)
            for byte in len(reply).to_bytes(4, "big") + reply:
                sock.sendall(bytes([byte]))
                time.sleep(pause)
        except OSError:  # the grader hung up: what a dripping probe sees after the deadline
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_reply_dripped_byte_by_byte_is_cut_at_the_call_deadline():
    ex = executor(call_timeout=1)
    grader, kernel = socket.socketpair()
    ex._probe = grader
    reply = json.dumps({"returned": probe.encode((-128, 127)), "warnings": []}).encode()
    thread = kernel_side(kernel, reply, pause=0.05)  # each byte well within a per-chunk timeout of 1 s
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="did not return within 1 s"):
        ex.call_in_kernel("qrange", (8,), {})
    assert 0.9 < time.monotonic() - start < 2.5  # the whole reply would take (4 + 80) * 0.05 s
    assert ex._probe is None and grader.fileno() == -1  # dropped, as a stuck call's probe is
    thread.join(5)
    kernel.close()
    assert not thread.is_alive()


def test_a_proxy_call_that_times_out_is_what_the_check_reports():
    ex = executor(call_timeout=1)
    grader, kernel = socket.socketpair()
    ex._probe = grader
    kernel_side(kernel, b'{"returned": null}', pause=0.2)
    with pytest.raises(TimeoutError):
        KernelFunction(ex, "qrange")(8)
    kernel.close()


def test_a_frame_over_the_maximum_is_refused_before_it_is_read():
    ex = executor(call_timeout=5)
    grader, kernel = socket.socketpair()
    ex._probe = grader

    def announce_too_much():
        probe.recv_frame(kernel)
        kernel.sendall((probe.MAX_FRAME + 1).to_bytes(4, "big") + b"{")  # and nothing more

    threading.Thread(target=announce_too_much, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(KernelError, match="over the"):
        ex.call_in_kernel("qrange", (8,), {})
    assert time.monotonic() - start < 2  # refused on the header, not after waiting for the body
    assert ex._probe is None
    kernel.close()


def test_garbled_replies_are_kernel_errors():
    ex = executor(call_timeout=5)
    for body in (b"not json", b"[" * 100_000, b"[1, 2]"):
        grader, kernel = socket.socketpair()
        ex._probe = grader

        def reply(body=body, kernel=kernel):
            probe.recv_frame(kernel)
            probe.send_frame(kernel, body)

        threading.Thread(target=reply, daemon=True).start()
        with pytest.raises(KernelError):
            ex.call_in_kernel("qrange", (8,), {})
        kernel.close()


# -- exception messages -----------------------------------------------------------------------


def test_a_huge_remote_exception_message_is_cut_where_it_arrives():
    exc = _remote_exception({"type": "ValueError", "bases": ["ValueError"] * 10_000, "message": "x" * 3_000_000})
    assert isinstance(exc, ValueError)
    assert len(str(exc)) < probe.MAX_MESSAGE + 100 and "[output truncated" in str(exc)
    assert isinstance(_remote_exception(["not", "a", "dict"]), KernelError)


def test_warnings_from_the_kernel_are_counted_and_cut():
    class Executor:
        def call_in_kernel(self, name, args, kwargs):
            many = [{"category": "RuntimeWarning", "bases": ["RuntimeWarning"], "message": "w" * 100_000}]
            return {"returned": probe.encode(1.0), "warnings": many * 1000 + ["junk"]}

    with pytest.warns(RuntimeWarning) as caught:
        assert KernelFunction(Executor(), "softmax")([1.0]) == 1.0
    assert len(caught) <= probe.MAX_WARNINGS
    assert all(len(str(w.message)) < probe.MAX_WARNING + 100 for w in caught)


def test_a_test_cell_error_is_cut_and_kept():
    ex = executor()
    ex._tests = {"t": "raise AssertionError('quantize(1) raised ValueError: ' + 'x' * 1_200_000)",
                 "noisy": "print('p' * 1_000_000)\nraise AssertionError('y' * 1_000_000)",
                 "ok": "print('z' * 1_000_000)"}
    for gid in ex._tests:
        outputs, found = ex._grade(gid)
        assert size(outputs) <= CAP + NOTE, gid
        errors = [o for o in outputs if o.output_type == "error"]
        assert len(errors) == (gid != "ok"), gid  # the verdict survives the cut
        assert "[output truncated" in json.dumps(outputs), gid
        assert found["passed"] == (gid == "ok") and len(found["message"]) <= VERDICT_MESSAGE_CHARS, gid
    (error,), _ = ex._grade("t")
    assert error.ename == "AssertionError" and error.evalue.startswith("quantize(1) raised ValueError: xxx")
    assert error.traceback == [f"AssertionError: {error.evalue}"]


def test_a_verdict_says_why_a_test_cell_failed():
    ex = executor()
    ex._tests = {"wrong": "from grader.course import checks\nchecks.run('quantize_half_to_even', {'quantize': "
                          "lambda x, scale, zero_point=0, bits=8, signed=True: __import__('numpy').floor("
                          "__import__('numpy').asarray(x) / scale).astype('int64') + zero_point})",
                 "raises": "raise ValueError('not an assertion')", "plain": "assert 1 == 2, 'no'"}
    _, wrong = ex._grade("wrong")
    assert wrong["kind"] == "mismatch" and not wrong["passed"]
    assert wrong["misconceptions"][0] == {"id": "quantize.floor_instead_of_round", "label": "floor instead of round"}
    assert ex._grade("raises")[1]["kind"] == "error" and ex._grade("plain")[1]["kind"] == "mismatch"
    ex._dead = "the kernel died"
    assert ex._grade("plain")[1] == {"grade_id": "plain", "passed": False, "kind": "not_run", "misconceptions": [],
                                     "message": "the kernel died"}


def test_kernel_errors_in_a_cell_are_cut_but_never_dropped():
    ex = executor()
    cell = nbformat.v4.new_code_cell("f()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a" * 1_500),
                    nbformat.v4.new_output("display_data", data={"text/plain": "b" * 5_000}),
                    nbformat.v4.new_output("error", ename="ValueError", evalue="c" * 1_000_000,
                                           traceback=["\x1b[31m" + "c" * 1_000_000] * 3)]
    ex._cap_outputs(cell)
    assert size(cell.outputs) <= CAP + NOTE
    kinds = [o.output_type for o in cell.outputs]
    assert kinds == ["stream", "error", "stream"] and "[output truncated" in cell.outputs[-1].text
    alone = nbformat.v4.new_code_cell("f()")
    alone.outputs = [nbformat.v4.new_output("error", ename="E", evalue="e" * 10_000, traceback=["e" * 10_000]),
                     nbformat.v4.new_output("stream", name="stderr", text="s" * 10_000)]
    ex._cap_outputs(alone)
    assert size(alone.outputs) <= CAP + NOTE and alone.outputs[0].ename == "E"
    assert alone.outputs[0].evalue.startswith("eee")


# -- display updates --------------------------------------------------------------------------


def message(kind: str, text: str, display_id: str | None = None, parent: str = "run") -> dict:
    content = {"data": {"text/plain": text}, "metadata": {}}
    if display_id:
        content["transient"] = {"display_id": display_id}
    return {"msg_type": kind, "header": {"msg_type": kind}, "parent_header": {"msg_id": parent},
            "content": content, "metadata": {}}


def notebook_client(cells: int) -> TrustedExecute:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("") for _ in range(cells)])
    ex = executor()
    NotebookClient.__init__(ex, nb)  # what ExecutePreprocessor.preprocess does before running cells
    ex.reset_execution_trackers()
    ex.clear_before_next_output = False  # set by nbclient when a cell starts
    return ex


def run_cell(ex: TrustedExecute, index: int, messages: list[dict]) -> None:
    """Feed ``messages`` to nbclient as the kernel's output of cell ``index``, then cap it as preprocess_cell does."""
    cell = ex.nb.cells[index]
    ex._running = index
    for msg in messages:
        ex.process_message(msg, cell, index)
    ex._running = None
    ex._cap_outputs(cell, index)


@pytest.mark.parametrize("shown", [20, 400], ids=["within the cap", "past the cap"])
def test_display_updates_cannot_grow_an_earlier_cell_past_the_cap(shown):
    # Past the cap, the cell keeps fewer outputs than the id was shown in: an update must neither
    # reach the ones dropped (nbclient would fail with IndexError) nor the truncation note.
    ex = notebook_client(3)
    run_cell(ex, 0, [message("display_data", "working...", "progress") for _ in range(shown)])
    assert size(ex.nb.cells[0].outputs) <= CAP + NOTE
    assert (len(ex.nb.cells[0].outputs) == shown) == (shown == 20)
    run_cell(ex, 1, [message("update_display_data", "x" * 2_500_000, "progress")])
    early = ex.nb.cells[0].outputs
    assert size(early) <= CAP + NOTE and "[output truncated" in early[-1].text
    assert ex.nb.cells[1].outputs == []  # an update adds no output where it is sent from
    # A new display reusing the id, and more updates, land nowhere that was cut, and do not fail.
    run_cell(ex, 2, [message("display_data", "y" * 2_500_000, "progress"),
                     message("update_display_data", "z" * 2_500_000, "progress")])
    assert size(ex.nb.cells[0].outputs) <= CAP + NOTE and size(ex.nb.cells[2].outputs) <= CAP + NOTE


def test_display_updates_cannot_grow_their_own_cell_past_the_cap():
    ex = notebook_client(1)
    run_cell(ex, 0, [*(message("display_data", "here too", "here") for _ in range(20)),
                     message("update_display_data", "y" * 2_500_000, "here")])
    assert size(ex.nb.cells[0].outputs) <= CAP + NOTE
    assert "[output truncated" in ex.nb.cells[0].outputs[-1].text


def test_small_display_updates_still_apply():
    ex = notebook_client(2)
    run_cell(ex, 0, [message("display_data", "0%", "bar")])
    run_cell(ex, 1, [message("update_display_data", "100%", "bar")])
    assert ex.nb.cells[0].outputs[0].data == {"text/plain": "100%"}


@pytest.mark.slow
def test_a_real_kernel_cannot_grow_cells_past_the_cap(tmp_path):
    """Display updates and a huge error from a real ipykernel (no sandbox), through nbclient."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from IPython.display import display, update_display\n"
                                  "for _ in range(20):\n    display('working...', display_id='progress')"),
        nbformat.v4.new_code_cell("update_display('x' * 2_000_000, display_id='progress')\n"
                                  "print('p' * 1_000_000)\nraise ValueError('v' * 1_000_000)"),
        nbformat.v4.new_code_cell("h = display('small', display_id=True)\nh.update('u' * 1_000_000)"),
    ])
    ex = executor(timeout=120)
    ExecutePreprocessor.preprocess(ex, nb, {"metadata": {"path": str(tmp_path)}})
    for cell in nb.cells:
        assert size(cell.outputs) <= CAP + NOTE
        assert "[output truncated" in json.dumps(cell.outputs)
    errors = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "ValueError" and errors[0].evalue.startswith("vvv")

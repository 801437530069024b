"""The wire format between the grading process and the student's kernel (grader.grading.probe)."""

from __future__ import annotations

import collections
import enum
import json
import socket
import threading
import time
from typing import NamedTuple

import numpy as np
import pytest

from grader.grading import probe
from grader.grading.trusted import KernelFunction, _remote_exception

VALUES = [
    None, True, 3, -(2**70), 0.1, float("inf"), -0.0, "text",
    np.array([1.5, -2.25]), np.arange(6, dtype=np.int64).reshape(2, 3), np.array([True, False]),
    np.float64(0.3), np.int64(7), np.float32(0.1), np.bool_(True),
    (1, 2.0), [1, [2, 3]], {"ship": True, "latency": np.bool_(False)}, np.array(2.5), np.zeros((0, 3)),
]


def roundtrip(value):
    return probe.decode(json.loads(json.dumps(probe.encode(value))))


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:30] for v in VALUES])
def test_plain_data_roundtrips_exactly_with_its_type(value):
    back = roundtrip(value)
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape and np.array_equal(back, value)
    elif isinstance(value, np.generic):
        assert back.dtype == value.dtype and back == value
    else:
        assert repr(back) == repr(value)


def test_nan_survives():
    assert np.isnan(roundtrip(float("nan"))) and np.isnan(roundtrip(np.array([np.nan]))[0])


class AlwaysEqual:
    def __eq__(self, other):
        return True


class SneakyFloat(float):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value", [AlwaysEqual(), object(), np.array([1 + 2j]), np.array(["a"], dtype=object),
                                   lambda: 0, {1, 2}])
def test_objects_that_are_not_plain_data_become_unsupported(value):
    back = roundtrip(value)
    assert isinstance(back, probe.Unsupported) or (isinstance(back, list | tuple) and back == [])
    assert back != back if isinstance(back, probe.Unsupported) else True


class Pair(NamedTuple):
    qmin: int
    qmax: int


class SneakyTuple(tuple):
    def __iter__(self):
        return iter((9, 9))

    def __eq__(self, other):
        return True


class SneakyDict(dict):
    def items(self):
        return [("ship", True)]


class Level(enum.IntEnum):
    FOUR = 4


def test_subclasses_are_reduced_to_their_data():
    back = roundtrip(SneakyFloat(0.5))
    assert type(back) is float and back == 0.5 and back != 0.25  # a plain float: its __eq__ is gone
    pair = roundtrip(Pair(-128, 127))
    assert type(pair) is tuple and pair == (-128, 127)
    sneaky = roundtrip(SneakyTuple((1, 2)))
    assert type(sneaky) is tuple and sneaky == (1, 2) and sneaky != (9, 9)
    gates = roundtrip(collections.OrderedDict([("calibration", True), ("ship", False)]))
    assert type(gates) is dict and gates == {"calibration": True, "ship": False}
    assert roundtrip(SneakyDict(ship=False)) == {"ship": False}
    level = roundtrip(Level.FOUR)
    assert type(level) is int and level == 4
    assert type(roundtrip(type("Text", (str,), {})("nats"))) is str
    arr = roundtrip(np.arange(3.0).view(type("Sub", (np.ndarray,), {"__eq__": lambda s, o: True})))
    assert type(arr) is np.ndarray and not np.array_equal(arr, [9, 9, 9])


@pytest.mark.parametrize("tree", [[1, 2], {"ndarray": "object", "shape": [1], "data": [1]},
                                  {"ndarray": "float64", "shape": [5], "data": ["0x1p0"]},
                                  {"dict": [[{"list": []}, 1]]}, {"surprise": 1}, {"npscalar": "int64"},
                                  {"float": "not hex"}])
def test_malformed_replies_never_crash_the_decoder(tree):
    assert isinstance(probe.decode(tree), probe.Unsupported)


def test_answer_reports_results_exceptions_and_warnings():
    import warnings

    def f(x):
        warnings.warn("careful", RuntimeWarning, stacklevel=2)
        if x < 0:
            raise ValueError("x must be non-negative, got -1")
        return np.sqrt(x)

    ok = probe.answer({"f": f}, "f", probe.encode(([4.0], {})))
    assert probe.decode(ok["returned"]) == 2.0 and ok["warnings"][0]["category"] == "RuntimeWarning"
    bad = probe.answer({"f": f}, "f", probe.encode(([-1.0], {})))
    assert bad["raised"]["type"] == "ValueError" and "ValueError" in bad["raised"]["bases"]
    missing = probe.answer({}, "g", probe.encode(([], {})))
    assert missing["raised"]["type"] == "NameError"


def test_remote_exceptions_keep_their_builtin_family():
    exc = _remote_exception({"type": "MyError", "bases": ["MyError", "ValueError", "Exception"], "message": "m"})
    assert isinstance(exc, ValueError) and type(exc).__name__ == "MyError" and str(exc) == "m"
    assert type(_remote_exception({"type": "Weird", "bases": ["Weird"], "message": ""})).__mro__[1] is Exception


def test_frames_roundtrip_over_a_socket_and_refuse_oversized_ones():
    a, b = socket.socketpair()
    with a, b:
        probe.send_frame(a, b'{"x": 1}')
        assert probe.recv_frame(b) == b'{"x": 1}'
        a.sendall((probe.MAX_FRAME + 1).to_bytes(4, "big"))
        with pytest.raises(ValueError):
            probe.recv_frame(b)


def drip(sock: socket.socket, data: bytes, pause: float) -> threading.Thread:
    """Send ``data`` as one frame, one byte every ``pause`` seconds, from a thread."""

    def send():
        try:
            for byte in len(data).to_bytes(4, "big") + data:
                sock.sendall(bytes([byte]))
                time.sleep(pause)
        except OSError:
            pass

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_a_socket_timeout_is_per_chunk_but_the_deadline_is_per_frame():
    a, b = socket.socketpair()
    with a, b:
        # 40 bytes, one every 0.05 s: a 0.3 s socket timeout never fires, the frame takes 2 s.
        b.settimeout(0.3)
        thread = drip(a, b"x" * 36, 0.05)
        start = time.monotonic()
        assert probe.recv_frame(b) == b"x" * 36
        assert time.monotonic() - start > 1.5
        thread.join()
        thread = drip(a, b"x" * 36, 0.05)
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            probe.recv_frame(b, deadline=time.monotonic() + 0.5)
        assert time.monotonic() - start < 1.0
        thread.join()
    a, b = socket.socketpair()
    with a, b:  # a deadline already past: nothing is read
        probe.send_frame(a, b"{}")
        with pytest.raises(TimeoutError):
            probe.recv_frame(b, deadline=time.monotonic() - 1)
        with pytest.raises(TimeoutError):
            probe.send_frame(a, b"{}", deadline=time.monotonic() - 1)


def test_a_frame_over_the_limit_is_refused_on_its_header():
    a, b = socket.socketpair()
    with a, b:
        a.sendall((101).to_bytes(4, "big"))  # and no body: reading it would block until the deadline
        start = time.monotonic()
        with pytest.raises(ValueError, match="over the 100-byte limit"):
            probe.recv_frame(b, deadline=time.monotonic() + 5, limit=100)
        assert time.monotonic() - start < 1


def test_huge_exception_and_warning_messages_are_cut_in_the_kernel_too():
    import warnings

    def f():
        warnings.warn("w" * 100_000, UserWarning, stacklevel=2)
        raise ValueError("x" * 1_000_000)

    reply = probe.answer({"f": f}, "f", probe.encode(([], {})))
    message = reply["raised"]["message"]
    assert len(message) < probe.MAX_MESSAGE + 100 and message.endswith("more characters]")
    assert "[output truncated: 996000 more characters]" in message
    assert len(reply["warnings"][0]["message"]) < probe.MAX_WARNING + 100
    assert probe.clip("short", 10) == "short"


def test_kernel_function_rebuilds_exceptions_and_warnings():
    class FakeExecutor:
        def __init__(self, reply):
            self.reply = reply

        def call_in_kernel(self, name, args, kwargs):
            return self.reply

    raising = KernelFunction(FakeExecutor({"raised": {"type": "ValueError", "bases": ["ValueError"],
                                                      "message": "scale must be positive"}}), "quantize")
    with pytest.raises(ValueError, match="scale must be positive"):
        raising(1.0, -0.1)
    warning = KernelFunction(FakeExecutor({"returned": probe.encode(1.0),
                                           "warnings": [{"category": "RuntimeWarning",
                                                         "bases": ["RuntimeWarning"], "message": "overflow"}]}),
                             "softmax")
    with pytest.warns(RuntimeWarning, match="overflow"):
        assert warning([1.0]) == 1.0

"""The wire format between the grading process and a student's kernel.

Grading never trusts an object that comes out of the student's kernel: the
checks call student functions through proxies, the arguments travel to the
kernel as JSON, the student function runs there, and only plain data comes
back (numbers, strings, arrays with a whitelisted dtype, tuples, lists,
dicts, or the name and message of the exception it raised).  Whatever the
student's code patches in its own kernel, it can change only its own answer.

This module runs on both sides: the grading process imports it, and its
source is sent to the kernel once per submission (see ``kernel_source``), so
it must use nothing but the standard library and NumPy.
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64")
MAX_DEPTH = 20
MAX_ITEMS = 1_000_000
# What an exception or warning raised by student code may carry across the wire.  The grading side
# enforces the same limits on what it receives (grader.grading.trusted): this side runs where student
# code can replace it.
MAX_MESSAGE = 4000  # characters of an exception's message
MAX_WARNING = 1000  # characters of a warning's message
MAX_WARNINGS = 20  # warnings per call
MAX_NAMES = 20  # class names in an exception's or a warning's MRO


class Unsupported:
    """Stands for a returned object that is not plain data; equal to nothing."""

    def __init__(self, type_name: str):
        self.type_name = str(type_name)[:80]

    def __eq__(self, other):
        return False

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"<unsupported object of type {self.type_name}>"


def encode(obj, depth=0):
    """Plain data -> JSON-able tree.

    Subclasses of the plain types are reduced to their data, read with the base type's own methods,
    so whatever a subclass overrides (``__eq__``, ``__iter__``, ``__float__``, ...) never reaches the
    grading process: a NamedTuple arrives as a tuple, an OrderedDict as a dict, an IntEnum as an int.
    """
    if depth > MAX_DEPTH:
        raise ValueError("nesting too deep")
    if obj is None or type(obj) is bool:
        return obj
    if isinstance(obj, str):  # np.str_ too: a string is a string
        return str.__str__(obj)
    if isinstance(obj, np.ndarray | np.generic) and np.asarray(obj).dtype.kind == "f" \
            and str(np.asarray(obj).dtype) not in DTYPES:  # np.longdouble: a NumPy float, sent as float64
        obj = np.asarray(obj).astype(np.float64) if isinstance(obj, np.ndarray) else np.float64(obj)
    if isinstance(obj, np.ndarray):
        arr = np.asarray(obj)
        if str(arr.dtype) not in DTYPES or arr.size > MAX_ITEMS:
            return {"unsupported": f"ndarray of dtype {arr.dtype} and size {arr.size}"}
        data = arr.astype(np.float64).ravel().tolist() if arr.dtype.kind == "f" else arr.ravel().tolist()
        if arr.dtype.kind == "f":
            data = [float.hex(v) for v in data]
        return {"ndarray": str(arr.dtype), "shape": list(arr.shape), "data": data}
    if isinstance(obj, np.generic):
        name = str(np.asarray(obj).dtype)
        if name not in DTYPES:
            return {"unsupported": f"numpy scalar {name}"}
        return {"npscalar": name, "value": encode(np.asarray(obj).reshape(1), depth + 1)}
    if isinstance(obj, int):
        return {"int": int.__repr__(obj)}
    if isinstance(obj, float):
        return {"float": float.hex(obj)}
    if isinstance(obj, list | tuple):
        base = list if isinstance(obj, list) else tuple
        items = list(base.__iter__(obj))
        return {base.__name__: [encode(v, depth + 1) for v in items]}
    if isinstance(obj, dict):
        return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in dict.items(obj)]}
    return {"unsupported": getattr(type(obj), "__name__", "object")}


def decode(tree, depth=0):
    """The inverse of ``encode``, strict: anything unexpected becomes ``Unsupported``."""
    try:
        return _decode(tree, depth)
    except (KeyError, TypeError, ValueError, OverflowError):
        return Unsupported("malformed data")


def _decode(tree, depth):
    if depth > MAX_DEPTH:
        return Unsupported("deeply nested data")
    if tree is None or type(tree) in (bool, str):
        return tree
    if type(tree) is not dict or len(tree) == 0:
        return Unsupported(type(tree).__name__)
    if "int" in tree:
        return int(str(tree["int"])[:5000])
    if "float" in tree:
        return float.fromhex(str(tree["float"]))
    if "ndarray" in tree:
        dtype, shape, data = tree["ndarray"], tree.get("shape"), tree.get("data")
        if dtype not in DTYPES or type(shape) is not list or type(data) is not list:
            return Unsupported("malformed array")
        if dtype.startswith("float"):
            data = [float.fromhex(str(v)) for v in data]
        try:
            return np.array(data, dtype=np.float64 if dtype.startswith("float") else dtype).astype(dtype).reshape(
                [int(n) for n in shape])
        except (TypeError, ValueError, OverflowError):
            return Unsupported("malformed array")
    if "npscalar" in tree:
        value = decode(tree["value"], depth + 1)
        return value[0] if isinstance(value, np.ndarray) and value.shape == (1,) else Unsupported("numpy scalar")
    if "list" in tree and type(tree["list"]) is list:
        return [decode(v, depth + 1) for v in tree["list"]]
    if "tuple" in tree and type(tree["tuple"]) is list:
        return tuple(decode(v, depth + 1) for v in tree["tuple"])
    if "dict" in tree and type(tree["dict"]) is list:
        out = {}
        for pair in tree["dict"]:
            if type(pair) is not list or len(pair) != 2:
                return Unsupported("malformed dict")
            key = decode(pair[0], depth + 1)
            try:
                out[key] = decode(pair[1], depth + 1)
            except TypeError:
                return Unsupported("dict with unhashable keys")
        return out
    if "unsupported" in tree:
        return Unsupported(tree["unsupported"])
    return Unsupported("unknown data")


def answer(namespace, name, request):
    """Kernel side: call namespace[name] on the encoded (args, kwargs); the reply as a dict."""
    reply = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            args, kwargs = decode(request)
            if name not in namespace:
                raise NameError(f"name '{name}' is not defined")
            reply["returned"] = encode(namespace[name](*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 -- everything the student raises is reported
            if isinstance(exc, KeyboardInterrupt):
                raise
            reply = {"raised": {"type": type(exc).__name__[:80],
                                "bases": [c.__name__ for c in type(exc).__mro__][:MAX_NAMES],
                                "message": clip(str(exc), MAX_MESSAGE)}}
    reply["warnings"] = [{"category": w.category.__name__[:80],
                          "bases": [c.__name__ for c in w.category.__mro__][:MAX_NAMES],
                          "message": clip(str(w.message), MAX_WARNING)} for w in caught[:MAX_WARNINGS]]
    return reply


def clip(text, limit):
    """``text`` cut to ``limit`` characters, saying so."""
    text = str.__str__(text) if isinstance(text, str) else str(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f" [output truncated: {len(text) - limit} more characters]"


# Frames on the probe's unix socket: 4-byte big-endian length, then UTF-8 JSON.
MAX_FRAME = 4 * 1024 * 1024  # the checks exchange small arrays; this bounds what a reply can cost


def _until(sock, deadline) -> None:
    """Give the socket's next operation what is left before ``deadline`` (time.monotonic()), if any."""
    if deadline is None:
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the probe's deadline passed")
    sock.settimeout(remaining)


def send_frame(sock, data: bytes, deadline=None) -> None:
    """Send one frame; with a ``deadline`` (time.monotonic()), TimeoutError when it is not all sent by then."""
    _until(sock, deadline)
    sock.sendall(len(data).to_bytes(4, "big") + data)  # the timeout bounds the whole sendall


def recv_frame(sock, deadline=None, limit=MAX_FRAME) -> bytes:
    """Receive one frame.

    With a ``deadline`` (time.monotonic()), the whole frame must be in by then, however the other side
    spreads it over chunks (TimeoutError otherwise): a socket timeout alone is per chunk, and a reply
    dripped one byte at a time would keep resetting it.  A frame announcing more than ``limit`` bytes
    is refused (ValueError) before any of it is read.
    """
    def exactly(n):
        chunks, got = [], 0
        while got < n:
            _until(sock, deadline)
            chunk = sock.recv(min(n - got, 1 << 20))
            if not chunk:
                raise ConnectionError("the other side closed the probe connection")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    size = int.from_bytes(exactly(4), "big")
    if size > limit:
        raise ValueError(f"probe frame of {size} bytes is over the {limit}-byte limit")
    return exactly(size)


def serve_socket(namespace, path):
    """Kernel side: connect to the grader's socket at ``path`` and answer calls from a daemon thread."""
    import socket
    import threading

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)

    def loop():
        with sock:
            while True:
                try:
                    request = json.loads(recv_frame(sock))
                    reply = answer(namespace, request["name"], request["args"])
                    data = json.dumps(reply).encode("utf-8")
                    if len(data) > MAX_FRAME:
                        data = json.dumps({"returned": {"unsupported": "a result too large to send"}}).encode()
                    send_frame(sock, data)
                except (ConnectionError, OSError):
                    return

    threading.Thread(target=loop, name="grading-probe", daemon=True).start()


def kernel_source(path):
    """Python source that, run in the kernel, starts ``serve_socket`` on the user namespace."""
    import inspect
    import sys

    body = inspect.getsource(sys.modules[__name__])
    return (
        "exec(compile(" + repr(body) + ", '<grading probe>', 'exec'), _probe_ns := {})\n"
        "_probe_ns['serve_socket'](globals(), " + repr(str(path)) + ")\n"
        "del _probe_ns\n"
    )

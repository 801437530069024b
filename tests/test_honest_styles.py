"""Honest solutions written in other styles score full marks, called directly and through the grading wire.

tests/honest_styles/ holds modules that each solve the 21 graded functions correctly but unlike the
instructor (Python loops and math; NumPy idioms with np.round, numpy.ma and np.float64 results; a
validation decorator with NamedTuple, OrderedDict and ValueError-subclass results).  For each of them,
and for the instructor's solutions from the source notebook as a control:

- every hidden check passes, on the raw functions (several grading secrets) and through proxies;
- every visible test cell of the release notebook has the same outcome, a pass, with the raw functions
  (as in the student's kernel) and through proxies (as in grading);
- the notebook a student would hand in (tests/hostile/honest_styles.py: one solution cell per function,
  helpers above it), run top to bottom and graded as TrustedExecute grades it, scores full marks,
  passes the sanitizer untouched and raises no integrity flag.

A proxy is grader.grading.trusted.KernelFunction itself, over an in-process stand-in for the kernel:
the arguments go through probe.encode -> JSON -> probe.answer (the kernel side, which decodes them,
calls the raw function and encodes its result, or the type, bases and message of what it raised)
-> JSON, and KernelFunction decodes the reply or re-raises it with trusted._remote_exception.  Only
the socket is missing.  No kernel is started, so the module runs in seconds.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import importlib.util
import io
import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hostile.honest_styles import STYLES, solution_cells, submission

from grader.course import checks, contract
from grader.grading import integrity, probe
from grader.grading.sanitize import sanitize
from grader.grading.trusted import KernelFunction
from grader.publish.notebooks import grade_id, solution_code

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / contract.ASSIGNMENT / contract.NOTEBOOK
RELEASE = ROOT / "release" / contract.ASSIGNMENT / contract.NOTEBOOK
STYLE_FILES = {path.stem: path for path in sorted(STYLES.glob("*.py"))}
SUBJECTS = ["instructor", *STYLE_FILES]  # the control first
HIDDEN = [t.grade_id for t in contract.TESTS if t.hidden]
VISIBLE = [t.grade_id for t in contract.TESTS if not t.hidden]
POINTS = {t.grade_id: t.points for t in contract.TESTS}
SECRETS = (0, 7, 2**62 + 12345)  # 0 is the public seed; grading mixes in a secret
PLOTTING = {"plt", "plots", "matplotlib"}

Functions = dict[str, Callable]


# --------------------------------------------------------------------------- the subjects


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@functools.cache
def _notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _load_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"honest_style_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _raw(subject: str) -> Functions:
    """The subject's 21 functions, as they are in the student's kernel."""
    if subject == "instructor":
        namespace = {"np": np}
        for cell in _notebook(SOURCE).cells:
            if _nbgrader(cell).get("solution") and grade_id(cell) in contract.FUNCTIONS:
                exec(compile(solution_code(cell.source), f"<solution {grade_id(cell)}>", "exec"), namespace)
    else:
        namespace = vars(_load_module(STYLE_FILES[subject]))
    missing = [name for name in contract.FUNCTIONS if not callable(namespace.get(name))]
    assert not missing, f"{subject} does not define {missing}"
    return {name: namespace[name] for name in contract.FUNCTIONS}


class InProcessKernel:
    """Stands in for TrustedExecute: call_in_kernel answers as the kernel's probe does, in this process.

    ``namespace`` is looked up at call time, as the probe looks up the kernel's globals().
    """

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def call_in_kernel(self, name: str, args: tuple, kwargs: dict) -> dict:
        request = json.loads(json.dumps({"name": name, "args": probe.encode((list(args), kwargs))}))
        reply = probe.answer(self.namespace, request["name"], request["args"])
        return json.loads(json.dumps(reply))


def _proxied(namespace: dict) -> Functions:
    """KernelFunction proxies, as in the grading process, for the functions in ``namespace``."""
    kernel = InProcessKernel(namespace)
    return {name: KernelFunction(kernel, name) for name in contract.FUNCTIONS}


def _functions(subject: str, way: str) -> Functions:
    raw = _raw(subject)
    return raw if way == "raw" else _proxied(dict(raw))


# --------------------------------------------------------------------------- running notebook cells


def _mentions_plotting(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and inner.id in PLOTTING:
            return True
        if isinstance(inner, ast.Import | ast.ImportFrom):
            names = {part for a in inner.names for part in (a.asname or a.name).split(".")}
            names |= {a.name for a in inner.names} | set((getattr(inner, "module", None) or "").split("."))
            if names & PLOTTING:
                return True
    return False


def _without_plotting(source: str) -> str:
    """The cell's source without the statements that import or use matplotlib or the course's plots."""
    tree = ast.parse(source)
    return ast.unparse(ast.Module(body=[n for n in tree.body if not _mentions_plotting(n)], type_ignores=[]))


@functools.cache
def _locked_setup() -> tuple[str, ...]:
    """The release's locked code cells that are not test cells (setup, seed_metrics), plotting removed.

    TrustedExecute runs them in the kernel and again in the grading process.
    """
    return tuple(_without_plotting(c.source) for c in _notebook(RELEASE).cells
                 if c.cell_type == "code" and _nbgrader(c).get("locked") and not _nbgrader(c).get("grade"))


def _cell_source(nb, gid: str) -> str:
    return next(c.source for c in nb.cells if grade_id(c) == gid)


def _run(source: str, namespace: dict, label: str) -> tuple[str, str, list[str]]:
    """Run a cell: (outcome, detail, warnings).  The outcome is "pass" or the exception's type name.

    Like TrustedExecute._run_here: stdout captured, warnings recorded rather than printed.
    """
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            exec(compile(source, label, "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 -- the verdict of a test cell
            outcome, detail = type(exc).__name__, f"{type(exc).__name__}: {exc}"
        else:
            outcome, detail = "pass", out.getvalue()
    return outcome, detail, [f"{w.category.__name__}: {w.message}" for w in caught]


def _namespace(functions: Functions) -> dict:
    """A namespace holding what a test cell sees: np, seed_metrics (the locked cells), the functions."""
    namespace: dict = {"__name__": "__main__"}
    for source in _locked_setup():
        exec(compile(source, "<locked cell>", "exec"), namespace)
    namespace.update(functions)
    return namespace


def _visible(subject_functions: Functions, gid: str, way: str) -> tuple[str, str, list[str]]:
    functions = subject_functions if way == "raw" else _proxied(dict(subject_functions))
    return _run(_cell_source(_notebook(RELEASE), gid), _namespace(functions), f"<test {gid}>")


def _grade(nb, proxied: bool) -> dict[str, tuple[str, str]]:
    """grade_id -> (outcome, detail) for every test cell, grading ``nb`` as TrustedExecute does, in-process.

    The cells run in order in a "kernel" namespace (the lesson's plot cells skipped, locked cells
    without their plotting lines).  A test cell runs with the source notebook's source, hidden tests
    included, as nbgrader restores it from the gradebook: with ``proxied`` in a "grading" namespace
    whose functions are KernelFunction proxies into the kernel namespace as it is at that moment,
    else in the kernel namespace itself (as ``nbgrader validate`` on the source would).
    """
    gradebook = {grade_id(c): c.source for c in _notebook(SOURCE).cells if _nbgrader(c).get("grade")}
    kernel: dict = {"__name__": "__main__"}
    grading: dict = {"__name__": "__main__", **_proxied(kernel)}
    results = {}
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        meta, gid = _nbgrader(cell), _nbgrader(cell).get("grade_id")
        if meta.get("grade"):
            outcome, detail, _ = _run(gradebook[gid], grading if proxied else kernel, f"<test {gid}>")
            results[gid] = (outcome, detail)
        elif meta.get("locked"):
            source = _without_plotting(cell["source"])
            for namespace in (kernel, grading):
                exec(compile(source, f"<locked {gid}>", "exec"), namespace)
        elif meta.get("solution"):
            outcome, detail, _ = _run(cell["source"], kernel, f"<cell {index}: {gid}>")
            assert outcome == "pass", f"solution cell {gid} raised {detail}"
    return results


@functools.cache
def _handed_in(style: str) -> dict:
    """The release with every solution cell filled from the style module, as a student hands it in."""
    return submission(json.loads(json.dumps(_notebook(RELEASE))), STYLE_FILES[style])


def _score(results: dict[str, tuple[str, str]]) -> int:
    return sum(POINTS[gid] for gid, (outcome, _) in results.items() if outcome == "pass")


@pytest.fixture
def secret():
    """Set the checks' grading secret for one test; back to the public 0 afterwards."""
    yield checks.set_secret
    checks.set_secret(0)


# --------------------------------------------------------------------------- the tests


def test_styles_are_plain_python_in_notebook_order():
    assert len(STYLE_FILES) >= 2
    allowed = {"numpy", "math", "collections", "typing", "functools"}
    for name, path in STYLE_FILES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert imported <= allowed, f"{name} imports {sorted(imported - allowed)}"
        assert "grader" not in path.read_text(encoding="utf-8"), f"{name} mentions the grader package"
        assert list(solution_cells(path)) == list(contract.FUNCTIONS), name  # raises if out of order


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("grade_id", HIDDEN)
def test_hidden_check_passes_on_the_raw_functions(subject, grade_id, secret):
    functions = _raw(subject)
    for value in SECRETS:
        secret(value)
        try:
            checks.run(grade_id, functions)
        except AssertionError as err:
            pytest.fail(f"{subject}, secret {value}: {err}")


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("grade_id", HIDDEN)
def test_hidden_check_passes_through_the_grading_wire(subject, grade_id, secret):
    secret(SECRETS[-1])
    try:
        checks.run(grade_id, _functions(subject, "proxied"))
    except AssertionError as err:
        pytest.fail(f"{subject} through the wire: {err}")


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("grade_id", VISIBLE)
def test_visible_test_cell_passes_both_ways(subject, grade_id):
    raw = _visible(_raw(subject), grade_id, "raw")
    wired = _visible(_raw(subject), grade_id, "proxied")
    assert raw[0] == wired[0], (f"{subject}: {grade_id} gives {raw[0]} in the student's kernel but "
                                f"{wired[0]} in grading:\n  kernel: {raw[1]}\n  grading: {wired[1]}")
    assert raw[0] == "pass", f"{subject}: {grade_id} fails both ways: {raw[1]}"
    assert raw[2] == wired[2] == [], f"{subject}: {grade_id} warns: {raw[2] or wired[2]}"


@pytest.mark.parametrize("style", STYLE_FILES)
@pytest.mark.parametrize("proxied", [False, True], ids=["in-kernel", "trusted"])
def test_handed_in_notebook_gets_full_marks(style, proxied):
    results = _grade(_handed_in(style), proxied)
    assert set(results) == set(POINTS)
    failed = {gid: detail for gid, (outcome, detail) in results.items() if outcome != "pass"}
    assert not failed and _score(results) == contract.TOTAL_POINTS, json.dumps(failed, indent=1)


@pytest.mark.parametrize("style", STYLE_FILES)
def test_handed_in_notebook_is_clean(style, tmp_path):
    """The sanitizer repairs nothing (status "graded") and the integrity scan flags nothing."""
    nb = _handed_in(style)
    (tmp_path / contract.NOTEBOOK).write_text(json.dumps(nb), encoding="utf-8")
    result = sanitize(tmp_path, RELEASE)
    assert not result.fatal and result.problems == [], result.problems
    flags = integrity.scan(nb)
    assert flags == [], [f"{f.grade_id} line {f.line}: {f.kind}: {f.detail}" for f in flags]


def test_hostile_case_builds_the_decorated_style(tmp_path):
    from hostile import honest_styles

    perfect = json.loads(json.dumps(_notebook(RELEASE)))
    honest_styles.build(copy.deepcopy(perfect), copy.deepcopy(_notebook(RELEASE)), tmp_path)
    built = json.loads((tmp_path / contract.NOTEBOOK).read_text(encoding="utf-8"))
    cells = solution_cells(honest_styles.STYLE)
    for function, code in cells.items():
        assert _cell_source(nbformat.from_dict(built), function) == code
    assert honest_styles.EXPECTED_SCORE == contract.TOTAL_POINTS and honest_styles.EXPECTED_STATUS == "graded"


# --------------------------------------------------------------------------- the harness can fail


def _floor_quantize(x, scale, zero_point=0, bits=8, signed=True):
    """quantize with np.floor instead of round-half-to-even: the classic misconception."""
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    return np.asarray(np.clip(np.floor(np.asarray(x, dtype=np.float64) / scale) + zero_point, qmin, qmax),
                      dtype=np.int64)


class NamedError(ValueError):
    pass


def _raises_named_error(*args, **kwargs):
    raise NamedError("zero-point must be an integer")


def test_a_broken_style_fails_both_ways():
    broken = {**_raw("loops_and_math"), "quantize": _floor_quantize}
    for way in ("raw", "proxied"):
        functions = broken if way == "raw" else _proxied(dict(broken))
        with pytest.raises(AssertionError, match="floor instead of round"):
            checks.run("quantize_half_to_even", functions)
    assert _visible(broken, "quantize_seed_example", "raw")[0] == "AssertionError"
    assert _visible(broken, "quantize_seed_example", "proxied")[0] == "AssertionError"


def test_exceptions_cross_the_wire_with_their_name_and_family():
    raising = {**_raw("loops_and_math"), "quantize": _raises_named_error}
    raw, wired = (_visible(raising, "quantize_seed_example", way) for way in ("raw", "proxied"))
    assert raw[0] == wired[0] == "NamedError"
    with pytest.raises(ValueError, match="zero-point must be an integer"):
        _proxied(raising)["quantize"](0.3, 0.1)
    # A function that always raises earns nothing from rejecting bad input: valid input is asked first.
    with pytest.raises(AssertionError, match="raised NamedError: zero-point must be an integer"):
        checks.run("quantize_rejects_bad_input", _proxied(raising))


def test_the_grading_simulation_loses_the_points_of_a_broken_function():
    nb = _handed_in("loops_and_math")
    broken = copy.deepcopy(nb)
    for cell in broken["cells"]:
        if _nbgrader(cell).get("grade_id") == "softmax":
            cell["source"] = cell["source"].replace("math.exp((v - top) / tau)", "math.exp(v / tau)")
    results = _grade(broken, proxied=True)
    lost = {gid for gid, (outcome, _) in results.items() if outcome != "pass"}
    assert lost and lost <= {t.grade_id for t in contract.TESTS if t.function == "softmax"}, lost
    assert _score(results) < contract.TOTAL_POINTS


def test_wire_keeps_the_promised_types():
    """What the styles return arrives as the plain type the checks expect (NamedTuple -> tuple, ...)."""
    decorated = _proxied(dict(_raw("decorated_and_typed")))
    with contextlib.redirect_stdout(io.StringIO()):
        clip = decorated["best_clip"]([1, 2, 3], [0.05, 0.02, 0.03])
    assert type(decorated["qrange"](8)) is tuple and decorated["qrange"](8) == (-128, 127)
    scale, zero_point = decorated["affine_params"](-1.0, 3.0, 8)
    assert isinstance(scale, float) and type(zero_point) is int and zero_point == 64
    assert type(decorated["shipping_gates"](_namespace({})["seed_metrics"])) is dict
    assert isinstance(clip, np.float64) and clip == 2.0
    assert math.isinf(decorated["sqnr_db"]([1.0], [1.0]))


# --------------------------------------------------------------------------- honest variants at the edges of the wire
#
# Honest variants that once passed every check in the student's kernel but failed in grading, because of
# what grader.grading.probe / trusted did with them: each must now pass both ways.


class MissingMetric(KeyError, ValueError):
    """A ValueError (as the spec asks) that is also a KeyError, so that both except clauses catch it."""


_METRIC_KEYS = ("calibration_coverage", "loss_baseline", "loss_quantized", "latency_baseline_ms",
                "latency_quantized_ms", "task_scores_baseline", "task_scores_quantized", "safety_pass")


def _gates_raising_a_keyerror_valueerror(metrics, max_loss_increase=0.02, min_coverage=0.999, max_task_drop=1.0):
    for key in _METRIC_KEYS:
        if key not in metrics:
            raise MissingMetric(f"metrics has no {key!r} entry")
    return _raw("loops_and_math")["shipping_gates"](metrics, max_loss_increase, min_coverage, max_task_drop)


def _gates_with_numpy_string_keys(metrics, max_loss_increase=0.02, min_coverage=0.999, max_task_drop=1.0):
    gates = _raw("loops_and_math")["shipping_gates"](metrics, max_loss_increase, min_coverage, max_task_drop)
    names = np.array(list(gates))  # np.str_ keys: a str subclass, equal to and hashing like the str
    return dict(zip(names, gates.values(), strict=True))


def _mse_as_longdouble(w, w_hat):
    return np.longdouble(_raw("loops_and_math")["quantization_mse"](w, w_hat))  # a NumPy float scalar


GAPS = {
    "valueerror-that-is-also-a-keyerror": (
        "shipping_gates", _gates_raising_a_keyerror_valueerror, ["shipping_gates_rejects_missing_metric"],
        "trusted._remote_exception keeps every builtin class of the MRO, so it stays a ValueError"),
    "dict-with-numpy-string-keys": (
        "shipping_gates", _gates_with_numpy_string_keys,
        ["shipping_gates_seed_example", "shipping_gates_keys_and_types", "shipping_gates_thresholds",
         "shipping_gates_quality_gate"],
        "probe.encode sends np.str_ keys as str"),
    "longdouble-scalar": (
        "quantization_mse", _mse_as_longdouble, ["quantization_mse_seed_example", "quantization_mse_matches_reference"],
        "probe.encode sends an np.longdouble scalar as float64"),
}


def _passes(functions: Functions, gid: str, way: str) -> tuple[bool, str]:
    if gid in VISIBLE:
        outcome, detail, _ = _visible(functions, gid, way)
        return outcome == "pass", detail
    try:
        checks.run(gid, functions if way == "raw" else _proxied(dict(functions)))
    except AssertionError as err:
        return False, str(err)
    return True, ""


@pytest.mark.parametrize("gap", GAPS)
def test_gap_variant_passes_in_the_students_kernel(gap):
    name, function, grade_ids, _ = GAPS[gap]
    functions = {**_raw("loops_and_math"), name: function}
    for gid in grade_ids:
        ok, detail = _passes(functions, gid, "raw")
        assert ok, f"{gap}: {gid}: {detail}"


@pytest.mark.parametrize("gap", GAPS)
def test_gap_variant_passes_in_grading(gap):
    name, function, grade_ids, _ = GAPS[gap]
    functions = {**_raw("loops_and_math"), name: function}
    for gid in grade_ids:
        ok, detail = _passes(functions, gid, "proxied")
        assert ok, f"{gap}: {gid}: {detail}"

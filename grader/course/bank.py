"""The bank of known-wrong implementations: each breaks one stated convention of one function.

Two kinds, tested alike (tests/test_checks.py, tests/test_conventions.py):

- **Written** (``wrong_implementations/*.py``, ``load_bank``): one file per misconception, written as
  a student would write the solution cell: a module docstring naming the misconception,
  ``FEEDBACK_MENTIONS`` (a phrase the grading feedback must contain) and exactly one graded
  function. They have source, so the sample class, the benchmark and the end-to-end tests turn
  them into submissions.
- **Generated** (``generated``): one per misconception formula the checks diagnose
  (``checks.SPECS``): the reference's input checks and return types around the wrong formula, so
  every diagnosis is exercised without a hand copy of the function; one per function that
  returns NaN on bad input instead of raising; and the lapses in ``LAPSES``, each a correct
  function that breaks one stated convention about which inputs it accepts or rejects.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.course import checks, reference
from grader.course.capstone import ALL_FUNCTIONS as FUNCTIONS  # the exercises' and the capstone's new ones

DEFAULT_FOLDER = Path(__file__).resolve().parent / "wrong_implementations"


@dataclass(frozen=True)
class WrongImplementation:
    name: str  # e.g. "quantize_floor" (a written file's stem)
    function: str  # the graded function it replaces
    misconception: str  # one line
    feedback_mentions: str  # a phrase the failure messages must contain
    source: str | None = None  # the solution cell, for written entries
    path: Path | None = None
    factory: Callable[[], Callable] | None = None  # builds the function, for generated entries

    def load(self) -> Callable:
        """The wrong function (a written file is executed in a fresh namespace)."""
        if self.factory is not None:
            return self.factory()
        namespace: dict = {"__name__": f"wrong_{self.name}"}
        exec(compile(self.source, str(self.path), "exec"), namespace)  # noqa: S102 -- our own test bank
        return namespace[self.function]


# --------------------------------------------------------------------------- written entries


def parse(path: Path) -> WrongImplementation:
    """Read one bank file; ValueError when it does not follow the bank's format."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    doc = ast.get_docstring(tree)
    graded = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in FUNCTIONS]
    mentions = [
        n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "FEEDBACK_MENTIONS" for t in n.targets)
        and isinstance(n.value, ast.Constant)
    ]
    if not doc:
        raise ValueError(f"{path}: needs a module docstring naming the misconception")
    if len(graded) != 1:
        raise ValueError(f"{path}: must define exactly one graded function, found {graded or 'none'}")
    if len(mentions) != 1 or not isinstance(mentions[0], str) or not mentions[0]:
        raise ValueError(f"{path}: needs FEEDBACK_MENTIONS = '<phrase the feedback must contain>'")
    return WrongImplementation(name=path.stem, function=graded[0], misconception=doc.splitlines()[0],
                               feedback_mentions=mentions[0], source=source, path=path)


def load_bank(folder: Path = DEFAULT_FOLDER) -> list[WrongImplementation]:
    """Every written bank entry in ``folder``, sorted by name."""
    paths = sorted(p for p in Path(folder).glob("*.py") if not p.name.startswith("_"))
    if not paths:
        raise ValueError(f"no wrong implementations found in {folder}")
    return [parse(p) for p in paths]


# --------------------------------------------------------------------------- generated entries


def _conform(expected: Any, got: Any) -> Any:
    """``got`` with the container and types the reference returns, so only the formula is wrong."""
    if isinstance(expected, dict):
        return {key: _conform(value, got[key]) for key, value in expected.items()}
    if isinstance(expected, tuple):
        return tuple(type(e)(g) for e, g in zip(expected, got, strict=True))
    if isinstance(expected, bool):
        return bool(got)
    if isinstance(expected, float):
        return float(got)
    if isinstance(expected, int):
        return int(got)
    if isinstance(expected, np.ndarray):
        return np.asarray(got).astype(expected.dtype)
    return got


def _wrapping(function: str, body: Callable[..., Any]) -> Callable[[], Callable]:
    """A factory of a function with the reference's name and signature that runs ``body(ref, *a, **kw)``."""
    ref = getattr(reference, function)

    def factory() -> Callable:
        @functools.wraps(ref)
        def wrong(*args, **kwargs):
            with np.errstate(all="ignore"):
                return body(ref, *args, **kwargs)

        return wrong

    return factory


def _formula(function: str, formula: Callable) -> Callable[[], Callable]:
    def body(ref, *args, **kwargs):
        expected = ref(*args, **kwargs)  # the reference's input checks: bad input raises as it should
        return _conform(expected, formula(*args, **kwargs))

    return _wrapping(function, body)


def _silent(function: str) -> Callable[[], Callable]:
    def body(ref, *args, **kwargs):
        try:
            return ref(*args, **kwargs)
        except ValueError:
            return math.nan

    return _wrapping(function, body)


def _scalar_only(function: str, *params: str) -> Callable[[], Callable]:
    """Correct for scalars; ``float()`` of each of ``params`` first, which fails on lists and arrays."""
    signature = inspect.signature(getattr(reference, function))

    def body(ref, *args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        for name in params:
            if name in bound.arguments:
                bound.arguments[name] = float(bound.arguments[name])
        return ref(*bound.args, **bound.kwargs)

    return _wrapping(function, body)


def _refusing(function: str, refuse: Callable[[inspect.BoundArguments], str | None]) -> Callable[[], Callable]:
    """Correct, except that it raises ValueError(message) on valid input where ``refuse`` gives one."""
    signature = inspect.signature(getattr(reference, function))

    def body(ref, *args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        message = refuse(bound)
        if message:
            raise ValueError(message)
        return ref(*args, **kwargs)

    return _wrapping(function, body)


def _accepting(function: str, accept: Callable[[inspect.BoundArguments], Any]) -> Callable[[], Callable]:
    """Correct, except that it returns ``accept(bound)`` instead of raising where that is not None."""
    signature = inspect.signature(getattr(reference, function))

    def body(ref, *args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        answer = accept(bound)
        return ref(*args, **kwargs) if answer is None else answer

    return _wrapping(function, body)


def _not_finite(value: Any) -> bool:
    try:
        return not bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))
    except (TypeError, ValueError):
        return False


def _exact_sum(name: str) -> Callable[[inspect.BoundArguments], str | None]:
    def refuse(bound: inspect.BoundArguments) -> str | None:
        value = np.asarray(bound.arguments[name], dtype=np.float64)
        sums = value.sum(axis=bound.arguments.get("axis", -1))
        return f"{name} must sum to exactly 1" if np.any(sums != 1.0) else None

    return refuse


TYPE_ERROR = "raised TypeError"
REFUSED = "raised ValueError"
NOT_RAISED = "instead of raising ValueError"

# (name, function, misconception, feedback mention, factory): correct functions that each break one
# stated convention about which inputs are accepted (arrays, 1-D batches, integral floats, sums
# within 1e-6) or rejected (non-finite values).
LAPSES: tuple[tuple[str, str, str, str, Callable[[], Callable]], ...] = (
    ("quantize_scalar_scale_only", "quantize", "per-channel scales rejected: scale converted with float()",
     TYPE_ERROR, _scalar_only("quantize", "scale")),
    ("dequantize_scalar_scale_only", "dequantize", "per-channel scales rejected: scale converted with float()",
     TYPE_ERROR, _scalar_only("dequantize", "scale")),
    ("quantize_int_bits_only", "quantize", "bits 8.0 rejected: only a Python int is taken as an integer",
     REFUSED, _refusing("quantize", lambda b: None if isinstance(b.arguments["bits"], int)
                        else f"bits must be an int, got {b.arguments['bits']!r}")),
    ("dequantize_int_codes_only", "dequantize", "integer codes given as floats (3.0) rejected",
     REFUSED, _refusing("dequantize", lambda b: "q must have an integer dtype"
                        if np.asarray(b.arguments["q"]).dtype.kind == "f" else None)),
    ("quantize_accepts_non_finite_x", "quantize", "non-finite x silently quantized (NaN becomes a code)",
     NOT_RAISED, _accepting("quantize", lambda b: np.zeros(np.shape(b.arguments["x"]), dtype=np.int64)
                            if _not_finite(b.arguments["x"]) else None)),
    ("effective_bits_scalar_only", "effective_bits", "lists and arrays of bits rejected: float(bits)",
     TYPE_ERROR, _scalar_only("effective_bits", "bits", "scale_bits")),
    ("adam_state_gb_scalar_only", "adam_state_gb", "lists and arrays of counts rejected: float(n_trainable)",
     TYPE_ERROR, _scalar_only("adam_state_gb", "n_trainable", "n_moments")),
    ("finetune_memory_gb_scalar_only", "finetune_memory_gb", "lists and arrays rejected: float(n_frozen)",
     TYPE_ERROR, _scalar_only("finetune_memory_gb", "n_frozen", "n_trainable", "frozen_bits")),
    ("distillation_loss_2d_only", "distillation_loss", "a 1-D input (a batch of one) rejected",
     REFUSED, _refusing("distillation_loss", lambda b: "student_logits must be 2-D"
                        if np.ndim(b.arguments["student_logits"]) != 2 else None)),
    ("distillation_loss_int_labels_only", "distillation_loss", "integer labels given as floats rejected",
     REFUSED, _refusing("distillation_loss", lambda b: "labels must have an integer dtype"
                        if np.asarray(b.arguments["labels"]).dtype.kind == "f" else None)),
    ("kd_loss_accepts_non_finite_tau", "kd_loss", "tau = inf or NaN silently accepted (returns 0.0)",
     NOT_RAISED, _accepting("kd_loss", lambda b: 0.0 if _not_finite(b.arguments["tau"]) else None)),
    ("softmax_accepts_non_finite_tau", "softmax", "tau = inf or NaN silently accepted (a uniform answer)",
     NOT_RAISED, _accepting("softmax", lambda b: np.full(np.shape(b.arguments["logits"]),
                                                        1 / max(np.shape(b.arguments["logits"])[-1:] or (1,)))
                            if _not_finite(b.arguments["tau"]) else None)),
    ("distillation_loss_accepts_non_finite_tau", "distillation_loss", "tau = inf or NaN silently accepted",
     NOT_RAISED, _accepting("distillation_loss", lambda b: 0.0 if _not_finite(b.arguments["tau"]) else None)),
    ("kl_divergence_exact_sums", "kl_divergence", "sums within 1e-6 of 1 rejected: exact equality",
     REFUSED, _refusing("kl_divergence", _exact_sum("p"))),
    ("entropy_exact_sums", "entropy", "sums within 1e-6 of 1 rejected: exact equality",
     REFUSED, _refusing("entropy", _exact_sum("p"))),
)


def generated() -> list[WrongImplementation]:
    """The generated entries: one per diagnosed misconception, one silent per function, the lapses."""
    found = []
    for name, spec in checks.SPECS.items():
        for mistake, formula in spec.mistakes.items():
            found.append(WrongImplementation(f"{name}__{checks.misconception_slug(mistake)}", name, mistake, mistake,
                                             factory=_formula(name, formula)))
        found.append(WrongImplementation(f"{name}__silent_nan", name, "bad input silently returns NaN",
                                         NOT_RAISED, factory=_silent(name)))
    for name, function, misconception, mentions, factory in LAPSES:
        found.append(WrongImplementation(name, function, misconception, mentions, factory=factory))
    return found


def everything(folder: Path = DEFAULT_FOLDER) -> list[WrongImplementation]:
    """The whole bank: written and generated entries."""
    return load_bank(folder) + generated()

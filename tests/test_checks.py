"""Test the tests: every hidden grading check against the reference (must pass, quietly), the stub
(must fail) and the bank of known-wrong implementations (each must fail its own exercise, name its
misconception, and leave every other exercise alone). The capstone's new functions are graded alike:
each of its parts 2-4 is a unit of its own, as an exercise is."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from grader.course import capstone, checks, reference
from grader.course.bank import everything

HIDDEN = [t for t in capstone.ALL_TESTS if t.hidden]
HIDDEN_IDS = [t.grade_id for t in HIDDEN]
REFERENCE = {name: getattr(reference, name) for name in capstone.ALL_FUNCTIONS}
BANK = everything()  # written and generated entries


def _stub(name: str):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    stub.__name__ = name
    return stub


STUB = {name: _stub(name) for name in capstone.ALL_FUNCTIONS}


def failures(namespace, grade_ids=HIDDEN_IDS) -> dict[str, str]:
    """grade_id -> failure message for every hidden check (of ``grade_ids``) that fails on ``namespace``."""
    found = {}
    for grade_id in grade_ids:
        try:
            checks.run(grade_id, namespace)
        except AssertionError as err:
            found[grade_id] = str(err)
    return found


def test_one_public_check_per_hidden_test_cell():
    public = {name for name, obj in vars(checks).items()
              if inspect.isfunction(obj) and obj.__module__ == checks.__name__ and not name.startswith("_")}
    assert public - checks.NOT_CHECKS == set(HIDDEN_IDS)
    for helper in checks.NOT_CHECKS:
        with pytest.raises(KeyError):
            checks.run(helper, {})


@pytest.mark.parametrize("test", HIDDEN, ids=HIDDEN_IDS)
def test_check_takes_the_functions_of_its_exercise(test):
    params = list(inspect.signature(getattr(checks, test.grade_id)).parameters)
    assert test.function in params
    assert set(params) <= set(capstone.unit_of(test.grade_id).functions)


@pytest.mark.parametrize("grade_id", HIDDEN_IDS)
def test_check_passes_on_the_reference_without_output_or_warnings(grade_id, capsys, recwarn):
    checks.run(grade_id, REFERENCE)
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    assert not recwarn.list, [str(w.message) for w in recwarn.list]


@pytest.mark.parametrize("grade_id", HIDDEN_IDS)
def test_check_fails_on_the_stub(grade_id):
    with pytest.raises(AssertionError, match="raised NotImplementedError"):
        checks.run(grade_id, STUB)


def test_run_rejects_unknown_names():
    for name in ("quantize_seed_example", "run", "_agree", "nonexistent"):
        with pytest.raises(KeyError):
            checks.run(name, REFERENCE)


def test_bank_covers_every_exercise_and_capstone_part():
    per_unit = {unit.title: 0 for unit in capstone.UNITS}
    for wrong in BANK:
        per_unit[capstone.unit_of(wrong.function).title] += 1
    assert min(per_unit.values()) >= 2, per_unit


@pytest.mark.parametrize("wrong", BANK, ids=[w.name for w in BANK])
def test_bank_entry_has_the_spec_signature(wrong):
    def shape(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert shape(wrong.load()) == shape(getattr(reference, wrong.function))


@pytest.mark.parametrize("wrong", BANK, ids=[w.name for w in BANK])
def test_wrong_implementation_fails_its_exercise_only_and_names_its_misconception(wrong):
    own = capstone.unit_of(wrong.function)
    # A check takes the functions of its own exercise only (test_check_takes_the_functions_of_its_exercise),
    # so a wrong function can cost points nowhere else: run the checks of its exercise.
    failed = failures({**REFERENCE, wrong.function: wrong.load()},
                      [t.grade_id for t in own.tests if t.hidden])
    assert failed, f"{wrong.name} passes every check of {own.title!r}"
    mention = wrong.feedback_mentions.lower()
    assert any(mention in message.lower() for message in failed.values()), (
        f"no failure message of {wrong.name} mentions {wrong.feedback_mentions!r}:\n" + "\n".join(failed.values())
    )


@pytest.mark.parametrize("message, name", [
    ("zero_point must be an integer", "zero_point"), ("Zero point out of range", "zero_point"),
    ("zero-point must lie in [0, 255]", "zero_point"), ("the scales must be positive", "scale"),
    ("each label must be an integer", "labels"), ("no activation to cover", "activations"),
    ("'x_min' is larger than 'x_max'", "x_max"), ("bad value: scale=0.0", "scale"),
])
def test_a_message_names_the_argument_in_any_natural_spelling(message, name):
    assert checks._names(message, name)


@pytest.mark.parametrize("message, name", [
    ("the value must be positive", "scale"), ("rescaled input is invalid", "scale"),
    ("upscaled", "scale"), ("must be finite", "x"), ("max_abs is negative", "x_max"),
])
def test_a_message_that_does_not_name_the_argument_is_refused(message, name):
    assert not checks._names(message, name)


def test_the_round_trip_cannot_be_answered_from_memory():
    """A floor-rounding pair that remembers its arguments passes a naive round trip; not the check."""
    seen: dict[float, int] = {}
    last: dict[str, object] = {}

    def dequantize(q, scale, zero_point=0):
        if "x" in last:  # give back what quantize was called with: no rounding error at all
            return np.asarray(last.pop("x"), dtype=np.float64)
        x = reference.dequantize(q, scale, zero_point)
        seen.update(zip(np.ravel(x).tolist(), np.ravel(q).tolist(), strict=True))
        return x

    def quantize(x, scale, zero_point=0, bits=8, signed=True):
        qmin, qmax = reference.qrange(bits, signed)
        floor = np.clip(np.floor(np.asarray(x, dtype=np.float64) / scale) + zero_point, qmin, qmax)
        codes = [seen.get(v, c) for v, c in zip(np.ravel(x).tolist(), floor.ravel().tolist(), strict=True)]
        last["x"] = x
        return np.asarray(codes, dtype=np.int64).reshape(np.shape(x))

    # The naive round trip (dequantize every code, quantize the result, in order) is fooled:
    codes = np.arange(-8, 8)
    assert (quantize(dequantize(codes, 0.1), 0.1, bits=4) == codes).all()
    last.clear()
    inside = np.random.default_rng(0).uniform(-0.8, 0.7, size=50)
    assert np.abs(dequantize(quantize(inside, 0.1, bits=4), 0.1) - inside).max() <= 0.05
    seen.clear()
    last.clear()
    with pytest.raises(AssertionError, match="must give every code q back|on the grid"):
        checks.quantize_dequantize_roundtrip(quantize, dequantize)


@pytest.mark.parametrize("name", sorted(checks._VALID))
def test_rejecting_bad_input_earns_nothing_without_answering_good_input(name):
    """An always-raising function fails every rejects check: valid input is asked first."""
    (grade_id,) = [t.grade_id for t in capstone.ALL_TESTS if t.function == name and "rejects" in t.grade_id]

    def always_raises(*args, **kwargs):
        raise ValueError("every argument is wrong: " + " ".join(inspect.signature(getattr(reference, name)).parameters))

    with pytest.raises(AssertionError, match="valid input|raised ValueError"):
        checks.run(grade_id, {**REFERENCE, name: always_raises})

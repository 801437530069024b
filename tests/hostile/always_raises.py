"""Every function raises ValueError naming all its arguments, except on the call each hidden test cell shows.

Rejecting bad input is graded together with accepting good input (every rejects check first asks
for a valid call drawn from the secret seed), so refusing everything earns nothing: not the visible
seed examples (refused too), not the rejects checks, not the rest.
"""

import ast

from grader.course.contract import FUNCTIONS, TESTS

from ._build import cell, extend, write

DESCRIPTION = "every function raises ValueError naming every argument, except on the calls hidden cells show"
EXPECTED_SCORE = 0
EXPECTED_STATUS = "graded"

HIDDEN = {t.grade_id for t in TESTS if t.hidden}


def shown_calls(release: dict) -> dict[str, list[str]]:
    """Function -> repr((args, kwargs)) of the literal calls the hidden test cells show."""
    found: dict[str, list[str]] = {f: [] for f in FUNCTIONS}
    for gid in HIDDEN:
        source = cell(release, gid)["source"]
        for node in ast.walk(ast.parse("".join(source) if isinstance(source, list) else source)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in found:
                try:
                    args = tuple(ast.literal_eval(a) for a in node.args)
                    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
                except ValueError:  # not a literal, e.g. quantize(...) nested in dequantize(...)
                    continue
                found[node.func.id].append(repr((args, kwargs)))
    return found


def build(perfect, release, folder):
    for function, allowed in shown_calls(release).items():
        extend(perfect, function, f'''
            _honest_{function} = {function}
            _SHOWN_{function} = {allowed!r}


            def {function}(*args, **kwargs):
                try:
                    shown = repr((tuple(args), dict(kwargs))) in _SHOWN_{function}
                except Exception:
                    shown = False
                if shown:
                    return _honest_{function}(*args, **kwargs)
                raise ValueError("every argument is wrong: " + " ".join(_honest_{function}.__code__.co_varnames[:8]))
            ''')
    write(perfect, folder)

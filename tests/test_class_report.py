"""The class report: item statistics checked against a class worked by hand, and the page end to end.

The end-to-end tests build a course in tmp_path: a four-cell contract, a gradebook written with
nbgrader's Gradebook API, hand-written autograded notebooks whose test cells carry verdict metadata
(one without, as older grading left them) and a summary.json; then run the report's CLI and read the
HTML it writes. Nothing is graded, no kernel starts.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import re
import shutil
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from grader.publish import class_report, items
from grader.publish.class_report import anchor, parse_verdict, repair_kind

# ------------------------------------------------------------------ (a) item statistics by hand

# Six students, four test cells worth 1, 2, 1, 1 points, scored all or nothing as autograded cells are:
#
#            I1  I2  I3  I4   total
#   A         1   2   1   1     5
#   B         1   2   0   1     4
#   C         1   2   0   0     3
#   D         1   0   0   1     2
#   E         0   0   0   1     1
#   F         0   0   0   1     1
SCORES = np.array([[1, 2, 1, 1], [1, 2, 0, 1], [1, 2, 0, 0], [1, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1]], dtype=float)
MAX_POINTS = [1, 2, 1, 1]
NAMES = ["I1", "I2", "I3", "I4"]

# Pass rates: I1 4/6, I2 3/6, I3 1/6, I4 5/6.
PASS_RATE = [4 / 6, 3 / 6, 1 / 6, 5 / 6]

# Point-biserial of the pass x with the rest score y = total - the item's points, population moments:
# r = (mean(xy) - mean(x) mean(y)) / sqrt(var(x) var(y)).
#   I1: x = 111100, y = 4 3 2 1 1 1: mean x 2/3, mean y 2, mean xy 10/6, cov 10/6 - 4/3 = 1/3,
#       var x 2/9, var y 32/6 - 4 = 4/3, r = (1/3) / sqrt(8/27) = sqrt(3/8) = 0.6124
#   I2: x = 111000, y = 3 2 1 2 1 1: mean x 1/2, mean y 5/3, mean xy 1, cov 1 - 5/6 = 1/6,
#       var x 1/4, var y 20/6 - 25/9 = 5/9, r = (1/6) / (sqrt(5)/6) = 1/sqrt(5) = 0.4472
#   I3: x = 100000, y = 4 4 3 2 1 1: mean x 1/6, mean y 5/2, mean xy 2/3, cov 2/3 - 5/12 = 1/4,
#       var x 5/36, var y 47/6 - 25/4 = 19/12, r = (1/4) / sqrt(95/432) = sqrt(27/95) = 0.5331
#   I4: x = 110111, y = 4 3 3 1 0 0: mean x 5/6, mean y 11/6, mean xy 8/6, cov 8/6 - 55/36 = -7/36,
#       var x 5/36, var y 35/6 - 121/36 = 89/36, r = (-7/36) / sqrt(445/1296) = -7/sqrt(445) = -0.3318
POINT_BISERIAL = [0.6124, 0.4472, 0.5331, -0.3318]
assert np.allclose(POINT_BISERIAL, [math.sqrt(3 / 8), 1 / math.sqrt(5), math.sqrt(27 / 95), -7 / math.sqrt(445)],
                   atol=5e-5)

# Upper-lower 27%: groups of ceil(0.27 * 6) = ceil(1.62) = 2; by total, upper = {A, B}, lower = {E, F}.
#   I1: 2/2 - 0/2 = 1;  I2: 2/2 - 0/2 = 1;  I3: 1/2 - 0/2 = 0.5;  I4: 2/2 - 2/2 = 0
UPPER_LOWER = [1.0, 1.0, 0.5, 0.0]


def test_item_statistics_match_the_hand_computation():
    stats = items.item_statistics(SCORES, MAX_POINTS, NAMES, min_students=5)
    assert [s.name for s in stats] == NAMES
    assert [s.pass_rate for s in stats] == pytest.approx(PASS_RATE)
    assert [s.point_biserial for s in stats] == pytest.approx(POINT_BISERIAL, abs=5e-5)
    assert [s.upper_lower for s in stats] == pytest.approx(UPPER_LOWER)
    # Mean score fraction equals the pass rate without partial credit.
    assert [s.mean_fraction for s in stats] == pytest.approx(PASS_RATE)


def test_the_hard_and_the_non_discriminating_cells_are_flagged():
    stats = {s.name: s.flags for s in items.item_statistics(SCORES, MAX_POINTS, NAMES, min_students=5)}
    assert stats == {"I1": (), "I2": (), "I3": (items.HARD,), "I4": (items.NO_DISCRIMINATION,)}
    with_easy = {s.name: s.flags for s in items.item_statistics(SCORES, MAX_POINTS, NAMES, min_students=5, easy=0.8)}
    assert with_easy["I4"] == (items.EASY, items.NO_DISCRIMINATION)  # 5/6 > 0.8


def test_discrimination_is_not_judged_on_a_small_class():
    stats = items.item_statistics(SCORES, MAX_POINTS, NAMES)  # min_students=10 > 6
    assert [s.flags for s in stats] == [(), (), (items.HARD,), ()]


def test_discrimination_is_undefined_when_everybody_or_nobody_passes():
    scores = np.column_stack([SCORES[:, 0], np.ones(6), np.zeros(6)])
    stats = items.item_statistics(scores, [1, 1, 1], min_students=5)
    for s in stats[1:]:
        assert s.point_biserial is None and s.upper_lower is None
    assert stats[1].flags == () and stats[2].flags == (items.HARD,)  # nobody passes: p = 0 < 0.2


def test_partial_credit_is_not_a_pass():
    stats = items.item_statistics(np.array([[1.0], [0.5], [0.0]]), [1])
    assert stats[0].pass_rate == pytest.approx(1 / 3)
    assert stats[0].mean_fraction == pytest.approx(0.5)


def test_upper_lower_shares_places_tied_at_the_cut_whatever_the_order():
    # Totals 2, 1, 1, 0; groups of ceil(0.27 * 4) = 2. Upper: the 2 and half of each 1; lower: the 0 and half
    # of each 1. Passes 1, 1, 0, 0: upper (1 + 0.5 * 1 + 0.5 * 0) / 2 = 0.75, lower (0 + 0.5 * 1 + 0.5 * 0) / 2
    # = 0.25, D = 0.5.
    passed, totals = np.array([1, 1, 0, 0]), np.array([2.0, 1.0, 1.0, 0.0])
    for order in itertools.permutations(range(4)):
        assert items.upper_lower(passed[list(order)], totals[list(order)]) == pytest.approx(0.5)


def test_group_size_is_ceil_27_percent():
    assert [items.group_size(n) for n in (1, 4, 6, 10, 100)] == [1, 2, 2, 3, 27]  # 0.27 * 100 is not 28


def test_describe_the_totals():
    # Totals 5 4 3 2 1 1 sorted 1 1 2 3 4 5: mean 16/6, median (2 + 3)/2, Q1 at position 1.25 -> 1.25,
    # Q3 at 3.75 -> 3.75; squared deviations from 8/3 sum to 40/3, sample variance 40/15 = 8/3.
    d = items.describe(SCORES.sum(axis=1))
    assert (d.n, d.min, d.max) == (6, 1.0, 5.0)
    assert (d.mean, d.median, d.q1, d.q3) == pytest.approx((8 / 3, 2.5, 1.25, 3.75))
    assert d.std == pytest.approx(math.sqrt(8 / 3))
    assert items.describe([7.0]).std == 0.0


def test_group_totals_sum_each_exercise():
    assert items.group_totals(SCORES, [[0, 1], [2, 3]]).tolist() == [[3, 2], [3, 1], [3, 0], [1, 1], [0, 1], [0, 1]]


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="one per item"):
        items.item_statistics(SCORES, [1, 2, 1])
    with pytest.raises(ValueError, match="more than 0"):
        items.item_statistics(SCORES, [1, 0, 1, 1])


# ------------------------------------------------------------------ reading verdicts and repairs


def test_parse_verdict_keeps_what_it_can():
    v = parse_verdict({"grade_id": "g", "passed": False, "kind": "mismatch", "message": "expected 2",
                       "misconceptions": [{"id": "q.floor", "label": "floor"}, {"label": "no id"}, "junk"]})
    assert v.kind == "mismatch" and v.message == "expected 2"
    assert [(m.id, m.label) for m in v.misconceptions] == [("q.floor", "floor")]
    assert parse_verdict({"passed": True}) is None and parse_verdict("passed") is None


@pytest.mark.parametrize(("problem", "kind"), [
    ("ignored extra files: data.csv, notes.txt", "ignored extra files: …"),
    ("test 'scale_rounding' was edited: source restored from the release",
     "test … was edited: source restored from the release"),
    ("duplicate cell id 'x' renamed (3 copies)", "duplicate cell id … renamed (…)"),
])
def test_repairs_are_counted_by_kind(problem, kind):
    assert repair_kind(problem) == kind


@pytest.mark.parametrize("student", ["<script>alert(1)</script>", "o'brien&co", "ünï cødé", "a b/c"])
def test_anchors_are_safe_and_distinct(student):
    assert re.fullmatch(r"student-[A-Za-z0-9_-]+", anchor(student))
    assert anchor(student) != anchor(student + "x")


@pytest.mark.parametrize(("student", "ok"), [("ada", True), ("<img src=x onerror=alert(1)>", True),
                                             ("..", False), ("../source", False), ("a\\b", False), ("", False)])
def test_only_ids_naming_one_folder_are_looked_up_in_autograded(student, ok):
    assert class_report.folder_name(student) is ok


def test_the_histogram_plots_every_student():
    ax = class_report.plot_score_histogram(np.array([10.0, 55, 55, 100]))
    assert sum(p.get_height() for p in ax.patches) == 4
    assert ax.get_title() == "Score distribution"


# ------------------------------------------------------------------ (b) the page end to end

ASSIGNMENT, NOTEBOOK = "demo", "exercises"
CONTRACT = '''\
"""A four-cell contract for the class report's tests."""
from collections import namedtuple

Test = namedtuple("Test", "grade_id points hidden")
NOTEBOOK = "exercises.ipynb"
FUNCTIONS = ("scale", "loss")
TESTS = (Test("scale_seed_example", 1, False), Test("scale_rounding", 2, True),
         Test("loss_direction", 1, True), Test("loss_stable", 1, True))
SECTIONS = {"ex1": ("scale_seed_example", "scale_rounding"), "ex2": ("loss_direction", "loss_stable")}
CHECKS = "class_report_contract"
'''
TESTS = ["scale_seed_example", "scale_rounding", "loss_direction", "loss_stable"]  # I1..I4 above
HOSTILE = "<script>alert(1)</script>"  # in the gradebook, no autograded folder (its "/" would nest)
IMG = "<img src=x onerror=alert(1)>"  # student B: a notebook and a misconception
QUOTE = "o'brien&co"  # student E: a notebook without verdicts
STUDENTS = ["ada", IMG, "carl", "dora", QUOTE, HOSTILE]  # A..F above
FLOOR = {"id": "scale.floor-instead-of-round", "label": "floor instead of round"}
FULL_RANGE = {"id": "scale.full-range", "label": "divides by 2^bits - 1"}
# student -> grade_id -> (kind, misconceptions, message) of the failed cells; the others passed.
FAILED = {
    IMG: {"loss_direction": ("mismatch", [FLOOR], "expected 2, got 1 </td><script>steal()</script>")},
    "carl": {"loss_direction": ("mismatch", [FLOOR], "expected 2, got 1"),
             "loss_stable": ("error", [], "ZeroDivisionError: division by zero")},
    "dora": {"scale_rounding": ("mismatch", [FULL_RANGE], "scale 0.1 expected, got 0.0996"),
             "loss_direction": ("rejects", [], "loss(-1) should raise ValueError")},
}
SUMMARY = {
    "ada": {"score": 5, "failure": None, "problems": [], "flags": [], "refused": False},
    IMG: {"score": 4, "failure": None, "problems": ["ignored extra files: data.csv, notes.txt"],
          "flags": ["monkeypatch", "monkeypatch"], "refused": False},
    "carl": {"score": 3, "failure": None, "problems": ["test 'scale_rounding' was edited: source restored"],
             "flags": ["file-write"], "refused": False},
    "dora": {"score": 2, "failure": None, "problems": [], "flags": [], "refused": False},
    QUOTE: {"score": 1, "failure": None, "problems": ["ignored extra files: a.py, b.py"], "flags": [],
            "refused": False},
    "<b>bold</b>*": {"score": None, "failure": "refused: a glob pattern", "problems": [], "flags": [],
                     "refused": True},
}


def autograded_notebook(student: str) -> nbformat.NotebookNode:
    """The test cells of ``student``'s autograded notebook, with verdicts unless the student is QUOTE."""
    nb = nbformat.v4.new_notebook()
    for gid, points in zip(TESTS, MAX_POINTS, strict=True):
        cell = nbformat.v4.new_code_cell(f"# {gid}")
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": gid,
                                     "points": points, "schema_version": 3}
        if student != QUOTE:
            kind, found, message = FAILED.get(student, {}).get(gid, ("passed", [], ""))
            cell.metadata["verdict"] = {"grade_id": gid, "passed": kind == "passed", "kind": kind,
                                        "misconceptions": found, "message": message}
        nb.cells.append(cell)
    return nb


def build_course(root: Path) -> Path:
    """A graded course in ``root`` (the class above); ``root`` must be on sys.path for its contract."""
    (root / "class_report_contract.py").write_text(CONTRACT, encoding="utf-8")
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()  # noqa: F821\nc.GradedAssignments.contracts = {{{ASSIGNMENT!r}: 'class_report_contract'}}\n",
        encoding="utf-8")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(NOTEBOOK, ASSIGNMENT)
        for gid, points in zip(TESTS, MAX_POINTS, strict=True):
            gb.add_grade_cell(gid, NOTEBOOK, ASSIGNMENT, max_score=points, cell_type="code")
        for student, row in zip(STUDENTS, SCORES, strict=True):
            gb.add_student(student)
            with warnings.catch_warnings():  # nbgrader's add_submission trips SQLAlchemy's autoflush warning
                warnings.simplefilter("ignore", SAWarning)
                gb.add_submission(ASSIGNMENT, student)
            for gid, score in zip(TESTS, row, strict=True):
                grade = gb.find_grade(gid, NOTEBOOK, ASSIGNMENT, student)
                grade.auto_score, grade.needs_manual_grade = float(score), False
            gb.db.commit()
        gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "dora").late_submission_penalty = 1.0
        gb.db.commit()
    for student in STUDENTS:
        if "/" not in student:
            folder = root / "autograded" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(autograded_notebook(student), folder / f"{NOTEBOOK}.ipynb")
    (root / "build" / "grading" / ASSIGNMENT).mkdir(parents=True)
    (root / "build" / "grading" / ASSIGNMENT / "summary.json").write_text(json.dumps(SUMMARY), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The course, built once (a gradebook takes seconds to write); tests change copies of it."""
    root = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(root))
        return build_course(root)


@pytest.fixture
def course(template, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the course, its contract importable."""
    root = tmp_path / "course"
    shutil.copytree(template, root)
    monkeypatch.syspath_prepend(str(root))
    return root


@pytest.fixture(scope="module")
def report(template, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("report") / "index.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(template))
        status = class_report.main(["--root", str(template), "--out", str(out), "--min-students", "5"])
    return {"status": status, "page": out.read_text(encoding="utf-8")}


def section(page: str, opening: str) -> str:
    """The HTML from ``opening`` to the next </section>."""
    assert opening in page, opening
    return page.split(opening, 1)[1].split("</section>", 1)[0]


def rows(fragment: str) -> list[str]:
    return re.findall(r"<tr[^>]*>(.*?)</tr>", fragment, re.S)


def test_the_report_is_written(report):
    assert report["status"] == 0


def test_the_console_says_what_was_found(course, monkeypatch, capsys):
    monkeypatch.chdir(course)
    assert class_report.main(["--min-students", "5"]) == 0
    out = capsys.readouterr().out
    assert "6 students, 4 test cells, 2 flagged, 2 misconceptions found (held by 3 students)" in out
    assert str(Path("build") / "report" / "index.html") in out
    assert (course / "build" / "report" / "index.html").is_file()


def test_each_misconception_is_next_to_the_students_who_hold_it(report):
    table = rows(section(report["page"], '<section id="misconceptions">'))
    floor = [r for r in table if FLOOR["id"] in r and "floor instead of round" in r]
    full = [r for r in table if FULL_RANGE["id"] in r and "divides by" in r]
    assert len(floor) == 1 and len(full) == 1
    assert html.escape(IMG) in floor[0] and ">carl<" in floor[0]
    assert ">dora<" not in floor[0] and ">ada<" not in floor[0]
    assert ">dora<" in full[0] and ">carl<" not in full[0]
    assert re.search(r'class="num">2<', floor[0])  # two students


def test_each_student_section_lists_their_failed_tests_and_misconceptions(report):
    page = report["page"]
    carl = section(page, f'<section class="student" id="{anchor("carl")}">')
    assert FLOOR["id"] in carl and "loss_stable" in carl and "ZeroDivisionError" in carl
    assert FULL_RANGE["id"] not in carl
    dora = section(page, f'<section class="student" id="{anchor("dora")}">')
    assert FULL_RANGE["id"] in dora and "late penalty 1" in dora
    unknown = section(page, f'<section class="student" id="{anchor(QUOTE)}">')
    assert "misconceptions unknown" in unknown
    assert f'href="#{anchor("carl")}"' in page  # the misconception table links to the section


def test_the_flagged_cells_are_marked_in_the_table(report):
    table = rows(section(report["page"], '<section id="tests">'))
    by_cell = {gid: next(r for r in table if f"<code>{gid}</code>" in r) for gid in TESTS}
    assert "almost nobody passes" in by_cell["loss_direction"]
    assert "does not discriminate" in by_cell["loss_stable"] and "-0.33" in by_cell["loss_stable"]
    assert "flag" not in by_cell["scale_seed_example"] and "0.61" in by_cell["scale_seed_example"]
    assert "broken or unclear test" in report["page"]


def test_integrity_flags_and_repairs_are_summarised(report):
    integrity = section(report["page"], '<section id="integrity">')
    monkeypatch = next(r for r in rows(integrity) if "monkeypatch" in r)
    assert html.escape(IMG) in monkeypatch and re.search(r'class="num">2<', monkeypatch)  # 2 findings
    extra = next(r for r in rows(integrity) if "ignored extra files: …" in r)
    assert html.escape(IMG) in extra and html.escape(QUOTE) in extra
    assert html.escape("<b>bold</b>*") in integrity and "refused: a glob pattern" in integrity


def test_the_page_is_self_contained(report):
    page = report["page"]
    assert page.count('src="data:image/png;base64,') == 3
    assert page.count("<table") >= 5
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower()  # no script of ours, none of the students'


def test_student_controlled_text_appears_only_escaped(report):
    page = report["page"]
    for raw in (HOSTILE, IMG, QUOTE, "</td><script>steal()</script>", "<b>bold</b>"):
        assert raw not in page
    for raw in (HOSTILE, IMG, QUOTE, "</td><script>steal()</script>"):
        assert html.escape(raw) in page


def test_without_a_gradebook_it_says_to_autograde(course, capsys):
    (course / "gradebook.db").unlink()
    assert class_report.main(["--root", str(course)]) == 2
    assert "run 'make autograde' first" in capsys.readouterr().err


def test_without_a_graded_submission_it_says_to_autograde(course, capsys):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            gb.remove_submission(ASSIGNMENT, student)
    assert class_report.main(["--root", str(course)]) == 2
    assert "no graded submission" in capsys.readouterr().err


def test_without_verdicts_misconceptions_are_unknown(course, tmp_path):
    for path in (course / "autograded").rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            cell.metadata.pop("verdict", None)
        nbformat.write(nb, path)
    (course / "build" / "grading" / ASSIGNMENT / "summary.json").unlink()
    out = tmp_path / "report.html"
    assert class_report.main(["--root", str(course), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "misconceptions are unknown" in page and "summary.json not found" in page
    table = rows(section(page, '<section id="tests">'))
    assert "failed 1" in next(r for r in table if "<code>loss_stable</code>" in r)  # carl, without a kind


def test_the_site_links_the_class_report_only_when_given(tmp_path):
    from grader.publish import site

    site.write_index(tmp_path, {}, report=True)
    assert f'<a href="{site.CLASS_REPORT.file}">Class report</a>' in (tmp_path / "index.html").read_text()
    site.write_index(tmp_path, {})
    assert site.CLASS_REPORT.file not in (tmp_path / "index.html").read_text()
    with pytest.raises(site.BuildError, match="make report"):
        site.build(tmp_path, tmp_path / "site", class_report=tmp_path / "missing.html")

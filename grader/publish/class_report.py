"""What the class got wrong: one offline HTML page of item analysis, misconceptions and integrity.

    python -m grader.publish.class_report [--root .] [--out build/report/index.html]

Reads what grading left behind and re-runs nothing:

    gradebook.db                     each student's score on each test cell, and the late penalty
    autograded/<student>/<assignment>/<notebook>.ipynb
                                     each test cell's verdict (cell.metadata["verdict"]: kind,
                                     misconceptions, message); a notebook graded before verdicts
                                     were recorded still counts, its misconceptions are unknown
    build/grading/<assignment>/summary.json  integrity flags, sanitizer repairs, grading failures, refused folders

and writes one self-contained HTML file for the instructor: score distributions (overall and per
exercise), a table of every test cell (pass rate, point-biserial, upper-lower 27%, flags; the math is
``grader.publish.items``), the misconceptions found with the students who hold each (for office hours),
integrity flags and repairs, and a section per student. Figures are embedded PNGs; the page loads
nothing and runs no script. Everything a student controls (ids, messages, file names) is escaped.

The page names students and their grades: keep it with the instructors, never on the students' site.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from nbgrader.api import Gradebook, MissingEntry

from grader.grading import assignments
from grader.grading.assignments import Assignment
from grader.publish import items
from grader.publish.items import Distribution, ItemStats
from grader.student.plots import use_course_style

KINDS = ("passed", "mismatch", "rejects", "warning", "error", "not_run")
UNKNOWN = "failed"  # the kind of a failed test whose notebook carries no verdict
MESSAGE_CHARS = 1000  # of a verdict's message (the grader keeps as many), shown per student
OPEN_FAILURES = 10  # a student's list of failed tests starts open up to this many


class NoGrades(Exception):
    """Nothing graded to report on; the message says what to run."""


# ------------------------------------------------------------------ reading what grading left


@dataclass(frozen=True)
class Misconception:
    id: str
    label: str


@dataclass(frozen=True)
class Verdict:
    """A test cell's verdict as the trusted grading step recorded it in the autograded notebook."""

    kind: str  # one of KINDS (anything else is shown as given)
    misconceptions: tuple[Misconception, ...]
    message: str


@dataclass
class Submission:
    student_id: str
    scores: dict[str, float]  # grade_id -> points (0 where the gradebook has none)
    late_penalty: float
    verdicts: dict[str, Verdict] | None = None  # None: no autograded notebook, or one without verdicts


@dataclass
class ClassData:
    """Everything the report shows, read once."""

    assignment: Assignment
    items: list[str]  # test grade_ids, in the contract's order
    max_points: np.ndarray  # one per item
    submissions: list[Submission]  # sorted by student id
    summary: dict[str, dict] | None  # summary.json, None when there is none

    @cached_property
    def scores(self) -> np.ndarray:
        """students x items, points."""
        return np.array([[s.scores.get(g, 0.0) for g in self.items] for s in self.submissions], dtype=float)

    @property
    def section_of(self) -> dict[str, str]:
        return {gid: name for name, gids in self.assignment.sections.items() for gid in gids}

    @property
    def sections(self) -> dict[str, list[int]]:
        """exercise -> the item columns it sums."""
        column = {gid: i for i, gid in enumerate(self.items)}
        return {name: [column[g] for g in gids if g in column] for name, gids in self.assignment.sections.items()}


def read_gradebook(db_url: str, assignment: Assignment) -> tuple[list[Submission], dict[str, float]]:
    """Each submission's test-cell scores and late penalty, and each test cell's max score.

    Raises:
        NoGrades: when the gradebook has no such assignment or no submission of it.
    """
    submissions, max_score = [], {}
    with Gradebook(db_url) as gb:
        try:
            found = gb.assignment_submissions(assignment.id)
        except MissingEntry:
            raise NoGrades(f"the gradebook has no assignment {assignment.id!r}: run 'make autograde' first") from None
        for sub in found:
            scores = {}
            try:
                nb = gb.find_submission_notebook(assignment.notebook_id, assignment.id, sub.student_id)
            except MissingEntry:
                nb = None
            for grade in nb.grades if nb is not None else ():
                if grade.name in assignment.test_ids:
                    scores[grade.name] = float(grade.score or 0.0)
                    max_score[grade.name] = float(grade.max_score)
            submissions.append(Submission(sub.student_id, scores, float(sub.late_submission_penalty or 0.0)))
    if not submissions:
        raise NoGrades(f"the gradebook holds no graded submission of {assignment.id!r}: run 'make autograde' first")
    return sorted(submissions, key=lambda s: s.student_id), max_score


def parse_verdict(raw: object) -> Verdict | None:
    """A verdict from cell metadata, or None when it is not one; odd fields are made strings."""
    if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
        return None
    found = []
    for m in raw.get("misconceptions") or ():
        if isinstance(m, dict) and isinstance(m.get("id"), str) and m["id"]:
            found.append(Misconception(m["id"], str(m.get("label") or m["id"])))
    return Verdict(raw["kind"][:40], tuple(found), str(raw.get("message") or "")[:MESSAGE_CHARS])


def read_verdicts(path: Path, test_ids: Iterable[str]) -> dict[str, Verdict] | None:
    """grade_id -> verdict of each graded test cell of an autograded notebook; None when it has none."""
    wanted = set(test_ids)
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # missing, unreadable, not a notebook
        return None
    found = {}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("cell_type") == "code" and gid in wanted:
            verdict = parse_verdict(cell.metadata.get("verdict"))
            if verdict is not None:
                found[gid] = verdict
    return found or None


def read_summary(path: Path) -> dict[str, dict] | None:
    """summary.json of the last ``make autograde`` (student -> outcome), or None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else None


def folder_name(student_id: str) -> bool:
    """Whether ``student_id`` names one folder (not "." or "..", no separator, no NUL)."""
    return student_id not in ("", ".", "..") and not set(student_id) & {"/", "\\", "\0"}


def load(root: Path, assignment: Assignment) -> ClassData:
    """Gradebook, autograded notebooks and summary.json of the course at ``root``."""
    url = assignments.db_url(assignments.load_config(root), root)
    if assignments.is_sqlite(url) and not (root / "gradebook.db").is_file():
        raise NoGrades(f"{root / 'gradebook.db'} not found: run 'make autograde' first")
    submissions, max_score = read_gradebook(url, assignment)
    for sub in submissions:
        if folder_name(sub.student_id):  # never a path that climbs out of autograded/
            notebook = root / "autograded" / sub.student_id / assignment.id / assignment.notebook
            sub.verdicts = read_verdicts(notebook, assignment.test_ids)
    test_items = list(assignment.points)
    top = np.array([max_score.get(g, assignment.points[g]) for g in test_items], dtype=float)
    return ClassData(assignment, test_items, top, submissions,
                     read_summary(assignments.work_dir(root, assignment.id) / "summary.json"))


# ------------------------------------------------------------------ what the class got wrong


@dataclass(frozen=True)
class Thresholds:
    """When a test cell is flagged (``grader.publish.items.item_statistics``)."""

    hard: float = 0.2
    easy: float | None = None
    low_discrimination: float = 0.2
    min_students: int = 10


def analyse(data: ClassData, thresholds: Thresholds) -> list[ItemStats]:
    return items.item_statistics(data.scores, data.max_points, data.items, hard=thresholds.hard,
                                 easy=thresholds.easy, low_discrimination=thresholds.low_discrimination,
                                 min_students=thresholds.min_students)


@dataclass
class Held:
    """A misconception across the class: who holds it, on which test cells."""

    misconception: Misconception
    students: list[str] = field(default_factory=list)
    grade_ids: list[str] = field(default_factory=list)


def failed_items(data: ClassData, sub: Submission) -> list[str]:
    """The grade_ids ``sub`` has not full marks on."""
    row = np.array([sub.scores.get(g, 0.0) for g in data.items])
    return [g for g, ok in zip(data.items, items.full_marks(row, data.max_points), strict=True) if not ok]


def kind_of(sub: Submission, grade_id: str) -> str:
    """How a failed test failed: its verdict's kind, or UNKNOWN without one."""
    verdict = (sub.verdicts or {}).get(grade_id)
    return verdict.kind if verdict is not None else UNKNOWN


def misconceptions_in(sub: Submission, grade_ids: Iterable[str]) -> dict[str, Misconception]:
    """Misconception id -> misconception, for each one the verdicts of ``sub`` on ``grade_ids`` name."""
    verdicts = sub.verdicts or {}
    return {m.id: m for g in grade_ids if g in verdicts for m in verdicts[g].misconceptions}


def misconceptions_held(data: ClassData) -> list[Held]:
    """Every misconception found, most widely held first; each with its students and test cells."""
    held: dict[str, Held] = {}
    for gid in data.items:
        for sub in data.submissions:
            for m in misconceptions_in(sub, [gid]).values():
                entry = held.setdefault(m.id, Held(m))
                if sub.student_id not in entry.students:
                    entry.students.append(sub.student_id)
                if gid not in entry.grade_ids:
                    entry.grade_ids.append(gid)
    return sorted(held.values(), key=lambda h: (-len(h.students), h.misconception.id))


def repair_kind(problem: str) -> str:
    """A sanitizer repair without its particulars (quoted names, numbers, a trailing list of files)."""
    text = re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "…", problem)
    text = re.sub(r"\([^()]*\)", "(…)", text)
    text = re.sub(r": [^\s,]+(?:, [^\s,]+)+$|: [^\s,]*[./][^\s,]*$", ": …", text)
    return re.sub(r"\d+", "N", text)[:120]


# ------------------------------------------------------------------ figures


def _axes(ax: Axes | None, size: tuple[float, float] = (8, 3.4)) -> Axes:
    return ax if ax is not None else Figure(figsize=size).subplots()


def plot_score_histogram(percent: np.ndarray, ax: Axes | None = None) -> Axes:
    """Histogram of total scores in percent of the points, 5-point bins, mean and median marked."""
    ax = _axes(ax)
    colors = sns.color_palette("deep")
    ax.hist(percent, bins=np.linspace(0, 100, 21), color=colors[0], edgecolor="white")
    for value, label, color in ((np.mean(percent), "mean", colors[1]), (np.median(percent), "median", colors[2])):
        ax.axvline(value, color=color, linestyle="--", label=f"{label} {value:.0f}%")
    ax.set(xlim=(0, 100), xlabel="total score (% of the points)", ylabel="students", title="Score distribution")
    ax.legend(loc="upper left")
    return ax


def plot_exercise_scores(percent: dict[str, np.ndarray], ax: Axes | None = None) -> Axes:
    """Box plot per exercise of the students' scores in percent, each student a dot (jittered, seeded)."""
    ax = _axes(ax)
    colors = sns.color_palette("deep")
    names, values = list(percent), list(percent.values())
    ax.boxplot(values, tick_labels=names, showfliers=False, medianprops={"color": colors[1]},
               boxprops={"color": colors[0]}, whiskerprops={"color": colors[0]}, capprops={"color": colors[0]})
    jitter = np.random.default_rng(0)
    for i, v in enumerate(values, start=1):
        ax.scatter(i + jitter.uniform(-0.15, 0.15, len(v)), v, color=colors[7], s=9, alpha=0.6, zorder=3)
    ax.set(ylim=(-5, 105), xlabel="exercise", ylabel="score (% of its points)", title="Scores per exercise")
    return ax


def plot_item_map(stats: list[ItemStats], thresholds: Thresholds, ax: Axes | None = None) -> Axes:
    """Each test cell at (pass rate, point-biserial); flagged ones in red. Undefined r_pb is left out."""
    ax = _axes(ax)
    colors = sns.color_palette("deep")
    shown = [s for s in stats if s.point_biserial is not None]
    for flagged, color, label in ((False, colors[0], "test cell"), (True, colors[3], "flagged")):
        group = [s for s in shown if bool(s.flags) == flagged]
        ax.scatter([s.pass_rate for s in group], [s.point_biserial for s in group], color=color, label=label,
                   s=28, alpha=0.8)
    ax.axhline(thresholds.low_discrimination, color=colors[7], linestyle=":")
    ax.axvline(thresholds.hard, color=colors[7], linestyle=":")
    ax.set(xlim=(-0.02, 1.02), ylim=(-1.02, 1.02), xlabel="pass rate", ylabel="point-biserial",
           title="Test cells: how many pass, and whether passing goes with the rest of the score")
    ax.legend(loc="lower left")
    return ax


def png_uri(draw: Callable[[Axes], Axes], size: tuple[float, float] = (8, 3.4)) -> str:
    """``draw`` on a new Axes in the course style, as a data:image/png;base64 URI."""
    with matplotlib.rc_context():  # the course style for this figure only
        use_course_style()
        fig = Figure(figsize=size, dpi=100)
        draw(fig.subplots())
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# ------------------------------------------------------------------ the page

CSS = """\
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 72em;
  margin: 0 auto; padding: 0 1.5em 3em; color: #212121; line-height: 1.5; }
nav.toc { display: flex; flex-wrap: wrap; gap: 1.5em; padding: 0.6em 0; border-bottom: 1px solid #ddd; }
a { color: #1976d2; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1em; font-size: 0.95em; }
th, td { text-align: left; padding: 0.3em 0.6em; border-bottom: 1px solid #e0e0e0; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.flagged td { background: #fdecea; }
.flag { display: inline-block; padding: 0 0.4em; border-radius: 3px; background: #c62828; color: white;
  font-size: 0.85em; margin: 0 0.2em 0.2em 0; }
.note { color: #555; }
img.figure { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
section.student { border-top: 1px solid #ddd; margin-top: 1.5em; }
code { font-size: 0.92em; overflow-wrap: anywhere; }
#tests td:nth-child(2) code, section.student td:first-child code { white-space: nowrap; }
#tests td:last-child { min-width: 16em; overflow-wrap: anywhere; }
.message { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 0.85em; color: #444; }"""


def esc(value: object) -> str:
    """``value`` as HTML text (quotes too, so it is safe in an attribute)."""
    return html.escape(str(value), quote=True)


def num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def pct(fraction: float | None) -> str:
    return "–" if fraction is None else f"{100 * fraction:.0f}%"


def anchor(student_id: str) -> str:
    """A stable, HTML-safe fragment id for a student's section, whatever the id holds."""
    slug = re.sub(r"[^A-Za-z0-9_-]", "_", student_id)[:40]
    return f"student-{slug}-{hashlib.sha1(student_id.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def student_link(student_id: str) -> str:
    return f'<a href="#{anchor(student_id)}">{esc(student_id)}</a>'


def table(header: list[str], rows: list[list[str]], numeric: Iterable[int] = (),
          row_class: list[str] | None = None) -> str:
    """An HTML table; ``rows`` hold HTML already escaped; ``numeric`` columns are right-aligned."""
    right = set(numeric)

    def cell(tag: str, i: int, content: str) -> str:
        return f'<{tag} class="num">{content}</{tag}>' if i in right else f"<{tag}>{content}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{row_class[r]}"' if row_class and row_class[r] else ""
        body.append(f"<tr{cls}>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(alt: str, uri: str) -> str:
    return f'<img class="figure" alt="{esc(alt)}" src="{uri}">'


def distribution_row(label: str, d: Distribution, top: float) -> list[str]:
    return [esc(label), f"{top:g}", num(d.mean), pct(d.mean / top), num(d.median), num(d.std), num(d.q1),
            num(d.q3), num(d.min), num(d.max)]


def section_scores(data: ClassData) -> str:
    scores, total = data.scores, float(data.max_points.sum())
    raw = scores.sum(axis=1)
    final = np.maximum(0.0, raw - np.array([s.late_penalty for s in data.submissions]))
    sections = data.sections
    per_ex = items.group_totals(scores, list(sections.values()))
    ex_max = {name: float(data.max_points[cols].sum()) for name, cols in sections.items()}
    rows = [distribution_row("total", items.describe(raw), total)]
    if np.any(final != raw):
        rows.append(distribution_row("total after late penalty", items.describe(final), total))
    percent = {}
    for j, (name, cols) in enumerate(sections.items()):
        if cols:
            rows.append(distribution_row(name, items.describe(per_ex[:, j]), ex_max[name]))
            percent[name] = 100 * per_ex[:, j] / ex_max[name]
    header = ["", "points", "mean", "mean %", "median", "std", "Q1", "Q3", "min", "max"]
    return (
        '<section id="scores"><h2>Scores</h2>'
        f"<p>{len(data.submissions)} graded submissions; {total:g} points in {len(data.items)} test cells. "
        "Points before the late penalty unless said otherwise; std is the sample standard deviation, "
        "quartiles are interpolated.</p>"
        + table(header, rows, numeric=range(1, 10))
        + figure("Histogram of total scores", png_uri(lambda ax: plot_score_histogram(100 * raw / total, ax)))
        + figure("Scores per exercise", png_uri(lambda ax: plot_exercise_scores(percent, ax), (10, 3.6)))
        + "</section>"
    )


def _counts(counter: Counter) -> str:
    return ", ".join(f"{esc(k)} {n}" for k, n in counter.most_common())


def section_items(data: ClassData, stats: list[ItemStats], thresholds: Thresholds) -> str:
    section_of = data.section_of
    flagged = [s for s in stats if s.flags]
    easy = (f"; <em>{items.FLAG_LABELS[items.EASY]}</em>: pass rate above {thresholds.easy:g}"
            if thresholds.easy is not None else "")
    explain = (
        "<p>Pass rate: the share of students with full marks on the cell. Point-biserial: the correlation "
        "of passing the cell with the score on all the <em>other</em> cells. Upper-lower 27%: the pass rate "
        f"of the top {items.group_size(len(data.submissions))} students by total minus that of the bottom "
        f"{items.group_size(len(data.submissions))} (ceil(27% of the class); ties at the cut share places). "
        "Both are left blank (–) for a cell that everybody or nobody passes.</p>"
        f"<p>Flags: <em>{items.FLAG_LABELS[items.HARD]}</em>: pass rate below {thresholds.hard:g}{easy}; "
        f"<em>{items.FLAG_LABELS[items.NO_DISCRIMINATION]}</em>: point-biserial or upper-lower below "
        f"{thresholds.low_discrimination:g}, judged only with at least {thresholds.min_students} students. "
        "<strong>A flagged cell is most often a broken or unclear test</strong> (it rejects correct answers, "
        "depends on an earlier cell, or its message does not say what is wrong), not a hard topic: read the "
        "cell and a few failing notebooks before changing the lesson.</p>"
    )
    passed = items.full_marks(data.scores, data.max_points)
    rows, classes = [], []
    for i, s in enumerate(stats):
        failing = [sub for sub, ok in zip(data.submissions, passed[:, i], strict=True) if not ok]
        kinds = Counter(kind_of(sub, s.name) for sub in failing)
        seen = Counter(m for sub in failing for m in misconceptions_in(sub, [s.name]))
        flags = "".join(f'<span class="flag">{esc(items.FLAG_LABELS[f])}</span>' for f in s.flags)
        rows.append([esc(section_of.get(s.name, "")), f"<code>{esc(s.name)}</code>", f"{s.max_points:g}",
                     "hidden" if s.name in data.assignment.hidden else "", pct(s.pass_rate), pct(s.mean_fraction),
                     num(s.point_biserial), num(s.upper_lower), flags, _counts(kinds), _counts(seen)])
        classes.append("flagged" if s.flags else "")
    header = ["exercise", "test cell", "points", "", "pass rate", "mean score", "point-biserial",
              "upper-lower 27%", "flags", "how it failed", "misconceptions"]
    summary = (f"<p><strong>{len(flagged)} of {len(stats)} test cells flagged</strong>"
               + (": " + ", ".join(f"<code>{esc(s.name)}</code>" for s in flagged) if flagged else "") + ".</p>")
    return (
        '<section id="tests"><h2>Test cells</h2>' + summary + explain
        + figure("Pass rate against point-biserial per test cell",
                 png_uri(lambda ax: plot_item_map(stats, thresholds, ax)))
        + table(header, rows, numeric=(2, 4, 5, 6, 7), row_class=classes) + "</section>"
    )


def section_misconceptions(data: ClassData) -> str:
    without = [s.student_id for s in data.submissions if s.verdicts is None]
    out = ['<section id="misconceptions"><h2>Misconceptions</h2>']
    if len(without) == len(data.submissions):
        out.append("<p>No autograded notebook carries verdicts (graded before verdicts were recorded): the "
                   "misconceptions are unknown. Run <code>make autograde</code> again to record them.</p>")
        return "".join(out) + "</section>"
    section_of, order = data.section_of, list(data.assignment.sections)
    out.append("<p>Each misconception a check recognised in a failing answer, with the students who hold it "
               "(counted once per student).</p>")
    rows = []
    for h in misconceptions_held(data):
        exercises = [name for name in order if any(section_of.get(g) == name for g in h.grade_ids)]
        rows.append([f"<code>{esc(h.misconception.id)}</code>", esc(h.misconception.label), esc(", ".join(exercises)),
                     "<br>".join(f"<code>{esc(g)}</code>" for g in h.grade_ids), str(len(h.students)),
                     ", ".join(student_link(s) for s in sorted(h.students))])
    out.append(table(["misconception", "what it is", "exercise", "test cells", "students", "who"], rows,
                     numeric=(4,)) if rows else "<p>None found: no verdict names a misconception.</p>")
    per_exercise = []
    for name, gids in data.assignment.sections.items():
        found = [misconceptions_in(sub, gids) for sub in data.submissions]
        counts = Counter(m for held in found for m in held)
        per_exercise.append([esc(name), str(sum(1 for held in found if held)),
                             ", ".join(f"<code>{esc(m)}</code> {n}" for m, n in counts.most_common())])
    out.append("<h3>Per exercise</h3>"
               + table(["exercise", "students with a misconception", "misconceptions (students)"], per_exercise,
                       numeric=(1,)))
    if without:
        out.append(f'<p class="note">{len(without)} notebook(s) carry no verdicts; their misconceptions are '
                   f"unknown: {', '.join(student_link(s) for s in without)}.</p>")
    return "".join(out) + "</section>"


def _who(students: Iterable[str], graded: set[str]) -> str:
    """Students as links to their sections (plain text for those not in the gradebook)."""
    return ", ".join(student_link(s) if s in graded else esc(s) for s in sorted(students))


def section_integrity(data: ClassData) -> str:
    out = ['<section id="integrity"><h2>Integrity flags and repairs</h2>']
    graded = {s.student_id for s in data.submissions}
    late = [s for s in data.submissions if s.late_penalty]
    if late:
        out.append("<h3>Late penalties</h3>" + table(
            ["student", "late penalty"], [[student_link(s.student_id), f"{s.late_penalty:g}"] for s in late],
            numeric=(1,)))
    if data.summary is None:
        out.append("<p>build/grading/<assignment>/summary.json not found: integrity flags and sanitizer repairs are unknown "
                   "(written by <code>make autograde</code>).</p>")
        return "".join(out) + "</section>"
    summary = data.summary
    refused = {s: o for s, o in summary.items() if o.get("refused")}
    failures = {s: o["failure"] for s, o in summary.items() if o.get("failure") and s not in refused}
    flags: dict[str, list[str]] = {}
    flag_count: Counter = Counter()
    repairs: dict[str, list[str]] = {}
    for student, outcome in summary.items():
        for kind in dict.fromkeys(str(k) for k in outcome.get("flags") or ()):
            flags.setdefault(kind, []).append(student)
        flag_count.update(str(k) for k in outcome.get("flags") or ())
        for kind in dict.fromkeys(repair_kind(str(p)) for p in outcome.get("problems") or ()):
            repairs.setdefault(kind, []).append(student)
    out.append(f"<p>From the last <code>make autograde</code>: {len(failures)} grading failure(s), "
               f"{sum(1 for o in summary.values() if o.get('flags'))} submission(s) flagged for review, "
               f"{sum(1 for o in summary.values() if o.get('problems'))} repaired by the sanitizer, "
               f"{len(refused)} folder(s) refused.</p>")
    if failures:
        out.append("<h3>Grading failures</h3>" + table(
            ["student", "why (scored 0 where not graded)"],
            [[_who([s], graded), esc(f)] for s, f in sorted(failures.items())]))
    if flags:
        out.append("<h3>Integrity flags</h3><p>Code a reviewer should read (the scan flags, it does not "
                   "judge).</p>" + table(
                       ["kind", "findings", "students", "who"],
                       [[esc(k), str(flag_count[k]), str(len(v)), _who(v, graded)] for k, v in
                        sorted(flags.items(), key=lambda kv: (-len(kv[1]), kv[0]))], numeric=(1, 2)))
    if repairs:
        out.append("<h3>Sanitizer repairs</h3>" + table(
            ["repair", "students", "who"],
            [[esc(k), str(len(v)), _who(v, graded)] for k, v in
             sorted(repairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))], numeric=(1,)))
    if refused:
        out.append("<h3>Refused folders</h3><p>Not graded, not in the gradebook: rename the folder to an "
                   "accepted id to grade it.</p>" + table(
                       ["folder", "why"], [[f"<code>{esc(s)}</code>", esc(o.get("failure") or "")]
                                           for s, o in sorted(refused.items())]))
    return "".join(out) + "</section>"


def section_student(data: ClassData, sub: Submission) -> str:
    scores, section_of = sub.scores, data.section_of
    failed = failed_items(data, sub)
    raw = sum(scores.get(g, 0.0) for g in data.items)
    total = float(data.max_points.sum())
    max_of = dict(zip(data.items, data.max_points, strict=True))
    outcome = (data.summary or {}).get(sub.student_id, {})
    head = f"{raw:g} / {total:g} points ({pct(raw / total)})"
    if sub.late_penalty:
        head += f", late penalty {sub.late_penalty:g}: {max(0.0, raw - sub.late_penalty):g}"
    out = [f'<section class="student" id="{anchor(sub.student_id)}"><h3>{esc(sub.student_id)}</h3><p>{head}.']
    if outcome.get("failure"):
        out.append(f" Grading failed: {esc(outcome['failure'])}.")
    if outcome.get("flags"):
        out.append(f" Integrity flags: {esc(', '.join(sorted(set(map(str, outcome['flags'])))))}.")
    if sub.verdicts is None:
        out.append(' <span class="note">No verdicts in the autograded notebook: misconceptions unknown.</span>')
    out.append("</p>")
    if outcome.get("problems"):
        out.append("<p>Sanitizer repairs:</p><ul>" + "".join(f"<li>{esc(p)}</li>" for p in outcome["problems"])
                   + "</ul>")
    rows = []
    for name, gids in data.assignment.sections.items():
        got, top = sum(scores.get(g, 0.0) for g in gids), sum(max_of.get(g, 0.0) for g in gids)
        lost = [g for g in gids if g in failed]
        rows.append([esc(name), f"{got:g}", f"{top:g}", pct(got / top if top else None), str(len(lost)),
                     ", ".join(f"<code>{esc(m)}</code>" for m in misconceptions_in(sub, gids))])
    out.append(table(["exercise", "points", "of", "", "failed tests", "misconceptions"], rows, numeric=(1, 2, 3, 4)))
    if failed:
        rows = []
        for g in failed:
            verdict = (sub.verdicts or {}).get(g)
            rows.append([esc(section_of.get(g, "")), f"<code>{esc(g)}</code>",
                         f"{scores.get(g, 0.0):g} / {max_of[g]:g}", esc(kind_of(sub, g)),
                         "<br>".join(f"<code>{esc(m.id)}</code>: {esc(m.label)}" for m in
                                     (verdict.misconceptions if verdict else ())),
                         f'<div class="message">{esc(verdict.message)}</div>' if verdict else ""])
        opened = " open" if len(failed) <= OPEN_FAILURES else ""
        out.append(f"<details{opened}><summary>{len(failed)} failed test cell(s)</summary>"
                   + table(["exercise", "test cell", "points", "how", "misconception", "message"], rows) + "</details>")
    return "".join(out) + "</section>"


def render(data: ClassData, stats: list[ItemStats], thresholds: Thresholds) -> str:
    """The whole page."""
    title = f"What the class got wrong: {data.assignment.id}"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    toc = [("scores", "Scores"), ("tests", "Test cells"), ("misconceptions", "Misconceptions"),
           ("integrity", "Integrity"), ("students", "Students")]
    students = "".join(section_student(data, s) for s in data.submissions)
    index = ", ".join(student_link(s.student_id) for s in data.submissions)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        f"<title>{esc(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
        '<nav class="toc">' + "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in toc) + "</nav>\n<main>\n"
        f"<h1>{esc(title)}</h1>\n<p class=\"note\">Class report built {stamp} from gradebook.db, autograded/ and "
        "build/grading/<assignment>/summary.json. It names students and their grades: for instructors only.</p>\n"
        + section_scores(data) + "\n" + section_items(data, stats, thresholds) + "\n" + section_misconceptions(data)
        + "\n" + section_integrity(data) + "\n"
        + f'<section id="students"><h2>Students</h2><p>{index}</p>{students}</section>\n</main>\n</body>\n</html>\n'
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.class_report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("."), help="course directory (default: the current one)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the HTML file to write (default: <root>/build/report/index.html)")
    parser.add_argument("--assignment", default=None, help="assignment id (default: the configured one)")
    defaults = Thresholds()
    parser.add_argument("--hard", type=float, default=defaults.hard, metavar="P",
                        help="flag a test cell passed by fewer than this share of the class (default: %(default)s)")
    parser.add_argument("--easy", type=float, default=defaults.easy, metavar="P",
                        help="also flag a test cell passed by more than this share (default: never)")
    parser.add_argument("--discrimination", type=float, default=defaults.low_discrimination, metavar="R",
                        help="flag a test cell whose point-biserial or upper-lower index is below this "
                             "(default: %(default)s) ...")
    parser.add_argument("--min-students", type=int, default=defaults.min_students, metavar="N",
                        help="... in a class of at least N students (default: %(default)s)")
    args = parser.parse_args(argv)
    root = args.root
    out = args.out or root / "build" / "report" / "index.html"
    if not (root / "nbgrader_config.py").is_file():
        print(f"error: {root.resolve()} has no nbgrader_config.py: run from the course directory or pass --root",
              file=sys.stderr)
        return 2
    try:
        assignment = assignments.load(assignments.load_config(root), args.assignment)
        data = load(root, assignment)
    except (ValueError, ImportError, NoGrades) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    thresholds = Thresholds(args.hard, args.easy, args.discrimination, args.min_students)
    stats = analyse(data, thresholds)
    page = render(data, stats, thresholds)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    held = misconceptions_held(data)
    holders = {s for h in held for s in h.students}
    print(f"{len(data.submissions)} students, {len(stats)} test cells, {sum(1 for s in stats if s.flags)} flagged, "
          f"{len(held)} misconceptions found (held by {len(holders)} students)")
    print(f"class report: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The whole story of the class on JupyterHub, in headless Chromium, one account per browser context.

1. The instructor logs in; in formgrader, generates the student version and releases it.
2. The second student logs in, fetches the assignment from the Assignments tab, validates it there
   (it fails: nothing is written yet) and submits it, on time.
3. The first student logs in, fetches, opens the notebook, types working solutions into the solution
   cells, runs every cell (each visible check prints its pass line) and clicks Validate (success).
4. The instructor, in a JupyterLab terminal, sets the due date to now (nbgrader db assignment add).
5. The first student submits, late.
6. The instructor collects in formgrader, grades in the terminal with ``python -m grader.hub autograde``
   (the trusted autograder, as root through the class's sudo rule), and in formgrader's manual grading
   leaves a comment and a manual score on one of the first student's cells.
7. The instructor grades again in the terminal: the comment and the manual score are kept.
8. The instructor generates and releases feedback in formgrader.
9. The first student fetches feedback from the Assignments tab and reads it: the verdicts and their
   messages, the late penalty, the comment; no hidden test's source.

Screenshots of each step: build/screenshots/hub/. The seconds each step took are printed.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course.contract import ASSIGNMENT, NOTEBOOK, TESTS
from grader.publish.notebooks import grade_id
from grader.publish.sample_class import solutions

pytestmark = pytest.mark.hub

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "source" / ASSIGNMENT / NOTEBOOK
SCREENSHOTS = ROOT / "build" / "screenshots" / "hub"
VISIBLE = [t.grade_id for t in TESTS if not t.hidden]
COMMENT = "Careful work on the half-to-even ties: well done."
COMMENT_CELL = "quantize"  # the solution cell the instructor comments on in formgrader
SCORE_CELL = "quantize_seed_example"  # the test cell whose score the instructor sets by hand
STEP_TIMEOUT = 90_000  # ms
LAB_READY = ".lm-MenuBar-itemLabel:text-is('Nbgrader')"  # JupyterLab is up, with nbgrader's menu


class Story:
    """The steps, timed, each ending with a screenshot."""

    def __init__(self, hub, watched_context):
        self.hub, self.watched_context = hub, watched_context
        self.times: list[tuple[str, float]] = []
        self.start = time.monotonic()
        self.count = 0
        self.pages: dict = {}
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()

    def shot(self, page, name: str) -> Path:
        self.count += 1
        path = SCREENSHOTS / f"{self.count:02d}-{name}.png"
        page.screenshot(path=path, full_page=False)
        if os.environ.get("HUB_STORY_HTML"):  # the page's HTML beside its screenshot, to write selectors
            path.with_suffix(".html").write_text(page.content())
        return path

    def step(self, name: str):
        story = self

        class Timed:
            def __enter__(self):
                self.t = time.monotonic()

            def __exit__(self, kind, value, tb):
                story.times.append((name, time.monotonic() - self.t))
                if kind is not None:  # what each account's browser showed when the step failed
                    for user, page in story.pages.items():
                        with contextlib.suppress(Exception):
                            story.shot(page, f"FAILED-{user}")

        return Timed()

    def login(self, user: str):
        context, traffic = self.watched_context()
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT)
        page.goto(f"{self.hub.url}/hub/login")
        page.fill("#username_input", user)
        page.fill("#password_input", self.hub.passwords[user])
        self.shot(page, f"{user}-login")
        page.click("#login_submit")
        self.pages[user] = page
        page.wait_for_selector(LAB_READY)  # their own JupyterLab, started by the hub
        assert page.url.startswith(f"{self.hub.url}/user/{user}/lab"), page.url
        return page


# ------------------------------------------------------------------ formgrader (the instructor)


def formgrader(page, hub, view: str = "manage_assignments"):
    page.goto(f"{hub.url}/user/{hub.classroom.instructor}/formgrader/{view}")
    page.wait_for_selector("table")


def formgrader_action(page, column: str) -> str:
    """Click the assignment's button in ``column`` of Manage Assignments (the exercises' row: the class has the
    capstone too); the log its dialog shows."""
    row = page.locator("tr", has=page.locator("td.name", has_text=ASSIGNMENT))
    row.locator(f"td.{column} a").click()
    dialog = page.locator(".modal-dialog").last
    dialog.wait_for(state="visible")
    body = dialog.locator(".modal-body")
    # Some actions ask first (release, collect...): confirm; then the log of what nbgrader did.
    deadline = time.monotonic() + STEP_TIMEOUT / 1000
    while time.monotonic() < deadline:
        text = body.inner_text()
        if text.strip():
            break
        page.wait_for_timeout(250)
    text = body.inner_text()
    dialog.locator("button", has_text=re.compile("Close|OK")).first.click()
    page.locator(".modal-dialog").last.wait_for(state="hidden")
    assert text.strip().startswith("Success"), f"formgrader's {column}: {text[:3000]}"
    return text


# ------------------------------------------------------------------ JupyterLab


def assignments_tab(page):
    page.get_by_text("Nbgrader", exact=True).click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
    panel = page.locator("#nbgrader-assignment-list, .nbgrader-AssignmentList, [id*=assignment]").first
    page.get_by_text("Released assignments", exact=True).wait_for()
    return panel


def fetch(page):
    """Fetch the released assignment; it moves to Downloaded assignments."""
    page.locator("#released_assignments_list button", has_text="Fetch").first.click()
    page.locator("#fetched_assignments_list_placeholder").wait_for(state="hidden")
    page.locator("#fetched_assignments_list .list_item").first.wait_for()


def downloaded(page):
    """The downloaded assignment's row, its notebooks shown (Validate buttons)."""
    listing = page.locator("#fetched_assignments_list")
    if not listing.locator("button", has_text="Validate").first.is_visible():
        listing.locator("a", has_text=ASSIGNMENT).first.click()
        listing.locator("button", has_text="Validate").first.wait_for()
    return listing


def save(page, path: Path):
    """The notebook's Save button, until the file on disk is newer (a click while JupyterLab is busy
    rendering outputs can go unheard)."""
    before = path.stat().st_mtime
    for _ in range(5):
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) [data-command='docmanager:save']").first.click()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if path.stat().st_mtime > before:
                with contextlib.suppress(ValueError):  # the server may be writing it still
                    return nbformat.read(path, as_version=4)
            time.sleep(0.5)
    raise AssertionError(f"{path} was not saved")


def course_selected(page, hub):
    """The course in the Assignments tab's dropdown (the hub's groups say which courses a user has)."""
    page.get_by_text(hub.classroom.course_id).first.wait_for()


def terminal(page):
    """A new JupyterLab terminal, from the Launcher."""
    launcher = page.locator(".jp-Launcher:visible")
    if not launcher.count():
        page.locator(".lm-TabBar-addButton:visible").first.click()
    page.locator(".jp-Launcher:visible .jp-LauncherCard", has_text="Terminal").first.click()
    term = page.locator(".jp-Terminal:visible").last
    term.locator(".xterm-screen").wait_for()
    page.wait_for_timeout(1500)  # the shell's prompt
    return term


def type_in_terminal(page, term, line: str) -> None:
    term.click()
    page.keyboard.type(line, delay=5)
    page.keyboard.press("Enter")


def wait_for(predicate, what: str, seconds: float = 300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def open_submission(page, hub, student: str) -> None:
    """formgrader's grading page of ``student``'s notebook (the link its submissions table has)."""
    with gradebook(hub) as gb:
        notebook_id = gb.find_submission_notebook(Path(NOTEBOOK).stem, ASSIGNMENT, student).id
    link = page.locator(f"td.name a.name-hidden[href$='/formgrader/submissions/{notebook_id}']").first
    if link.count():
        link.click()
    else:
        page.goto(f"{hub.url}/user/{hub.classroom.instructor}/formgrader/submissions/{notebook_id}")
    page.wait_for_load_state()
    page.wait_for_timeout(1000)


def gradebook(hub) -> Gradebook:
    return Gradebook(f"sqlite:///{hub.classroom.course / 'gradebook.db'}")


def graded(hub, students) -> bool:
    """Each student's latest submission autograded since ``since`` (by the timestamps in build/grading)."""
    results = hub.classroom.course / "build" / "grading" / ASSIGNMENT / "summary.json"
    return results.exists() and all(
        (hub.classroom.course / "autograded" / s / ASSIGNMENT / NOTEBOOK).exists() for s in students)


def summary_mtime(hub) -> float:
    path = hub.classroom.course / "build" / "grading" / ASSIGNMENT / "summary.json"
    return path.stat().st_mtime if path.exists() else 0.0


# ------------------------------------------------------------------ the story


def test_the_whole_story(hub, watched_context):
    c = hub.classroom
    ada, alan = c.students
    story = Story(hub, watched_context)
    answers = solutions(nbformat.read(SOURCE, as_version=4))

    with story.step("1. instructor: log in, generate and release in formgrader"):
        teacher = story.login(c.instructor)
        formgrader(teacher, hub)
        story.shot(teacher, "formgrader-draft")
        formgrader_action(teacher, "assign")
        formgrader_action(teacher, "release")
        teacher.reload()
        teacher.locator("tr", has=teacher.locator("td.name", has_text=ASSIGNMENT)).locator(
            "td.status", has_text="released").wait_for()
        story.shot(teacher, "formgrader-released")
    assert (c.exchange / c.course_id / "outbound" / ASSIGNMENT / NOTEBOOK).exists()

    with story.step("2. second student: fetch, validate (fails), submit on time"):
        late_one, on_time = ada, alan
        page = story.login(on_time)
        assignments_tab(page)
        course_selected(page, hub)
        fetch(page)
        story.shot(page, f"{on_time}-fetched")
        downloaded(page).locator("button", has_text="Validate").first.click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for()
        text = dialog.inner_text()
        assert "NotImplementedError" in text or "failed" in text.lower(), text[:500]
        story.shot(page, f"{on_time}-validate-fails")
        dialog.locator("button").last.click()
        page.locator("button", has_text="Submit").first.click()
        wait_for(lambda: list((c.exchange / c.course_id / "inbound").glob(f"{on_time}+*")), "the submission")
        page.wait_for_timeout(1000)
        story.shot(page, f"{on_time}-submitted")
    assert (Path("/home") / on_time / ASSIGNMENT / NOTEBOOK).exists()

    with story.step("3. first student: fetch, type the solutions, run the visible checks, validate"):
        page = story.login(late_one)
        assignments_tab(page)
        course_selected(page, hub)
        fetch(page)
        story.shot(page, f"{late_one}-fetched")
        fetched = Path("/home") / late_one / ASSIGNMENT / NOTEBOOK
        release = nbformat.read(fetched, as_version=4)
        page.goto(f"{hub.url}/user/{late_one}/lab/tree/{ASSIGNMENT}/{NOTEBOOK}")
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        notebook.wait_for()
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
        cells = notebook.locator(".jp-Cell")
        typed = 0
        for index, cell in enumerate(release.cells):
            name = grade_id(cell)
            if cell.metadata.get("nbgrader", {}).get("solution") and name in answers:
                editor = cells.nth(index).locator(".cm-content")
                editor.scroll_into_view_if_needed()
                editor.click()
                page.keyboard.press("Control+a")
                page.keyboard.insert_text(answers[name])
                typed += 1
        assert typed == len(answers), (typed, len(answers))
        page.keyboard.press("Escape")
        page.get_by_text("Run", exact=True).click()
        page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click()
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
        page.wait_for_function(
            """n => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
                    .filter(p => /\\[\\d+\\]/.test(p.textContent)).length >= n""",
            arg=sum(1 for cell in release.cells if cell.cell_type == "code"))
        story.shot(page, f"{late_one}-visible-checks-pass")
        # What the student's JupyterLab shows, as it saved it (cells out of view are not in the page).
        ran = save(page, fetched)
        shown = {grade_id(cell): "".join(o.get("text", "") + "".join(o.get("traceback", []))
                                         for o in cell.get("outputs", []))
                 for cell in ran.cells if cell.cell_type == "code"}
        missing = [gid for gid in VISIBLE if f"✓ {gid}" not in shown.get(gid, "")]
        assert missing == [], {gid: shown.get(gid, "")[:300] for gid in missing}
        errors = {gid: out[:300] for gid, out in shown.items() if "Error" in out or "Traceback" in out}
        assert errors == {}, errors
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) jp-button.validate-button").first.click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for()
        assert "Success" in dialog.inner_text(), dialog.inner_text()[:500]
        story.shot(page, f"{late_one}-validate-succeeds")
        dialog.locator("button").last.click()

    with story.step("4. instructor: the due date is now (terminal: nbgrader db assignment add)"):
        due = datetime.now(timezone.utc).replace(microsecond=0)
        teacher.goto(f"{hub.url}/user/{c.instructor}/lab")
        teacher.wait_for_selector(LAB_READY)
        term = terminal(teacher)
        type_in_terminal(teacher, term, f"cd {c.course_id} && nbgrader db assignment add {ASSIGNMENT} "
                         f"--duedate='{due:%Y-%m-%d %H:%M:%S} UTC'")

        def due_set():
            with gradebook(hub) as gb:
                return gb.find_assignment(ASSIGNMENT).duedate == due.replace(tzinfo=None)

        wait_for(due_set, "the due date in the gradebook", 60)
        story.shot(teacher, "instructor-due-date")
    time.sleep(1.5)

    with story.step("5. first student: submit, after the due date"):
        page.goto(f"{hub.url}/user/{late_one}/lab")
        page.wait_for_selector(LAB_READY)
        assignments_tab(page)
        course_selected(page, hub)
        page.locator("button", has_text="Submit").first.click()
        wait_for(lambda: list((c.exchange / c.course_id / "inbound").glob(f"{late_one}+*")), "the submission")
        page.wait_for_timeout(1000)
        story.shot(page, f"{late_one}-submitted-late")

    with story.step("6. instructor: collect, autograde in the terminal, comment and score by hand"):
        formgrader(teacher, hub)
        formgrader_action(teacher, "collect")
        assert all((c.course / "submitted" / s / ASSIGNMENT / NOTEBOOK).exists() for s in (ada, alan))
        before = summary_mtime(hub)
        teacher.goto(f"{hub.url}/user/{c.instructor}/lab")
        teacher.wait_for_selector(LAB_READY)
        term = terminal(teacher)
        type_in_terminal(teacher, term, "python -m grader.hub autograde")
        wait_for(lambda: summary_mtime(hub) > before and graded(hub, (ada, alan)), "the autograde", 300)
        teacher.wait_for_timeout(1500)
        story.shot(teacher, "instructor-autograde-terminal")
        with gradebook(hub) as gb:
            scores = {s: gb.find_submission(ASSIGNMENT, s).score for s in (ada, alan)}
            late = gb.find_submission(ASSIGNMENT, late_one)
            penalty = late.late_submission_penalty
        assert scores[on_time] == 0 and scores[late_one] == 100, scores
        assert penalty == pytest.approx(10.0), penalty  # 10% a started day, submitted seconds late
        # Manual grading: the first student's notebook, one cell's score and a comment.
        teacher.goto(f"{hub.url}/user/{c.instructor}/formgrader/gradebook/{ASSIGNMENT}/{Path(NOTEBOOK).stem}")
        teacher.wait_for_selector("table")
        story.shot(teacher, "formgrader-submissions")
        open_submission(teacher, hub, late_one)
        story.shot(teacher, "formgrader-grading")
        teacher.locator(f"#{COMMENT_CELL}-comment").fill(COMMENT)
        score = teacher.locator(f"input.score#{SCORE_CELL}")
        score.fill("0.5")
        score.press("Tab")
        teacher.wait_for_timeout(2000)  # the formgrader saves on change
        story.shot(teacher, "formgrader-comment-and-score")

    def manual():
        with gradebook(hub) as gb:
            nb = gb.find_submission_notebook(Path(NOTEBOOK).stem, ASSIGNMENT, late_one)
            grade = next(g for g in nb.grades if g.name == SCORE_CELL)
            comment = next(x for x in nb.comments if x.name == COMMENT_CELL)
            return grade.manual_score, comment.manual_comment

    wait_for(lambda: manual() == (0.5, COMMENT), "the manual score and comment in the gradebook", 30)

    with story.step("7. instructor: autograde again, the manual grade survives"):
        before = summary_mtime(hub)
        teacher.goto(f"{hub.url}/user/{c.instructor}/lab")
        teacher.wait_for_selector(LAB_READY)
        term = terminal(teacher)
        type_in_terminal(teacher, term, "python -m grader.hub autograde")
        wait_for(lambda: summary_mtime(hub) > before, "the second autograde", 300)
        assert manual() == (0.5, COMMENT)
        teacher.goto(f"{hub.url}/user/{c.instructor}/formgrader/gradebook/{ASSIGNMENT}/{Path(NOTEBOOK).stem}")
        open_submission(teacher, hub, late_one)
        teacher.locator(f"#{COMMENT_CELL}-comment").wait_for()
        assert teacher.locator(f"#{COMMENT_CELL}-comment").input_value() == COMMENT
        assert float(teacher.locator(f"input.score#{SCORE_CELL}").input_value()) == 0.5
        story.shot(teacher, "formgrader-after-regrade")

    with story.step("8. instructor: generate and release feedback in formgrader"):
        formgrader(teacher, hub)
        formgrader_action(teacher, "generate-feedback")
        formgrader_action(teacher, "release-feedback")
        story.shot(teacher, "formgrader-feedback-released")
        assert list((c.exchange / c.course_id / "feedback").glob("*.html"))

    with story.step("9. first student: fetch feedback and read it"):
        page.goto(f"{hub.url}/user/{late_one}/lab")
        page.wait_for_selector(LAB_READY)
        assignments_tab(page)
        course_selected(page, hub)
        page.locator("button", has_text="Fetch Feedback").first.click()
        feedback_dir = Path("/home") / late_one / ASSIGNMENT / "feedback"
        wait_for(lambda: list(feedback_dir.glob(f"*/{Path(NOTEBOOK).stem}.html")), "the fetched feedback", 60)
        story.shot(page, f"{late_one}-feedback-fetched")
        feedback = next(feedback_dir.glob(f"*/{Path(NOTEBOOK).stem}.html"))
        relative = feedback.relative_to(Path("/home") / late_one)
        page.goto(f"{hub.url}/user/{late_one}/files/{relative}")
        page.wait_for_load_state()
        shown = page.inner_text("body")
        story.shot(page, f"{late_one}-reads-feedback")

    raw = html.unescape(feedback.read_text())
    with gradebook(hub) as gb:
        submission = gb.find_submission(ASSIGNMENT, late_one)
        final = submission.score - submission.late_submission_penalty
    assert f"(Score: {final:g} / 100.0)" in shown, shown[:300]  # after the late penalty
    # 10% a started day (the class's policy), one day late: of the score as graded now (manual score included).
    assert submission.late_submission_penalty == pytest.approx(0.1 * submission.score)
    assert f"Late submission penalty (Score: -{submission.late_submission_penalty:g})" in shown
    assert COMMENT in shown
    assert [gid for gid in VISIBLE if f"✓ {gid}" not in shown] == []  # each visible check's pass line
    hidden = [t.grade_id for t in TESTS if t.hidden]
    assert [gid for gid in hidden if f"✓ {gid} passed" not in shown] == []  # each hidden test's verdict
    # ... and none of the hidden tests' source (what the source notebook holds between the markers).
    source = nbformat.read(SOURCE, as_version=4)
    hidden_lines = {line.strip() for cell in source.cells if "BEGIN HIDDEN TESTS" in cell.source
                    for line in cell.source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS")[0]
                    .splitlines() if line.strip()}
    assert hidden_lines and [line for line in hidden_lines if line in raw] == []

    total = time.monotonic() - story.start
    lines = [f"  {seconds:6.1f} s  {name}" for name, seconds in story.times]
    print("\nthe whole story:\n" + "\n".join(lines) + f"\n  {total:6.1f} s  in all; screenshots in {SCREENSHOTS}")

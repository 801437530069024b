"""The student's JupyterLab (``make lab``), driven in headless Chromium.

JupyterLab runs on loopback with token auth, in a temporary root holding three
copies of the release: as handed out (the stubs), with the reference solutions
filled in, and with known-wrong implementations filled in (from the bank, those
that a visible check catches).  Where cells fail they are run one at a time, as
a student does with Shift+Enter, so that a failing cell does not stop the rest
(Run All would); the solved copy is run with Run All.  Then nbgrader's Validate
button is clicked on the stubs and on the solutions.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import secrets
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest

from grader.course.bank import load_bank
from grader.course.contract import ASSIGNMENT, NOTEBOOK, TESTS
from grader.publish import lab, site
from grader.publish.notebooks import grade_id
from grader.publish.sample_class import Student, solutions, submission

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "release" / ASSIGNMENT / NOTEBOOK
SOURCE = ROOT / "source" / ASSIGNMENT / NOTEBOOK
VISIBLE = {t.grade_id: t.function for t in TESTS if not t.hidden}
STARTUP_SECONDS = 90


def python_only(source: str) -> str:
    """A cell's source without IPython magics (%matplotlib inline)."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%"))


def run_in_python(nb, namespace: dict) -> dict:
    """Run every code cell of ``nb`` in ``namespace`` (plain Python; output, warnings and style discarded)."""
    with quiet():
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(python_only(cell.source), namespace)  # noqa: S102 -- the course's own notebook
        plt.close("all")
    return namespace


@contextlib.contextmanager
def quiet():
    with plt.rc_context(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def caught_by_visible_checks(release, answers: dict[str, str]) -> dict[str, str]:
    """Function -> source of a bank implementation that its visible check catches (first in the bank).

    Found in plain Python: the release runs once with the solutions filled in, then each
    bank entry replaces its function and the function's visible checks run again.  An
    entry is caught when a check raises AssertionError (one that crashes is not used).
    """
    solved = run_in_python(filled(release, answers), {"__name__": "__main__"})
    checks = {grade_id(c): python_only(c.source) for c in release.cells if grade_id(c) in VISIBLE}
    chosen: dict[str, str] = {}
    for wrong in load_bank():
        if wrong.function in chosen:
            continue
        namespace = dict(solved)
        with quiet():
            try:
                exec(wrong.source, namespace)  # noqa: S102 -- the course's own bank
                for gid, source in checks.items():
                    if VISIBLE[gid] == wrong.function:
                        exec(source, namespace)  # noqa: S102 -- the course's own check cell
            except AssertionError:
                chosen[wrong.function] = wrong.source
            except Exception:  # noqa: BLE001 -- crashes are not what this test is about
                continue
    return chosen


def filled(release, answers: dict[str, str]):
    """The release with the given solution cells filled in (as grader.publish.sample_class does)."""
    student = Student("browser", "filled in", lambda name, solution: answers.get(name, ""))
    return submission(release, answers, student)


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    wrong: dict[str, str]  # function -> wrong implementation in wrong/exercises.ipynb


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """JupyterLab serving a temporary root on 127.0.0.1 (ephemeral port, token auth)."""
    if not RELEASE.exists():
        pytest.fail(f"{RELEASE} not found: run 'make release'")
    root = tmp_path_factory.mktemp("lab")
    lab.prepare(root, RELEASE)  # exercises.ipynb: the stubs, and the student configuration
    release = nbformat.read(RELEASE, as_version=4)
    answers = solutions(nbformat.read(SOURCE, as_version=4))
    wrong = caught_by_visible_checks(release, answers)
    for folder, fill in (("solved", answers), ("wrong", {**answers, **wrong})):
        (root / folder).mkdir()
        nbformat.write(filled(release, fill), root / folder / NOTEBOOK)

    token = secrets.token_hex(16)
    log = (root / ".jupyter" / "lab.log").open("w")
    argv = lab.command(root, "--no-browser", "--port=0", f"--IdentityProvider.token={token}",
                       "--expose-app-in-browser")
    process = subprocess.Popen(argv, cwd=root, env=lab.environment(root), stdout=log, stderr=subprocess.STDOUT)
    runtime = root / ".jupyter" / "data" / "runtime" / f"jpserver-{process.pid}.json"
    deadline = time.monotonic() + STARTUP_SECONDS
    while not runtime.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("JupyterLab did not start:\n" + (root / ".jupyter" / "lab.log").read_text()[-3000:])
        time.sleep(0.2)
    time.sleep(0.2)  # the file is written in one go, but give it a moment
    info = json.loads(runtime.read_text())
    yield Lab(info["url"].rstrip("/"), token, root, wrong)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


# One cell at a time, as Shift+Enter does: a cell that raises does not stop the next
# one (Run All would).  JupyterLab is started with --expose-app-in-browser, as its own
# browser tests (Galata) do, to reach its command registry.
RUN_CELLS = """async indexes => {
    const app = window.jupyterapp;
    const notebook = app.shell.currentWidget.content;
    for (const i of indexes) {
        notebook.activeCellIndex = i;
        notebook.deselectAll();
        await app.commands.execute('notebook:run-cell');
    }
}"""
RUN_ALL = "() => window.jupyterapp.commands.execute('notebook:run-all-cells')"
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"


@dataclass
class Cell:
    grade_id: str | None
    cell_type: str
    prompt: str
    output: str  # all output text as shown
    error: str  # the error output as shown ('' when none)


class OpenNotebook:
    """A notebook opened in JupyterLab in its own workspace and browser page."""

    def __init__(self, jupyterlab: Lab, watched_context, path: str):
        self.path = path
        self.nb = nbformat.read(jupyterlab.root / path, as_version=4)
        self.context, self.traffic = watched_context()
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        workspace = path.replace("/", "-").removesuffix(".ipynb")
        self.page.goto(f"{jupyterlab.url}/lab/workspaces/{workspace}/tree/{path}?token={jupyterlab.token}")
        self.page.wait_for_function(
            """path => {
                const app = window.jupyterapp;
                const panel = app && app.shell.currentWidget;
                const kernel = panel && panel.sessionContext && panel.sessionContext.session
                    && panel.sessionContext.session.kernel;
                return panel && panel.context.path === path && kernel && kernel.status === 'idle';
            }""", arg=path)

    def run_one_by_one(self, indexes: list[int] | None = None) -> list[Cell]:
        """Run the given cells (default: all), one at a time; every cell as shown."""
        self.page.evaluate(RUN_CELLS, list(range(len(self.nb.cells))) if indexes is None else indexes)
        return self.cells()

    def run_all(self) -> list[Cell]:
        """Run > Run All Cells; every cell as shown."""
        self.page.evaluate(RUN_ALL)
        return self.cells()

    def cells(self) -> list[Cell]:
        # JupyterLab attaches cells that are out of view when the browser is idle, so
        # right after a run some may not be in the page yet: wait for all of them.
        self.page.wait_for_function(
            "([selector, n]) => document.querySelectorAll(selector).length >= n", arg=[CELLS, len(self.nb.cells)])
        cells = self.page.locator(CELLS)
        assert cells.count() == len(self.nb.cells), "every cell is in the page"
        shown = cells.evaluate_all("""cells => cells.map(c => ({
            prompt: (c.querySelector('.jp-InputPrompt') || {}).textContent || '',
            output: [...c.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent).join('\\n'),
            error: [...c.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                .map(o => o.textContent).join('\\n'),
        }))""")
        return [Cell(grade_id(c), c.cell_type, s["prompt"].strip(), s["output"].strip(), s["error"].strip())
                for c, s in zip(self.nb.cells, shown, strict=True)]

    def show(self, grade: str) -> None:
        """Scroll the cell of ``grade`` into view (for a screenshot)."""
        index = next(i for i, c in enumerate(self.nb.cells) if grade_id(c) == grade)
        self.page.evaluate("i => { const nb = window.jupyterapp.shell.currentWidget.content;"
                           " nb.activeCellIndex = i; nb.scrollToItem(i, 'center'); }", index)
        self.page.wait_for_timeout(300)

    def validate(self) -> str:
        """Click nbgrader's Validate button; the dialog's text (the dialog is left open)."""
        self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button").click()
        dialog = self.page.locator(".jp-Dialog")
        dialog.wait_for(timeout=180_000)
        return dialog.inner_text()


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def ran(cell: Cell) -> bool:
    return re.fullmatch(r"\[\d+\]:", cell.prompt) is not None


def test_release_with_stubs_fails_each_visible_check_and_validation(jupyterlab, watched_context, screenshots):
    opened = OpenNotebook(jupyterlab, watched_context, NOTEBOOK)
    cells = opened.run_one_by_one()
    visible = [c for c in cells if c.grade_id in VISIBLE]
    opened.show(visible[0].grade_id)
    opened.page.screenshot(path=screenshots / "lab-stub-visible-check.png")
    setup = next(c for c in cells if c.cell_type == "code")
    assert setup.error == "", f"the first cell (imports, grader.student.plots) fails:\n{setup.error}"
    assert len(visible) == len(VISIBLE)
    problems = []
    for cell in visible:
        if not ran(cell):
            problems.append(f"{cell.grade_id} did not run")
        elif "NotImplementedError" not in cell.error or VISIBLE[cell.grade_id] not in cell.error:
            problems.append(f"{cell.grade_id} should fail on the stub, naming it: {last_line(cell.output)!r}")
    assert not problems, "\n".join(problems)

    report = opened.validate()
    opened.page.screenshot(path=screenshots / "lab-validate-stub.png")
    assert "Validation Results" in report
    assert "Success!" not in report
    assert report.count("The following cell failed:") == len(TESTS), "every test cell fails on the stubs"
    assert not opened.traffic.problems, "\n".join(opened.traffic.problems)


def test_solutions_pass_every_visible_check_and_validation(jupyterlab, watched_context, screenshots):
    opened = OpenNotebook(jupyterlab, watched_context, f"solved/{NOTEBOOK}")
    cells = opened.run_all()
    opened.show(next(c.grade_id for c in cells if c.grade_id in VISIBLE))
    opened.page.screenshot(path=screenshots / "lab-solved-visible-check.png")
    problems = []
    for cell in (c for c in cells if c.cell_type == "code"):
        name = cell.grade_id or "an ungraded cell"
        if not ran(cell):
            problems.append(f"{name} did not run")
        elif cell.error:
            problems.append(f"{name} fails with the solutions: {last_line(cell.error)!r}")
        elif cell.grade_id in VISIBLE:
            lines = cell.output.splitlines()
            if len(lines) != 1 or VISIBLE[cell.grade_id] not in lines[0]:
                problems.append(f"{name}: a passing check says so in one line naming the function, got {lines}")
    assert not problems, "\n".join(problems)

    report = opened.validate()
    opened.page.screenshot(path=screenshots / "lab-validate-solved.png")
    assert "Success! Your notebook passes all the tests." in report
    assert not opened.traffic.problems, "\n".join(opened.traffic.problems)


def test_failing_visible_check_says_case_expected_got_and_hint(jupyterlab, watched_context, screenshots):
    assert len(jupyterlab.wrong) >= 5, "the bank should hold wrong answers that the visible checks catch"
    opened = OpenNotebook(jupyterlab, watched_context, f"wrong/{NOTEBOOK}")
    # The cells the visible checks need: not the figures, not the hidden tests' calls.
    needed = [i for i, c in enumerate(opened.nb.cells) if c.cell_type == "code" and not site.DRAWS.search(c.source)
              and (grade_id(c) in VISIBLE or not c.metadata.get("nbgrader", {}).get("grade"))]
    cells = opened.run_one_by_one(needed)
    failing = [c for c in cells if c.grade_id in VISIBLE and c.error]
    if failing:
        opened.show(failing[0].grade_id)
        opened.page.screenshot(path=screenshots / "lab-wrong-visible-check.png")
    assert all(ran(cells[i]) for i in needed), "every needed cell ran"
    assert {VISIBLE[c.grade_id] for c in failing} == set(jupyterlab.wrong)
    problems = []
    for cell in failing:
        message = last_line(cell.error)
        missing = [part for part in ("AssertionError: ", VISIBLE[cell.grade_id] + "(", "expected", "got", "Hint")
                   if part not in message]
        if missing:
            problems.append(f"{cell.grade_id}: no {missing} in {message!r}")
    assert not problems, "a failing visible check names the case, what was expected, what came back " \
        "and gives a hint:\n" + "\n".join(problems)
    assert not opened.traffic.problems, "\n".join(opened.traffic.problems)

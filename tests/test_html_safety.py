"""No student script runs in the pages the instructor and the student open (grader.grading.html_safety).

A submission's markdown, outputs and metadata pass through the preprocessors configured in
nbgrader_config.py (the autograde pipeline, then GenerateFeedback), are rendered with nbgrader's
feedback template (and the formgrader's, for the autograded notebook), and the HTML is parsed: no
script but the template's own, no ``on*`` attribute, no ``javascript:``/``vbscript:``/``data:text/html``
URL, no iframe, object, embed, form or ``<meta http-equiv>``.  Honest content (headings, emphasis,
math, tables, code, PNG images) still reads as written.  The end-to-end test grades a class in the
sandbox with ``python -m grader.grading.autograde``, generates the feedback with nbgrader and opens it
in headless Chromium.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from hostile import xss_markdown, xss_metadata, xss_outputs
from nbconvert.exporters import HTMLExporter, NotebookExporter
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.server_extensions.formgrader import handlers as formgrader_handlers

from grader.course.contract import ASSIGNMENT, NOTEBOOK, TOTAL_POINTS
from grader.grading.assignments import load_config
from grader.grading.html_safety import SanitizeStudentHTML

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "release" / ASSIGNMENT / NOTEBOOK
NOTEBOOK_ID = NOTEBOOK.removesuffix(".ipynb")
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Preprocessors of the configured lists that need a kernel or the gradebook (the end-to-end test runs them).
NEEDS_COURSE = {"TrustedExecute", "SaveAutoGradesAtOnce", "AssignLatePenalties", "GetGrades"}

PNG = xss_outputs.PNG
HONEST_MARKDOWN = (
    "## What I found\n\n"
    "Rounding is *half to even* and **never** floor; the error is $|x - \\hat x| \\le S/2$, and "
    "$a < b$ holds.\n\n"
    "$$\\begin{aligned} r &= S (q - Z) \\\\ q &= \\mathrm{round}(r / S) + Z \\end{aligned}$$\n\n"
    "| bits | levels |\n|---:|---:|\n| 4 | 16 |\n| 8 | 256 |\n\n"
    "The code is `q = np.round(x / scale)`, and [the docs](https://numpy.org/doc/) say why.\n\n"
    "> a quotation\n\n"
    "```python\ndef f(x):\n    return x < 2\n```\n"
)
HONEST_HTML_OUTPUT = "<table><tr><th>bits</th><th>levels</th></tr><tr><td>4</td><td>16</td></tr></table>"


# ---------------------------------------------------------------------------------------- the pipeline


def config():
    return load_config(ROOT)


@functools.cache
def autograde_exporter() -> NotebookExporter:
    """c.Autograde.autograde_preprocessors, registered as nbgrader's Autograde registers them."""
    converter = Autograde(coursedir=CourseDirectory(config=config()), config=config())
    exporter = NotebookExporter(parent=converter, config=converter.config)
    for pp in converter.autograde_preprocessors:
        if pp.__name__ not in NEEDS_COURSE:
            exporter.register_preprocessor(pp)
    return exporter


@functools.cache
def feedback_exporter(preprocessors: bool = True) -> HTMLExporter:
    """The exporter of ``nbgrader generate_feedback``: its template, c.GenerateFeedback.preprocessors."""
    converter = GenerateFeedback(coursedir=CourseDirectory(config=config()), config=config())
    exporter = converter.exporter_class(parent=converter, config=converter.config)
    if preprocessors:
        for pp in converter.preprocessors:
            if pp.__name__ not in NEEDS_COURSE:
                exporter.register_preprocessor(pp)
    return exporter


@functools.cache
def formgrade_exporter() -> HTMLExporter:
    """The formgrader's exporter (it runs no preprocessor on the autograded notebook)."""
    cfg = config()
    cfg.HTMLExporter.template_name = "formgrade"
    cfg.HTMLExporter.extra_template_basedirs = [formgrader_handlers.template_path]
    return HTMLExporter(config=cfg)


def autograded(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` after the autograde pipeline."""
    body, _ = autograde_exporter().from_notebook_node(copy.deepcopy(nb), {"nbgrader": {"notebook": NOTEBOOK_ID}})
    return nbformat.reads(body, as_version=4)


def feedback_html(nb: nbformat.NotebookNode, preprocessors: bool = True) -> str:
    """The page ``nbgrader generate_feedback`` writes for the autograded notebook ``nb``."""
    resources = {"nbgrader": {"notebook": NOTEBOOK_ID, "assignment": ASSIGNMENT, "student": "s",
                              "score": TOTAL_POINTS, "max_score": TOTAL_POINTS, "late_penalty": 0}}
    body, _ = feedback_exporter(preprocessors).from_notebook_node(as_get_grades_leaves_it(nb), resources)
    return body


def formgrade_html(nb: nbformat.NotebookNode) -> str:
    """The formgrader's page for the autograded notebook ``nb``."""
    resources = {"assignment_id": ASSIGNMENT, "notebook_id": NOTEBOOK_ID, "submission_id": "x", "index": 0,
                 "total": 1, "base_url": "", "student": "s", "last_name": None, "first_name": None,
                 "notebook_path": "autograded/s/" + NOTEBOOK}
    body, _ = formgrade_exporter().from_notebook_node(copy.deepcopy(nb), resources)
    return body


def as_get_grades_leaves_it(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What nbgrader's GetGrades adds from the gradebook: scores and comments (full marks, none)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") or meta.get("task"):
            meta["score"] = meta.get("points", 0)
        if meta.get("solution") or meta.get("task"):
            meta["comment"] = None
    return nb


def release() -> nbformat.NotebookNode:
    return nbformat.read(RELEASE, as_version=4)


def with_cells(*cells) -> nbformat.NotebookNode:
    """The (mini) release with ``cells`` (plain dicts) inserted after its first cell."""
    nb = mini_release()
    nb.cells[1:1] = [nbformat.from_dict(c) for c in cells]
    return nb


def markdown_cell(source: str, **extra) -> dict:
    return {"cell_type": "markdown", "id": "student-md", "metadata": {}, "source": source, **extra}


def code_cell(outputs: list, source: str = "show()") -> dict:
    return {"cell_type": "code", "id": "student-code", "metadata": {}, "execution_count": 1, "source": source,
            "outputs": copy.deepcopy(outputs)}


# ---------------------------------------------------------------------------------------- the HTML


@dataclass
class Element:
    tag: str
    attrs: list[tuple[str, str | None]]
    in_body: bool
    text: str = ""


class Page(HTMLParser):
    """Every element of a page (script and style with their text), and its visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text: list[str] = []
        self._in_body = False
        self._raw: Element | None = None

    @classmethod
    def parse(cls, body: str) -> Page:
        page = cls()
        page.feed(body)
        page.close()
        return page

    def handle_starttag(self, tag, attrs):
        self._in_body = self._in_body or tag == "body"
        element = Element(tag, attrs, self._in_body)
        self.elements.append(element)
        if tag in ("script", "style"):
            self._raw = element

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, attrs, self._in_body))

    def handle_endtag(self, tag):
        if self._raw is not None and tag == self._raw.tag:
            self._raw = None

    def handle_data(self, data):
        if self._raw is not None:
            self._raw.text += data
        else:
            self.text.append(data)

    def visible(self) -> str:
        return " ".join(self.text)


ACTIVE_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "svg", "math",
               "template", "portal", "link", "button", "textarea", "select", "audio", "video", "source"}
URL_NOISE = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")
RASTER = re.compile(r"^data:image/(png|jpeg|gif|webp)[;,]")


def findings(page: Page) -> Counter:
    """Everything in ``page`` that could run script or load active content."""
    found = Counter()
    for e in page.elements:
        shown = f"<{e.tag} {' '.join(f'{k}={v!r}' for k, v in e.attrs)}>"
        if e.tag == "script":
            found[f"script {shown} {e.text.strip()!r}"] += 1
        if e.tag == "style":
            found[f"style element {e.text.strip()!r}"] += 1
        if e.tag in ACTIVE_TAGS and e.in_body:
            found[f"active element {shown}"] += 1
        if e.tag == "meta" and any(k == "http-equiv" for k, _ in e.attrs):
            found[f"meta http-equiv {shown}"] += 1
        for name, value in e.attrs:
            url = URL_NOISE.sub("", value or "").lower()  # the parser decoded the character references
            if name.startswith("on") or name in ("srcdoc", "formaction"):
                found[f"{name} attribute in {shown}"] += 1
            if re.match(r"^(javascript|vbscript|livescript):", url) or (url.startswith("data:")
                                                                        and not RASTER.match(url)):
                found[f"active URL in {shown}"] += 1
            if name == "style" and re.search(r"expression\(|url\(|javascript:|behavior|binding", url):
                found[f"active style in {shown}"] += 1
    return found


def active_content(body: str, baseline: Page) -> list[str]:
    """What in ``body`` could run script beyond what its template has itself (the ``baseline`` page:
    MathJax, the formgrader's scripts and controls)."""
    return sorted((findings(Page.parse(body)) - findings(baseline)).elements())


def mini_release() -> nbformat.NotebookNode:
    """The release's first cell, the quantize solution cell and its first test cell (quick to render)."""
    nb = release()
    solution = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "quantize")
    test = next(i for i, c in enumerate(nb.cells) if i > solution and c.metadata.get("nbgrader", {}).get("grade"))
    nb.cells = [nb.cells[0], nb.cells[solution], nb.cells[test]]
    return nb


def pages_of(nb: nbformat.NotebookNode) -> dict[str, Page]:
    graded = autograded(nb)
    return {"feedback": Page.parse(feedback_html(graded)), "formgrade": Page.parse(formgrade_html(graded))}


@pytest.fixture(scope="module")
def baseline() -> dict[str, Page]:
    """The templates' own scripts and controls: the pages of the (mini) release."""
    return pages_of(mini_release())


def assert_inert(nb: nbformat.NotebookNode, baseline: dict[str, Page]) -> tuple[str, str]:
    """``nb`` through the autograde pipeline and into both pages, which hold no active student content."""
    graded = autograded(nb)
    feedback, formgrade = feedback_html(graded), formgrade_html(graded)
    assert active_content(feedback, baseline["feedback"]) == []
    assert active_content(formgrade, baseline["formgrade"]) == []
    return feedback, formgrade


# ---------------------------------------------------------------------------------------- the configuration


def test_sanitizer_runs_last_in_autograde_and_in_feedback():
    cfg = config()
    assert cfg.Autograde.autograde_preprocessors[-1] is SanitizeStudentHTML
    assert cfg.GenerateFeedback.preprocessors[-1] is SanitizeStudentHTML
    # nbgrader registers its converters' preprocessors without enabling them: it must be on by itself.
    assert SanitizeStudentHTML().enabled


# What nbconvert's feedback template already renders inert (escaped, or a type it does not show).
INERT_WITHOUT_SANITIZER = {"markdown_image_onerror", "text_javascript", "widget_view", "stream_script",
                           "error_script"}


@pytest.mark.parametrize("name", sorted(set(xss_markdown.PAYLOADS) | set(xss_outputs.STORED)))
def test_the_payload_is_live_without_the_sanitizer(name):
    """The checks below see each payload: without the sanitizer it is active in the feedback page."""
    if name in xss_markdown.PAYLOADS:
        nb = with_cells(markdown_cell(xss_markdown.PAYLOADS[name]))
    else:
        nb = with_cells(code_cell([xss_outputs.STORED[name]]))
    bare = Page.parse(feedback_html(mini_release(), preprocessors=False))
    live = active_content(feedback_html(nb, preprocessors=False), bare)
    assert (live == []) == (name in INERT_WITHOUT_SANITIZER), live


def test_feedback_renders_markdown_with_the_feedback_exporter():
    exporter = feedback_exporter()
    sanitizer = next(pp for pp in exporter._preprocessors if isinstance(pp, SanitizeStudentHTML))
    assert sanitizer.exporter is exporter


# ---------------------------------------------------------------------------------------- each payload


@pytest.mark.parametrize("name", sorted(xss_markdown.PAYLOADS))
def test_markdown_payload_is_inert(name, baseline):
    assert_inert(with_cells(markdown_cell(xss_markdown.PAYLOADS[name])), baseline)


@pytest.mark.parametrize("name", sorted(xss_outputs.STORED))
def test_output_payload_is_inert(name, baseline):
    assert_inert(with_cells(code_cell([xss_outputs.STORED[name]])), baseline)


@pytest.mark.parametrize("name", sorted(xss_markdown.PAYLOADS))
def test_markdown_output_payload_is_inert(name, baseline):
    out = {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": xss_markdown.PAYLOADS[name]}}
    assert_inert(with_cells(code_cell([out])), baseline)


def test_metadata_payloads_are_inert(baseline):
    nb = with_cells(*xss_metadata.CELLS)
    nb.metadata.update(copy.deepcopy(xss_metadata.NOTEBOOK_METADATA))
    assert_inert(nb, baseline)
    graded = autograded(nb)
    assert "widgets" not in graded.metadata
    for cell in graded.cells:
        for bundle in cell.get("attachments", {}).values():
            assert set(bundle) <= {"image/png", "image/jpeg", "image/gif"}


def test_every_payload_at_once_in_the_feedback_of_an_unsanitized_autograded_notebook(baseline):
    """generate_feedback alone (an autograded/ written before the fix) is safe too."""
    nb = with_cells(*[markdown_cell(s, id=f"m{i}") for i, s in enumerate(xss_markdown.PAYLOADS.values())],
                    code_cell(list(xss_outputs.STORED.values())))
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    assert active_content(feedback_html(nb), baseline["feedback"]) == []


def test_a_display_update_is_sanitized_where_it_lands(baseline):
    """nbclient writes an update_display_data into the output it updates (the display_data of an
    earlier cell, data replaced; see tests/hostile/xss_outputs.py): that output is what is sanitized."""
    updated = xss_outputs.STORED["updated_display"]
    first = code_cell([updated], source="h = display(HTML('harmless'), display_id='d')")
    second = {**code_cell([], source="h.update(HTML('<script>...</script>'))"), "id": "student-update"}
    feedback, _ = assert_inert(with_cells(first, second), baseline)
    assert "updated" in Page.parse(feedback).visible()


def test_the_instructor_sees_what_was_attempted(baseline):
    feedback, _ = assert_inert(with_cells(markdown_cell(xss_markdown.PAYLOADS["script"])), baseline)
    assert "<script>" + xss_markdown.JS + "</script>" in Page.parse(feedback).visible()


def test_a_removed_output_says_what_it_was():
    graded = autograded(with_cells(code_cell([xss_outputs.STORED["application_javascript"]])))
    data = graded.cells[1].outputs[0].data
    assert "application/javascript" not in data and data["text/plain"] == "<payload>"
    only_js = {"output_type": "display_data", "metadata": {}, "data": {"application/javascript": "alert(1)"}}
    graded = autograded(with_cells(code_cell([only_js])))
    assert "application/javascript output not shown" in graded.cells[1].outputs[0].data["text/plain"]


@pytest.mark.parametrize("mimetype", ["text/html", ""])
def test_raw_cell_payload_is_inert(mimetype, baseline):
    raw = {"cell_type": "raw", "id": "student-raw", "metadata": {"raw_mimetype": mimetype},
           "source": f"<script>{xss_markdown.JS}</script><img src=x onerror=\"{xss_markdown.JS}\">"}
    assert_inert(with_cells(raw), baseline)


def test_a_missing_attachment_no_longer_breaks_the_page(baseline):
    """nbconvert raises on a reference to a missing attachment (grader.grading.sanitize drops them all):
    the cell is shown as its source instead."""
    nb = with_cells(markdown_cell("My plot: ![plot](attachment:plot.png)"))
    with pytest.raises(Exception, match="missing attachment"):
        feedback_html(nb, preprocessors=False)
    feedback, _ = assert_inert(nb, baseline)
    assert "My plot: ![plot](attachment:plot.png)" in Page.parse(feedback).visible()


# ---------------------------------------------------------------------------------------- honest content


def test_honest_markdown_is_kept_as_written(baseline):
    nb = with_cells(markdown_cell(HONEST_MARKDOWN))
    graded = autograded(nb)
    assert graded.cells[1].source == HONEST_MARKDOWN
    feedback, formgrade = assert_inert(nb, baseline)
    for body in (feedback, formgrade):
        page = Page.parse(body)
        tags = [e.tag for e in page.elements]
        for tag in ("h2", "em", "strong", "table", "th", "td", "code", "blockquote", "pre"):
            assert tag in tags, tag
        text = page.visible()
        assert "$|x - \\hat x| \\le S/2$" in text and "$a < b$" in text  # MathJax reads the math as written
        assert "r &= S (q - Z)" in text
        assert "q = np.round(x / scale)" in text
        assert any(e.tag == "a" and ("href", "https://numpy.org/doc/") in e.attrs for e in page.elements)


def test_a_bootstrap_alert_is_kept_but_not_the_formgraders_hooks(baseline):
    alert = '<div class="alert alert-info">\n\n**Note**: ties round to even.\n\n</div>'
    assert autograded(with_cells(markdown_cell(alert))).cells[1].source == alert
    hooks = '<div class="nbgrader_cell"><input class="score tabbable" type="checkbox"></div>'
    feedback, formgrade = assert_inert(with_cells(markdown_cell(hooks)), baseline)
    page, template = Page.parse(formgrade), baseline["formgrade"]
    classes = Counter(c for e in page.elements for k, v in e.attrs if k == "class" for c in (v or "").split())
    template_classes = Counter(c for e in template.elements for k, v in e.attrs if k == "class"
                               for c in (v or "").split())
    assert all(classes[c] == template_classes[c] for c in ("nbgrader_cell", "score", "tabbable"))


def test_instructor_cells_are_unchanged():
    nb = release()
    assert [c.source for c in autograded(nb).cells] == [c.source for c in nb.cells]


def test_honest_outputs_survive(baseline):
    png = {"output_type": "display_data", "data": {"image/png": PNG, "text/plain": "<Figure>"},
           "metadata": {"image/png": {"width": 320, "height": 240}}}
    table = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/html": HONEST_HTML_OUTPUT, "text/plain": "table"}}
    text = {"output_type": "stream", "name": "stdout", "text": "max error 0.0039 <= S/2\n"}
    latex = {"output_type": "display_data", "metadata": {}, "data": {"text/latex": "$x^2$", "text/plain": "x^2"}}
    nb = with_cells(code_cell([png, table, text, latex]))
    graded = autograded(nb)
    assert graded.cells[1].outputs[0].data["image/png"] == PNG
    assert "<th>levels</th>" in graded.cells[1].outputs[1].data["text/html"]  # (html5lib adds a tbody)
    assert graded.cells[1].outputs[2] == nbformat.from_dict(text)
    feedback, _ = assert_inert(nb, baseline)
    page = Page.parse(feedback)
    img = next(e for e in page.elements if e.tag == "img" and dict(e.attrs).get("src", "").startswith("data:image/png"))
    assert dict(img.attrs)["src"] == f"data:image/png;base64,{PNG}" and dict(img.attrs)["width"] == "320"
    assert "levels" in page.visible() and "max error 0.0039 <= S/2" in page.visible() and "$x^2$" in page.visible()


def test_raster_attachments_are_kept():
    nb = with_cells(markdown_cell("![plot](attachment:plot.png)", attachments={"plot.png": {"image/png": PNG}}))
    graded = autograded(nb)
    assert graded.cells[1].source == "![plot](attachment:plot.png)"
    assert f'src="data:image/png;base64,{PNG}"' in feedback_html(graded)


# ---------------------------------------------------------------------------------------- end to end


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", MPLBACKEND="Agg")
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


HONEST_EXTRAS = [
    {"cell_type": "markdown", "id": "honest-notes", "metadata": {}, "source": HONEST_MARKDOWN},
    {"cell_type": "code", "id": "honest-plot", "metadata": {}, "execution_count": None, "outputs": [],
     "source": f"import base64\nfrom IPython.display import HTML, Image, display\n"
               f"display(Image(data=base64.b64decode({PNG!r})))\ndisplay(HTML({HONEST_HTML_OUTPUT!r}))\n"},
]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A class of two, graded in the sandbox, with its feedback: the honest perfect student and one
    carrying every payload (markdown cells it adds, outputs it leaves and makes, metadata)."""
    from grader.publish.sample_class import solutions, students, submission

    course = tmp_path_factory.mktemp("course")
    for name in ("source", "release", "nbgrader_config.py"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, course / name)
    run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], course)
    answers = solutions(nbformat.read(course / "source" / ASSIGNMENT / NOTEBOOK, as_version=4))
    perfect = next(s for s in students([], []) if s.student_id == "perfect")
    nb = json.loads(json.dumps(submission(nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4),
                                          answers, perfect)))
    hostile = xss_metadata.add(xss_outputs.add(xss_markdown.add(copy.deepcopy(nb))))
    hostile["cells"] += HONEST_EXTRAS
    for student, notebook in (("perfect", nb), ("xss", hostile)):
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_text(json.dumps(notebook), encoding="utf-8")
    run([sys.executable, "-m", "grader.grading.autograde", "--root", str(course), "--assignment", ASSIGNMENT,
         "--workers", "2"], course)
    run([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--force"], course)
    return course


def feedback_file(course: Path, student: str) -> Path:
    return course / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK_ID}.html"


@pytest.mark.slow
@pytest.mark.sandbox
def test_end_to_end_no_live_student_script(course):
    baseline = pages_of(release())
    summary = json.loads((course / "build" / "grading" / ASSIGNMENT / "summary.json").read_text(encoding="utf-8"))
    assert summary["perfect"]["score"] == TOTAL_POINTS
    assert summary["xss"]["score"] == TOTAL_POINTS  # the payloads change no grade

    graded = nbformat.read(course / "autograded" / "xss" / ASSIGNMENT / NOTEBOOK, as_version=4)
    # The payloads did run in the kernel: the display update landed in the earlier display, sanitized.
    shown = [o.get("data", {}).get("text/html", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs]
    assert any("<i>updated</i>" in h for h in shown) and not any("harmless before the update" in h for h in shown)
    assert any(c.source == HONEST_MARKDOWN for c in graded.cells)
    for student in ("perfect", "xss"):
        feedback = feedback_file(course, student).read_text(encoding="utf-8")
        assert active_content(feedback, baseline["feedback"]) == [], student
        autograded_nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)
        assert active_content(formgrade_html(autograded_nb), baseline["formgrade"]) == [], student
    page = Page.parse(feedback_file(course, "xss").read_text(encoding="utf-8"))
    assert any(e.tag == "img" and dict(e.attrs).get("src") == f"data:image/png;base64,{PNG}" for e in page.elements)
    assert "levels" in page.visible() and "$a < b$" in page.visible()


def open_in_chromium(pages: dict[str, Path]) -> dict[str, dict]:
    """For each page: the dialogs it opened, its title and the payloads' global, after load and a hover."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():  # a missing browser is a failure, never a silent skip (as in tests/browser)
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (or set $CHROMIUM)")
    seen = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            for name, path in pages.items():
                page = browser.new_page()
                dialogs: list[str] = []
                page.on("dialog", lambda d, found=dialogs: (found.append(d.message), d.dismiss()))
                # No network: MathJax and the formgrader's scripts do not load (the student's could not either).
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                           else route.abort())
                page.goto(path.as_uri(), wait_until="load")
                for y in range(0, 2000, 100):  # hover handlers, were there any
                    page.mouse.move(300, y)
                page.wait_for_timeout(500)
                state = page.evaluate("() => ({title: document.title,"
                                      " xss: window.__xss === undefined ? null : String(window.__xss)})")
                seen[name] = {"dialogs": dialogs, **state}
                page.close()
        finally:
            browser.close()
    return seen


@pytest.mark.slow
@pytest.mark.sandbox
def test_end_to_end_nothing_runs_in_chromium(course, tmp_path):
    autograded_nb = nbformat.read(course / "autograded" / "xss" / ASSIGNMENT / NOTEBOOK, as_version=4)
    (tmp_path / "formgrade.html").write_text(formgrade_html(autograded_nb), encoding="utf-8")
    # The control: the submission as handed in, rendered without the sanitizer, does run its payloads.
    submitted = nbformat.read(course / "submitted" / "xss" / ASSIGNMENT / NOTEBOOK, as_version=4)
    (tmp_path / "control.html").write_text(feedback_html(submitted, preprocessors=False), encoding="utf-8")
    seen = open_in_chromium({"feedback": feedback_file(course, "xss"), "formgrade": tmp_path / "formgrade.html",
                             "control": tmp_path / "control.html"})
    control = seen.pop("control")
    assert control["dialogs"] and (control["title"] == "pwned" or control["xss"]), control
    for name, state in seen.items():
        assert state == {"dialogs": [], "title": NOTEBOOK_ID, "xss": None}, f"{name}: {state}"

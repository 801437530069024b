"""The course web site (``make html``) read in headless Chromium from a loopback server.

Every page loads with no failed request and none leaving localhost, formulas are
typeset by the site's own MathJax, the ten exercise headings are there, every
figure renders, and the links between pages lead where they say.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urldefrag

import nbformat
import pytest

from grader.course.contract import EXERCISES, TESTS
from grader.publish import site

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PAGES = {p.file: p for p in site.PAGES}
FILES = ["index.html", *PAGES]
NOTEBOOK_FILES = list(PAGES)
EXERCISE_FILES = ["exercises.html", "instructor.html"]


def expected_figures(file: str) -> int:
    page = PAGES.get(file)
    if page is None or not page.execute:
        return 0
    return site.drawing_cells(nbformat.read(ROOT / page.notebook, as_version=4))


@pytest.fixture(scope="module")
def opened(watched_context, site_url, screenshots):
    """``opened(file)``: the page loaded once, math typeset, screenshots taken; with its traffic."""
    cache = {}

    def open_page(file: str):
        if file not in cache:
            context, traffic = watched_context()
            page = context.new_page()
            response = page.goto(f"{site_url}/{file}", wait_until="load")
            assert response is not None and response.ok, f"{file}: HTTP {response and response.status}"
            if page.evaluate("() => Boolean(window.MathJax)"):
                page.wait_for_function("() => window.MathJax.startup && window.MathJax.startup.promise")
                page.evaluate("() => MathJax.startup.promise")
            page.wait_for_load_state("networkidle")
            shoot(page, file, screenshots)
            cache[file] = page, traffic
        return cache[file]

    return open_page


def shoot(page, file: str, folder: Path) -> None:
    """The top of the page; for notebook pages also its first figure and first displayed formula."""
    stem = file.removesuffix(".html")
    page.screenshot(path=folder / f"{stem}.png", full_page=(file == "index.html"))
    for what, selector in (("figure", ".jp-OutputArea-output img"), ("formula", 'mjx-container[display="true"]')):
        element = page.locator(selector).first
        if element.count():
            # The whole cell, so that a formula is seen with its text.
            cell = element.locator("xpath=ancestor::div[contains(@class, 'jp-Cell ')][1]")
            cell.scroll_into_view_if_needed()
            cell.screenshot(path=folder / f"{stem}-{what}.png")


@pytest.mark.parametrize("file", FILES)
def test_page_loads_everything_from_localhost(opened, file):
    _, traffic = opened(file)
    assert not traffic.problems, "\n".join(traffic.problems)


@pytest.mark.parametrize("file", NOTEBOOK_FILES)
def test_formulas_are_typeset(opened, file):
    page, _ = opened(file)
    math = page.evaluate("""() => ({
        typeset: document.querySelectorAll('.jp-RenderedMarkdown mjx-container svg').length,
        empty: [...document.querySelectorAll('mjx-container')].filter(e => !e.getBoundingClientRect().width).length,
        errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
        markdown: [...document.querySelectorAll('.jp-RenderedMarkdown')].map(e => e.innerText).join('\\n'),
    })""")
    assert math["typeset"] >= 10, "MathJax typeset almost no formula on the page"
    assert math["empty"] == 0, "some typeset formulas have no size"
    assert math["errors"] == 0, "MathJax reported TeX errors"
    assert "$$" not in math["markdown"], "raw $$ left in the rendered text"
    raw = re.findall(r"\$[^$\n]*\\[A-Za-z]+[^$\n]*\$", math["markdown"])
    assert raw == [], f"raw inline TeX left in the rendered text: {raw[:3]}"


@pytest.mark.parametrize("file", EXERCISE_FILES)
def test_every_exercise_heading_is_there(opened, file):
    page, _ = opened(file)
    headings = page.locator("h1, h2, h3").all_inner_texts()
    for ex in EXERCISES:
        title = f"Exercise {ex.number}: {ex.title}"
        assert any(h.strip().startswith(title) for h in headings), f"no heading {title!r}"


@pytest.mark.parametrize("file", FILES)
def test_every_figure_renders(opened, file):
    page, _ = opened(file)
    images = page.evaluate("""() => [...document.querySelectorAll('img')].map(img => {
        const box = img.getBoundingClientRect();
        return {data: img.src.startsWith('data:image/'), complete: img.complete,
                width: img.naturalWidth, height: img.naturalHeight, shown: box.width * box.height};
    })""")
    assert len(images) == expected_figures(file)
    for i, img in enumerate(images, 1):
        assert img["data"], f"figure {i} is not embedded in the page"
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, f"figure {i} did not decode"
        assert img["shown"] > 0, f"figure {i} has no size on the page"


@pytest.mark.parametrize("file", FILES)
def test_links_lead_to_pages_and_anchors_that_exist(opened, site_url, file):
    page, _ = opened(file)
    links = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    local = sorted({link for link in links if link.startswith(site_url)})
    assert local, "no link to another page"
    for link in local:
        target, anchor = urldefrag(link)
        if target.removeprefix(site_url + "/") in FILES:
            other, _ = opened(target.removeprefix(site_url + "/"))
        else:
            response = page.request.get(target)
            assert response.ok, f"{link}: HTTP {response.status}"
            continue
        if anchor:
            assert other.evaluate("id => document.getElementById(id) !== null", anchor), f"{link}: no such anchor"


def test_navigation_bar_walks_through_every_page(watched_context, site_url):
    context, traffic = watched_context()
    page = context.new_page()
    page.goto(f"{site_url}/index.html")
    for target in [*FILES[1:], FILES[0]]:
        page.locator(f'nav.course-nav a[href="{target}"]').click()
        page.wait_for_url(f"{site_url}/{target}")
        nav = page.locator("nav.course-nav a")
        assert nav.evaluate_all("links => links.map(a => a.getAttribute('href'))") == FILES
        assert page.locator('nav.course-nav a[aria-current="page"]').get_attribute("href") == target
    assert not traffic.problems, "\n".join(traffic.problems)


def test_exercises_page_is_the_release_as_handed_out(opened):
    page, _ = opened("exercises.html")
    code = "\n".join(page.locator(".jp-CodeCell .jp-InputArea").all_inner_texts())
    assert code.count("raise NotImplementedError()") == len({t.function for t in TESTS})
    text = page.inner_text("main")
    assert page.locator(".jp-OutputArea-output").count() == 0, "the student page shows outputs"
    for leak in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "from grader.course import checks"):
        assert leak not in text


def test_instructor_page_shows_solutions_passing_and_no_hidden_test(opened):
    page, _ = opened("instructor.html")
    text = page.inner_text("main")
    for leak in ("BEGIN HIDDEN TESTS", "from grader.course import checks"):
        assert leak not in text
    assert "BEGIN SOLUTION" in text
    assert page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').count() == 0
    nb = nbformat.read(ROOT / PAGES["instructor.html"].notebook, as_version=4)
    visible = {t.grade_id for t in TESTS if not t.hidden}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in visible:
            output = page.locator(f'[id="cell-id={cell.id}"] .jp-OutputArea-output').inner_text().strip()
            assert len(output.splitlines()) == 1, f"{cell.id}: a passing visible check prints one line"

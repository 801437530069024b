"""The class report (``python -m grader.publish.class_report``) read in headless Chromium.

The report of the small class of tests/test_class_report.py (hostile student ids included), served on
loopback: it loads nothing else, every figure decodes and has a size, every in-page link has its anchor,
no script runs (a student id that is a script would raise an alert), and the hostile ids read as text.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_class_report import HOSTILE, IMG, build_course  # tests/ is on sys.path (tests/conftest.py)

from grader.publish import class_report

pytestmark = pytest.mark.browser


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 -- the base class's name
        pass


@pytest.fixture(scope="module")
def report_url(tmp_path_factory) -> Iterator[str]:
    """The report of the test class, served on 127.0.0.1 at an ephemeral port."""
    root = tmp_path_factory.mktemp("course")
    out = root / "report" / "index.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(root))
        build_course(root)
        assert class_report.main(["--root", str(root), "--out", str(out), "--min-students", "5"]) == 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(out.parent)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()
    server.server_close()


def test_class_report_page_renders_offline(watched_context, report_url, screenshots):
    context, traffic = watched_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    response = page.goto(report_url, wait_until="load")
    assert response is not None and response.ok
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshots / "class-report.png", full_page=True)

    images = page.evaluate("""() => [...document.querySelectorAll('img')].map(img => {
        const box = img.getBoundingClientRect();
        return {data: img.src.startsWith('data:image/png;base64,'), complete: img.complete,
                width: img.naturalWidth, height: img.naturalHeight, shown: box.width * box.height};
    })""")
    assert len(images) == 3
    for i, img in enumerate(images, 1):
        assert img["data"], f"figure {i} is not embedded in the page"
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, f"figure {i} did not decode"
        assert img["shown"] > 0, f"figure {i} has no size on the page"

    fragments = page.evaluate("() => [...document.querySelectorAll('a[href^=\"#\"]')].map(a => a.hash.slice(1))")
    assert fragments, "no in-page link"
    missing = [f for f in fragments if not page.evaluate("id => document.getElementById(id) !== null", f)]
    assert not missing, f"links to anchors that do not exist: {missing[:3]}"

    assert page.locator("script").count() == 0 and not dialogs, dialogs
    text = page.inner_text("main")
    assert HOSTILE in text and IMG in text  # shown as text, never as markup
    assert not traffic.problems, "\n".join(traffic.problems)

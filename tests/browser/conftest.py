"""Fixtures for the browser tests: the built site on a loopback HTTP server, and headless Chromium.

Chromium is Debian's package (/usr/bin/chromium), driven by Playwright; Playwright's
own browser download is never used.  The site under test is $COURSE_SITE when set
(``make test-browser`` builds it with ``make html`` first), otherwise a fresh build
in a temporary folder.  Screenshots go to build/screenshots/.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium calls home at start and on a
# closed network those connections fail; none of them is the site's.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium for the whole session."""
    from playwright import sync_api  # a test dependency: make install

    if not CHROMIUM.exists():  # a missing browser is a failure, never a silent skip
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (or set $CHROMIUM)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@dataclass
class Traffic:
    """What a browser context asked for that went wrong."""

    outside: list[str] = field(default_factory=list)  # requests for a host other than loopback (blocked)
    failed: list[str] = field(default_factory=list)  # requests that failed or answered >= 400
    errors: list[str] = field(default_factory=list)  # uncaught page errors and console errors

    @property
    def problems(self) -> list[str]:
        return ([f"left localhost: {u}" for u in self.outside] + [f"failed: {u}" for u in self.failed]
                + [f"script error: {e}" for e in self.errors])


def watch(context, traffic: Traffic) -> None:
    """Block and record every request that leaves loopback; record failures and script errors."""

    def guard(route):
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            traffic.outside.append(url)
            route.abort()

    def on_page(page):
        page.on("requestfailed", lambda r: traffic.failed.append(f"{r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and traffic.failed.append(f"{r.url} (HTTP {r.status})"))
        page.on("pageerror", lambda e: traffic.errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and traffic.errors.append(m.text))

    context.route("**/*", guard)
    context.on("page", on_page)


@pytest.fixture(scope="session")
def watched_context(browser):
    """A factory of browser contexts whose traffic is watched: ``context, traffic = watched_context()``."""
    contexts = []

    def make(**options):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
        traffic = Traffic()
        watch(context, traffic)
        contexts.append(context)
        return context, traffic

    yield make
    for context in contexts:
        context.close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 -- the base class's name
        pass


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory) -> Path:
    """The built site: $COURSE_SITE, or a fresh build."""
    given = os.environ.get("COURSE_SITE")
    if given:
        path = Path(given).resolve()
        if not (path / "index.html").exists():
            pytest.fail(f"COURSE_SITE={given} holds no index.html: run 'make html' first")
        return path
    from grader.publish import site

    out = tmp_path_factory.mktemp("site")
    site.build(ROOT, out)
    return out


@pytest.fixture(scope="session")
def site_url(site_dir: Path) -> Iterator[str]:
    """The site served on 127.0.0.1 at an ephemeral port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()

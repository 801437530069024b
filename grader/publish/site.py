"""Build the course web site: static HTML pages that work offline.

    python -m grader.publish.site build [--out site] [--class-report build/report/index.html]

Pages written to the output folder:

    index.html        the course: the pages and the ten exercises, linked
    lesson.html       notebooks/quantization_and_distillation.ipynb, executed, with its figures
    exercises.html    the student release as students receive it (not executed)
    instructor.html   the source notebook with solutions, hidden tests removed, executed
    capstone.html     the capstone's source notebook, hidden tests removed, executed, with its figures
    mathjax/          MathJax 3 (TeX in, SVG out), copied from the django-static-mathjax package
    class-report.html with --class-report: the class report (make report), linked from index.html

Nothing is fetched from the network when a page is read: MathJax is served from
the site, every figure is embedded in its page, and nbconvert's require.js and
mermaid.js (loaded from a CDN by its default template) are left out.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import os
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import jinja2
import nbformat
from markupsafe import Markup
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from nbgrader.preprocessors import ClearHiddenTests

from grader.course import capstone
from grader.course.contract import ASSIGNMENT, EXERCISES, FUNCTIONS, NOTEBOOK, TOTAL_POINTS

TITLE = "Quantization and Distillation"
MATHJAX_URL = "mathjax/tex-svg.js"
# What tex-svg.js may load after it starts: TeX extensions on demand (autoload),
# the menu and its accessibility options (assistive MathML, speech).
MATHJAX_PARTS = ("tex-svg.js", "input/tex/extensions", "ui", "a11y", "sre")


@dataclass(frozen=True)
class Page:
    file: str  # written into the site folder
    title: str
    notebook: str  # relative to the course root
    execute: bool
    strip_hidden_tests: bool
    summary: str


PAGES: tuple[Page, ...] = (
    Page("lesson.html", "Lesson", "notebooks/quantization_and_distillation.ipynb", True, False,
         "The theory behind the exercises, with every figure: the affine map, rounding and clipping, "
         "scales, error measures, temperature, the KD loss, memory budgets and shipping gates."),
    Page("exercises.html", "Exercises", f"release/{ASSIGNMENT}/{NOTEBOOK}", False, False,
         f"The student notebook as handed out: {len(EXERCISES)} exercises, {len(FUNCTIONS)} functions to "
         "write, with visible checks under each. Open it in JupyterLab (make lab) to work on it."),
    Page("instructor.html", "Instructor solutions", f"source/{ASSIGNMENT}/{NOTEBOOK}", True, True,
         "The exercises with their reference solutions, executed. Hidden tests are left out."),
    Page("capstone.html", "Capstone", f"source/{capstone.ASSIGNMENT}/{capstone.NOTEBOOK}", True, True,
         f"The second assignment, executed with the reference solutions: {len(capstone.NEW_FUNCTIONS)} new "
         "functions quantize all-MiniLM-L6-v2 (outliers, SQNR per layer and format, clipping, embeddings, "
         "retrieval, memory, shipping gates) and distil a digits classifier. Hidden tests are left out."),
)

# nbconvert's lab template with the network taken out (MathJax 3 from the site,
# no require.js, no mermaid.js, no widget manager) and a navigation bar.
PAGE_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {
  tex: {
    inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
    displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
    processEscapes: true,
    processEnvironments: true,
    tags: "ams"
  },
  svg: {fontCache: "global"}
};
</script>
<script src="{{ resources.mathjax_url }}" defer></script>
{%- endblock html_head_js_mathjax -%}
{%- block extra_css -%}
<style type="text/css">
{{ resources.nav_css }}
.course-nav { padding: 0.6em 1em; font-family: var(--jp-ui-font-family, sans-serif); }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.course_nav }}
{%- endblock body_header -%}
"""

INDEX_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 60em;
  margin: 0 auto; padding: 0 1.5em 3em; color: #212121; line-height: 1.5; }
{{ nav_css }}
h1 { margin-top: 1em; }
.pages { display: grid; grid-template-columns: repeat(auto-fit, minmax(16em, 1fr)); gap: 1em; }
.pages section { border: 1px solid #ddd; border-radius: 6px; padding: 0.2em 1em 0.8em; }
table { border-collapse: collapse; width: 100%; margin-top: 0.5em; }
th, td { text-align: left; padding: 0.35em 0.6em; border-bottom: 1px solid #e0e0e0; vertical-align: top; }
td.points, th.points { text-align: right; }
code { font-size: 0.92em; }
a { color: #1976d2; }
</style>
</head>
<body>
{{ nav }}
<main>
<h1>{{ title }}</h1>
<p>Ten autograded exercises on the math of LLM compression: quantize and dequantize with the affine map
<code>r = S(q - Z)</code>, choose scales, budget memory, measure and trade off quantization error, soften a
teacher's logits with temperature, distil with <code>tau^2 * KL(teacher || student)</code>, and decide
whether a compressed model ships.</p>
<div class="pages">
{%- for page in pages %}
<section>
<h2><a href="{{ page.file }}">{{ page.title }}</a></h2>
<p>{{ page.summary }}</p>
</section>
{%- endfor %}
</div>
<h2>The exercises</h2>
<table>
<thead><tr><th>#</th><th>exercise</th><th>functions</th><th class="points">points</th><th>read</th></tr></thead>
<tbody>
{%- for ex in exercises %}
<tr>
<td>{{ ex.number }}</td>
<td>{{ ex.title }}</td>
<td>{% for f in ex.functions %}<code>{{ f }}</code>{% if not loop.last %}, {% endif %}{% endfor %}</td>
<td class="points">{{ ex.points }}</td>
<td>{% for file, label in ex.links %}<a href="{{ file }}">{{ label }}</a>{% if not loop.last %} · {% endif %}{% endfor %}</td>
</tr>
{%- endfor %}
<tr><td></td><td><strong>total</strong></td><td></td><td class="points"><strong>{{ total }}</strong></td><td></td></tr>
</tbody>
</table>
</main>
</body>
</html>
"""

NAV_CSS = """\
.course-nav { display: flex; gap: 1.5em; align-items: baseline; padding: 0.6em 0;
  border-bottom: 1px solid var(--jp-border-color2, #ddd); }
.course-nav a { color: var(--jp-content-link-color, #1976d2); text-decoration: none; }
.course-nav a[aria-current="page"] { color: inherit; font-weight: 600; }
.course-nav .course-title { font-weight: 600; margin-right: auto; }"""

# A code cell that draws: executed, it shows exactly one figure.
DRAWS = re.compile(r"\bplots\.plot_\w+\(|\bplt\.(?:subplots|figure)\(")
HEADING = re.compile(r'<h\d id="([^"]+)">\s*Exercise (\d+)\b')
EXTERNAL_LOAD = re.compile(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"', re.I)
NON_EMBEDDED_IMAGE = re.compile(r'<img\b[^>]*\bsrc="(?!data:)[^"]*"', re.I)
EMBEDDED_IMAGE = re.compile(r'<img\b[^>]*\bsrc="data:image/', re.I)


class BuildError(Exception):
    """A page could not be built; the message says which and why."""


def say(message: str) -> None:
    print(message, flush=True)


def nav_html(current: str) -> str:
    """The navigation bar shared by every page; ``current`` is the page's file name."""
    links = [("index.html", "Course home")] + [(p.file, p.title) for p in PAGES]
    items = [f'<span class="course-title">{html.escape(TITLE)}</span>']
    for file, label in links:
        here = ' aria-current="page"' if file == current else ""
        items.append(f'<a href="{file}"{here}>{html.escape(label)}</a>')
    return '<nav class="course-nav">' + "".join(items) + "</nav>"


def kernel_env() -> dict[str, str]:
    """Environment for kernels: ours, minus a matplotlib backend that would stop inline figures."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # make exports Agg; the kernel must use the inline backend
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def strip_hidden_tests(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without its ### BEGIN/END HIDDEN TESTS regions (nbgrader's own preprocessor)."""
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    return nb


def drawing_cells(nb: nbformat.NotebookNode) -> int:
    """How many code cells draw a figure (each shows one when executed)."""
    return sum(1 for c in nb.cells if c.cell_type == "code" and DRAWS.search(c.source))


def execute(nb: nbformat.NotebookNode, path: Path, timeout: int) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel started in the notebook's folder."""
    client = NotebookClient(nb, timeout=timeout, resources={"metadata": {"path": str(path.parent)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    try:
        client.execute(env=kernel_env())
    except CellExecutionError as err:
        failed = next((c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))),
                      None)
        where = f" in the cell starting {failed.source.strip().splitlines()[0]!r}" if failed is not None else ""
        raise BuildError(f"{path}: {err.ename}: {err.evalue}{where}") from None
    return nb


def exporter() -> HTMLExporter:
    return HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"course_page.html.j2": PAGE_TEMPLATE})],
        template_file="course_page.html.j2",
        mathjax_url=MATHJAX_URL,
        embed_images=True,  # markdown images too, as data URIs
    )


def render(nb: nbformat.NotebookNode, page: Page) -> str:
    resources = {"metadata": {"name": f"{page.title} · {TITLE}"}, "course_nav": nav_html(page.file),
                 "nav_css": NAV_CSS}
    body, _ = exporter().from_notebook_node(nb, resources=resources)
    offending = EXTERNAL_LOAD.findall(body) + NON_EMBEDDED_IMAGE.findall(body)
    if offending:
        raise BuildError(f"{page.file} would load from outside the site: {offending[0][:120]}")
    return body


def build_page(root: Path, out: Path, page: Page, timeout: int) -> dict[int, str]:
    """Write one notebook page; return the anchor of each exercise heading in it."""
    path = root / page.notebook
    nb = nbformat.read(path, as_version=4)
    if page.strip_hidden_tests:
        nb = strip_hidden_tests(nb)
    started = time.perf_counter()
    if page.execute:
        say(f"  executing {page.notebook} ...")
        nb = execute(nb, path, timeout)
    body = render(nb, page)
    (out / page.file).write_text(body, encoding="utf-8")
    figures = len(EMBEDDED_IMAGE.findall(body))
    say(f"  wrote {page.file}: {figures} figures, {len(body.encode()) / 1e6:.1f} MB "
        f"({time.perf_counter() - started:.1f} s)")
    if page.execute and figures != drawing_cells(nb):
        say(f"  warning: {page.file} has {figures} figures but {drawing_cells(nb)} cells that draw one")
    return {int(number): anchor for anchor, number in HEADING.findall(body)}


def mathjax_folder() -> Path:
    """MathJax's browser build (es5/) inside the django-static-mathjax package."""
    spec = importlib.util.find_spec("mathjax")
    folder = Path(spec.origin).parent / "static" / "mathjax" if spec and spec.origin else None
    if folder is None or not (folder / "es5" / MATHJAX_PARTS[0]).exists():
        raise BuildError("MathJax not found: install the django-static-mathjax package (make install)")
    return folder


def copy_mathjax(out: Path) -> None:
    source = mathjax_folder()
    target = out / "mathjax"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy2(source / "LICENSE", target / "LICENSE")
    for part in MATHJAX_PARTS:
        if (source / "es5" / part).is_dir():
            shutil.copytree(source / "es5" / part, target / part)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / "es5" / part, target / part)
    say(f"  copied MathJax into mathjax/ ({folder_size(target) / 1e6:.1f} MB)")


CLASS_REPORT = Page("class-report.html", "Class report", "build/report/index.html", False, False,
                    "For instructors: what the class got wrong, by test cell and misconception (make report).")


def write_index(out: Path, anchors: dict[str, dict[int, str]], report: bool = False) -> None:
    exercises = []
    for ex in EXERCISES:
        links = [(f"{file}#{found[ex.number]}", label)
                 for file, label in (("exercises.html", "exercise"), ("instructor.html", "solution"))
                 if ex.number in (found := anchors.get(file, {}))]
        exercises.append({"number": ex.number, "title": ex.title, "functions": ex.functions,
                          "points": ex.points, "links": links})
    text = jinja2.Environment(autoescape=True).from_string(INDEX_TEMPLATE).render(
        title=TITLE, pages=[*PAGES, CLASS_REPORT] if report else PAGES, exercises=exercises, total=TOTAL_POINTS,
        nav=Markup(nav_html("index.html")), nav_css=Markup(NAV_CSS),
    )
    (out / "index.html").write_text(text, encoding="utf-8")
    say("  wrote index.html")


def build(root: Path, out: Path, timeout: int = 120, class_report: Path | None = None) -> None:
    """Write the whole site into ``out`` (created; its old content is replaced), with the class report if given."""
    if class_report is not None and not class_report.is_file():
        raise BuildError(f"{class_report} not found (run 'make report' first)")
    mathjax_folder()  # fail before the slow part when something is missing
    for page in PAGES:
        if not (root / page.notebook).exists():
            hint = " (run 'make release' first)" if page.notebook.startswith("release/") else ""
            raise BuildError(f"{root / page.notebook} not found{hint}")
    out.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        (out / page.file).unlink(missing_ok=True)
    # Each page runs its own kernel: build them side by side.
    with ThreadPoolExecutor(max_workers=len(PAGES)) as pool:
        futures = {page.file: pool.submit(build_page, root, out, page, timeout) for page in PAGES}
        anchors = {file: future.result() for file, future in futures.items()}
    (out / CLASS_REPORT.file).unlink(missing_ok=True)
    if class_report is not None:  # self-contained and offline already (grader.publish.class_report)
        shutil.copyfile(class_report, out / CLASS_REPORT.file)
        say(f"  copied {class_report} to {CLASS_REPORT.file}")
    write_index(out, anchors, report=class_report is not None)
    copy_mathjax(out)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.publish.site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the site")
    b.add_argument("--out", type=Path, default=Path("site"), help="output folder (default: %(default)s)")
    b.add_argument("--root", type=Path, default=Path("."), help="course root (default: the current folder)")
    b.add_argument("--timeout", type=int, default=120, help="seconds allowed per cell (default: %(default)s)")
    b.add_argument("--class-report", type=Path, help="the class report to include and link (make report writes "
                   "build/report/index.html); it names students: leave it out of a site students read")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    say(f"building {args.out}/ from {args.root.resolve()}")
    try:
        build(args.root, args.out, args.timeout, args.class_report)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    say(f"site built in {time.perf_counter() - started:.1f} s: {args.out}/index.html "
        f"({folder_size(args.out) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

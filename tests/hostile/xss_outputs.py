"""Correct code, plus cells whose outputs carry script payloads, both left in the file and made when run."""

from ._build import TOTAL, index, write

DESCRIPTION = "correct code + outputs with application/javascript, script in text/html and svg, display updates"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "graded"

JS = "alert(1);document.title='pwned';window.__xss='output'"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
SVG = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{JS}"><script>{JS}</script><circle r="4"/></svg>'


def _display(data: dict, metadata: dict | None = None, kind: str = "display_data") -> dict:
    out = {"output_type": kind, "data": {"text/plain": "<payload>", **data}, "metadata": metadata or {}}
    if kind == "execute_result":
        out["execution_count"] = 1
    return out


# Outputs as a notebook file holds them (a display update lands in the output it updates, see RUN).
STORED = {
    "application_javascript": _display({"application/javascript": JS}),
    "text_javascript": _display({"text/javascript": JS}),
    "html_script": _display({"text/html": f"<b>bold</b><script>{JS}</script>"}),
    "html_onerror": _display({"text/html": f'<img src=x onerror="{JS}">'}, kind="execute_result"),
    "html_isolated": _display({"text/html": f"<script>{JS}</script>"}, {"text/html": {"isolated": True}}),
    "svg_script": _display({"image/svg+xml": SVG}),
    "markdown_javascript_link": _display({"text/markdown": f"[click](javascript:{JS})"}),
    "widget_view": _display({"application/vnd.jupyter.widget-view+json":
                             {"model_id": "0123", "version_major": 2, "version_minor": 0}}),
    "png_width_attribute": _display({"image/png": PNG}, {"image/png": {"width": f"1 onerror={JS}"}}),
    "png_filename_javascript": _display({"image/png": PNG}, {"filenames": {"image/png": "javascript:alert(1)"}}),
    "updated_display": _display({"text/html": f"<i>updated</i><script>{JS}</script>"}),
    "stream_script": {"output_type": "stream", "name": "stdout", "text": f"<script>{JS}</script>\n"},
    "error_script": {"output_type": "error", "ename": "<script>", "evalue": f"<img src=x onerror=\"{JS}\">",
                     "traceback": [f"<script>{JS}</script>"]},
}

# The same payloads made by running the cells (the pipeline drops outputs left in a submission).
RUN_DISPLAY = f'''
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(Javascript({JS!r}))
display(HTML({f"<b>bold</b><script>{JS}</script>"!r}))
display(HTML({f'<img src=x onerror="{JS}">'!r}))
display(SVG({SVG!r}))
display(Markdown({f"[click](javascript:{JS})"!r}))
display({{"text/html": {f"<script>{JS}</script>"!r}, "text/plain": "isolated"}}, raw=True,
        metadata={{"text/html": {{"isolated": True}}}})
display({{"application/vnd.jupyter.widget-view+json": {{"model_id": "0123", "version_major": 2,
          "version_minor": 0}}, "text/plain": "a widget"}}, raw=True)
display({{"image/png": {PNG!r}, "text/plain": "png"}}, raw=True,
        metadata={{"image/png": {{"width": {f"1 onerror={JS}"!r}}}}})
print({f"<script>{JS}</script>"!r})
xss_handle = display(HTML("<b>harmless before the update</b>"), display_id="xss-update")
'''
RUN_UPDATE = f'''
xss_handle.update(HTML({f"<i>updated</i><script>{JS}</script>"!r}))
'''


def code_cell(source: str, n: int, outputs: list) -> dict:
    return {"cell_type": "code", "id": f"xss-output-{n}", "metadata": {}, "execution_count": None,
            "source": source, "outputs": outputs}


def add(nb: dict) -> dict:
    """After the softmax solution cell: a cell displaying the payloads, then one updating its display."""
    at = index(nb, "softmax") + 1
    stored = list(STORED.values())
    nb["cells"][at:at] = [code_cell(RUN_DISPLAY, 0, stored[: len(stored) // 2]),
                          code_cell(RUN_UPDATE, 1, stored[len(stored) // 2:])]
    return nb


def build(perfect, release, folder):
    write(add(perfect), folder)


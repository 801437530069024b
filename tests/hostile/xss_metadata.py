"""Correct code, plus script payloads in the metadata nbconvert turns into HTML: tags, attachments, widgets."""

import base64
import copy

from ._build import TOTAL, index, write

DESCRIPTION = "correct code + payloads in cell tags, svg/html attachments, widget state and the notebook title"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "repaired"  # the sanitizer clears attachments, and says so

JS = "alert(1);document.title='pwned';window.__xss='metadata'"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


SVG = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{JS}"><script>{JS}</script></svg>'
ATTACHMENTS = {"plot.svg": {"image/svg+xml": _b64(SVG)}, "page.html": {"text/html": _b64(f"<script>{JS}</script>")}}
TAGS = [f'x" onmouseover="{JS}', f"<script>{JS}</script>"]
WIDGETS = {"application/vnd.jupyter.widget-state+json": {
    "version_major": 2, "version_minor": 0,
    "state": {"0123": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls",
                       "model_module_version": "2.0.0",
                       "state": {"value": f"<img src=x onerror=\"{JS}\"></script><script>{JS}</script>"}}},
}}
TITLE = f"</title><script>{JS}</script>"


CELLS = [
    {"cell_type": "markdown", "id": "xss-metadata-0", "source": "![a plot](attachment:plot.svg) ![](attachment:page.html)",
     "attachments": ATTACHMENTS, "metadata": {"tags": TAGS, "jupyter": {"source_hidden": True}}},
    {"cell_type": "code", "id": "xss-metadata-1", "execution_count": None, "outputs": [],
     "source": "pass", "metadata": {"tags": TAGS, "jupyter": {"outputs_hidden": True}}},
]
NOTEBOOK_METADATA = {"widgets": WIDGETS, "title": TITLE}


def add(nb: dict) -> dict:
    """The cells after the dequantize solution cell; widget state and a title in the notebook's metadata."""
    at = index(nb, "dequantize") + 1
    nb["cells"][at:at] = copy.deepcopy(CELLS)
    nb["metadata"].update(copy.deepcopy(NOTEBOOK_METADATA))
    return nb


def build(perfect, release, folder):
    write(add(perfect), folder)

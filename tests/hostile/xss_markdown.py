"""Correct code, plus markdown cells carrying script payloads (stored XSS aimed at the instructor's pages)."""

from ._build import TOTAL, index, write

DESCRIPTION = "correct code + markdown cells with <script>, onerror, svg onload, javascript: links, iframe, meta refresh"
EXPECTED_SCORE = TOTAL
EXPECTED_STATUS = "graded"

# What a live payload would do: open a dialog, retitle the page, set a global (the browser test looks).
JS = "alert(1);document.title='pwned';window.__xss='markdown'"

PAYLOADS = {
    "script": f"<script>{JS}</script>",
    "img_onerror": f'<img src=x onerror="{JS}">',
    "svg_onload": f'<svg onload="{JS}"><circle r="4"/></svg>',
    "iframe_srcdoc": f'<iframe srcdoc="<script>{JS}</script>"></iframe>',
    "a_javascript": f'<a href="javascript:{JS}">a link</a>',
    "a_javascript_obfuscated": '<a href="  JaVa&#x09;ScRiPt&colon;alert(1)">another link</a>',
    "markdown_link_javascript": f"[a markdown link](javascript:{JS})",
    "markdown_link_vbscript": "[a vbscript link](vbscript:msgbox(1))",
    "markdown_link_data_html": "[a data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "markdown_image_javascript": "![an image](javascript:alert(1))",
    "markdown_image_onerror": '![an image](x "title\\" onerror=\\"alert(1)")',
    "object": '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>',
    "embed": '<embed src="javascript:alert(1)">',
    "meta_refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "style_expression": '<p style="width: expression(alert(1))">styled</p>',
    "style_url": '<div style="background-image: url(javascript:alert(1))">styled</div>',
    "style_element": '<style>body { background: url("javascript:alert(1)") }</style>',
    "form": '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">go</button></form>',
    "base": '<base href="javascript:alert(1)//">',
    "mermaid_breakout": f"```mermaid\n</pre><img src=x onerror=\"{JS}\">\n```",
    "math_breakout": f"$x$ </p><script>{JS}</script> $$y$$",
    "html_block_with_markdown": f'<div onmouseover="{JS}">\n\n*emphasis inside*\n\n</div>',
    "details_ontoggle": f'<details open ontoggle="{JS}"><summary>more</summary>text</details>',
}


def cell(source: str, n: int) -> dict:
    return {"cell_type": "markdown", "id": f"xss-markdown-{n}", "metadata": {}, "source": source}


def add(nb: dict) -> dict:
    """Insert one markdown cell per payload after the quantize solution cell."""
    at = index(nb, "quantize") + 1
    nb["cells"][at:at] = [cell(source, n) for n, source in enumerate(PAYLOADS.values())]
    return nb


def build(perfect, release, folder):
    write(add(perfect), folder)

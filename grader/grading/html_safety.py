"""No student script in the pages the instructor and the student open.

``nbgrader generate_feedback`` and the formgrader render notebooks that students wrote to HTML with
nbconvert, served from the instructor's Jupyter origin.  nbconvert passes what a notebook holds into
that HTML as it is: raw HTML in markdown, ``[x](javascript:...)`` links, ```` ```mermaid ```` blocks
(inserted unescaped), ``data:`` URLs, ``text/html`` and ``application/javascript`` outputs, widget
views and state, image metadata written into unquoted attributes.  ``SanitizeStudentHTML``, an
nbconvert preprocessor (``nbgrader_config.py`` puts it last in ``c.Autograde.autograde_preprocessors``
and in ``c.GenerateFeedback.preprocessors``), makes every such thing inert with bleach, the library
nbconvert's own ``SanitizeHTML`` (which it extends) uses:

- **Markdown** (cells, and ``text/markdown`` outputs) is judged by the HTML nbconvert renders from it,
  with the exporter's own ``markdown2html``: sanitizing the markdown source alone misses what
  markdown itself turns into HTML (links, images, mermaid blocks).  A source is kept, unchanged, when
  its rendering is already a fixed point of the sanitizer (``clean(html) == html``): what the page
  then shows is exactly sanitizer output.  Otherwise it is replaced by the first of these whose
  rendering is a fixed point: the sanitized rendering as one HTML block (same look, the offending
  parts escaped as text), the source shown verbatim as preformatted text, a notice.
- **Outputs**: ``text/html`` is sanitized; ``text/plain``, ``text/latex``, ``application/json``,
  PNG and JPEG are kept (the templates escape them); everything else (``application/javascript``,
  ``image/svg+xml``, widget views, PDF, ...) is dropped, with a note when nothing is left to show.
  Output metadata keeps only an image's numeric width and height, ``unconfined`` and ``alt``.
- **Raw cells** are sanitized as HTML; **attachments** keep only raster images; the notebook's
  widget state is dropped.

All cells are treated alike (a locked instructor cell whose rendering is a fixed point, as the
course's are, is left as it is), so nothing depends on metadata a student could forge.  Grades do
not depend on it either: it runs after nbgrader has recorded them.
"""

from __future__ import annotations

import html
import json
import re

import bleach
import tinycss2
from bleach.css_sanitizer import CSSSanitizer
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import Any, Bool, List, Set, Unicode, default

# What nbconvert's markdown renderer (mistune, pygments, task lists, tables) produces, and the
# harmless HTML a student may write.  Not allowed, hence escaped as text: script, style, iframe,
# object, embed, form controls but a task-list checkbox, svg, math, meta, link, base.
TAGS = frozenset({
    "a", "abbr", "acronym", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite", "code",
    "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins", "kbd", "li", "mark", "ol",
    "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strike", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul",
    "var", "wbr",
})
_EVERYWHERE = {"title", "lang", "dir"}
_PER_TAG = {
    "a": {"href", "class"},
    "img": {"src", "alt", "width", "height"},
    "input": {"type", "class", "disabled", "checked"},  # task lists; type is checked below
    "ol": {"start", "type"},
    "li": {"class", "value"},
    "td": {"style", "align", "colspan", "rowspan"},
    "th": {"style", "align", "colspan", "rowspan", "scope"},
    "col": {"span"}, "colgroup": {"span"},
    "details": {"open"},
    "div": {"class", "style"}, "span": {"class", "style"}, "p": {"style"},
    "pre": {"class"}, "code": {"class"},
    **{f"h{n}": {"id"} for n in range(1, 7)},  # nbconvert's heading anchors
}
PROTOCOLS = frozenset({"http", "https", "mailto", "data"})  # data: only for raster images, see below
_RASTER_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp)[;,]")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
# What a browser ignores in a URL before its scheme (and bleach, too: bleach.sanitizer.sanitize_uri_value).
_URL_NOISE = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")
# Classes the formgrader's scripts look for (its score and comment inputs, keyboard navigation): a
# student's element carrying one would be taken for the formgrader's own.
FORMGRADER_HOOKS = frozenset({"nbgrader_cell", "tabbable", "score", "extra-credit", "comment", "mark-graded",
                              "score-saved", "comment-saved", "help", "next", "previous", "live-notebook"})
_CLASS = re.compile(r"[A-Za-z0-9_-]+")


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """bleach's attribute filter: the allowlist above, with checks on a few values."""
    if name not in _EVERYWHERE and name not in _PER_TAG.get(tag, ()):
        return False
    if name in ("href", "src"):
        # Decoded as a browser decodes it (bleach's own check knows fewer entities, e.g. not &colon;);
        # bleach then checks the scheme against the configured protocols as well.
        url = _URL_NOISE.sub("", html.unescape(value)).lower()
        scheme = _SCHEME.match(url)
        if scheme and scheme.group(1) not in PROTOCOLS:
            return False
        if url.startswith("data:"):  # bleach allows the scheme; only an image may use it
            return tag == "img" and name == "src" and bool(_RASTER_DATA.match(url))
    if name == "class":
        return all(_CLASS.fullmatch(c) and c not in FORMGRADER_HOOKS for c in value.split())
    if tag == "input" and name == "type":
        return value.strip().lower() == "checkbox"
    return True


class _StyleSanitizer(CSSSanitizer):
    """bleach's CSS sanitizer, keeping plain values only (no ``url()``, ``expression()``, ``var()``)."""

    ALLOWED = frozenset({"text-align", "color", "background-color", "font-weight", "font-style",
                         "text-decoration", "vertical-align", "white-space"})
    FUNCTIONS = frozenset({"rgb", "rgba", "hsl", "hsla"})
    TOKENS = frozenset({"whitespace", "comment", "number", "percentage", "dimension", "hash", "literal"})
    _TABLE_ALIGN = re.compile(r"^text-align:(left|right|center)$")  # what mistune writes, kept verbatim

    def __init__(self):
        super().__init__(allowed_css_properties=self.ALLOWED, allowed_svg_properties=frozenset())

    def sanitize_css(self, style: str) -> str:
        if self._TABLE_ALIGN.match(style):
            return style
        declarations = [d for d in tinycss2.parse_declaration_list(style, skip_comments=True, skip_whitespace=True)
                        if d.type == "declaration" and self._plain(d.value)]
        return super().sanitize_css(";".join(tinycss2.serialize([d]) for d in declarations))

    def _plain(self, tokens) -> bool:
        for token in tokens:
            if token.type == "function":
                if token.lower_name not in self.FUNCTIONS or not self._plain(token.arguments):
                    return False
            elif token.type == "ident":
                if token.lower_value.startswith(("expression", "javascript", "url")):
                    return False
            elif token.type not in self.TOKENS:  # url(), bad url, blocks, at-rules, parse errors
                return False
        return True


class SanitizeStudentHTML(SanitizeHTML):
    """nbconvert's SanitizeHTML, judging markdown by its rendering, for the instructor's pages.

    Enabled by default: nbgrader registers the preprocessors of its converters without enabling
    them, and nbconvert's preprocessors are off unless enabled.
    """

    enabled = Bool(True).tag(config=True)
    strip = Bool(False, help="Escape what is not allowed (so the instructor sees it) rather than drop it").tag(
        config=True)
    protocols = Set(Unicode(), default_value=set(PROTOCOLS), help="URL schemes allowed in links and images").tag(
        config=True)
    raster_mimetypes = List(Unicode(), default_value=["image/png", "image/jpeg", "image/gif"],
                            help="Attachment types kept").tag(config=True)
    notice = Unicode("*This cell's content is not shown: it could not be shown safely.*").tag(config=True)

    @default("tags")
    def _tags_default(self):
        return sorted(TAGS)

    @default("attributes")
    def _attributes_default(self):
        return _allowed_attribute

    @default("safe_output_keys")
    def _safe_output_keys_default(self):
        return {"metadata", "text/plain", "text/latex", "application/json", "image/png", "image/jpeg"}

    @default("sanitized_output_types")
    def _sanitized_output_types_default(self):
        return {"text/html"}  # text/markdown is judged by its rendering (sanitize_markdown)

    exporter = Any(allow_none=True, help="The HTMLExporter whose markdown2html renders the markdown")

    # ------------------------------------------------------------------ the notebook

    _resources: dict = {}  # those of the notebook being processed (the renderer reads metadata.path)

    @default("exporter")
    def _exporter_default(self):
        # In generate_feedback the parent is the HTMLExporter that renders the page: the very renderer.
        return self.parent if isinstance(self.parent, HTMLExporter) else HTMLExporter(config=self.config)

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)  # widget state: the HTML templates load a widget renderer for it
        self._resources = resources if isinstance(resources, dict) else {}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if "attachments" in cell:
            self._keep_raster_attachments(cell)
        if cell.cell_type == "markdown":
            source, changed = self.sanitize_markdown(cell.source, cell)
            if changed:
                cell.source = source
                cell.pop("attachments", None)  # the replacement refers to none
            return cell, resources
        if cell.cell_type == "code":
            cell.outputs = self.sanitize_code_outputs(cell.get("outputs", []), cell)
            return cell, resources
        cell.source = self.sanitize_html_tags(cell.source)  # raw (and anything else): as HTML
        return cell, resources

    # ------------------------------------------------------------------ HTML and markdown

    def sanitize_html_tags(self, html_str: str) -> str:
        return bleach.clean(html_str, tags=self.tags, attributes=self.attributes, protocols=self.protocols,
                            strip=self.strip, strip_comments=self.strip_comments, css_sanitizer=_StyleSanitizer())

    def render_markdown(self, source: str, cell) -> str | None:
        """The HTML the exporter renders from ``source`` in ``cell``; None when it cannot."""
        context = {"cell": cell, "resources": self._resources}
        try:
            return self.exporter.markdown2html(context, source)
        except Exception as exc:  # e.g. a missing attachment: nbconvert raises, the page would not render
            self.log.warning("markdown not rendered (%s): shown as text", exc)
            return None

    def _is_safe(self, source: str, cell) -> bool:
        """Whether the page would show exactly what the sanitizer leaves of it.

        mistune writes void elements as ``<img ... />``, the sanitizer as ``<img ...>``: the same
        element (the slash of a start tag is ignored in HTML); only that difference is allowed.
        Where such a pattern is not a tag (text, an attribute, a comment), the sanitizer's output
        escapes or drops it and the two differ, so the source is not kept.
        """
        rendered = self.render_markdown(source, cell)
        return rendered is not None and self.sanitize_html_tags(rendered) == _VOID_SLASH.sub(r"<\1\2>", rendered)

    def sanitize_markdown(self, source: str, cell) -> tuple[str, bool]:
        """(markdown whose rendering is sanitizer output, whether it differs from ``source``).

        The verdict depends only on the source, the attachments and the configuration: it is
        remembered, so the instructor's cells, the same in every submission, are rendered once.
        """
        key = (self._settings(), source, json.dumps(cell.get("attachments"), sort_keys=True, default=str))
        if key not in _VERDICTS:
            if len(_VERDICTS) > 4096:
                _VERDICTS.clear()
            _VERDICTS[key] = self._sanitize_markdown(source, cell)
        return _VERDICTS[key]

    def _settings(self) -> tuple:
        ex = self.exporter
        path = (self._resources.get("metadata") or {}).get("path") if ex.embed_images else None
        return (type(ex), ex.embed_images, path, ex.anchor_link_text, ex.exclude_anchor_links,
                json.dumps(ex.lexer_options, sort_keys=True, default=str), tuple(self.tags), self.attributes,
                tuple(sorted(self.protocols)), self.strip, self.strip_comments, self.notice)

    def _sanitize_markdown(self, source: str, cell) -> tuple[str, bool]:
        if self._is_safe(source, cell):
            return source, False
        bare = {k: v for k, v in cell.items() if k != "attachments"}
        rendered = self.render_markdown(source, cell)
        candidates = []
        if rendered is not None:  # the sanitized rendering, as one HTML block (no blank line ends it)
            candidates.append(_one_block(self.sanitize_html_tags(rendered).strip(), "sanitized"))
        candidates += [_one_block(f"<pre>{html.escape(source, quote=False)}</pre>", "sanitized-source"),
                       self.notice]
        for candidate in candidates:
            if self._is_safe(candidate, bare):
                self.log.info("markdown replaced by a sanitized version")
                return candidate, True
        return "", True

    # ------------------------------------------------------------------ outputs

    def sanitize_code_outputs(self, outputs, cell=None):
        kept = []
        for output in outputs:
            kind = output.get("output_type")
            if kind in ("stream", "error"):  # the templates escape text and tracebacks
                kept.append(output)
                continue
            if kind not in ("display_data", "execute_result"):
                continue
            data, removed = output.get("data", {}), []
            for key in list(data):
                if key == "text/markdown" and isinstance(data[key], str):
                    data[key], _ = self.sanitize_markdown(data[key], cell or {})
                elif key in self.sanitized_output_types and isinstance(data[key], str):
                    data[key] = self.sanitize_html_tags(data[key])
                elif key not in self.safe_output_keys or not isinstance(data[key], str | dict | list):
                    removed.append(key)
                    del data[key]
            if removed and not data:
                data["text/plain"] = f"[{', '.join(sorted(removed))} output not shown: it could run code in this page]"
            output["metadata"] = _image_metadata(output.get("metadata", {}))
            kept.append(output)
        return kept

    def _keep_raster_attachments(self, cell) -> None:
        attachments = cell.get("attachments")
        kept = {}
        if isinstance(attachments, dict):
            for name, bundle in attachments.items():
                raster = {k: v for k, v in bundle.items() if k in self.raster_mimetypes} if isinstance(bundle, dict) else {}
                if raster:
                    kept[name] = raster
        if kept:
            cell["attachments"] = kept
        else:
            cell.pop("attachments", None)


_VERDICTS: dict[tuple, tuple[str, bool]] = {}  # SanitizeStudentHTML.sanitize_markdown's, for the process
_VOID_SLASH = re.compile(r'<(img|br|hr|input|col|wbr)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)\s*/>')


def _one_block(inner: str, name: str) -> str:
    """``inner`` as one markdown HTML block: a div on one line (newlines as character references)."""
    return f'<div class="{name}">' + inner.replace("\r", "").replace("\n", "&#10;") + "</div>"


def _image_metadata(metadata) -> dict:
    """What the templates use of an output's metadata, checked: they write width and height unquoted."""
    kept = {}
    if not isinstance(metadata, dict):
        return kept
    for mime in ("image/png", "image/jpeg"):
        given = metadata.get(mime)
        if not isinstance(given, dict):
            continue
        mine = {k: given[k] for k in ("width", "height")
                if isinstance(given.get(k), int | float) and not isinstance(given.get(k), bool) and given[k] > 0}
        if isinstance(given.get("unconfined"), bool):
            mine["unconfined"] = given["unconfined"]
        if isinstance(given.get("alt"), str):
            mine["alt"] = given["alt"]
        if mine:
            kept[mime] = mine
    return kept

"""The maths-preserving extractor: decoded HTML in, clean text with TeX maths out.

Bytes are decoded before (``curation.decode.decode_html`` refuses binary payloads and guesses charsets).
Per page: size checks -> maths detection -> parse -> depth check -> DOM pre-pass (every maths
format to TeX text) -> main-content selection -> serialise; then a batch of pages goes through one lynx
process, and each output is tidied.  Any page that cannot be extracted gets ``text=""`` and a named
``reason``; the other pages of the batch are unaffected.

Every page has a time budget for its own work (all of the above but lynx, which has its own timeout): a floor
plus so much per MB of HTML. The steps check it as they go (``budget``); a page over it gets the reason
``extract_timeout`` and a warning naming its URL, so one hostile page costs seconds, never the run.

The constructor only stores settings (datatrove / scikit-learn style), so an extractor is cheap to build,
picklable, and safe to ship into daemonic worker processes (lynx runs through ``subprocess``).
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from typing import ClassVar

from .budget import Deadline, PageTimeout
from .detect import MathInfo, detect
from .postprocess import tidy
from .tex import count_formulas

log = logging.getLogger("math_extract")

# Attributes that do not change lynx -dump's text (it renders no styles and, with -nolist, no link targets):
# removed before serialising, which halves the bytes that are written out and that lynx parses.
_UNSHOWN_ATTRIBUTES = (
    "class",
    "id",
    "style",
    "href",
    "title",
    "role",
    "itemprop",
    "itemscope",
    "itemtype",
    "rel",
    "target",
    "tabindex",
    "name",
    "data-mx-tex",
    "aria-label",
    "aria-hidden",
    "aria-labelledby",
    "aria-describedby",
    "aria-expanded",
    "aria-controls",
    "data-toggle",
    "data-target",
    "data-bs-toggle",
    "data-bs-target",
    "onclick",
    "property",
    "content",
    "datetime",
    "translate",
    "accesskey",
    "xml:lang",
)
# Links, once their targets are gone (``href`` above): lynx -dump -nolist prints an ``<a>``'s text as plain text,
# but still keeps an anchor per ``<a>`` and walks the anchors of the document at every line it lays out, so a
# batch of documentation pages (a link per function name) cost it time quadratic in the batch: half of lynx's
# CPU in a batch of 1,024 such pages. Unwrapped, the text stays where it is and lynx prints the same.
_UNSHOWN_TAGS = ("a",)


@dataclass
class Extraction:
    """The result for one page; ``reason`` is None on success, else why ``text`` is empty."""

    text: str
    has_math: bool = False
    formats: tuple[str, ...] = ()
    n_formulas: int = 0
    reason: str | None = None


@dataclass
class _Prepared:
    body: bytes | None
    info: MathInfo | None = None
    reason: str | None = None
    n_formulas: tuple[int, int] = (0, 0)  # all formulas kept, of which TeX written in the text
    left_s: float = 0.0  # what is left of the page's time budget, for tidying lynx's output


def _depth_exceeded(parser) -> bool:
    """libxml2 stops nesting at depth 256 and says so in the parser log; the page is then flagged too_deep."""
    return any(e.type_name == "ERR_RESOURCE_LIMIT" or "excessive depth" in e.message.lower() for e in parser.error_log)


_PARSERS = threading.local()


def _html_parser():
    """This thread's HTML parser, made once and reused page after page (lxml clears its error log at each parse,
    which ``_depth_exceeded`` reads; a parser must not be used by two threads at once)."""
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        from lxml import etree

        parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)
        _PARSERS.parser = parser
    return parser


@functools.cache
def _kept_queries():
    """The two queries of ``_count_kept``, compiled once (lxml is imported lazily)."""
    from lxml import etree

    from .prepass import MATH_CLASS, TEX_MARK

    return etree.XPath(f'count(.//*[@class="{MATH_CLASS}"])'), etree.XPath(f".//*[@{TEX_MARK}]")


def _count_kept(body) -> tuple[int, int]:
    """Formulas in the kept content: converted ones (maths nodes) plus TeX written in the remaining text."""
    count_converted, marked = _kept_queries()
    converted = int(count_converted(body))
    in_text = 0
    for el in marked(body):  # the prepass flagged the elements whose own text has TeX
        in_text += count_formulas(" ".join([el.text or ""] + [c.tail or "" for c in el]))
    return converted + in_text, in_text


@dataclass
class MathExtractor:
    """Extract main text from HTML with every maths format as TeX, laid out by lynx.

    ``timeout_s``: lynx deadline for one page (a batch gets twice that before falling back to single pages);
    ``batch_size``/``max_batch_bytes``: documents and serialised bytes per lynx process (starting lynx costs
    about 17 ms of CPU, more than rendering a small page: at 1024 pages a batch, lynx takes half the CPU it takes
    at 128 on a shard of small pages, with the same output; a batch holding many tables is closed earlier,
    ``render.BatchLoad``); ``main_content``:
    remove boilerplate (False renders the whole page); ``lynx``: the binary; ``width``: lynx's line width
    (wide by default so that paragraphs are not hard-wrapped); ``max_html_bytes``: longer pages (counted in
    characters) are refused as ``too_large``, which bounds the memory one page can take; ``page_budget_s`` +
    ``page_budget_s_per_mb`` x MB of HTML: the time one page's own work may take (lynx aside) before it is
    dropped as ``extract_timeout`` (ordinary pages take well under 0.1 s per MB, so the default is generous
    even on a busy worker; pathological pages are what it stops).
    """

    name: ClassVar[str] = "math_extract"

    timeout_s: float = 10.0
    batch_size: int = 1024
    main_content: bool = True
    lynx: str = "lynx"
    width: int = 1000
    max_html_bytes: int = 8_000_000
    max_batch_bytes: int = 16_000_000
    page_budget_s: float = 5.0
    page_budget_s_per_mb: float = 5.0

    def budget_s(self, html: str) -> float:
        """The time budget of one page (its length counted in characters, as for ``max_html_bytes``)."""
        return self.page_budget_s + self.page_budget_s_per_mb * len(html) / 1e6

    def _prepare(self, html: str) -> _Prepared:
        if not isinstance(html, str):
            return _Prepared(None, reason="not_text")
        if len(html) > self.max_html_bytes:
            return _Prepared(None, reason="too_large")
        if not html[:20000].strip():
            return _Prepared(None, reason="empty")
        deadline = Deadline(self.budget_s(html))
        raw = html.replace("\x00", "").encode("utf-8", "replace")
        info = detect(raw, count_text=False)  # TeX in the text is counted on the kept content instead
        try:
            deadline.check("detect")
            return self._tree(raw, info, deadline)
        except PageTimeout:
            return _Prepared(None, info, "extract_timeout")

    def _tree(self, raw: bytes, info: MathInfo, deadline: Deadline) -> _Prepared:
        """Parse, pre-pass, main content, serialise; raises ``PageTimeout`` when the page's budget runs out."""
        from lxml import etree

        from .boilerplate import select_main_content
        from .prepass import MATH_CLASS, TEX_TEXT_FORMATS, prepass

        parser = _html_parser()
        try:
            doc = etree.fromstring(raw, parser)
        except (etree.ParserError, etree.XMLSyntaxError, ValueError):
            return _Prepared(None, info, "unparsable")
        if doc is None:
            return _Prepared(None, info, "empty")
        if _depth_exceeded(parser):
            return _Prepared(None, info, "too_deep")
        deadline.check("parse")
        converted = prepass(doc, info.formats, deadline)
        body = doc.find("body")
        if body is None:
            return _Prepared(None, info, "empty")
        tex_text = bool(TEX_TEXT_FORMATS.intersection(info.formats))
        if self.main_content:
            # a maths class in the tree: a formula converted, or (the page's own) one named in the HTML
            maths = bool(converted) or MATH_CLASS.encode() in raw
            select_main_content(doc, tex_marks=tex_text, deadline=deadline, maths=maths)
        body.tag = "div"
        body.attrib.clear()
        # nothing converted and no TeX in the text: no formulas to count (saves two XPaths over the page)
        counted = _count_kept(body) if converted or tex_text else (0, 0)
        etree.strip_attributes(body, *_UNSHOWN_ATTRIBUTES)
        etree.strip_tags(body, *_UNSHOWN_TAGS)
        serialised = etree.tostring(body, encoding="utf-8", method="html")
        deadline.check("serialise")
        return _Prepared(serialised, info, n_formulas=counted, left_s=deadline.left())

    def _finish(self, prepared: _Prepared, text: str, reason: str | None) -> Extraction:
        info = prepared.info
        has_math, formats = bool(info and info.has_math), tuple(info.formats) if info else ()
        reason = prepared.reason or reason
        if not reason:
            try:
                text = tidy(text, self.width, Deadline(prepared.left_s))
            except PageTimeout:
                reason = "extract_timeout"
        if reason:
            return Extraction("", has_math, formats, n_formulas=info.n_formulas if info else 0, reason=reason)
        if not text.strip():
            return Extraction("", has_math, formats, n_formulas=0, reason="empty")
        n, n_tex = prepared.n_formulas
        kept = tuple(f for f in formats if f != "tex" or n_tex)
        return Extraction(text, has_math=n > 0 or (has_math and kept != ()), formats=kept, n_formulas=n)

    def __enter__(self) -> MathExtractor:  # holds nothing between batches (one lynx process each)
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def extract(self, html: str, url: str | None = None) -> Extraction:
        """Extract one page (one lynx process; prefer ``extract_many`` for throughput)."""
        return self.extract_many([(html, url)])[0]

    def extract_many(self, pages: list[tuple[str, str | None]]) -> list[Extraction]:
        """Extract pages in batches, one lynx process per batch; order is kept, failures are named."""
        from .render import BatchLoad, render_batch

        results: list[Extraction | None] = [None] * len(pages)
        batch: list[tuple[int, _Prepared, bytes]] = []
        load = BatchLoad()

        def flush() -> None:
            nonlocal batch, load
            if not batch:
                return
            rendered = render_batch(
                [body for _, _, body in batch],
                lynx=self.lynx,
                width=self.width,
                timeout_s=self.timeout_s * 2,
                per_doc_timeout_s=self.timeout_s,
            )
            for (i, prep, _), out in zip(batch, rendered):
                results[i] = self._finish(prep, out.text, out.reason)
            batch, load = [], BatchLoad()

        for i, (html, _url) in enumerate(pages):
            try:
                prep = self._prepare(html)
            except RecursionError:
                prep = _Prepared(None, reason="too_deep")
            except Exception as err:  # noqa: BLE001 - one bad page must not stop the run; counted by reason
                prep = _Prepared(None, reason="prepare_error:" + type(err).__name__)
            if prep.body is None:
                results[i] = self._finish(prep, "", None)
                continue
            if load.full_with(prep.body, self.batch_size, self.max_batch_bytes):
                flush()
            batch.append((i, prep, prep.body))
            load.add(prep.body)
        flush()
        done = [r for r in results if r is not None]
        assert len(done) == len(pages), "every page gets a result"
        for result, (html, url) in zip(done, pages):
            if result.reason == "extract_timeout":
                log.warning(
                    "extract_timeout: %s (%d characters) took more than its %.1f s budget; dropped",
                    url or "page without URL",
                    len(html),
                    self.budget_s(html),
                )
        return done

"""Cheap maths detection on raw HTML, before any parsing.

A page is worth the maths pre-pass only if it carries maths in some format; regexes over the raw markup
find every format we convert (they are a few milliseconds even on large pages) and give a formula count
that the filter stage can use as a maths score without re-reading the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tex import count_formulas

_I = re.I | re.S
# Markup patterns run on the UTF-8 bytes of the page: lower-casing and scanning bytes is several times
# cheaper than doing the same on a str holding non-ASCII text.
_SCRIPT_TEX = re.compile(rb"<script[^>]*type\s*=\s*[\"']?math/tex", _I)
_SCRIPT_ASCII = re.compile(rb"<script[^>]*type\s*=\s*[\"']?math/asciimath", _I)
_MJX3 = re.compile(rb"<mjx-container\b", re.I)
_MJX2 = re.compile(rb"MathJax(?:_(?:Preview|CHTML|SVG|Display|MathML)|-Element-\d+-Frame)")
_KATEX = re.compile(rb"class\s*=\s*[\"'][^\"']*\bkatex\b", re.I)
_KATEX_MATHML = re.compile(rb"class\s*=\s*[\"'][^\"']*\bkatex-mathml\b", re.I)
_KATEX_LIB = re.compile(rb"katex(?:\.min)?\.(?:js|css)|renderMathInElement", re.I)
_MATHML = re.compile(rb"<(?:m:)?math\b", re.I)
_TEX_IMG = re.compile(
    rb"<img[^>]+(?:codecogs\.com|latex\.php\?|mimetex|mathtex\.cgi|/media/math/render/|chart\.googleapis\.com/chart\?[^\"']*cht=tx"
    rb"|class\s*=\s*[\"'][^\"']*\b(?:tex|latex|mwe-math-fallback-image\w*)\b)",
    re.I,
)
_WIKI_FALLBACK_IMG = re.compile(rb"<img[^>]+mwe-math-fallback", re.I)
_FORUM_HINTS = (b"[/tex]", b"[/math]", b"[/latex]", b"[/itex]")
# Text patterns (str), run on the page with its tags stripped
FORUM_TEX = re.compile(r"\[(tex|math|latex|itex)\](.+?)\[/\1\]", _I)  # shared with the pre-pass
_BACKTICKS = re.compile(r"`[^`\n]{1,200}`")
_SCRIPTS = re.compile(r"<script\b.*?</script\s*>", _I)
_STYLES = re.compile(r"<style\b.*?</style\s*>", _I)
_TAGS = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class MathInfo:
    """What maths a page carries: whether any, which formats, and roughly how many formulas."""

    has_math: bool
    formats: tuple[str, ...]
    n_formulas: int


def detect(html: str | bytes, count_text: bool = True) -> MathInfo:
    """Detect maths formats in raw HTML with regexes only (no parsing); ``html`` may be str or UTF-8 bytes.

    Each regex runs only when a cheap substring test on the lower-cased page says its format may be there.
    With ``count_text=False`` TeX written in the text is not counted, only flagged as the format "tex" when
    its delimiters occur (the extractor counts it later, on the main content only).
    """
    raw = html if isinstance(html, bytes) else html.encode("utf-8", "replace")
    low = raw.lower()
    # Each substring test scans the whole page, so the rare words gate the tests below them: most formats'
    # markers contain "math" (math/tex, <math, mathjax, asciimath, mwe-math) and a page without "math" or
    # "katex" skips them all.
    has_math_word = b"math" in low
    has_katex = b"katex" in low
    has_mathjax = has_math_word and b"mathjax" in low
    formats: list[str] = []
    n_script = len(_SCRIPT_TEX.findall(raw)) if has_math_word and b"math/tex" in low else 0
    n_mathml = len(_MATHML.findall(raw)) if has_math_word and (b"<math" in low or b":math" in low) else 0
    n_katex = len(_KATEX_MATHML.findall(raw)) if has_katex and b"katex-mathml" in low else 0
    n_mjx3 = len(_MJX3.findall(raw)) if b"<mjx-container" in low else 0
    if n_script:
        formats.append("mathjax_tex_script")
    if n_mjx3:
        formats.append("mathjax3")
    elif has_mathjax and (b"mathjax_" in low or b"mathjax-element" in low) and _MJX2.search(raw):
        formats.append("mathjax2_rendered")
    if has_katex and (_KATEX.search(raw) or (n_katex and _KATEX_LIB.search(raw))):
        formats.append("katex")
    if n_mathml:
        formats.append("mathml")
    n_img = 0
    if b"<img" in low:  # the regex only looks inside <img> tags, so it is cheap once the tag occurs
        n_img = len(_TEX_IMG.findall(raw))
        if n_mathml:  # Wikipedia's fallback pictures duplicate its MathML
            n_img = max(n_img - len(_WIKI_FALLBACK_IMG.findall(raw)), 0)
    if n_img:
        formats.append("tex_image")
    has_ascii = has_math_word and b"asciimath" in low
    n_ascii = len(_SCRIPT_ASCII.findall(raw)) if has_ascii and b"math/asciimath" in low else 0
    tex_hint = (
        (b"\\" in raw and (b"\\(" in raw or b"\\[" in raw or b"\\begin{" in raw))
        or b"$$" in raw
        or (b"$" in raw and (has_mathjax or has_katex))
    )
    forum_hint = b"[/" in raw and any(h in low for h in _FORUM_HINTS)
    needs_text = has_ascii or forum_hint or (count_text and (tex_hint or b"$" in raw))
    text = ""
    if needs_text and len(raw) < 5_000_000:
        page = html if isinstance(html, str) else raw.decode("utf-8", "replace")
        text = _TAGS.sub(" ", _STYLES.sub(" ", _SCRIPTS.sub(" ", page)))
    if has_ascii:
        n_ascii += len(_BACKTICKS.findall(text))
    if n_ascii:
        formats.append("asciimath")
    n_forum = len(FORUM_TEX.findall(text)) if forum_hint else 0
    if n_forum:
        formats.append("forum_tex")
    n_delim = count_formulas(text) if text and count_text else 0
    if n_delim or (not count_text and tex_hint):
        formats.append("tex")
    elif not formats and has_mathjax:
        formats.append("mathjax_lib")
    n = max(n_script, n_mathml, n_katex, n_mjx3) + n_img + n_ascii + n_forum + n_delim
    return MathInfo(has_math=n > 0, formats=tuple(formats), n_formulas=n)

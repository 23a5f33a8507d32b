"""Cheap maths detection on raw HTML, before any parsing.

A page is worth the maths pre-pass only if it carries maths in some format; regexes over the raw markup
find every format we convert (they are a few milliseconds even on large pages) and give a formula count
that the filter stage can use as a maths score without re-reading the page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_I = re.I | re.S
_SCRIPT_TEX = re.compile(r"<script[^>]*type\s*=\s*[\"']?math/tex", _I)
_SCRIPT_ASCII = re.compile(r"<script[^>]*type\s*=\s*[\"']?math/asciimath", _I)
_MATHJAX_LIB = re.compile(r"mathjax|MathJax\.Hub|window\.MathJax", re.I)
_MJX3 = re.compile(r"<mjx-container\b", re.I)
_MJX2 = re.compile(r"class\s*=\s*[\"'][^\"']*\b(?:MathJax_Preview|MathJax_CHTML|MathJax_SVG|MathJax_Display|MathJax)\b", re.I)
_KATEX = re.compile(r"class\s*=\s*[\"'][^\"']*\bkatex\b", re.I)
_KATEX_LIB = re.compile(r"katex(?:\.min)?\.(?:js|css)|renderMathInElement", re.I)
_MATHML = re.compile(r"<(?:m:)?math\b", re.I)
_TEX_ANNOT = re.compile(r"encoding\s*=\s*[\"']application/x-tex", re.I)
_TEX_IMG = re.compile(
    r"<img[^>]+(?:codecogs\.com|latex\.php\?|mimetex|mathtex\.cgi|/media/math/render/|chart\.googleapis\.com/chart\?[^\"']*cht=tx"
    r"|class\s*=\s*[\"'][^\"']*\b(?:tex|latex|mwe-math-fallback-image\w*)\b)", re.I)
_FORUM = re.compile(r"\[(tex|math|latex|itex)\].+?\[/\1\]", _I)
_ASCII_LIB = re.compile(r"ASCIIMathML|asciimath", re.I)
# TeX delimiters in text: display first so that $$..$$ is not counted as two empty $..$
_TEX_DELIMS = re.compile(
    r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)|\\begin\{([a-zA-Z*]+)\}.+?\\end\{\1\}"
    r"|(?<![\\$\w])\$(?=[^\s$])[^$<>\n]{1,400}?(?<=[^\s\\])\$(?![\w$])", re.S)
_TEXISH = re.compile(r"[\\^_{}=]|^\s*[A-Za-z]\s*$")
_TAGS = re.compile(r"<script\b.*?</script>|<style\b.*?</style>|<[^>]+>", _I)


@dataclass(frozen=True)
class MathInfo:
    """What maths a page carries: whether any, which formats, and roughly how many formulas."""
    has_math: bool
    formats: tuple[str, ...]
    n_formulas: int


def count_tex_delimited(text: str) -> int:
    """Formulas written as TeX in running text; a lone ``$...$`` counts only if its inside looks like TeX."""
    n = 0
    for m in _TEX_DELIMS.finditer(text):
        s = m.group(0)
        if s.startswith("$") and not s.startswith("$$") and not _TEXISH.search(s[1:-1]):
            continue  # "$5 and $10" style prices
        n += 1
    return n


def detect(html: str) -> MathInfo:
    """Detect maths formats in raw HTML with regexes only (no parsing)."""
    formats: list[str] = []
    n_script = len(_SCRIPT_TEX.findall(html))
    n_mathml = len(_MATHML.findall(html))
    n_katex = len(re.findall(r"class\s*=\s*[\"'][^\"']*\bkatex-mathml\b", html, re.I))
    n_mjx3 = len(_MJX3.findall(html))
    if n_script:
        formats.append("mathjax_tex_script")
    if n_mjx3:
        formats.append("mathjax3")
    if _MJX2.search(html):
        formats.append("mathjax2_rendered")
    if _KATEX.search(html) or (n_katex and _KATEX_LIB.search(html)):
        formats.append("katex")
    if n_mathml:
        formats.append("mathml")
    n_img = len(_TEX_IMG.findall(html))
    if n_img:
        formats.append("tex_image")
    n_ascii = len(_SCRIPT_ASCII.findall(html))
    text = _TAGS.sub(" ", html) if len(html) < 5_000_000 else ""
    if _ASCII_LIB.search(html):
        n_ascii += len(re.findall(r"`[^`\n]{1,200}`", text))
    if n_ascii:
        formats.append("asciimath")
    n_forum = len(_FORUM.findall(text))
    if n_forum:
        formats.append("forum_tex")
    n_delim = count_tex_delimited(text)
    if n_delim:
        formats.append("tex")
    elif _MATHJAX_LIB.search(html) and not formats:
        formats.append("mathjax_lib")
    n = max(n_script, n_mathml, n_katex, n_mjx3) + n_img + n_ascii + n_forum + n_delim
    return MathInfo(has_math=n > 0, formats=tuple(formats), n_formulas=n)

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
_MJX2 = re.compile(r"MathJax(?:_(?:Preview|CHTML|SVG|Display|MathML)|-Element-\d+-Frame)")
_KATEX = re.compile(r"class\s*=\s*[\"'][^\"']*\bkatex\b", re.I)
_KATEX_LIB = re.compile(r"katex(?:\.min)?\.(?:js|css)|renderMathInElement", re.I)
_MATHML = re.compile(r"<(?:m:)?math\b", re.I)
_TEX_ANNOT = re.compile(r"encoding\s*=\s*[\"']application/x-tex", re.I)
_TEX_IMG = re.compile(
    r"<img[^>]+(?:codecogs\.com|latex\.php\?|mimetex|mathtex\.cgi|/media/math/render/|chart\.googleapis\.com/chart\?[^\"']*cht=tx"
    r"|class\s*=\s*[\"'][^\"']*\b(?:tex|latex|mwe-math-fallback-image\w*)\b)", re.I)
_TEX_IMG_HINTS = ("codecogs", "latex", "mimetex", "mathtex", "/math/render/", "cht=tx", "tex", "mwe-math")
_FORUM = re.compile(r"\[(tex|math|latex|itex)\].+?\[/\1\]", _I)
_ASCII_LIB = re.compile(r"ASCIIMathML|asciimath", re.I)
# TeX delimiters in text, one regex per delimiter so that each scans for a literal prefix
_DISPLAY_DOLLARS = re.compile(r"\$\$.+?\$\$", re.S)
_BRACKETS = re.compile(r"\\\[.+?\\\]", re.S)
_PARENS = re.compile(r"\\\(.+?\\\)", re.S)
_ENVIRONMENTS = re.compile(r"\\begin\{([a-zA-Z*]+)\}.+?\\end\{\1\}", re.S)
_DOLLAR = re.compile(r"(?<![\\$\w])\$(?=[^\s$])[^$<>\n]{1,400}?(?<=[^\s\\])\$(?![\w$])")
_TEXISH = re.compile(r"[\\^_{}=]|^\s*[A-Za-z]\s*$")
_SCRIPTS = re.compile(r"<script\b.*?</script\s*>", _I)
_STYLES = re.compile(r"<style\b.*?</style\s*>", _I)
_TAGS = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class MathInfo:
    """What maths a page carries: whether any, which formats, and roughly how many formulas."""
    has_math: bool
    formats: tuple[str, ...]
    n_formulas: int


def count_tex_delimited(text: str) -> int:
    """Formulas written as TeX in running text; a lone ``$...$`` counts only if its inside looks like TeX."""
    n = 0
    if "$$" in text:
        n += len(_DISPLAY_DOLLARS.findall(text))
        text = _DISPLAY_DOLLARS.sub(" ", text)
    if "\\[" in text:
        n += len(_BRACKETS.findall(text))
    if "\\(" in text:
        n += len(_PARENS.findall(text))
    if "\\begin{" in text:
        n += len(_ENVIRONMENTS.findall(text))
    if "$" in text:
        n += sum(1 for m in _DOLLAR.finditer(text) if _TEXISH.search(m.group(0)[1:-1]))
    return n


_TEX_HINTS = ("\\(", "\\[", "$$", "\\begin{")


def detect(html: str, count_text: bool = True) -> MathInfo:
    """Detect maths formats in raw HTML with regexes only (no parsing).

    Each regex runs only when a cheap substring test on the lower-cased page says its format may be there.
    With ``count_text=False`` TeX written in the text is not counted, only flagged as the format "tex" when
    its delimiters occur (the extractor counts it later, on the main content only).
    """
    low = html.lower()
    formats: list[str] = []
    n_script = len(_SCRIPT_TEX.findall(html)) if "math/tex" in low else 0
    n_mathml = len(_MATHML.findall(html)) if "math" in low and ("<math" in low or ":math" in low) else 0
    n_katex = len(re.findall(r"class\s*=\s*[\"'][^\"']*\bkatex-mathml\b", html, re.I)) if "katex-mathml" in low else 0
    n_mjx3 = len(_MJX3.findall(html)) if "<mjx-container" in low else 0
    if n_script:
        formats.append("mathjax_tex_script")
    if n_mjx3:
        formats.append("mathjax3")
    elif ("mathjax_" in low or "mathjax-element" in low) and _MJX2.search(html):
        formats.append("mathjax2_rendered")
    if "katex" in low and (_KATEX.search(html) or (n_katex and _KATEX_LIB.search(html))):
        formats.append("katex")
    if n_mathml:
        formats.append("mathml")
    n_img = 0
    if "<img" in low and any(k in low for k in _TEX_IMG_HINTS):
        n_img = len(_TEX_IMG.findall(html))
        if n_mathml:  # Wikipedia's fallback pictures duplicate its MathML
            n_img -= len(re.findall(r"<img[^>]+mwe-math-fallback", html, re.I))
    if n_img > 0:
        formats.append("tex_image")
    n_img = max(n_img, 0)
    n_ascii = len(_SCRIPT_ASCII.findall(html)) if "math/asciimath" in low else 0
    tex_hint = any(d in html for d in _TEX_HINTS) or ("$" in html and ("mathjax" in low or "katex" in low))
    needs_text = "asciimath" in low or "[/" in html or (count_text and (tex_hint or "$" in html))
    text = _TAGS.sub(" ", _STYLES.sub(" ", _SCRIPTS.sub(" ", html))) if needs_text and len(html) < 5_000_000 else ""
    if "asciimath" in low:
        n_ascii += len(re.findall(r"`[^`\n]{1,200}`", text))
    if n_ascii:
        formats.append("asciimath")
    n_forum = len(_FORUM.findall(text)) if "[/" in text else 0
    if n_forum:
        formats.append("forum_tex")
    n_delim = count_tex_delimited(text) if text and count_text else 0
    if n_delim or (not count_text and tex_hint):
        formats.append("tex")
    elif not formats and "mathjax" in low and _MATHJAX_LIB.search(html):
        formats.append("mathjax_lib")
    n = max(n_script, n_mathml, n_katex, n_mjx3) + n_img + n_ascii + n_forum + n_delim
    return MathInfo(has_math=n > 0, formats=tuple(formats), n_formulas=n)

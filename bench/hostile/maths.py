"""Hostile pages for maths extraction and the maths score (issue 10, unbounded time).

Each case writes its crafted page as a one-record WARC shard under the folder it is given (1 MB of ``<img ``
is a 2 KB shard), and sends it through the path the pipeline takes: ``WarcShardReader``, the extract stage's
text step with the real ``MathExtractor`` (pre-pass, main content, lynx, tidy), then the filter stage's quality
filter with the real ``MathScorer`` (maths score, formula masking, datatrove's rules). The outcome says what
came out and how long extraction and the filter took. Before the fixes, 100 KB of ``<img `` took 39 s in
detection alone and most 1 MB cases ran for hours; the last case shows a page that runs out of its time budget
(made small here, since no crafted page comes near the default one any more).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.hostile.warc import record, write_shard

MB = 1_000_000


def fill(unit: str, size: int = MB) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def page(body: str) -> str:
    return f"<html><head><title>A page</title></head><body><p>{body}</p></body></html>"


def run_page(folder: Path, html: str, what: str, **extractor: Any) -> str:
    """``html`` as a shard through reader -> ExtractText(MathExtractor) -> QualityFilter(MathScorer)."""
    from curation.extract import ExtractText
    from curation.quality import QualityFilter, QualitySettings
    from curation.step import drops_of
    from curation.warc import WarcShardReader
    from math_extract import MathExtractor, MathScorer

    shard = write_shard(folder / "page.warc.gz", [record("http://hostile.example/page", html.encode())])
    reader = WarcShardReader(str(shard))
    text = ExtractText(MathExtractor(**extractor), "math")
    start = time.perf_counter()
    docs = list(text(reader()))
    extract_s = time.perf_counter() - start
    out = f"{what} ({shard.stat().st_size / 1000:.1f} KB shard): extracted in {extract_s:.1f} s, "
    if not docs:
        return out + "dropped: " + ", ".join(f"{n} {r}" for r, n in drops_of([reader, text]).items())
    quality = QualityFilter(QualitySettings(), MathScorer())
    start = time.perf_counter()
    verdict = quality.filter(docs[0])
    filter_s = time.perf_counter() - start
    doc = docs[0]
    return (
        out + f"{len(doc.text) / 1000:.0f} K characters, formats {','.join(doc.metadata['math_formats']) or '-'}, "
        f"maths score {doc.metadata['math_score']:.2f}; quality filter in {filter_s:.1f} s: {verdict}"
    )


def _case(what: str, build: Callable[[], str], **extractor: Any) -> Callable[[Path], str]:
    def case(folder: Path) -> str:
        return run_page(folder, build(), what, **extractor)

    return case


CASES: dict[str, Callable[[Path], str]] = {
    "img_100kb": _case("100 KB of '<img '", lambda: page(fill("<img ", 100_000))),
    "img_1mb": _case("1 MB of '<img '", lambda: page(fill("<img "))),
    "img_tex_class_1mb": _case("1 MB of '<img class=\"tex '", lambda: page(fill('<img src=x class="tex '))),
    "chart_urls_1mb": _case(
        "1 MB of Google Chart URLs without cht=tx", lambda: page('<img src="' + fill("chart.googleapis.com/chart?"))
    ),
    "dollar_1mb": _case("1 MB of unclosed '$'", lambda: page(fill("$"))),
    "dollar_backslash_1mb": _case("1 MB of '$\\'", lambda: page(fill("$\\"))),
    "paren_1mb": _case("1 MB of '\\('", lambda: page(fill("\\("))),
    "bracket_1mb": _case("1 MB of '\\['", lambda: page(fill("\\["))),
    "begin_1mb": _case("1 MB of '\\begin{'", lambda: page(fill("\\begin{"))),
    "begin_equation_1mb": _case("1 MB of '\\begin{equation}'", lambda: page(fill("\\begin{equation}"))),
    "script_unclosed_1mb": _case("1 MB of '<script ' after 'math/tex'", lambda: page("math/tex " + fill("<script "))),
    "script_tex_unclosed_1mb": _case(
        "1 MB of '<script type=\"math/tex\">' never closed", lambda: page(fill('<script type="math/tex">'))
    ),
    "math_open_1mb": _case("1 MB of '<math'", lambda: page(fill("<math"))),
    "lt_1mb": _case("1 MB of '<' after '$$'", lambda: page("$$x$$ " + fill("<"))),
    "backticks_1mb": _case(
        "1 MB of '`' on an AsciiMath page", lambda: page('<script type="math/asciimath">x</script>' + fill("`"))
    ),
    "forum_1mb": _case("1 MB of '[math]' after a '[/tex]'", lambda: page("[/tex] " + fill("[math]"))),
    "nested_200_katex": _case(
        "KaTeX spans nested 200 deep around 500 KB",
        lambda: page('<span class="katex">' * 200 + fill("<b>x</b>", MB // 2)),
    ),
    "nested_250_forum": _case(
        "forum TeX page nested 250 deep around 1 MB", lambda: page("[tex]x[/tex]" + "<div>" * 250 + fill("<b>x</b>"))
    ),
    "nested_100000": _case("1 MB of '<div>' (100000+ deep)", lambda: page(fill("<div>"))),
    "mathml_row_1mb": _case(
        "one MathML row of 100000 letters", lambda: page("<math>" + fill("<mi>a</mi>") + "</math>")
    ),
    "asciimath_parens_1mb": _case(
        "AsciiMath script of 1 MB of '('", lambda: page('<script type="math/asciimath">' + fill("(") + "</script>")
    ),
    "hidden_tails_1mb": _case(
        "1 MB of hidden spans with words between", lambda: page("word, " * 50 + fill("<span hidden>a</span>tail "))
    ),
    "widgets_deep_1mb": _case("1 MB of <nav> at depth 250", lambda: page("<div>" * 250 + fill("<nav>x</nav>"))),
    "mojibake_lines_1mb": _case("1 MB of mojibake lines", lambda: page(fill("caf\u00c3\u00a9<br>"))),
    "over_budget": _case(
        "1 MB of paragraphs 200 deep with a 0.5 s budget",
        lambda: page("<div>" * 200 + fill("<p>a, b</p>")),
        page_budget_s=0.5,
        page_budget_s_per_mb=0.0,
    ),
}

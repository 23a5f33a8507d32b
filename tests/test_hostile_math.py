"""Hostile input for maths extraction and the maths score (issue 10, unbounded time): crafted pages and texts
that made a regex or a loop super-linear, each now bounded, and the per-page time budget.

Each timed case runs in a forked child that is killed at its bound, so the old code fails in seconds rather
than hanging the suite; the bounds are a wide margin over what the fixed code takes (see
``bench/hostile/maths.py`` for the measured times). The bounds are on CPU time (the process's and that of the
programs it ran, lynx included), not on the wall clock, so a loaded machine does not fail them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from math_extract import MathExtractor, MathScorer, detect
from math_extract.asciimath import asciimath_to_tex
from math_extract.budget import Deadline, PageTimeout
from math_extract.mathml import mathml_to_latex
from math_extract.postprocess import tidy
from math_extract.prepass import Dropper
from math_extract.tex import formula_spans

MB = 1_000_000


def fill(unit: str, size: int = MB) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def page(body: str) -> str:
    return f"<html><head><title>t</title></head><body><p>{body}</p></body></html>"


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (lynx), user and system."""
    return sum(os.times()[:4])


def _cpu_of(pid: int) -> float:
    """CPU time so far of a running process and of the children it has waited for (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime


def within(seconds: float, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` run in a forked child, killed once it has used more than ``seconds`` of CPU time (or, as a
    backstop where that cannot be read, ten times as long on the wall clock); returns its result and CPU time."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        start = cpu_seconds()
        try:
            value = fn(*args)
        except BaseException as err:  # noqa: BLE001 - reported to the parent, which fails the test
            send.send(("error", repr(err), cpu_seconds() - start))
        else:
            send.send(("ok", value, cpu_seconds() - start))

    proc = ctx.Process(target=child)
    proc.start()
    backstop = time.monotonic() + 10 * seconds
    try:
        while not receive.poll(0.05):
            if _cpu_of(proc.pid) > seconds or time.monotonic() > backstop:
                pytest.fail(f"{getattr(fn, '__name__', fn)} did not finish in {seconds} s of CPU time")
        status, value, cpu = receive.recv()
    finally:
        proc.kill()
        proc.join()
    assert status == "ok", value
    assert cpu <= seconds, f"{getattr(fn, '__name__', fn)} took {cpu:.1f} s of CPU time, over {seconds} s"
    return value, cpu


# --- detection on raw HTML: tag patterns that failed at an unclosed tag and were retried at every later one


@pytest.mark.parametrize(
    "unit",
    ["<img ", '<img src="x" class="tex ', "<script ", '<script type="math/tex">', "<math", "<mjx-container "],
)
def test_detect_is_linear_on_a_megabyte_of_unclosed_tags(unit):
    # the words make detect look for MathJax and AsciiMath scripts
    info, _ = within(3, detect, "math/tex math/asciimath " + fill(unit))
    assert isinstance(info.n_formulas, int)


def test_detect_is_linear_on_google_chart_urls_without_cht():
    within(3, detect, '<img src="' + fill("chart.googleapis.com/chart?"))


@pytest.mark.parametrize("unit", ["<", "<!--", "<script>", "<style>", "[math]", "[tex]x"])
def test_detect_text_pass_is_linear_on_openers_without_closers(unit):
    # "$$" and "[/tex]" make detect strip the tags and count TeX and forum formulas in the text
    info, _ = within(3, detect, "$$x$$ [/tex] " + fill(unit))
    assert info.n_formulas >= 1


def test_detect_still_counts_every_format():
    html = (
        '<img src="https://latex.codecogs.com/gif.latex?x^2"> <img class="tex" alt="y">'
        '<img src="https://chart.googleapis.com/chart?chl=z&cht=tx"> <img src="photo.jpg">'
        '<script type="math/tex">a</script><script type="math/asciimath">b</script>'
        "<p>[tex]c[/tex] and [math]d[/math] and $$e$$</p><style>p {}</style><script>var s = '$$';</script>"
    )
    info = detect(html)
    assert set(info.formats) >= {"tex_image", "mathjax_tex_script", "asciimath", "forum_tex", "tex"}
    assert info.n_formulas == 3 + 1 + 1 + 2 + 1


# --- the TeX recogniser, which extraction, the maths score and the formula masking share


@pytest.mark.parametrize("unit", ["\\(", "\\[", "\\begin{equation}", "\\begin{align*}x", "$", "$\\", "$$", "$a"])
def test_formula_spans_is_linear_on_a_megabyte_of_openers(unit):
    within(3, formula_spans, fill(unit))


@pytest.mark.parametrize("unit", ["\\(", "\\begin{equation}", "$x^2$\n"])
def test_maths_score_and_masking_are_linear(unit):
    text = fill(unit)
    within(5, MathScorer().score, text)
    within(5, MathScorer().mask, text)


def test_quality_filter_is_bounded_on_a_document_of_openers():
    from datatrove.data import Document

    from curation.quality import QualityFilter, QualitySettings

    def run(text: str) -> object:
        return QualityFilter(QualitySettings(), MathScorer()).filter(Document(text=text, id="x"))

    within(30, run, fill("\\(", 200_000))  # the old maths score alone took minutes on this


def test_an_opener_inside_a_formula_starts_the_formula():
    text = r"a \( b \( c \) d \[ e \[ f \] \begin{equation} g \begin{align} h \end{align} i \end{equation}"
    found = [text[s:e] for s, e in formula_spans(text)]
    assert found == [r"\( c \)", r"\[ f \]", r"\begin{align} h \end{align}"]
    text = r"\begin{equation}\begin{split}a\end{split}\end{equation} and \(x\) and $$y$$ and $z^2$ costs $5"
    assert [text[s:e] for s, e in formula_spans(text)] == [
        r"\begin{equation}\begin{split}a\end{split}\end{equation}",
        r"\(x\)",
        "$$y$$",
        "$z^2$",
    ]


# --- converters


def test_mathml_row_of_many_letters_is_linear():
    math = etree.fromstring("<math>" + "<mi>a</mi>" * 100_000 + "<mi>\u03b1</mi><mi>b</mi></math>")
    tex, _ = within(5, mathml_to_latex, math)
    assert tex.startswith("aaaa") and tex.endswith(r"\alpha b")


def test_asciimath_nesting_is_bounded():
    tex, _ = within(3, asciimath_to_tex, "(" * 200_000)
    assert tex.count("(") == 200_000
    within(3, asciimath_to_tex, "sqrt " * 50_000 + "x")
    assert asciimath_to_tex("sum_(i=1)^n i^3=((n(n+1))/2)^2") == r"\sum_{i=1}^{n}i^{3}=(\frac{n(n+1)}{2})^{2}"


# --- whole pages through the extractor: deep nesting and many dropped elements


def _extract(html: str) -> tuple[str | None, str]:
    result = MathExtractor().extract(html, "http://hostile.example/")
    return result.reason, result.text


@pytest.mark.parametrize(
    "html",
    [
        page(fill("<img ")),
        page(fill("\\(")),
        page(fill("\\begin{equation}")),
        page("[tex]x[/tex]" + fill("[math]")),
        page('<span class="katex">' * 200 + fill("<b>x</b>", MB // 2)),
        page('<span class="MathJax">' * 200 + fill("<b>x</b>", MB // 2) + "MathJax_Preview"),
        page("<div>" * 250 + fill('<span class="katex"><math><mi>x</mi></math></span>')),
        page("<math>" + fill("<mi>a</mi>") + "</math>"),
        page("[tex]x[/tex]" + "<div>" * 250 + fill("<b>x</b>")),
        page("<span hidden>" * 250 + fill("<b>x</b>")),
        page("<div>" * 250 + fill("<nav>x</nav>")),
        page("<p>" + "word, " * 50 + "</p>" + fill("<nav>a</nav>tail ")),
        page("<p>" + "word, " * 50 + "</p>" + fill("<span hidden>a</span>tail ")),
        page("<p>" + "word, " * 50 + "</p>" + fill('<img src="a.png">word ')),
        page("<article><p>" + "word, " * 50 + "</p>" + "<div>" * 250 + "x" + fill("<br>") + "</article>"),
        page("<p>" + "word, " * 50 + "</p>" + "".join(f'<section class="s{i} ad">x</section>' for i in range(30_000))),
        page('<script type="math/asciimath">' + fill("(") + "</script>"),
    ],
    ids=[
        "img",
        "paren",
        "begin-equation",
        "forum-math",
        "katex-nested",
        "mathjax-nested",
        "katex-deep-many",
        "mathml-row",
        "forum-deep",
        "hidden-nested",
        "nav-deep",
        "nav-tails",
        "hidden-tails",
        "img-tails",
        "short-nested",
        "sections",
        "asciimath-parens",
    ],
)
def test_hostile_page_extracts_in_bounded_time(html):
    (reason, _), seconds = within(30, _extract, html)
    assert reason != "extract_timeout", f"{seconds:.1f} s"


def test_dropped_elements_keep_their_tails_in_order():
    root = etree.fromstring("<div>a<i>1</i>b<i>2</i>c<b>k</b>d<i>3</i>e<i>4</i>f</div>")
    with Dropper() as dropper:
        for el in root.findall("i")[:2]:  # document order
            dropper.drop(el)
        for el in reversed(root.findall("i")):  # a run dropped backwards, as MathJax frames before a script
            dropper.drop(el)
    assert etree.tostring(root, encoding="unicode") == "<div>abc<b>k</b>def</div>"


# --- the time budget


def test_page_over_its_budget_is_dropped_and_named_and_the_batch_goes_on(caplog):
    slow = page("<div>" * 200 + fill("<p>a, b</p>"))
    fine = page("Plain words of an ordinary page, " * 20)
    extractor = MathExtractor(page_budget_s=0.05, page_budget_s_per_mb=0.0)
    start = cpu_seconds()
    with caplog.at_level(logging.WARNING, logger="math_extract"):
        results = extractor.extract_many([(slow, "http://slow.example/page"), (fine, "http://fine.example/")])
    assert cpu_seconds() - start < 10
    assert results[0].reason == "extract_timeout" and results[0].text == ""
    assert results[1].reason is None and "Plain words" in results[1].text
    assert "http://slow.example/page" in caplog.text and "extract_timeout" in caplog.text


def test_the_extract_stage_counts_a_page_over_its_budget_and_names_it():
    from datatrove.data import Document

    from curation.extract import ExtractSettings, ExtractText
    from curation.step import drops_of, errors_of
    from pipelines.stages import make_extractor

    extractor = make_extractor(ExtractSettings(page_budget_s=0.05, page_budget_s_per_mb=0.0))
    records = [
        Document(
            text="",
            id=str(i),
            metadata={"url": url, "warc_file": "s.warc.gz", "warc_offset": i, "payload": html.encode(), "kind": "html"},
        )
        for i, (url, html) in enumerate(
            [
                ("http://slow.example/", page("<div>" * 200 + fill("<p>a, b</p>"))),
                ("http://fine.example/", page("Words. " * 50)),
            ]
        )
    ]
    step = ExtractText(extractor, label="math")
    kept = list(step.run(records))
    assert [d.metadata["url"] for d in kept] == ["http://fine.example/"]
    assert drops_of([step]) == {"extract_timeout": 1}
    assert errors_of([step]) == [
        "s.warc.gz@0: http://slow.example/: extraction ran past the page's time budget (extract.page_budget_s), page dropped"
    ]


def test_budget_grows_with_the_page_and_ordinary_pages_stay_far_inside_it():
    extractor = MathExtractor()
    assert extractor.budget_s("x" * 2 * MB) == pytest.approx(
        extractor.page_budget_s + 2 * extractor.page_budget_s_per_mb
    )
    html = page("An ordinary paragraph with a formula $x^2$ in it. " * 2000)
    start = cpu_seconds()
    extractor._prepare(html)
    assert cpu_seconds() - start < extractor.budget_s(html) / 10


def test_tidy_checks_the_deadline_and_repairs_mojibake_as_one_piece():
    text = "caf\u00c3\u00a9 na\u00c3\u00afve\n" * 20_000
    assert tidy(text, 1000) == ("café naïve\n" * 20_000).strip("\n")
    expired = Deadline(-1)
    with pytest.raises(PageTimeout):
        tidy(text, 1000, expired)


def test_paragraph_of_many_formatting_tags_keeps_its_text():
    # more than prepass.MOST_TEXT_PIECES children to unwrap: kept as inline elements, and removed ones' tails
    # joined, rather than left as 20 000 separate text nodes that lxml reads in quadratic time
    html = page("start " + "<b>bold</b> <input>plain " * 20_000 + "end")
    result = MathExtractor().extract(html)
    words = result.text.split()
    assert result.reason is None and words[0] == "start" and words[-1] == "end"
    assert words.count("bold") == words.count("plain") == 20_000


def test_syntax_highlighted_code_of_many_spans_keeps_every_token_in_order():
    # one <span> per token, as source-code pages are highlighted, with links and line breaks that stay elements
    # (a line every 100 tokens: lynx wraps longer <pre> lines at its width)
    tokens = [f"tok{i}" for i in range(20_000)]
    body = "".join(
        f'<span class="k">{t}</span> ' + ('<a href="#l">line</a><br>' if i % 100 == 99 else "")
        for i, t in enumerate(tokens)
    )
    html = page(f"<h1>Source of lib.rs</h1><pre><code>{body}</code></pre>")
    result = MathExtractor().extract(html)
    words = [w for w in result.text.split() if w.startswith("tok")]
    assert result.reason is None and words == tokens

"""Quality filters and the maths-aware mode, on real pages (tests/data)."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest
import trafilatura
from datatrove.data import Document
from pydantic import ValidationError

from curation.quality import GopherRepetitionSettings, QualityFilter, QualitySettings
from curation.step import drops_of
from math_extract import MathScorer
from math_extract.score import mask_formulas, math_score
from math_extract.tex import formula_spans

from conftest import REPO, bundled

MATHS_PAGES = {
    "readability-mathjax": "math/readability-mathjax/source.html",
    "readability-wikipedia-3": "math/readability-wikipedia-3/source.html",
    "wikipedia-tsne": "extraction/trafilatura-cache/en.wikipedia.org.tsne.html",
}


def html_maths_as_tex(html: str) -> str:
    """The page after the extraction stage's DOM pre-pass: every maths format turned into TeX text."""
    from lxml import etree

    from math_extract.detect import detect
    from math_extract.prepass import prepass

    doc = etree.fromstring(html.encode("utf-8"), etree.HTMLParser(encoding="utf-8"))
    prepass(doc, detect(html, count_text=False).formats)
    return etree.tostring(doc, encoding="unicode", method="html")


def lynx_dump(html: str) -> str:
    """The real lynx binary's layout rendering of the pre-passed page, boilerplate and all."""
    args = ["lynx", "-dump", "-nolist", "-stdin", "-display_charset=utf-8", "-assume_charset=utf-8"]
    html = html_maths_as_tex(html)
    return subprocess.run(args, input=html.encode(), capture_output=True, check=True, timeout=60).stdout.decode()


def project_extractor(html: str) -> tuple[str, dict]:
    """The pipeline's own extractor: pre-pass, main content, lynx; with the maths metadata it reports."""
    from math_extract.extractor import MathExtractor

    result = MathExtractor().extract(html)
    return result.text, {
        "has_math": result.has_math,
        "math_formats": list(result.formats),
        "n_formulas": result.n_formulas,
    }


EXTRACTORS = {
    "math_extract": project_extractor,
    "trafilatura": lambda html: (trafilatura.extract(html_maths_as_tex(html)), {}),
    "lynx": lambda html: (lynx_dump(html), {}),
}


@pytest.fixture(scope="module", params=list(EXTRACTORS))
def maths_docs(request) -> list[Document]:
    docs = []
    for name, path in MATHS_PAGES.items():
        text, metadata = EXTRACTORS[request.param](bundled(path).read_text(encoding="utf-8", errors="replace"))
        docs.append(Document(text=text, id=name, metadata={**metadata, "extractor": request.param}))
    return docs


@pytest.fixture(scope="module")
def articles() -> list[Document]:
    truth = json.loads(bundled("extraction/scrapinghub/ground-truth.json").read_text())
    items = sorted(truth.items())[:40]
    return [Document(text=v["articleBody"], id=k, metadata={"url": v["url"]}) for k, v in items]


def quality(settings: QualitySettings | None = None) -> QualityFilter:
    """The filter as the filter stage builds it: with the maths scorer pipelines gives it."""
    return QualityFilter(settings or QualitySettings(), MathScorer())


def _decisions(flt: QualityFilter, docs: list[Document]) -> dict[str, str]:
    out = {}
    for doc in docs:
        copy = Document(text=doc.text, id=doc.id, metadata=dict(doc.metadata))
        verdict = flt.filter(copy)
        out[doc.id] = "kept" if verdict is True else verdict
    return out


#: Rules that formulas trip: tokens without letters, short tokens, lines without terminal punctuation,
#: short lines, many newlines per word, TeX braces.
FORMULA_RULES = {
    "gopher_quality:gopher_below_alpha_threshold",
    "gopher_quality:gopher_below_avg_threshold",
    "fineweb:line_punct_ratio",
    "fineweb:short_line_ratio",
    "fineweb:list_ratio",
    "c4:curly_bracket",
}


def test_maths_aware_mode_keeps_real_maths_pages_plain_mode_drops_them(maths_docs):
    plain = _decisions(quality(QualitySettings(math_aware={"enabled": False})), maths_docs)
    aware = _decisions(quality(), maths_docs)
    extractor = maths_docs[0].metadata["extractor"]
    print(f"\n{extractor:12s} page                      plain                                        maths-aware")
    for name in MATHS_PAGES:
        print(f"{extractor:12s} {name:25s} {plain[name]:44s} {aware[name]}")
    assert all(v != "kept" for v in plain.values()), plain
    assert plain["wikipedia-tsne"] == "gopher_quality:gopher_below_alpha_threshold"
    # Maths-aware mode never drops a maths page for its formulas...
    assert not set(aware.values()) & FORMULA_RULES, aware
    # ...and keeps every page extracted as the pipeline does (main content). Plain lynx keeps Wikipedia's
    # navigation, whose repeated lines may still trip fineweb:char_dup_ratio, as they should.
    if extractor == "lynx":
        assert sum(v == "kept" for v in aware.values()) >= 2, aware
    else:
        assert all(v == "kept" for v in aware.values()), aware


def test_maths_pages_score_high_and_news_articles_low(maths_docs, articles):
    assert all(math_score(d.text) > 0.5 for d in maths_docs)
    scores = sorted(math_score(d.text, d.metadata) for d in articles)
    assert scores[len(scores) // 2] < 0.05
    assert sum(s >= QualitySettings().math_aware.threshold for s in scores) <= 1


def test_maths_aware_mode_changes_nothing_for_documents_without_maths(articles):
    plain = _decisions(quality(QualitySettings(math_aware={"enabled": False})), articles)
    aware = _decisions(quality(), articles)
    low = [d.id for d in articles if math_score(d.text) < QualitySettings().math_aware.threshold]
    assert len(low) >= 39
    assert {k: aware[k] for k in low} == {k: plain[k] for k in low}
    # A real news sample is mostly kept, and every drop has a family-qualified reason.
    assert sum(v == "kept" for v in plain.values()) >= 25
    assert all(v == "kept" or ":" in v for v in plain.values())


def test_extraction_metadata_raises_the_score():
    text = "We study the function $f$ on the interval and show it is bounded by a constant."
    bare = math_score(text)
    assert math_score(text, {"math_formats": ["mathml"], "n_formulas": 4}) > bare
    assert math_score("Plain prose about cooking pasta with tomatoes and basil.") == 0.0


def test_mask_formulas_replaces_formulas_and_leaves_prices():
    text = "Let $x^2 + y^2 = 1$ be a circle.\n$$\\int_0^1 f(x)\\,dx$$\nIt costs $5 and $10 to print."
    masked = mask_formulas(text + "\nAgain $x^2 + y^2 = 1$ differs from $y$ here.")
    assert masked.splitlines()[0] == "Let formulaa be a circle."
    assert masked.splitlines()[-1] == "Again formulaa differs from formulac here."  # same formula, same word
    assert "\\int" not in masked  # the display-equation line is gone
    assert "It costs $5 and $10 to print." in masked
    assert len(formula_spans("\\begin{align} a &= b \\\\ c &= d \\end{align} and $e$")) == 2


def test_reasons_are_named_by_family_and_rule_and_counted(articles):
    docs = [Document(text="too short to be a page", id="short"), Document(text="   ", id="blank")]
    docs += [Document(text=d.text, id=d.id) for d in articles[:10]]
    decisions = _decisions(quality(), docs)
    step = quality()
    kept = list(step.run(docs))
    reasons = drops_of([step])
    # FineWeb's order: repetition first, and in six words any 2-gram is over 20 % of the characters.
    assert decisions["short"] == "gopher_repetition:top_2_gram"
    assert reasons["quality:empty"] == 1
    assert sum(reasons.values()) == len(docs) - len(kept)
    assert reasons == Counter(v for v in decisions.values() if v != "kept")


def test_each_family_can_be_disabled_and_parameters_pass_through():
    doc = Document(text="too short to be a page", id="s")
    only_fineweb = QualitySettings(
        gopher_quality={"enabled": False}, gopher_repetition={"enabled": False}, c4={"enabled": False}
    )
    assert quality(only_fineweb).filter(doc).startswith("fineweb:")
    no_repetition = QualitySettings(gopher_repetition={"enabled": False})
    assert quality(no_repetition).filter(doc) == "gopher_quality:gopher_short_doc"
    lenient = QualitySettings(gopher_repetition={"enabled": False}, gopher_quality={"min_doc_words": 3})
    assert quality(lenient).filter(doc) != "gopher_quality:gopher_short_doc"


def test_filters_never_rewrite_the_text(articles):
    doc = Document(text=articles[0].text, id="x")
    before = doc.text
    quality().filter(doc)
    assert doc.text == before


def test_config_errors_name_the_field():
    with pytest.raises(ValidationError, match="min_doc_wordz"):
        QualitySettings(gopher_quality={"min_doc_wordz": 3})
    with pytest.raises(ValidationError, match="unknown filter 'gopher'"):
        QualitySettings(math_aware={"overrides": {"gopher": {}}})
    with pytest.raises(ValidationError, match=r"overrides.fineweb: unknown field"):
        QualitySettings(math_aware={"overrides": {"fineweb": {"line_punct": 0.1}}})
    with pytest.raises(ValidationError, match="threshold"):
        QualitySettings(math_aware={"threshold": 2})


def test_maths_aware_mode_still_drops_repetitive_maths_pages(maths_docs):
    page = next(d for d in maths_docs if d.id == "wikipedia-tsne")
    spam = Document(text="\n\n".join([page.text] * 3), id="spam", metadata=dict(page.metadata))
    reason = quality().filter(spam)
    assert spam.metadata["math_score"] >= QualitySettings().math_aware.threshold  # judged as maths
    assert reason.startswith("gopher_repetition:")


def test_the_shard_step_forwards_and_counts_what_filter_decides(articles):
    decisions = _decisions(quality(), articles[:12])
    step = quality()
    forwarded = list(step.run([Document(text=d.text, id=d.id) for d in articles[:12]]))
    assert [d.id for d in forwarded] == [k for k, v in decisions.items() if v == "kept"]
    assert drops_of([step]) == Counter(v for v in decisions.values() if v != "kept")


def test_math_score_is_set_with_maths_aware_mode_off(articles, maths_docs):
    docs = [Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in articles[:12] + maths_docs]
    flt = quality(QualitySettings(math_aware={"enabled": False}))
    for doc in docs:
        flt.filter(doc)
        assert doc.metadata["math_score"] == math_score(doc.text, doc.metadata), doc.id
    assert any(d.metadata["math_score"] >= flt.settings.math_aware.threshold for d in docs)


# -- maths pages judged on their prose; junk still dropped ---------------------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        "fit <- lm(score ~ income, data = CASchools)",
        '         vcov = vcovHC, type = "HC1")',
        "#> t test of coefficients:",
        ">>> expand((x + y)**2)",
        "interval : Set, optional",
        "Traceback (most recent call last):",
        "  1.0000   2.5000   3.7500   4.1250",
        "dimension()[source]#",
        "Series(TransferFunction(s + 1, s**2 + s + 1, s), TransferFunction(-p + s, s + 3, s))",
    ],
)
def test_code_output_declarations_and_numbers_are_not_prose(line):
    from math_extract.score import is_prose_line

    assert not is_prose_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "The derivative of formulaa with respect to formulab is zero at every critical point of the function.",
        "Returns the inverse of this function.",
        "这里每个维度分别代表样本数目，通道数目，通道的高，和通道的宽。",
        "Пусть formulaa — непрерывная функция на отрезке, тогда она ограничена.",
    ],
)
def test_sentences_in_any_script_are_prose(line):
    from math_extract.score import is_prose_line

    assert is_prose_line(line)


JUNK = sorted((REPO / "tests/data/junk").glob("*.html"))


@pytest.fixture(scope="module")
def junk_and_maths_docs() -> tuple[list[Document], list[Document]]:
    """The junk set shipped in tests/data/junk and the maths pages (those with a formula) of the bundled
    Debian-doc sample, extracted as the pipeline extracts them."""
    from pipelines.eval_data import warc_pages

    def doc(name: str, html: str) -> Document:
        text, metadata = project_extractor(html)
        return Document(text=text, id=name, metadata=metadata)

    junk = [doc(p.name, p.read_text(encoding="utf-8")) for p in JUNK]
    pages = [doc(url, html) for url, html in warc_pages(str(REPO / "sample/warc/debian-maths-docs.warc.gz"))]
    return junk, [d for d in pages if d.metadata["n_formulas"]]


def test_the_junk_set_is_dropped_in_maths_aware_mode(junk_and_maths_docs):
    junk, _ = junk_and_maths_docs
    real = [d for d in junk if d.id.startswith("cc-")]
    assert len(JUNK) >= 50 and len(real) >= 10  # generated pages and real Common Crawl pages
    decisions = _decisions(quality(), junk)
    kept = [k for k, v in decisions.items() if v == "kept"]
    assert len(kept) <= 0.05 * len(junk), kept
    assert "quality:no_prose" in decisions.values() and "quality:only_formulas" in decisions.values()
    assert sum(decisions[d.id] != "kept" for d in real) >= 0.95 * len(real)


def test_the_real_junk_pages_are_the_common_crawl_pages_as_the_pipeline_decodes_them():
    import importlib.util

    from pipelines.eval_data import warc_pages

    spec = importlib.util.spec_from_file_location("junk_build", REPO / "tests/data/junk/build.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    pages = dict(warc_pages(str(REPO / "sample" / build.CC_WARC)))  # the bundled copy of the shared excerpt
    for url, name, _ in build.CC_PAGES:
        assert (REPO / f"tests/data/junk/{name}.html").read_bytes().decode("utf-8") == pages[url], name


#: A maths page in Chinese: a definition and its formulas, written as Chinese maths text is (no spaces).
CHINESE_MATHS = "\n\n".join(
    [
        "设 $f$ 是定义在闭区间 $[a,b]$ 上的连续函数，那么 $f$ 在该区间上有界，并且一定能够取得最大值和最小值。",
        "证明：由于 $f$ 连续，对任意 $\\varepsilon>0$ 存在 $\\delta>0$，使得当 $|x-y|<\\delta$ 时有"
        " $|f(x)-f(y)|<\\varepsilon$。我们把区间分成有限个长度小于 $\\delta$ 的小区间，在每个小区间上函数的变化都很小。",
        "$$\\max_{x\\in[a,b]} f(x) = f(x_0), \\qquad \\min_{x\\in[a,b]} f(x) = f(x_1).$$",
        "因此函数在整个区间上的取值被有限个数控制，这就得到了有界性；再由确界原理可知最大值和最小值都能取到。",
        "例如 $f(x)=x^2$ 在 $[-1,2]$ 上的最大值是 $4$，最小值是 $0$，分别在 $x=2$ 和 $x=0$ 处取得。",
        "注意，如果区间不是闭的，结论可能不成立：函数 $1/x$ 在开区间 $(0,1)$ 上连续，但是它没有上界，也取不到最大值。",
        "同样，函数 $g(x)=x$ 在开区间 $(0,1)$ 上有界，但是它既取不到上确界 $1$，也取不到下确界 $0$。",
        "这个定理在优化问题中非常有用：只要目标函数 $h$ 连续，可行域 $K$ 是有界闭集，最优解 $x^*$ 就一定存在。",
        "推广到多元函数时，闭区间换成 $\\mathbb{R}^n$ 中的紧集，证明的思路完全相同，只需要用到紧集的有限覆盖性质。",
        "练习：证明连续函数 $f$ 在闭区间 $[a,b]$ 上一致连续，并说明为什么在开区间 $(a,b)$ 上这个结论不一定成立。",
    ]
)


def test_a_maths_page_in_another_language_is_not_judged_by_english_word_rules():
    doc = Document(text=CHINESE_MATHS, id="zh", metadata={"math_formats": ["tex"], "has_math": True})
    flt = quality()
    aware = flt.filter(Document(text=doc.text, id="zh", metadata=dict(doc.metadata)))
    english = quality(QualitySettings(math_aware={"other_language": {}})).filter(
        Document(text=doc.text, id="zh", metadata=dict(doc.metadata))
    )
    assert flt.other_language(MathScorer().prose(MathScorer().mask(doc.text)))
    assert english.startswith("gopher_quality:")  # English stop words and word lengths: not for Chinese
    assert aware is True
    # The same page repeated is still repetition, in any language.
    spam = Document(text="\n\n".join([CHINESE_MATHS] * 4), id="zh-spam", metadata=dict(doc.metadata))
    assert quality().filter(spam).startswith("gopher_repetition:")


def test_the_language_rule_leaves_english_maths_and_non_maths_pages_alone(maths_docs, articles):
    flt = quality()
    assert not any(flt.other_language(MathScorer().prose(MathScorer().mask(d.text))) for d in maths_docs)
    # A page without maths keeps the plain rules whatever its language: the language step decides on it.
    plain = quality(QualitySettings(math_aware={"enabled": False}))
    assert flt.filter(Document(text="这是一个没有公式的普通页面。" * 3, id="zh")) == plain.filter(
        Document(text="这是一个没有公式的普通页面。" * 3, id="zh")
    )
    with pytest.raises(ValidationError, match=r"math_aware.other_language.gopher_quality: unknown field"):
        QualitySettings(math_aware={"other_language": {"gopher_quality": {"stop_wordz": []}}})


def test_maths_reference_pages_are_kept_on_their_prose_and_dropped_without_it(junk_and_maths_docs):
    _, maths = junk_and_maths_docs
    assert len(maths) >= 10
    aware = _decisions(quality(), maths)
    masked_only = _decisions(quality(QualitySettings(math_aware={"prose_only": False})), maths)
    kept = sum(v == "kept" for v in aware.values())
    assert kept >= 0.8 * len(maths), aware
    assert kept > sum(v == "kept" for v in masked_only.values())  # the prose view is what keeps them


def test_greek_text_is_not_maths_but_greek_variables_are():
    greek = "Τα μαθηματικά είναι η επιστήμη που μελετά έννοιες όπως η ποσότητα, η δομή, ο χώρος και η μεταβολή."
    english = "Let α be an angle and β its complement, so that α + β = π/2 holds in every right triangle we draw."
    assert math_score(greek * 5) < 0.05  # its one-letter words (η, ο) are articles, not variables
    assert math_score(english) > 0.5
    assert (
        math_score("Τα μαθηματικά: $\\alpha + \\beta = \\pi$ και $x^2$ στο επίπεδο.", {"math_formats": ["tex"]}) > 0.5
    )


def test_the_stub_rule_of_bench_filter_names_stubs_and_index_pages():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_filter", REPO / "bench/bench_filter.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    stub = "scipy.linalg.expm\n\nCompute the matrix exponential of $A$.\n\nA : ndarray\n\n>>> expm(np.zeros((2, 2)))"
    index = "\n".join(f"speed of light in vacuum number {i} $c_{i}$" for i in range(20)) + "\nUnits are SI units here."
    article = "\n".join(
        f"The matrix exponential of a square matrix $A_{i}$ is defined by its power series, which converges for "
        f"every matrix, and we compute it here by scaling and squaring with a Pade approximant of order {i}."
        for i in range(4)
    )
    assert bench.stub_reason(stub).startswith("stub:")
    assert bench.stub_reason(index).startswith("index:")
    assert bench.stub_reason(article) is None


def test_a_short_api_page_repeating_its_term_is_kept_and_stuffing_of_the_term_is_not():
    """The prose of an API page is a few sentences around one term, so its most frequent 3-gram weighs more
    than Gopher's limit for whole pages (0.18); the maths-aware limit is a quarter higher. A page that stuffs
    the same term is still dropped by that rule."""
    page = (
        "scipy.special.gammainc(a, x)\n"
        "Regularized lower incomplete gamma function.\n"
        "It is defined as $P(a, x) = \\frac{1}{\\Gamma(a)} \\int_0^x t^{a-1} e^{-t} dt$ for $a > 0$ and $x \\geq 0$.\n"
        "The argument a must be positive and the argument x must be nonnegative here.\n"
        "Returns the values of the lower incomplete gamma function at the given points.\n"
        "See also the regularized upper incomplete gamma function and the inverse of the lower one.\n"
        "It is the CDF of the gamma distribution, so it starts at 0 and increases to 1 as x grows.\n"
        "It equals one minus the upper incomplete gamma function, $P(a, x) = 1 - Q(a, x)$.\n"
    )
    stuffed = page + "Buy the incomplete gamma function. " * 12 + "\n"
    default = quality()
    overrides = QualitySettings().math_aware.overrides
    plain_top = {**overrides["gopher_repetition"], "top_n_grams": GopherRepetitionSettings().top_n_grams}
    plain = quality(QualitySettings(math_aware={"overrides": {**overrides, "gopher_repetition": plain_top}}))
    docs = [
        Document(text=t, id=i, metadata={"has_math": True, "n_formulas": 3})
        for i, t in [("api", page), ("spam", stuffed)]
    ]
    assert _decisions(plain, docs[:1]) == {"api": "gopher_repetition:top_3_gram"}
    decisions = _decisions(default, docs)
    assert decisions["api"] == "kept" and decisions["spam"].startswith("gopher_repetition:top_"), decisions

"""The scorers that bench/ and eval-extract share: bag-of-words F1, snippets, formula recall."""

import json

import pytest

from math_extract.evaluate import bag_of_words_prf, formula_recall, gold_formulas, score_evaldata, score_formulas
from pipelines.eval_data import load_evaldata, load_scrapinghub

from conftest import bundled, shared


def test_bag_of_words_counts_repeated_tokens_and_ignores_case_and_punctuation():
    p, r, f = bag_of_words_prf("The cat, the CAT!", "the cat sat")
    assert (p, r) == (pytest.approx(2 / 4), pytest.approx(2 / 3))
    assert f == pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3))
    assert bag_of_words_prf("", "gold text")[2] == 0.0
    assert bag_of_words_prf("", "")[2] == 1.0


def test_gold_formulas_read_every_tex_source_but_not_code():
    html = (
        "<html><body><p>a \\(x^2\\) b \\[ y \\]</p><script type='math/tex'>z_1</script>"
        "<math><annotation encoding='application/x-tex'>\\alpha</annotation></math>"
        "<pre>\\(not maths\\)</pre><p>$$ q + 1 $$</p></body></html>"
    )
    assert sorted(gold_formulas(html)) == sorted(["x^2", "y", "z_1", "\\alpha", "q+1"])


def test_formula_recall_is_whitespace_insensitive():
    assert formula_recall(["x^2+1", "\\alpha"], "we have x ^ 2 + 1 here") == (1, 2)


def test_wikipedia_page_carries_its_tex_annotations():
    html = bundled("math/readability-wikipedia-3/source.html").read_text()
    formulas = gold_formulas(html)
    assert len(formulas) >= 60 and all("\\displaystyle" in f for f in formulas[:10])


def test_score_formulas_skips_pages_without_tex_source():
    pages = [("plain", "<p>no maths</p>"), ("one", "<p>\\(a\\) and \\(b\\)</p>")]
    result = score_formulas(lambda htmls: ["\\(a\\)" for _ in htmls], pages)
    assert result["pages"] == 1 and result["formulas"] == 2 and result["recall"] == 0.5


def test_gold_sets_load():
    root = bundled("extraction/scrapinghub")
    sh = load_scrapinghub(root)
    assert len(sh) == len(list((root / "html").glob("*.html.gz"))) >= 40 and all(gold for _, _, gold in sh)
    evaldata = bundled("extraction/trafilatura-evaldata.json")
    ev = load_evaldata(evaldata, bundled("extraction/trafilatura-cache"))
    assert len(ev) == len(json.loads(evaldata.read_text())) >= 5
    wanted = {html: " | ".join(must) for _, html, must, _ in ev[:5]}
    oracle = score_evaldata(lambda htmls: [wanted[h] for h in htmls], ev[:5])
    assert oracle["n"] == 5 and oracle["with_found"] == 1.0
    empty = score_evaldata(lambda htmls: ["" for _ in htmls], ev[:5])
    assert empty["with_found"] == 0.0 and empty["without_absent"] == 1.0


@pytest.mark.shared_data
def test_whole_gold_sets_load():
    """The loaders over the whole sets (tests/data ships a sample of each): every page that has gold loads."""
    assert len(load_scrapinghub(shared("extraction/scrapinghub"))) == 181
    assert (
        len(load_evaldata(shared("extraction/trafilatura-evaldata.json"), shared("extraction/trafilatura-cache")))
        >= 100
    )

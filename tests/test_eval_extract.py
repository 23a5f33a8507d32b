"""``curate eval-extract``: the per-page scores and the table, and the CLI on a tiny set written here.

The metric tests use handmade inputs; the CLI test writes its own pages in the development sets' layout, so it
runs without ``../shared``. Only the last test reads the real sets, through ``conftest.shared``.
"""

import csv
import json

import pytest

from math_extract.asciimath import asciimath_to_tex
from math_extract.evaluate import (
    GoldFormula,
    GoldPage,
    formulas_kept,
    posts_all_kept,
    score_page,
    summarise,
    summary_table,
)
from pipelines.eval_data import load_dev_set, load_sets

from conftest import curate, shared


def test_text_page_scores_bag_of_words_and_snippets():
    page = GoldPage("s", "1", "<p>x</p>", text="the cat sat", must=("the CAT",), must_not=("Menu",))
    row = score_page(page, "The cat, the CAT! Menu")
    assert (row["precision"], row["recall"]) == (pytest.approx(2 / 5), pytest.approx(2 / 3))
    assert row["f1"] == pytest.approx(2 * (2 / 5) * (2 / 3) / (2 / 5 + 2 / 3))
    assert (row["with_found"], row["with_total"], row["without_absent"], row["without_total"]) == (1, 1, 0, 1)


def test_formula_is_kept_when_its_tex_occurs_whitespace_insensitively():
    formulas = [GoldFormula("x^2 + 1"), GoldFormula("\\alpha"), GoldFormula("\\frac{a}{b}")]
    assert formulas_kept(formulas, "we have $x^2+1$ and $\\frac {a} {b}$") == [True, False, True]


def test_asciimath_gold_is_judged_by_our_conversion_of_it():
    source = "sum_(i=1)^n i^3"
    tex = asciimath_to_tex(source)
    assert tex != source  # otherwise this test would not tell the rules apart
    gold = [GoldFormula(source, asciimath=True)]
    assert formulas_kept(gold, f"so $ {tex} $ holds") == [True]
    assert formulas_kept(gold, f"so `{source}` holds") == [False]
    assert formulas_kept([GoldFormula(source)], f"so `{source}` holds") == [True]  # a TeX gold is taken verbatim


def test_posts_all_kept_counts_posts_not_formulas():
    formulas = [GoldFormula("a", "post"), GoldFormula("b", "post"), GoldFormula("c", "comment 1"), GoldFormula("d")]
    assert posts_all_kept(formulas, [True, False, True, False]) == (1, 2)  # "d" is in no post
    assert posts_all_kept(formulas, [True, True, True, False]) == (2, 2)
    page = GoldPage("threads", "t", "", formulas=tuple(formulas))
    assert score_page(page, "$a$ $b$") == {"kept": 2, "total": 4, "posts_all_kept": 1, "posts": 2}


def test_summary_is_micro_over_formulas_and_mean_over_pages():
    rows: list[dict] = [
        {"extractor": "x", "set": "m", "kind": None, "kept": 1, "total": 1, "posts": 1, "posts_all_kept": 1},
        {"extractor": "x", "set": "m", "kind": None, "kept": 0, "total": 3, "posts": 1, "posts_all_kept": 0},
        {"extractor": "x", "set": "t", "kind": "a", "f1": 1.0},
        {"extractor": "x", "set": "t", "kind": "b", "f1": 0.5},
        {"extractor": "x", "set": "t", "kind": "b", "f1": 0.0},
    ]
    maths = summarise(rows[:2])
    assert maths["formula recall"] == (0.25, "4 formulas") and maths["posts all kept"] == (0.5, "2 posts")
    assert maths["formula recall, page mean"] == (0.5, "2 pages")
    assert summarise(rows[2:])["F1"] == (0.5, "3 pages")
    table = summary_table(rows, ["x", "y"]).splitlines()
    assert table[0] == "| set | kind | metric | over | x | y |"
    assert "| m | all | formula recall | 4 formulas | 0.250 |  |" in table
    assert "| t | all | F1 | 3 pages | 0.500 |  |" in table
    assert "| t | b | F1 | 2 pages | 0.250 |  |" in table


def _tiny_sets(root):
    """A text set with two page kinds (one page in cp1251, declared only in the index) and a maths thread."""
    text_root = root / "extraction" / "dev" / "wcxb"
    for sub in ("html", "gold", "meta"):
        (text_root / sub).mkdir(parents=True)
    pages = {
        "a1": ("article", "<html><body><nav>Home About</nav><article><p>{}</p></article></body></html>"),
        "f1": ("forum", "<html><body><div class='post'><p>{}</p></div></body></html>"),
    }
    words = {"a1": "Plain words about gardens and their many small paths. " * 8, "f1": "Привет, мир! " * 20}
    index = []
    for page_id, (kind, shell) in pages.items():
        charset = "windows-1251" if page_id == "f1" else "utf-8"
        (text_root / "html" / f"{page_id}.html").write_bytes(shell.format(words[page_id]).encode(charset))
        (text_root / "gold" / f"{page_id}.txt").write_text(words[page_id], encoding="utf-8")
        meta = {"url": f"https://example.org/{page_id}", "page_type": kind, "with": [words[page_id][:20]]}
        (text_root / "meta" / f"{page_id}.json").write_text(json.dumps(meta))
        index.append({"id": page_id, "charset": charset})
    (text_root / "index.json").write_text(json.dumps(index))

    maths_root = root / "math" / "threads"
    for sub in ("html", "gold"):
        (maths_root / sub).mkdir(parents=True)
    html = (
        "<html><body><div class='post-content'><p>Let <img class='latex' alt='x^2' src='latex.php?x'> be.</p></div>"
        "<div class='comment'><p>And <script type='math/tex'>\\beta</script> too.</p></div></body></html>"
    )
    (maths_root / "html" / "t1.html").write_text(html)
    gold = {"formulas": [{"tex": "x^2", "post": "post"}, {"tex": "\\beta", "post": "comment 1"}]}
    (maths_root / "gold" / "t1.json").write_text(json.dumps(gold))
    (maths_root / "index.json").write_text(json.dumps([{"id": "t1"}]))


def test_dev_set_loader_decodes_the_declared_charset(tmp_path):
    _tiny_sets(tmp_path)
    pages = load_dev_set(tmp_path / "extraction" / "dev" / "wcxb", "wcxb")
    assert [(p.id, p.kind, p.url) for p in pages] == [
        ("a1", "article", "https://example.org/a1"),
        ("f1", "forum", "https://example.org/f1"),
    ]
    assert "Привет, мир!" in pages[1].html and (pages[1].text or "").startswith("Привет")
    (thread,) = load_sets(["math/threads"], tmp_path)["math/threads"]
    assert thread.formulas == (GoldFormula("x^2", "post"), GoldFormula("\\beta", "comment 1")) and thread.text is None


def test_cli_prints_one_table_and_writes_per_page_rows(tmp_path):
    _tiny_sets(tmp_path)
    out = tmp_path / "pages.csv"
    proc = curate(
        "eval-extract",
        "--data",
        str(tmp_path),
        "--sets",
        "wcxb,math/threads",
        "--extractor",
        "ours",
        "--extractor",
        "resiliparse",
        "--per-page",
        str(out),
        "--quiet",
        timeout=300,
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "| set | kind | metric | over | ours | resiliparse |"
    cells = {tuple(c.strip() for c in line.strip("|").split("|")[:3]): line for line in lines[2:]}
    assert set(cells) == {
        ("wcxb", "all", "F1"),
        ("wcxb", "article", "F1"),
        ("wcxb", "forum", "F1"),
        ("math/threads", "all", "formula recall"),
        ("math/threads", "all", "formula recall, page mean"),
        ("math/threads", "all", "posts all kept"),
    }
    assert "| 2 formulas | 1.000 |" in cells[("math/threads", "all", "formula recall")]  # ours keeps both
    rows = list(csv.DictReader(out.open()))
    assert {(r["extractor"], r["set"], r["id"]) for r in rows} == {
        (e, s, i) for e in ("ours", "resiliparse") for s, i in (("wcxb", "a1"), ("wcxb", "f1"), ("math/threads", "t1"))
    }
    ours_forum = next(r for r in rows if r["extractor"] == "ours" and r["id"] == "f1")
    assert float(ours_forum["f1"]) > 0.9 and ours_forum["kind"] == "forum"


def test_cli_refuses_an_unknown_set(tmp_path):
    proc = curate("eval-extract", "--data", str(tmp_path), "--sets", "nope", check=False)
    assert proc.returncode == 2 and "unknown set nope" in proc.stderr


@pytest.mark.shared_data
def test_real_dev_sets_load_whole():
    root = shared("")
    sets = load_sets(["wcxb", "cleaneval", "daniel", "math/mixed", "math/threads"], root)
    assert {k: len(v) for k, v in sets.items()} == {
        "wcxb": 144,
        "cleaneval": 258,
        "daniel": 120,
        "math/mixed": 29,
        "math/threads": 17,
    }
    assert len({p.kind for p in sets["wcxb"]}) == 7 and all(p.text for p in sets["wcxb"])
    zh = [p for p in sets["daniel"] if p.kind == "zh"]
    assert len(zh) == 24 and all(p.html.count("\ufffd") < 5 for p in zh)  # a few pages mix in stray bytes
    assert sum(len(p.formulas or ()) for p in sets["math/mixed"]) == 2007
    ascii_pages = [p for p in sets["math/threads"] if any(f.asciimath for f in p.formulas or ())]
    assert len(ascii_pages) == 2

"""Builds the junk set: pages a maths-aware quality filter must still drop (``python tests/data/junk/build.py``).

Generated pages: five kinds, eight pages each, from a seeded generator so that the files are the same on every
run: pages of formulas with no prose, formula spam (one sales line repeated around formulas), keyword stuffing
with formulas sprinkled in, navigation pages (lists of short links), and auto-generated tables of numbers.
Their text is generated (licence: the project's own).

Real pages: the Common Crawl pages listed in :data:`CC_PAGES`, copied as they are (decoded as the pipeline
decodes them) from ``warc/cc-main-2020-34-excerpt.warc.gz`` of the shared data folder (from
chatnoir-eu/chatnoir-resiliparse, Apache-2.0; see SOURCE.md). Each is junk a reader would drop: spam, an error
page, a page of contacts or links. Rebuilt only when that WARC is at hand (``--cc-warc``, else the shared data folder: ``$CURATION_SHARED``).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
#: (URL in the Common Crawl excerpt, file name here, why a reader drops it). Left out of the excerpt's 16 pages:
#: two adult pages (not shipped), a kept English company page, and a Russian and a Dutch company page that are
#: real text (the English rules drop them, but they are not junk).
CC_PAGES = [
    ("http://003338.cn/l41/481397.html", "cc-news-spam", "scraped news sentences around mojibake keywords"),
    ("http://035.psb556.com/24/i/u_1090813/article.html", "cc-error-page", "a not-found page with an ad link"),
    ("http://041696.com/15477/list_6_4.html", "cc-contacts", "prices and telephone numbers"),
    ("http://044545.com/topic/20200207/015849.html", "cc-gambling", "a betting plan: QQ numbers, tables of odds"),
    ("http://05925.net/index.php/vod/type/id/53.html", "cc-boilerplate", "a video site's disclaimer and footer"),
    ("http://06.live-radsport.ch/fahrerstatistik_801/Anthony_Ravard.html", "cc-db-error", "a database error, counters"),
    ("http://06.live-radsport.ch/tippspiel/stats_140_petzi.html", "cc-counters", "visitor counters, navigation"),
    ("http://0615235.com/02mjqjo%7Bibotij2.btq?odmbtt=106&tdmbtt=121", "cc-footer", "addresses and phone numbers"),
    ("http://0755krk.com/76104/list_4_1.html", "cc-link-spam", "product categories and lottery link spam"),
    ("http://0760.jxtdw.com/area/sanxiang/", "cc-job-table", "a table of job offers, one cell a line"),
    ("http://077678u.info/erxiaoshujinguang/list_6_2.html", "cc-lottery-links", "lottery link spam with dates"),
]
CC_WARC = "warc/cc-main-2020-34-excerpt.warc.gz"
SYMBOLS = ["x", "y", "z", "n", "k", "\\alpha", "\\beta", "\\theta", "\\lambda", "f(x)", "a_i", "b_j"]
OPS = ["+", "-", "=", "\\le", "\\ge", "\\cdot"]


def formula(rng: random.Random) -> str:
    parts = [rng.choice(SYMBOLS)]
    for _ in range(rng.randint(2, 6)):
        parts += [
            rng.choice(OPS),
            rng.choice(
                [
                    rng.choice(SYMBOLS),
                    f"\\frac{{{rng.randint(1, 9)}}}{{{rng.choice(SYMBOLS)}}}",
                    f"{rng.choice(SYMBOLS)}^{{{rng.randint(2, 5)}}}",
                    f"\\sqrt{{{rng.choice(SYMBOLS)}}}",
                ]
            ),
        ]
    return " ".join(parts)


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>' + title + "</title>"
        '<script src="https://cdn.example/mathjax/tex-chtml.js"></script></head><body><main>'
        + body
        + "</main></body></html>\n"
    )


def only_formulas(rng: random.Random) -> str:
    return page("Formulas", "".join(f"<p>$${formula(rng)}$$</p>" for _ in range(rng.randint(40, 120))))


def formula_spam(rng: random.Random) -> str:
    line = rng.choice(
        [
            "Best online casino bonus, free spins today",
            "Buy cheap essays now, fast delivery guaranteed",
            "Win big prizes, click here to claim your reward",
        ]
    )
    return page(line, "".join(f"<p>{line} ${formula(rng)}$ {line}.</p>" for _ in range(rng.randint(30, 80))))


def keyword_stuffing(rng: random.Random) -> str:
    words = ["maths", "homework", "help", "online", "cheap", "tutor", "algebra", "calculus", "answers", "free"]
    paras = []
    for _ in range(rng.randint(15, 40)):
        stuffed = " ".join(rng.choice(words) for _ in range(rng.randint(20, 50)))
        paras.append(f"<p>{stuffed} ${formula(rng)}$ {stuffed}</p>")
    return page("maths homework help online cheap", "".join(paras))


def navigation(rng: random.Random) -> str:
    labels = ["Chapter", "Section", "Lemma", "Exercise", "Appendix", "Part"]
    items = "".join(
        f'<li><a href="/{i}">{rng.choice(labels)} {i}</a> ${rng.choice(SYMBOLS)}$</li>'
        for i in range(rng.randint(60, 200))
    )
    return page("Contents", f"<h1>Contents</h1><ul>{items}</ul><p>Next · Previous · Index · Search</p>")


def number_table(rng: random.Random) -> str:
    cols = rng.randint(5, 10)
    head = "".join(f"<th>$x_{{{c}}}$</th>" for c in range(cols))
    rows = "".join(
        "<tr>" + "".join(f"<td>{rng.uniform(-1e3, 1e3):.4f}</td>" for _ in range(cols)) + "</tr>"
        for _ in range(rng.randint(40, 150))
    )
    return page("Table", f"<table><tr>{head}</tr>{rows}</table>")


KINDS = {
    "only-formulas": only_formulas,
    "formula-spam": formula_spam,
    "keyword-stuffing": keyword_stuffing,
    "navigation": navigation,
    "number-table": number_table,
}


def copy_cc_pages(warc: Path) -> None:
    """Write the pages of :data:`CC_PAGES` from the Common Crawl excerpt, decoded as the pipeline decodes them."""
    sys.path.insert(0, str(REPO))
    from pipelines.eval_data import warc_pages

    pages = dict(warc_pages(str(warc)))
    missing = [url for url, _, _ in CC_PAGES if url not in pages]
    if missing:
        raise SystemExit(f"{warc}: no HTML response for {missing}")
    for url, name, _ in CC_PAGES:
        (HERE / f"{name}.html").write_text(pages[url], encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cc-warc", type=Path, help=f"the Common Crawl excerpt (default: {CC_WARC} of the shared data)")
    args = ap.parse_args()
    for kind, make in KINDS.items():
        for i in range(8):
            (HERE / f"{kind}-{i}.html").write_text(make(random.Random(f"{kind}-{i}")), encoding="utf-8")
    warc = args.cc_warc
    if warc is None:
        sys.path.insert(0, str(REPO))
        from pipelines.shared_data import shared_data_dir

        warc = Path(shared_data_dir()) / CC_WARC
    if warc.exists():
        copy_cc_pages(warc)
    else:
        print(f"{warc} not found: the Common Crawl pages are left as they are", file=sys.stderr)


if __name__ == "__main__":
    main()

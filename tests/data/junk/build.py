"""Builds the junk set: pages a maths-aware quality filter must still drop (``python tests/data/junk/build.py``).

Five kinds, eight pages each, from a seeded generator so that the files are the same on every run: pages of
formulas with no prose, formula spam (one sales line repeated around formulas), keyword stuffing with
formulas sprinkled in, navigation pages (lists of short links), and auto-generated tables of numbers. All
text here is generated; nothing is copied from a web page (licence: the project's own).
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
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


def main() -> None:
    for kind, make in KINDS.items():
        for i in range(8):
            (HERE / f"{kind}-{i}.html").write_text(make(random.Random(f"{kind}-{i}")), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Scoring extractors on gold sets: bag-of-words F1, must/must-not snippets, and formula recall.

The scorers are independent of the extractor they judge: gold formulas are read from the page source
(TeX scripts, TeX annotations, TeX delimiters in the text) with their own small parser, not with the
pre-pass, so a pre-pass bug cannot hide itself.  ``bench/`` and the tests share these functions.

``GoldPage`` is the one record every gold set is loaded into (``pipelines/eval_data.py`` reads and decodes the
files, since decoding belongs to the core); ``score_page`` scores one extracted text against it and
``summary_table`` turns the per-page scores of ``curate eval-extract`` into its table.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

Extractor = Callable[[list[str]], list[str]]  # a batch of HTML pages -> their texts
_WORD = re.compile(r"\w+")
_DELIMITED = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(\\begin\{([a-zA-Z*]+)\}.+?\\end\{\5\})", re.S)
_SKIP_TEXT = {"script", "style", "pre", "code", "textarea", "noscript", "title"}


def bag_of_words_prf(predicted: str, gold: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of lower-cased ``\\w+`` token multisets (the ScrapingHub-style metric)."""
    p, g = Counter(_WORD.findall(predicted.lower())), Counter(_WORD.findall(gold.lower()))
    common = sum((p & g).values())
    if not common:
        both_empty = not p and not g
        return (1.0, 1.0, 1.0) if both_empty else (0.0, 0.0, 0.0)
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def _squash(text: str) -> str:
    return "".join(text.split())


def gold_formulas(html: str) -> list[str]:
    """The TeX source of every formula a page carries: math/tex scripts, TeX annotations, delimited TeX."""
    import lxml.html

    doc = lxml.html.document_fromstring(html)
    found: list[str] = []
    for el in doc.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        local = tag.rsplit("}", 1)[-1].split(":")[-1].lower()
        if local == "script" and (el.get("type") or "").lower().startswith("math/tex"):
            found.append(el.text or "")
        elif local == "annotation" and "tex" in (el.get("encoding") or "").lower():
            found.append("".join(el.itertext()))
    for text in _text_outside_code(doc):
        for m in _DELIMITED.finditer(text):
            found.append(next(g for g in m.groups() if g))
    return [f for f in (_squash(f) for f in found) if f]


def _text_outside_code(doc) -> Iterable[str]:
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        parent_skip = any(a.tag in _SKIP_TEXT for a in el.iterancestors())  # one walk serves text and tail
        if not (parent_skip or el.tag in _SKIP_TEXT) and el.text:
            yield el.text
        if not parent_skip and el.tail:
            yield el.tail


@dataclass(frozen=True)
class GoldFormula:
    """One gold formula: its source, the post of a thread it sits in, and whether that source is AsciiMath.

    AsciiMath gold cannot be looked for verbatim in an output that holds TeX, so it is judged after conversion
    by our own ``asciimath_to_tex``: this measures that the formula survived, not how it is spelled."""

    tex: str
    post: str | None = None
    asciimath: bool = False


def _expected_tex(formula: GoldFormula) -> str:
    if not formula.asciimath:
        return _squash(formula.tex)
    from .asciimath import asciimath_to_tex

    return _squash(asciimath_to_tex(formula.tex))


def formulas_kept(formulas: Sequence[GoldFormula], text: str) -> list[bool]:
    """Per gold formula, whether its TeX (whitespace removed) occurs in ``text`` (whitespace removed).

    Substring, not equality, because an extractor writes formulas inside running text and delimiters."""
    squashed = _squash(text)
    return [_expected_tex(f) in squashed for f in formulas]


def formula_recall(formulas: list[str], text: str) -> tuple[int, int]:
    """(found, total): formulas present in ``text``, whitespace-insensitively."""
    return sum(formulas_kept([GoldFormula(f) for f in formulas], text)), len(formulas)


def posts_all_kept(formulas: Sequence[GoldFormula], kept: Sequence[bool]) -> tuple[int, int]:
    """(posts whose formulas were all kept, posts with formulas): a thread read post by post loses a post's
    argument when any of its formulas goes, which micro recall over a long thread hides."""
    by_post: dict[str, bool] = {}
    for formula, ok in zip(formulas, kept):
        if formula.post is not None:
            by_post[formula.post] = by_post.get(formula.post, True) and ok
    return sum(by_post.values()), len(by_post)


def snippet_counts(text: str, must: Sequence[str], must_not: Sequence[str]) -> tuple[int, int]:
    """(must snippets found, must-not snippets absent) in ``text``, verbatim as trafilatura's evaldata checks."""
    return sum(1 for s in must if s in text), sum(1 for s in must_not if s not in text)


def _harmonic(a: float, b: float) -> float:
    return 2 * a * b / max(a + b, 1e-9)


def score_scrapinghub(extract: Extractor, pages: list[tuple[str, str, str]]) -> dict:
    texts = extract([html for _, html, _ in pages])
    prf = [bag_of_words_prf(t, g) for t, (_, _, g) in zip(texts, pages)]
    n = max(len(prf), 1)
    return {
        "n": len(prf),
        "precision": sum(p for p, _, _ in prf) / n,
        "recall": sum(r for _, r, _ in prf) / n,
        "f1": sum(f for _, _, f in prf) / n,
    }


def score_evaldata(extract: Extractor, pages: list[tuple[str, str, list[str], list[str]]]) -> dict:
    texts = extract([html for _, html, _, _ in pages])
    hits = total_with = clean = total_without = 0
    for text, (_, _, must, must_not) in zip(texts, pages):
        found, absent = snippet_counts(text, must, must_not)
        hits, clean = hits + found, clean + absent
        total_with, total_without = total_with + len(must), total_without + len(must_not)
    recall, precision = hits / max(total_with, 1), clean / max(total_without, 1)
    return {"n": len(pages), "with_found": recall, "without_absent": precision, "f1": _harmonic(recall, precision)}


def score_formulas(extract: Extractor, pages: list[tuple[str, str]]) -> dict:
    """Micro and macro formula recall on (name, html) pages that carry TeX source; others are skipped."""
    golds = [(name, html, gold_formulas(html)) for name, html in pages]
    golds = [g for g in golds if g[2]]
    texts = extract([html for _, html, _ in golds])
    found = total = 0
    per_page = []
    for text, (name, _, formulas) in zip(texts, golds):
        f, t = formula_recall(formulas, text)
        found, total = found + f, total + t
        per_page.append((name, f / t))
    return {
        "pages": len(golds),
        "formulas": total,
        "recall": found / max(total, 1),
        "macro_recall": sum(r for _, r in per_page) / max(len(per_page), 1),
        "per_page": per_page,
    }


@dataclass(frozen=True)
class GoldPage:
    """One page of a gold set, whatever the set: the decoded HTML and what it is judged by.

    ``text`` (gold main text) makes it a bag-of-words page, ``formulas`` a maths page (scored by formula recall
    even when empty, so a page without maths still shows what an extractor adds), and with neither only its
    ``must`` / ``must_not`` snippets count. ``kind`` (page type, or language) gives the set's rows per kind."""

    set: str
    id: str
    html: str
    url: str | None = None
    kind: str | None = None
    text: str | None = None
    formulas: tuple[GoldFormula, ...] | None = None
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()


def score_page(page: GoldPage, text: str) -> dict:
    """The scores of one extracted text: P/R/F1 for gold text, kept/total (and posts) for formulas, snippets."""
    row: dict = {}
    if page.text is not None:
        row["precision"], row["recall"], row["f1"] = bag_of_words_prf(text, page.text)
    if page.formulas is not None:
        kept = formulas_kept(page.formulas, text)
        row["kept"], row["total"] = sum(kept), len(kept)
        row["posts_all_kept"], row["posts"] = posts_all_kept(page.formulas, kept)
    if page.must or page.must_not:
        row["with_found"], row["without_absent"] = snippet_counts(text, page.must, page.must_not)
        row["with_total"], row["without_total"] = len(page.must), len(page.must_not)
    return row


def summarise(rows: Sequence[dict]) -> dict[str, tuple[float, str]]:
    """The headline numbers of a group of per-page scores, by metric: (value, what it averages over).

    Text sets average per-page F1 (the ScrapingHub convention); formula recall is micro, over formulas, so a
    page with one formula does not weigh as much as a page with 900, and also given as the mean over the pages
    that have formulas (the issue's first numbers were measured so; one lost page type shows more there);
    snippets are micro too, as in evaldata."""
    out: dict[str, tuple[float, str]] = {}
    with_text = [r["f1"] for r in rows if "f1" in r]
    if with_text:
        out["F1"] = (sum(with_text) / len(with_text), f"{len(with_text)} pages")
    total = sum(r.get("total", 0) for r in rows)
    if total:
        out["formula recall"] = (sum(r["kept"] for r in rows if "kept" in r) / total, f"{total} formulas")
        per_page = [r["kept"] / r["total"] for r in rows if r.get("total")]
        out["formula recall, page mean"] = (sum(per_page) / len(per_page), f"{len(per_page)} pages")
    posts = sum(r.get("posts", 0) for r in rows)
    if posts:
        out["posts all kept"] = (sum(r.get("posts_all_kept", 0) for r in rows) / posts, f"{posts} posts")
    if not with_text and not total:
        must = sum(r.get("with_total", 0) for r in rows)
        must_not = sum(r.get("without_total", 0) for r in rows)
        if must or must_not:
            recall = sum(r.get("with_found", 0) for r in rows) / max(must, 1)
            precision = sum(r.get("without_absent", 0) for r in rows) / max(must_not, 1)
            out["snippet F1"] = (_harmonic(recall, precision), f"{must + must_not} snippets")
    return out


def summary_table(rows: Sequence[dict], extractors: Sequence[str]) -> str:
    """A Markdown table of per-page score rows (``extractor``, ``set``, ``kind`` plus ``score_page``'s keys).

    One row per set and metric, then one per kind of page where a set has several, so a weak page type
    is not averaged away; one column per extractor."""
    groups: dict[tuple[str, str | None], dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    kinds: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        groups[(row["set"], None)][row["extractor"]].append(row)
        if row.get("kind"):
            kinds[row["set"]].add(row["kind"])
    for row in rows:
        if len(kinds[row["set"]]) > 1:
            groups[(row["set"], row["kind"])][row["extractor"]].append(row)
    lines = [
        "| set | kind | metric | over | " + " | ".join(extractors) + " |",
        "|---|---|---|---|" + "---:|" * len(extractors),
    ]
    set_order = list(dict.fromkeys(r["set"] for r in rows))
    for set_name in set_order:
        keys = [(set_name, None)] + [(set_name, k) for k in sorted(kinds[set_name]) if len(kinds[set_name]) > 1]
        for key in keys:
            by_extractor = {name: summarise(groups[key].get(name, [])) for name in extractors}
            metrics = list(dict.fromkeys(m for s in by_extractor.values() for m in s))
            for metric in metrics:
                over = next(s[metric][1] for s in by_extractor.values() if metric in s)
                cells = [f"{s[metric][0]:.3f}" if metric in s else "" for s in by_extractor.values()]
                lines.append(f"| {set_name} | {key[1] or 'all'} | {metric} | {over} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

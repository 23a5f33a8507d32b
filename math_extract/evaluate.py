"""Scoring extractors on gold sets: bag-of-words F1, must/must-not snippets, and formula recall.

The scorers are independent of the extractor they judge: gold formulas are read from the page source
(TeX scripts, TeX annotations, TeX delimiters in the text) with their own small parser, not with the
pre-pass, so a pre-pass bug cannot hide itself.  ``bench/`` and the tests share these functions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

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


def formula_recall(formulas: list[str], text: str) -> tuple[int, int]:
    """(found, total): formulas present in ``text``, whitespace-insensitively."""
    squashed = _squash(text)
    return sum(1 for f in formulas if f in squashed), len(formulas)


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
        hits += sum(1 for s in must if s in text)
        total_with += len(must)
        clean += sum(1 for s in must_not if s not in text)
        total_without += len(must_not)
    recall, precision = hits / max(total_with, 1), clean / max(total_without, 1)
    return {
        "n": len(pages),
        "with_found": recall,
        "without_absent": precision,
        "f1": 2 * recall * precision / max(recall + precision, 1e-9),
    }


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

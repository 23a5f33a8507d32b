"""The one recogniser of TeX formulas written in text: ``$..$``, ``$$..$$``, ``\\(..\\)``, ``\\[..\\]`` and the
maths environments.

Every place that asks "is there TeX here, and how much" uses it: detection on a page's text (``detect``), the
pre-pass flagging elements whose text holds TeX (so main-content selection keeps them), the count of formulas
kept in the extracted content, and the maths score and formula masking of the filter stage (``score``). One
set of rules means a formula counted at extraction is the same formula the filter masks.

Spans are found pattern by pattern, display forms first so that ``$$`` wins over ``$``; a span overlapping
one already found is skipped, so ``\\[\\begin{split}..\\end{split}\\]`` is one formula, not two. An inline
``$..$`` follows pandoc's rule: no space just inside the dollars and no digit right after the closing one, so
that "costs $5 and $10" is not a formula. It may span lines (lynx wraps long formulas, HTML source wraps
paragraphs) only when it holds TeX syntax (a backslash, ``^``, ``_`` or ``{``) before the closing dollar.

The one other reader of TeX delimiters, ``evaluate.gold_formulas``, is kept apart on purpose: it reads the
gold formulas that extraction is scored against, and must not share a bug with what it scores.
"""

from __future__ import annotations

import re

_ENVIRONMENTS = "equation|align|gather|multline|eqnarray|displaymath|math"

#: (literal that must occur in the text for the pattern to match, pattern), in the order spans are taken.
#: Every pattern runs in linear time on any text. A formula with a closing delimiter may not contain its own
#: opening one (``\(`` inside ``\(..\)``, any maths environment inside another): an opener without its closer
#: then stops at the next opener instead of scanning to the end of the text from every opener, which made 100 KB
#: of ``\(`` take minutes. TeX does not nest these anyway. The ``$`` forms are bounded by the next ``$`` and by
#: their length caps (1000 and 500 characters); ``$$`` opens and closes alike, so it needs no guard.
FORMULA_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "\\begin{",
        re.compile(
            rf"\\begin\{{({_ENVIRONMENTS})(\*?)\}}(?:(?!\\begin\{{(?:{_ENVIRONMENTS})\*?\}}).)*?\\end\{{\1\2\}}",
            re.DOTALL,
        ),
    ),
    ("$$", re.compile(r"\$\$.+?\$\$", re.DOTALL)),
    ("\\[", re.compile(r"\\\[(?:(?!\\\[).)+?\\\]", re.DOTALL)),
    ("\\(", re.compile(r"\\\((?:(?!\\\().)+?\\\)", re.DOTALL)),
    ("$", re.compile(r"(?<![\\$])\$(?![\s$])(?=[^$]{0,1000}?[\\^_{])[^$]{1,1000}?(?<![\s\\])\$(?![\d$])")),
    ("$", re.compile(r"(?<![\\$])\$(?![\s$])[^$\n]{1,500}?(?<![\s\\])\$(?![\d$])")),
)


def formula_spans(text: str) -> list[tuple[int, int]]:
    """Sorted, non-overlapping (start, end) character spans of the TeX formulas in ``text``."""
    spans: list[tuple[int, int]] = []
    taken: bytearray | None = None
    for literal, pattern in FORMULA_PATTERNS:
        if literal not in text:  # a substring test is far cheaper than a regex scan that cannot match
            continue
        for m in pattern.finditer(text):
            start, end = m.span()
            if taken is None:
                taken = bytearray(len(text))
            elif any(taken[start:end]):
                continue
            taken[start:end] = b"\x01" * (end - start)
            spans.append((start, end))
    spans.sort()
    return spans


def count_formulas(text: str) -> int:
    """How many TeX formulas ``text`` holds (see :func:`formula_spans`)."""
    return len(formula_spans(text))

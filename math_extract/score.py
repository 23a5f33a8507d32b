"""Maths score of a document from cheap signals, and formula masking: how the filter stage sees maths.

Why: maths pages break the heuristics that web-scale quality filters use (formulas have no terminal
punctuation, short equation lines, few alphabetic words, curly brackets), and later stages want to route
and weight maths. A score from cheap signals is enough for both: no model, a few regexes per document.

Signals, all read from the extracted text plus what extraction already found:

* TeX: delimited formulas (``$..$``, ``$$..$$``, ``\\(..\\)``, ``\\[..\\]``, ``\\begin{equation}``...)
  and TeX commands (``\\frac``, ``\\alpha``, ...), because the extraction stage turns every maths format
  (MathML, MathJax, images with alt TeX) into TeX text;
* Unicode maths symbols (``∑ ∫ ≤ ∈ α ...``), which is how ``lynx`` renders maths it could not convert (a
  Greek letter only as a variable: in a Greek text it is the script);
* metadata from extraction: ``math_formats`` (e.g. ``["tex", "mathml"]``), ``has_math``, ``n_formulas``.

The score lies in [0, 1]: ``1 - (1 - text_score) * (1 - format_score)`` where ``text_score`` saturates
with the density of maths signals per word and ``format_score`` is a prior from what extraction detected.
It is rounded to 4 decimals so that the same text always gives byte-identical output. Formulas are found by
the one TeX recogniser (``math_extract.tex``). The filter stage is given a :class:`MathScorer` by
``pipelines``: the core's quality filter stays free of maths rules, and uses these through it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .tex import formula_spans

TEX_COMMAND = re.compile(r"\\(?:[a-zA-Z]{2,}|[,;!{}])")
MATH_SYMBOLS = frozenset(
    "∑∫∬∮∏√∛∞≤≥≠≈≡≅∼∝±∓×÷⋅∘∂∇∆∈∉∋⊂⊃⊆⊇⊄∪∩∅∀∃∄¬∧∨⊕⊗⊥∥→←↔⇒⇐⇔↦∠′″‴"
    "αβγδεζηθϑικλμνξπϖρϱσςτυφϕχψωΓΔΘΛΞΠΣΥΦΨΩ"
    "ℝℕℤℚℂℙℓ℘ℵ⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₙᵢⱼₖ"
)
WORD = re.compile(r"\w+")
GREEK_LETTERS = frozenset("αβγδεζηθϑικλμνξπϖρϱσςτυφϕχψωΓΔΘΛΞΠΣΥΦΨΩ")
_GREEK = "\u0370-\u03ff\u1f00-\u1fff"  # the Greek and Greek Extended blocks
_SYMBOLS = re.compile("[" + re.escape("".join(sorted(MATH_SYMBOLS - GREEK_LETTERS))) + "]")
#: a Greek letter with no Greek beside it: a variable ("α = 2", "2πr", "β₁"), not part of a Greek word
_GREEK_VARIABLE = re.compile(f"(?<![{_GREEK}])[{''.join(sorted(GREEK_LETTERS))}](?![{_GREEK}])")
_GREEK_WORD = re.compile(f"[{_GREEK}]{{2,}}")
#: Greek words per word above which a text is Greek, and its Greek letters are its script, not variables
GREEK_TEXT_SHARE = 0.05


def _n_math_symbols(text: str, n_words: int) -> int:
    """Maths symbols in ``text``, Greek letters counted only as variables in a text that is not Greek: in Greek
    prose, "η" and "ο" are articles."""
    n = len(_SYMBOLS.findall(text))
    if len(_GREEK_WORD.findall(text)) <= GREEK_TEXT_SHARE * n_words:
        n += len(_GREEK_VARIABLE.findall(text))
    return n


#: Prefix of the word a masked formula becomes (see :func:`placeholder`): word-based rules see prose
#: with a noun in it.
FORMULA_PREFIX = "formula"


@dataclass(frozen=True)
class MathSignals:
    """Counts behind a maths score; kept so reports can say why a document was routed as maths."""

    n_words: int
    n_formulas: int
    n_tex_commands: int
    n_math_symbols: int
    formats: tuple[str, ...]

    @property
    def density(self) -> float:
        """Maths signals per word (symbols count half: a lone "×" or "²" is weak evidence)."""
        weighted = self.n_formulas + self.n_tex_commands + 0.5 * self.n_math_symbols
        return weighted / max(self.n_words, 1)


def math_signals(text: str, metadata: Mapping | None = None) -> MathSignals:
    """Count the cheap maths signals of one document (text plus extraction metadata)."""
    metadata = metadata or {}
    n_formulas = len(formula_spans(text))
    formats = tuple(sorted(str(f) for f in (metadata.get("math_formats") or ())))
    extracted_formulas = metadata.get("n_formulas") or 0
    n_words = len(WORD.findall(text))
    return MathSignals(
        n_words=n_words,
        n_formulas=max(n_formulas, int(extracted_formulas)),
        n_tex_commands=len(TEX_COMMAND.findall(text)),
        n_math_symbols=_n_math_symbols(text, n_words),
        formats=formats,
    )


def math_score(text: str, metadata: Mapping | None = None) -> float:
    """Maths score in [0, 1] of one document.

    ``text_score = 1 - exp(-20 * density)``: one maths signal per 20 words gives 0.63, one per 10 gives
    0.86, plain prose with a stray "×" stays near 0. ``format_score`` is 0.5 when extraction found a maths
    format (or set ``has_math``), growing to 0.75 with the number of formulas it found, because markup is
    stronger evidence than symbols in text.
    """
    signals = math_signals(text, metadata)
    text_score = 1.0 - math.exp(-20.0 * signals.density)
    has_format = bool(signals.formats) or bool((metadata or {}).get("has_math"))
    format_score = 0.0
    if has_format:
        format_score = 0.5 + 0.25 * (1.0 - math.exp(-signals.n_formulas / 5.0))
    return round(1.0 - (1.0 - text_score) * (1.0 - format_score), 4)


def placeholder(index: int) -> str:
    """The word standing for the ``index``-th distinct formula: ``formula`` plus letters (a, b, ... ba).

    Distinct formulas get distinct words, so "A is Hermitian iff $A=A^*$" and "A is Hermitian iff
    $A_{ij}=\\overline{A_{ji}}$" do not become repeated lines for the repetition rules; letters keep the
    word alphabetic for the alpha-word and word-length rules.
    """
    suffix = ""
    while True:
        index, digit = divmod(index, 26)
        suffix = chr(ord("a") + digit) + suffix
        if index == 0:
            return FORMULA_PREFIX + suffix


def _is_equation_line(line: str, placeholders: set[str]) -> bool:
    """True for a line that is maths rather than prose once formulas are masked.

    A masked display formula leaves a line of placeholders with fewer than three other words
    ("formulaa," or "- formulab"); a lynx-rendered equation leaves maths symbols or operators with at
    most one word of three letters or more ("x = − b ± b 2 − 4 a c 2 a"). A sentence with a formula
    inside has more words.
    """
    stripped = line.strip()
    if not stripped:
        return False
    tokens = WORD.findall(stripped)
    words = [w for w in tokens if w.isalpha() and w not in placeholders]
    if len(words) < len(tokens) and any(w in placeholders for w in tokens):
        return len(words) < 3
    has_maths = any(ch in MATH_SYMBOLS or ch in "=<>^_" for ch in stripped)
    return has_maths and sum(len(w) >= 3 for w in words) < 2


def mask_formulas(text: str) -> str:
    """Return ``text`` with formulas replaced by placeholder words and equation-only lines removed.

    This is what the maths-aware quality mode shows the heuristic rules: the prose around the maths,
    with each inline formula standing as one word, so a proof is judged like any other prose. Runs of
    blank lines left behind collapse to one, so removed equations do not read as a list of empty lines.
    """
    names: dict[str, str] = {}
    parts: list[str] = []
    last = 0
    for start, end in formula_spans(text):
        name = names.setdefault(text[start:end], placeholder(len(names)))
        before = " " if start > 0 and text[start - 1].isalnum() else ""
        after = " " if end < len(text) and text[end].isalnum() else ""
        parts.extend((text[last:start], before, name, after))
        last = end
    parts.append(text[last:])
    placeholders = set(names.values())
    lines = [line if line.strip() else "" for line in "".join(parts).split("\n")]
    kept = [line for line in lines if not _is_equation_line(line, placeholders)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept))


#: What a line of code, a shell or REPL session or program output starts with; such a line is not prose.
CODE_LINE_STARTS = ("#", ">>>", "...", "$ ", "% ", "//", "/*", "* ", "In [", "Out[", "> ", "-- ", "%%")
#: A prose line has at least this many characters, and at least :data:`PROSE_LETTER_SHARE` of them letters.
PROSE_MIN_CHARS = 20
PROSE_LETTER_SHARE = 0.6


def is_prose_line(line: str) -> bool:
    """Whether a line of a masked maths page reads as prose: long enough, mostly letters (in any script, so a
    Chinese or Russian proof counts), and not a line of code, a prompt or program output.

    Maths pages interleave prose with code listings, program output, tables of numbers and displayed
    equations. Rules written for prose web pages (duplicated lines and n-grams, punctuation at line ends, the
    share of alphabetic words) read those as junk: a derivation repeats its symbols, a listing repeats its
    comments, an output table repeats its header. Judged on the prose lines alone, a maths page is judged as
    the article around its maths."""
    stripped = line.strip()
    if len(stripped) < PROSE_MIN_CHARS or stripped.startswith(CODE_LINE_STARTS) or _looks_like_code(stripped):
        return False
    visible = len(stripped) - sum(map(str.isspace, stripped))
    return sum(map(str.isalpha, stripped)) >= PROSE_LETTER_SHARE * visible


_CALL = re.compile(r"[A-Za-z_][\w.$]*\(")  # name( : a call, in code; prose puts a space or a formula there
# a line that is one call from start to end: a REPL's printed value ("Series(TransferFunction(s, 1, s), ...)")
_WHOLE_CALL = re.compile(r"^[A-Za-z_][\w.]*\(.*\)$")
# "x : Expr, optional": a parameter declared in API documentation (numpydoc, Sphinx), not a sentence
_DECLARATION = re.compile(r"^[\w*.]+(?:, [\w*.]+)* : \S")
# what a program prints or a documentation generator adds: a traceback header, a "[source]" link after a signature
_PROGRAM_TEXT = ("Traceback (most recent call last)", "[source]")


def _looks_like_code(line: str) -> bool:
    """A statement of a program rather than a sentence: it ends where a sentence does not (a comma, an opening
    bracket, a semicolon), assigns with ``<-``, calls a function while assigning or quoting, declares a
    parameter (``x : Expr``), is one call from start to end (a printed value) or is program output. Maths pages quote code (R, Python, Octave listings and
    their output) and API documentation far more than other prose does."""
    return (
        line.endswith((",", "(", "[", "{", ";", "}"))
        or "<-" in line
        or (line.endswith(")") and "=" in line)
        or (_CALL.search(line) is not None and ("=" in line or '"' in line))
        or _WHOLE_CALL.match(line) is not None
        or _DECLARATION.match(line) is not None
        or any(mark in line for mark in _PROGRAM_TEXT)
    )


def prose_of(masked: str) -> str:
    """The prose lines (see :func:`is_prose_line`) of a text whose formulas are masked (:func:`mask_formulas`)."""
    return "\n".join(line for line in masked.split("\n") if is_prose_line(line))


@dataclass(frozen=True)
class MathScorer:
    """What the maths-aware quality filter asks of a document (``curation.quality.MathsView``): its score
    and its text with formulas masked. Stateless, so it pickles to any worker."""

    def score(self, text: str, metadata: Mapping[str, Any] | None = None) -> float:
        return math_score(text, metadata)

    def mask(self, text: str) -> str:
        return mask_formulas(text)

    def prose(self, masked: str) -> str:
        return prose_of(masked)

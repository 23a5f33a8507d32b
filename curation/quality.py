"""Heuristic quality filters (Gopher quality and repetition, C4, FineWeb) with a maths-aware mode.

Why this module exists: the filter stage must drop low-quality web text with the rules that FineWeb and
Gopher validated at scale, but those rules punish maths (formulas lack terminal punctuation, equation
lines are short, symbols are not words, TeX has curly brackets). The rules themselves are datatrove's
filters, reused as they are; this module adds

* one pydantic settings model per rule family, each with ``enabled`` and datatrove's own parameters
  (the defaults are datatrove's, except C4's terminal-punctuation line rule, off as in FineWeb);
* a maths-aware mode (on by default): a document whose maths score reaches ``math_aware.threshold`` is
  judged on its masked text (each formula one placeholder word, equation-only lines removed) by filters built
  with ``math_aware.overrides``. The score and the masking come from a :class:`MathsView` the filter is given
  (``pipelines`` gives it ``math_extract.MathScorer``, which reads formulas with the extractor's own TeX rules);
* a language rule for maths pages: one whose prose fastText reads as another language than ``language`` is judged
  with ``math_aware.other_language`` on top (English stop words and word lengths set aside), since a Chinese
  proof has neither; pages without maths keep the plain rules, and the language step decides on them;
* named drop reasons ``"<family>:<datatrove reason>"``, counted by the :class:`~curation.step.Filter` base, so
  nothing is silent.

A filter never rewrites the document text: C4's line removal only decides whether the document passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Protocol

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from .settings import Fraction, Name, Settings, Threshold, describe_error
from .step import Filter

FAMILIES = ("gopher_repetition", "gopher_quality", "c4", "fineweb")


class FamilySettings(Settings):
    """What every rule family has: a switch (its other fields are datatrove's parameters)."""

    enabled: bool = True


#: an n-gram length in words (datatrove counts the n-grams of every document for each)
NGramSize = Annotated[int, Field(ge=1, le=64)]


class GopherQualitySettings(FamilySettings):
    """datatrove ``GopherQualityFilter`` parameters (Rae et al. 2021, table A1); ``None`` disables a rule."""

    min_doc_words: Threshold | None = 50
    max_doc_words: Threshold | None = 100000
    min_avg_word_length: Threshold | None = 3
    max_avg_word_length: Threshold | None = 10
    max_symbol_word_ratio: Fraction | None = 0.1
    max_bullet_lines_ratio: Fraction | None = 0.9
    max_ellipsis_lines_ratio: Fraction | None = 0.3
    max_non_alpha_words_ratio: Fraction | None = 0.8
    min_stop_words: Threshold | None = 2
    stop_words: list[Name] | None = None


class GopherRepetitionSettings(FamilySettings):
    """datatrove ``GopherRepetitionFilter`` parameters: duplicate line/paragraph/n-gram fractions."""

    dup_line_frac: Fraction | None = 0.3
    dup_para_frac: Fraction | None = 0.3
    dup_line_char_frac: Fraction | None = 0.2
    dup_para_char_frac: Fraction | None = 0.2
    top_n_grams: list[tuple[NGramSize, Fraction]] = [(2, 0.2), (3, 0.18), (4, 0.16)]
    dup_n_grams: list[tuple[NGramSize, Fraction]] = [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)]

    @field_validator("top_n_grams", "dup_n_grams", mode="before")
    @classmethod
    def _pairs_as_tuples(cls, value: Any) -> Any:
        """YAML writes a pair as a list; strict mode takes only a tuple for a tuple (its items stay strict)."""
        return [tuple(x) if isinstance(x, list) else x for x in value] if isinstance(value, list) else value


class C4Settings(FamilySettings):
    """datatrove ``C4QualityFilter`` parameters.

    ``filter_no_terminal_punct`` defaults to False as in FineWeb's pipeline: with it on, C4 keeps only
    lines ending in ``. ? ! "`` and drops most pages with lists, code or tables.
    """

    split_paragraph: bool = True
    remove_citations: bool = True
    filter_no_terminal_punct: bool = False
    min_num_sentences: Threshold = 5
    min_words_per_line: Threshold = 3
    max_word_length: Threshold = 1000
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True


class FineWebSettings(FamilySettings):
    """datatrove ``FineWebQualityFilter`` parameters (Penedo et al. 2024)."""

    line_punct_thr: Fraction = 0.12
    line_punct_exclude_zero: bool = False
    short_line_thr: Fraction = 0.67
    short_line_length: Threshold = 30
    char_duplicates_ratio: Fraction = 0.01
    new_line_ratio: float = Field(0.3, ge=0.0, le=1000.0, description="newlines per word above which a doc drops")


SETTINGS_MODELS: dict[str, type[FamilySettings]] = {
    "gopher_repetition": GopherRepetitionSettings,
    "gopher_quality": GopherQualitySettings,
    "c4": C4Settings,
    "fineweb": FineWebSettings,
}


def _default_math_overrides() -> dict[str, dict[str, Any]]:
    # Masking handles formulas inside prose; what remains punishes maths *pages*: TeX leftovers outside
    # delimiters ({...} in set notation), notation tokens the tokenizer splits off (t-SNE, x', [12]) and
    # pages whose prose is a sequence of short headed statements. Measured on the pages in tests/.
    #
    # Repetition: a maths page is judged on its prose lines (``math_aware.prose_only``), and that prose repeats
    # by nature: definitions and derivations restate their terms, API references repeat one docstring
    # sentence for each method ("Returns the inverse of this function."). The limits below are about the
    # 90th percentile of each statistic over the prose of real maths pages (60 Debian maths-doc pages of
    # SymPy, SciPy, statsmodels and Maxima, 29 pages of math/mixed; bench/bench_filter.py); junk pages (the
    # set in tests/data/junk: keyword stuffing, formula spam) repeat their n-grams far more (0.76 and up for
    # 5-grams) and still drop, as do pages with no prose at all.
    #
    # The most frequent n-gram weighs more in the prose lines than in a whole page: an API page's prose is a
    # few sentences around one term ("the regularized lower incomplete gamma function"). Its limits are the
    # plain ones plus a quarter: over the prose of 1,273 maths pages of a 1 GB Debian-doc run, the 99th
    # percentile of the top 2-, 3- and 4-gram shares is 0.15, 0.18 and 0.19; keyword-stuffed junk has 0.27-0.53.
    return {
        "gopher_quality": {"max_non_alpha_words_ratio": 0.65},
        "gopher_repetition": {
            "dup_line_char_frac": 0.25,
            "top_n_grams": [(2, 0.25), (3, 0.225), (4, 0.2)],
            "dup_n_grams": [(5, 0.4), (6, 0.37), (7, 0.34), (8, 0.31), (9, 0.28), (10, 0.25)],
        },
        "c4": {"filter_curly_bracket": False},
        "fineweb": {"short_line_thr": 0.8, "line_punct_thr": 0.05, "char_duplicates_ratio": 0.25},
    }


def _default_other_language_overrides() -> dict[str, dict[str, Any]]:
    # Gopher's stop-word rule counts English function words ("the", "of", "and", ...), and its word-length
    # bounds assume words separated by spaces: a Chinese proof has neither (its "words" are whole clauses to a
    # whitespace tokenizer; datatrove's tokenizer for Chinese does not segment it either). The other rules
    # (repetition, symbols, bullets, ellipses, sentences, line shapes) read any script and stay.
    return {"gopher_quality": {"min_stop_words": None, "min_avg_word_length": None, "max_avg_word_length": None}}


class MathAwareSettings(Settings):
    """Maths-aware mode: how a document with maths is protected from rules that punish formulas."""

    enabled: bool = True
    threshold: float = Field(0.3, ge=0.0, le=1.0, description="math_score at or above which a doc is maths")
    mask_formulas: bool = True
    prose_only: bool = Field(
        True,
        description="judge a maths page on its prose lines alone (formulas masked; equation, code, program "
        "output and table lines left out), so its listings and derivations are not read as repetition",
    )
    overrides: dict[str, dict[str, Any]] = Field(default_factory=_default_math_overrides)

    other_language: dict[str, dict[str, Any]] = Field(
        default_factory=_default_other_language_overrides,
        description="applied on top of ``overrides`` to a maths page whose prose is in another language than "
        "``language``: rules calibrated on that language's words set aside",
    )
    min_language_score: Fraction = Field(
        0.5, description="fastText probability at or above which a maths page's prose is read as another language"
    )

    @field_validator("overrides", "other_language")
    @classmethod
    def _known_fields(cls, overrides: dict[str, dict[str, Any]], info: ValidationInfo) -> dict[str, dict[str, Any]]:
        where = f"math_aware.{info.field_name}"
        for family, fields in overrides.items():
            if family not in SETTINGS_MODELS:
                raise ValueError(f"{where}: unknown filter {family!r}; known: {', '.join(FAMILIES)}")
            model = SETTINGS_MODELS[family]
            unknown = sorted(set(fields) - set(model.model_fields))
            if unknown:
                raise ValueError(f"{where}.{family}: unknown field(s) {unknown}")
            try:
                model.model_validate({**model().model_dump(), **fields})
            except ValidationError as err:  # pydantic's own message spans lines: the first error, in one
                raise ValueError(f"{where}.{family}.{describe_error(err.errors()[0])}") from None
        return overrides


class QualitySettings(Settings):
    """Settings of the quality filter (``filter.quality`` in the run config)."""

    language: str = "en"
    min_chars: Threshold = Field(1, description="docs with fewer non-space characters drop as quality:empty")
    gopher_repetition: GopherRepetitionSettings = Field(default_factory=GopherRepetitionSettings)
    gopher_quality: GopherQualitySettings = Field(default_factory=GopherQualitySettings)
    c4: C4Settings = Field(default_factory=C4Settings)
    fineweb: FineWebSettings = Field(default_factory=FineWebSettings)
    math_aware: MathAwareSettings = Field(default_factory=MathAwareSettings)

    @field_validator("language")
    @classmethod
    def _known_language(cls, language: str) -> str:
        """datatrove's filters split words with the language's tokenizer and fail on a language it has none for,
        on the workers; its table of languages is read here instead (a few milliseconds)."""
        from datatrove.utils.word_tokenizers import load_tokenizer_assignments

        if language not in load_tokenizer_assignments():
            raise ValueError("no word tokenizer for this language in datatrove: use an ISO code such as 'en'")
        return language

    def family(self, name: str, maths: bool = False, other_language: bool = False) -> FamilySettings:
        """Settings of one family; with ``maths`` the maths-aware overrides applied, with ``other_language`` also
        those for a maths page in another language than ``language``."""
        base = getattr(self, name)
        layers = [self.math_aware.overrides] if maths else []
        if maths and other_language:
            layers.append(self.math_aware.other_language)
        fields = {k: v for layer in layers for k, v in layer.get(name, {}).items()}
        return type(base).model_validate({**base.model_dump(), **fields}) if fields else base


#: Characters of a maths page's prose that its language is identified from: enough for fastText, and a
#: quarter of the cost of its default 10,000 (0.4 ms a page rather than 1.5).
LANGUAGE_SAMPLE_CHARS = 2000

#: The rule sets a document can be judged by: (maths-aware overrides, other-language overrides).
RuleSet = tuple[bool, bool]
PLAIN: RuleSet = (False, False)
RULE_SETS: tuple[RuleSet, ...] = (PLAIN, (True, False), (True, True))


def _build_filter(name: str, settings: FamilySettings, language: str) -> BaseFilter:
    """Instantiate the datatrove filter for one family (imports are lazy, as in datatrove); every family of a
    process splits words with the same tokenizer (``curation.word_split``)."""
    from .word_split import word_tokenizer

    params = settings.model_dump(exclude={"enabled"})
    params["language"] = word_tokenizer(language)
    if name == "gopher_quality":
        from datatrove.pipeline.filters import GopherQualityFilter

        return GopherQualityFilter(**params)
    if name == "gopher_repetition":
        from datatrove.pipeline.filters import GopherRepetitionFilter

        params["top_n_grams"] = tuple(tuple(x) for x in params["top_n_grams"])
        params["dup_n_grams"] = tuple(tuple(x) for x in params["dup_n_grams"])
        return GopherRepetitionFilter(**params)
    if name == "c4":
        from datatrove.pipeline.filters import C4QualityFilter

        return C4QualityFilter(**params)
    if name == "fineweb":
        from datatrove.pipeline.filters import FineWebQualityFilter

        return FineWebQualityFilter(**params)
    raise ValueError(f"unknown quality filter {name!r}")


class MathsView(Protocol):
    """How the maths-aware mode sees a document: its maths score (from its text and the extraction metadata),
    its text with formulas masked, and the prose lines of that masked text (equations, code, tables left out)."""

    def score(self, text: str, metadata: Mapping[str, Any]) -> float: ...

    def mask(self, text: str) -> str: ...

    def prose(self, masked: str) -> str: ...


class QualityFilter(Filter):
    """Applies the enabled rule families in FineWeb's order and names the first rule a document fails.

    Every document gets ``math_score`` (cleanup routes on it), whether or not the maths-aware mode is on.
    Settings are stored in ``__init__``; the datatrove filters (plain and maths-relaxed) are built on first
    use, on the worker.
    """

    name = "quality"

    def __init__(self, settings: QualitySettings, maths: MathsView):
        super().__init__()
        self.settings = settings
        self.maths = maths
        self._families: dict[RuleSet, list[tuple[str, BaseFilter]]] | None = None

    def families(self, rules: RuleSet = PLAIN) -> list[tuple[str, BaseFilter]]:
        """The enabled datatrove filters of one rule set (plain; maths-aware; maths-aware for a page in another
        language), in FineWeb's order."""
        if self._families is None:
            lang = self.settings.language
            self._families = {}
            for key in RULE_SETS:
                chosen = {n: self.settings.family(n, *key) for n in FAMILIES}
                self._families[key] = [(n, _build_filter(n, s, lang)) for n, s in chosen.items() if s.enabled]
        return self._families[rules]

    def other_language(self, prose: str) -> bool:
        """Whether a maths page's prose is, by fastText's language id, in another language than the rules'."""
        from .langid import identify

        lang, prob = identify(prose, max_chars=LANGUAGE_SAMPLE_CHARS)
        return lang != self.settings.language and prob >= self.settings.math_aware.min_language_score

    def filter(self, doc: Document) -> bool | str:
        from datatrove.pipeline.filters.base_filter import get_filter_result

        text = doc.text or ""
        if len(text.strip()) < max(self.settings.min_chars, 1):
            return "quality:empty"
        if "math_score" not in doc.metadata:
            doc.metadata["math_score"] = self.maths.score(text, doc.metadata)
        aware = self.settings.math_aware
        rules = PLAIN
        if aware.enabled and doc.metadata["math_score"] >= aware.threshold:
            if aware.mask_formulas:
                text = self.maths.mask(text)
                if not text.strip():
                    return "quality:only_formulas"
                if aware.prose_only:
                    text = self.maths.prose(text)
                    if not text.strip():  # formulas with code, tables or link lists around them, but no sentence
                        return "quality:no_prose"
            rules = (True, self.other_language(text))
        for name, flt in self.families(rules):
            probe = Document(text=text, id=doc.id, metadata=dict(doc.metadata))
            try:
                keep, reason = get_filter_result(flt.filter(probe))
            except ZeroDivisionError:
                keep, reason = False, "degenerate_text"
            if not keep:
                return f"{name}:{reason or 'dropped'}"
        return True

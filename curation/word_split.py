"""The word and sentence splitter handed to datatrove's quality filters: spaCy's, without forgetting words.

Why this module exists: the quality rules split each document into words (Gopher, FineWeb) and each line into
sentences (C4) with datatrove's ``SpaCyTokenizer``, which runs every call inside spaCy's memory zone. The zone
bounds memory by forgetting, after the call, every string the call met, so every word of every document is
built anew as a spaCy lexeme; on Debian documentation that made the tokenizer about 60 % of the filter stage's
CPU. :class:`KeptVocabularyTokenizer` runs the same spaCy pipeline (the blank language and its sentencizer, as
datatrove builds it) without the zone: known words are looked up, and a fresh pipeline is started once the
vocabulary holds ``max_lexemes`` strings, so memory stays bounded. The vocabulary is only a cache: the words
and sentences are the same either way. It also remembers the words of the last document, which FineWeb's rule
asks for again after C4's per-line calls have pushed them out of datatrove's own five-entry cache.

datatrove's filters accept a ``WordTokenizer`` wherever they take a language (its ``load_word_tokenizer``
passes one through), so the rules themselves run unchanged.

Memory. spaCy is imported without PyTorch (:func:`import_spacy_without_torch`): its thinc layer imports torch
whenever torch is installed, about 180 MB resident in every worker that ever filtered, for a blank pipeline that
never uses it. The tokenizers (and datatrove's caches of them, which would keep their vocabularies alive) are
dropped when a stage ends (``curation.memory.released_after_stage``): the stages after the filter do not split
words, and a later filter stage builds its pipeline again in 0.14 s.
"""

from __future__ import annotations

import functools
import sys
import threading

from datatrove.utils.text import split_into_parts
from datatrove.utils.word_tokenizers import SpaCyTokenizer, WordTokenizer, load_word_tokenizer, strip_strings

from .memory import released_after_stage

#: Strings the kept vocabulary may hold before the pipeline is rebuilt (0.14 s): about 70 MB of lexemes and
#: spaCy's tokenizer cache. A thousand pages of Debian documentation bring ~60,000 new strings.
MAX_LEXEMES = 100_000


class KeptVocabularyTokenizer(SpaCyTokenizer):
    """datatrove's spaCy tokenizer for one language, keeping its vocabulary between calls (see the module)."""

    def __init__(self, language: str, max_lexemes: int = MAX_LEXEMES):
        super().__init__(language)
        self.max_lexemes = max_lexemes
        self._last_words: tuple[str, list[str]] | None = None

    def _parse(self, text: str, sentences: bool):
        """The spaCy document of ``text``: the tokenizer alone, plus the sentencizer when sentences are wanted.

        This is what ``Language.__call__`` runs for datatrove's pipeline, without its per-call set-up. (Inside a
        memory zone the string ``IS_ALPHA`` breaks spaCy's tokenizer and datatrove retries without it; outside
        one it is an ordinary word.)
        """
        nlp = self.tokenizer
        if len(nlp.vocab) > self.max_lexemes:
            self._tokenizer = None  # a fresh pipeline: the parent's property builds it again
            nlp = self.tokenizer
        nlp.max_length = max(nlp.max_length, len(text) + 10)
        doc = nlp.make_doc(text)
        return nlp.get_pipe("sentencizer")(doc) if sentences else doc

    def word_tokenize(self, text: str) -> list[str]:
        last = self._last_words
        if last is not None and last[0] == text:
            return last[1]
        words = strip_strings([token.text for token in self._parse(text, sentences=False)])
        self._last_words = (text, words)
        return words

    def sent_tokenize(self, text: str) -> list[str]:
        return strip_strings([sent.text for sent in self._parse(text, sentences=True).sents])

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(sent.start_char, sent.end_char) for sent in self._parse(text, sentences=True).sents]


def word_tokenizer(language: str) -> str | WordTokenizer:
    """What the quality filters of one thread are given for ``language``: one shared
    :class:`KeptVocabularyTokenizer` where datatrove would use spaCy (its Japanese splitter, which cuts long
    texts into chunks, excepted), otherwise the language code, and datatrove's own tokenizer for it. One per
    thread: the tokenizer keeps state between calls, and a Dask worker may run tasks on several threads."""
    return _thread_tokenizer(threading.get_ident(), language)


@released_after_stage
@functools.cache
def _thread_tokenizer(thread: int, language: str) -> str | WordTokenizer:
    """One per thread and language, keyed by the thread's id: a cache (unlike ``threading.local``) that the
    stage's end can empty from the worker's event-loop thread."""
    import_spacy_without_torch()
    spacy = language != "ja" and type(load_word_tokenizer(language)) is SpaCyTokenizer
    return KeptVocabularyTokenizer(language) if spacy else language


# datatrove's filters pass each tokenizer they are given through these caches (the second also keeps the last five
# texts split, and their words), which would keep it and its vocabulary alive after ours is dropped
released_after_stage(load_word_tokenizer)
released_after_stage(split_into_parts)


def import_spacy_without_torch() -> None:
    """Import spaCy with PyTorch hidden, unless either is imported already.

    spaCy imports thinc, and thinc imports torch when it is installed, to offer torch-backed layers: about
    180 MB resident (measured: ``import spacy`` takes a process from 103 to 319 MB with torch, to 138 MB without).
    A blank pipeline with a sentencizer never uses them. With ``torch`` mapped to None in ``sys.modules`` while
    spaCy loads, thinc records that torch is absent; torch stays importable afterwards for whoever needs it (the
    MiniLM embedder), and nothing here asks thinc for it."""
    if "spacy" in sys.modules or "torch" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy  # noqa: F401
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]

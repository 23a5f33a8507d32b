"""The quality filters' word splitter keeps spaCy's vocabulary between documents, with datatrove's splits."""

from __future__ import annotations

import functools
import gzip
import subprocess
import sys
import weakref
from pathlib import Path

import trafilatura
from datatrove.utils.text import split_into_sentences, split_into_words
from datatrove.utils.word_tokenizers import SpaCyTokenizer, load_word_tokenizer

from curation.memory import release_memory
from curation.quality import QualityFilter, QualitySettings
from curation.word_split import KeptVocabularyTokenizer, word_tokenizer
from math_extract import MathScorer

from conftest import bundled

REPO = Path(__file__).resolve().parent.parent

#: What spaCy's tokenizer treats specially: an emoticon, code, URLs, contractions.
CRAFTED = [
    "See v.string[v.end():].strip() and f(x): (1, 2). Then :) or ): as a reply.",
    "Mail me at a.b@example.org or visit https://example.org/x?y=1. Don't, won't, can't.",
]


@functools.lru_cache(maxsize=1)
def real_texts() -> list[str]:
    """The text of real pages of many sites and languages (tests/data), long and short."""
    pages = [p.read_bytes() for p in sorted(bundled("extraction/trafilatura-cache").glob("*.html"))]
    pages += [gzip.decompress(p.read_bytes()) for p in sorted(bundled("extraction/scrapinghub/html").glob("*.gz"))[:15]]
    texts = [trafilatura.extract(page.decode("utf-8", "replace")) or "" for page in pages]
    return [t for t in texts if t] + CRAFTED


def test_words_and_sentences_are_datatroves() -> None:
    """Every word list, sentence list and sentence span is what datatrove's own spaCy tokenizer gives, also after
    the vocabulary has been rebuilt several times (a bound far below one page's words) and when a text comes back
    after others (the remembered last text must not answer for another)."""
    reference = SpaCyTokenizer("en")
    kept = KeptVocabularyTokenizer("en", max_lexemes=1_500)
    texts = real_texts()
    assert len(texts) > 15
    pipelines = [kept.tokenizer]  # held, so that a rebuilt pipeline cannot reuse a freed one's id
    for text in texts + texts[:3]:
        assert kept.word_tokenize(text) == reference.word_tokenize(text)
        if kept.tokenizer is not pipelines[-1]:
            pipelines.append(kept.tokenizer)
        lines = [line for line in text.splitlines() if line.strip()][:20]
        for line in lines:
            assert kept.span_tokenize(line) == reference.span_tokenize(line)
            assert kept.sent_tokenize(line) == reference.sent_tokenize(line)
    assert len(pipelines) > 2  # the bound was reached and the pipeline rebuilt, again and again


def test_vocabulary_is_bounded() -> None:
    """The vocabulary grows across documents (that is the saving) but never far past its bound."""
    kept = KeptVocabularyTokenizer("en", max_lexemes=2_000)
    most = 0
    for text in real_texts():
        kept.word_tokenize(text)
        assert len(kept.tokenizer.vocab) <= 2_000 + len(text.split()) * 3
        most = max(most, len(kept.tokenizer.vocab))
    assert most > 2_000


def test_is_alpha_is_a_word() -> None:
    """The string that breaks spaCy inside a memory zone (datatrove then deletes it from the text) is a word."""
    words = KeptVocabularyTokenizer("en").word_tokenize("A line with IS_ALPHA inside.")
    assert words == ["A", "line", "with", "IS_ALPHA", "inside", "."]


def test_filters_share_one_splitter() -> None:
    """All rule families of a process split with the same tokenizer object, so datatrove's per-text cache and the
    remembered last text serve every family; a language without spaCy keeps datatrove's own tokenizer."""
    quality = QualityFilter(QualitySettings(), MathScorer())
    languages = {id(flt.language) for rules in [(False, False), (True, False)] for _, flt in quality.families(rules)}
    assert languages == {id(word_tokenizer("en"))}
    assert isinstance(word_tokenizer("en"), KeptVocabularyTokenizer)
    assert word_tokenizer("ja") == "ja"
    text = CRAFTED[0]
    tokenizer = word_tokenizer("en")
    assert split_into_words(text, tokenizer) == SpaCyTokenizer("en").word_tokenize(text)
    assert split_into_sentences(text, tokenizer) == split_into_sentences(text, "en")


def test_each_thread_has_its_own_splitter() -> None:
    """The tokenizer keeps state between calls, so two threads of a worker never share one."""
    import threading

    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(word_tokenizer("en")))
    thread.start()
    thread.join()
    assert other[0] is not word_tokenizer("en") and word_tokenizer("en") is word_tokenizer("en")


def test_spacy_comes_without_torch() -> None:
    """spaCy's thinc imports torch when it is installed: about 180 MB in every worker that filtered, for a blank
    pipeline that never uses it. Splitting words in a fresh process leaves torch unimported, and importable."""
    script = (
        "import sys\n"
        "from curation.word_split import word_tokenizer\n"
        "assert word_tokenizer('en').word_tokenize('Two words.') == ['Two', 'words', '.']\n"
        "print('torch' in sys.modules)\n"
        "import importlib.util\n"
        "if importlib.util.find_spec('torch'):\n"
        "    import torch\n"
        "    print(torch.tensor([1]).sum().item() == 1)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.split()[0] == "False"
    assert out.stdout.split()[1:] in ([], ["True"])


def test_the_splitters_are_dropped_when_a_stage_ends() -> None:
    """A stage's end drops this process's splitters, and datatrove's cache of them, so that no spaCy vocabulary
    (up to 70 MB) stays resident in a worker through the stages that split no words."""
    tokenizer = word_tokenizer("en")
    tokenizer.word_tokenize(CRAFTED[1])
    load_word_tokenizer(tokenizer)  # what datatrove's filters do with the tokenizer they are given
    gone = weakref.ref(tokenizer)
    del tokenizer
    release_memory()
    assert gone() is None
    again = word_tokenizer("en")
    assert again.word_tokenize("Two words.") == ["Two", "words", "."]

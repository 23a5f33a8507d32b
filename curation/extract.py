"""The extract stage: WARC shard -> documents with text, maths kept, every failure counted.

Payloads are decoded here (charset evidence is the extractor's business: ``math_extract.decode_html``), then
the text, with ``has_math``, ``math_formats`` and ``n_formulas``, comes from one of:

- ``math`` (default): ``math_extract.MathExtractor`` - maths to TeX, boilerplate removed, lynx layout,
  many pages per lynx process;
- ``trafilatura``: datatrove's Trafilatura step (its sandbox process enforces the per-page timeout).

WET records carry text already and pass through unchanged. Tokens are counted here, once, so that every
later stage can report tokens in and out from the ``n_tokens`` column.
"""
from __future__ import annotations

from collections.abc import Iterator

from datatrove.data import Document

from .rundir import RunDir
from .stage import ShardStage
from .step import Step, batches
from .tokens import TokenCounter
from .warc import WarcShardReader

# datatrove's extractor stats -> our drop reasons
_TRAFILATURA_DROPS = {"timeout": "extract_timeout", "clean_error": "extract_error",
                      "broken_process": "extract_crash", "dropped": "empty_text"}


def _charset(content_type: str) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


class ExtractText(Step):
    """Decoded payload -> extracted text, with ``has_math``, ``math_formats``, ``n_formulas`` and ``extractor``."""

    name = "extract-text"

    def __init__(self, extractor: str = "math", timeout_s: float = 10.0, batch_size: int = 32,
                 main_content: bool = True):
        super().__init__()
        self.extractor = extractor
        self.timeout_s = timeout_s
        self.batch_size = batch_size
        self.main_content = main_content

    def run(self, data, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        docs = self._decoded(data)
        yield from (self._trafilatura(docs) if self.extractor == "trafilatura" else self._math(docs))

    def _decoded(self, data) -> Iterator[Document]:
        from math_extract.decode import decode_html
        from math_extract.errors import ExtractError

        for doc in data:
            payload = doc.metadata.pop("payload")
            content_type = doc.metadata.pop("content_type", "")
            try:
                doc.text = decode_html(payload, _charset(content_type))
            except ExtractError as err:
                self.drop(err.reason)
                continue
            doc.metadata["extractor"] = "wet" if doc.metadata.pop("kind", "html") == "text" else self.extractor
            yield doc

    def _trafilatura(self, docs: Iterator[Document]) -> Iterator[Document]:
        """Through datatrove's own step; WET text bypasses it and rejoins the stream in order. Maths is
        detected on the HTML first (the math extractor reports what it kept instead)."""
        from datatrove.pipeline.extractors import Trafilatura

        from math_extract import detect

        step = Trafilatura(favour_precision=True, timeout=self.timeout_s)
        passthrough: list[Document] = []

        def html_only():
            for doc in docs:
                if doc.metadata["extractor"] == "wet":
                    passthrough.append(doc)
                else:
                    info = detect(doc.text)
                    doc.metadata.update(has_math=info.has_math, math_formats=list(info.formats),
                                        n_formulas=info.n_formulas)
                    yield doc

        for doc in step.run(html_only()):
            yield from passthrough
            passthrough.clear()
            yield doc
        yield from passthrough
        for label, reason in _TRAFILATURA_DROPS.items():
            if label in step.stats.stats:
                self.drop(reason, int(step.stats[label].total))

    def _math(self, docs: Iterator[Document]) -> Iterator[Document]:
        """Batches of pages through one lynx process each (``MathExtractor.extract_many``)."""
        from math_extract import MathExtractor

        extractor = MathExtractor(timeout_s=self.timeout_s, batch_size=self.batch_size,
                                  main_content=self.main_content)
        for batch in batches(docs, self.batch_size):
            html = [d for d in batch if d.metadata["extractor"] != "wet"]
            results = iter(extractor.extract_many([(d.text, d.metadata.get("url")) for d in html]))
            for doc in batch:
                if doc.metadata["extractor"] != "wet":
                    result = next(results)
                    if result.reason:
                        self.drop(result.reason)
                        continue
                    doc.text = result.text
                    doc.metadata.update(has_math=result.has_math, math_formats=list(result.formats),
                                        n_formulas=result.n_formulas)
                if doc.text.strip():
                    yield doc
                else:
                    self.drop("empty_text")


class ExtractStage(ShardStage):
    """One task per input WARC/WET shard (local path or fsspec URL)."""

    name = "extract"

    def __init__(self, shards: list[str], settings, tokenizer: str | None = "smollm2"):
        """``tokenizer=None`` skips token counting (only the extraction benchmark does that)."""
        self.shards = list(shards)
        self.settings = settings
        self.tokenizer = tokenizer

    def inputs(self, rundir: RunDir) -> list[str]:
        return self.shards

    def reader(self, rundir: RunDir, source: str) -> Step:
        return WarcShardReader(source, max_payload_bytes=self.settings.max_payload_bytes)

    def steps(self, rundir: RunDir) -> list:
        s = self.settings
        steps = [ExtractText(extractor=s.extractor, timeout_s=s.timeout_s, batch_size=s.batch_size,
                             main_content=s.main_content)]
        return steps + [TokenCounter(self.tokenizer)] if self.tokenizer else steps

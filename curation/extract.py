"""The extract stage: WARC shard -> documents with text, maths kept, every failure counted.

Per record: the payload is decoded (``curation.decode``: charset evidence, binary payloads refused), then HTML
goes through the stage's extractor a batch at a time; WET records carry text already and pass through. The
extractor is given by ``pipelines`` (``math_extract.MathExtractor`` for ``extractor: math``,
``math_extract.TrafilaturaExtractor`` for ``trafilatura``): anything with the :class:`PageExtractor`
interface, reporting ``has_math``, ``math_formats`` and ``n_formulas`` with the text, or a ``reason`` instead.
Tokens are counted here, once, so that every later stage can report tokens in and out from ``n_tokens``.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from typing import Literal, Protocol

from datatrove.data import Document, DocumentsPipeline
from pydantic import Field

from .decode import DecodeError, decode_html
from .http_payload import charset_of
from .rundir import RunDir
from .settings import Settings
from .stage import ShardStage
from .step import Step
from .tokens import CountTokens, TokenSettings
from .warc import WarcShardReader

#: extractor failure reasons that point at a hostile or broken page, listed by file, offset and URL as well as
#: counted (the other reasons, such as ``empty``, describe ordinary pages and are only counted)
NAMED_FAILURES = {
    "extract_timeout": "extraction ran past the page's time budget (extract.page_budget_s), page dropped",
    "too_large": "page larger than extract.max_payload_bytes once decoded, dropped",
}


class ExtractSettings(Settings):
    extractor: Literal["math", "trafilatura"] = "math"
    timeout_s: float = Field(10.0, gt=0, description="per page (trafilatura) or per lynx batch (math)")
    batch_size: int = Field(
        1024,
        ge=1,
        le=1024,
        description="pages per lynx process: starting one (17 ms of CPU) costs more than rendering a small page, so "
        "lynx takes half the CPU at 1024 that it takes at 128 on a shard of small pages (max_batch_chars bounds the "
        "memory; the maths extractor closes a batch of many tables earlier, see math_extract.render)",
    )
    main_content: bool = True
    max_payload_bytes: int = Field(
        8_000_000,
        ge=1024,
        description="largest page read, in bytes: the reader drops a larger payload as payload_too_large. The one "
        "page-size bound: make_extractor (pipelines/stages.py) gives it to the extractor as its page limit in "
        "characters (a page never decodes to more characters than it has bytes), so no page is read to be refused",
    )
    page_budget_s: float = Field(
        5.0, gt=0, le=3600, description="time one page's own work may take (lynx aside), plus page_budget_s_per_mb"
    )
    page_budget_s_per_mb: float = Field(
        5.0,
        ge=0,
        le=3600,
        description="seconds added to page_budget_s per MB of HTML; a page past its budget is dropped as "
        "extract_timeout (math extractor; ordinary pages take well under 0.1 s per MB)",
    )
    max_batch_chars: int = Field(
        16_000_000,
        ge=1024,
        description="decoded characters held per batch: a batch goes to the extractor at batch_size pages or when "
        "it reaches this, so a shard of large pages cannot fill memory",
    )


class PageExtraction(Protocol):
    """One page's result: ``reason`` is None on success, else why ``text`` is empty."""

    text: str
    has_math: bool
    formats: tuple[str, ...]
    n_formulas: int
    reason: str | None


class PageExtractor(Protocol):
    """What the stage needs of an extractor: decoded ``(html, url)`` pages in, one result per page out. It is a
    context manager, entered once per shard, so one that holds something for a shard's length (trafilatura's
    sandbox process and its cache of seen text) keeps it across batches."""

    batch_size: int

    def __enter__(self) -> PageExtractor: ...

    def __exit__(self, *exc: object) -> None: ...

    def extract_many(self, pages: list[tuple[str, str | None]]) -> Sequence[PageExtraction]: ...


@contextlib.contextmanager
def heap_frozen() -> Iterator[None]:
    """The objects alive when a shard starts (the worker's modules, tokenizer, caches) left out of the garbage
    collector's passes until it ends (``gc.freeze``), and given back to it then (``gc.unfreeze``: garbage among
    them is still collected, later).

    Why: extraction allocates millions of short-lived objects (lxml element proxies, per-element rows), and
    every so often the collector's older generations walk every object of the process, nearly all of them
    objects that were there before the shard and will be after it: 0.3 CPU-s of a 30 MB Debian-doc shard's 8.
    With two shards at once in one process the first to end unfreezes both: they are then only slower."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class ExtractText(Step):
    """Decoded payload -> extracted text with ``has_math``, ``math_formats``, ``n_formulas``; ``extractor``
    names where the text came from (``label``, or ``wet`` for text records)."""

    name = "extract-text"

    def __init__(self, extractor: PageExtractor, label: str, max_batch_chars: int = 16_000_000):
        super().__init__()
        self.extractor = extractor
        self.label = label
        self.max_batch_chars = max_batch_chars

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        with self.extractor as extractor, heap_frozen():  # once per shard
            for batch in self._batches(self._decoded(data), extractor.batch_size):
                html = [d for d in batch if d.metadata["extractor"] != "wet"]
                results = iter(extractor.extract_many([(d.text, d.metadata.get("url")) for d in html]))
                for doc in batch:
                    if doc.metadata["extractor"] != "wet":
                        result = next(results)
                        if result.reason:
                            self.drop(result.reason)
                            if result.reason in NAMED_FAILURES:  # the page itself is the problem: say which
                                where = f"{doc.metadata.get('warc_file')}@{doc.metadata.get('warc_offset')}"
                                self.error(f"{where}: {doc.metadata.get('url')}: {NAMED_FAILURES[result.reason]}")
                            continue
                        doc.text = result.text
                        doc.metadata.update(
                            has_math=result.has_math, math_formats=list(result.formats), n_formulas=result.n_formulas
                        )
                    if doc.text.strip():
                        yield doc
                    else:
                        self.drop("empty_text")

    def _batches(self, docs: Iterator[Document], max_docs: int) -> Iterator[list[Document]]:
        """Batches of at most ``max_docs`` documents, closed early once they hold ``max_batch_chars`` characters
        of text: the memory a batch takes is bounded by size, not only by count (32 pages of 8 MB are 1 GB)."""
        batch: list[Document] = []
        size = 0
        for doc in docs:
            batch.append(doc)
            size += len(doc.text)
            if len(batch) >= max_docs or size >= self.max_batch_chars:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _decoded(self, data: DocumentsPipeline) -> Iterator[Document]:
        for doc in data:
            payload = doc.metadata.pop("payload")
            content_type = doc.metadata.pop("content_type", "")
            try:
                doc.text = decode_html(payload, charset_of(content_type))
            except DecodeError as err:
                self.drop(err.reason)
                continue
            doc.metadata["extractor"] = "wet" if doc.metadata.pop("kind", "html") == "text" else self.label
            yield doc


class ExtractStage(ShardStage):
    """One task per input WARC/WET shard (local path or fsspec URL)."""

    name = "extract"

    def __init__(
        self,
        shards: list[str],
        settings: ExtractSettings,
        extractor: PageExtractor,
        tokens: TokenSettings | None = None,
    ):
        """``tokens=None`` skips token counting (only the extraction benchmark does that)."""
        super().__init__(source=None)
        self.shards = list(shards)
        self.settings = settings
        self.extractor = extractor
        self.tokens = tokens

    def inputs(self, rundir: RunDir) -> list[str]:
        return self.shards

    def reader(self, rundir: RunDir, source: str) -> Step:
        return WarcShardReader(source, max_payload_bytes=self.settings.max_payload_bytes)

    def steps(self, rundir: RunDir) -> list:
        steps: list = [ExtractText(self.extractor, self.settings.extractor, self.settings.max_batch_chars)]
        return steps + [CountTokens(self.tokens.tokenizer)] if self.tokens else steps

"""What every shard step of this project adds to a datatrove PipelineStep: named drop reasons and errors.

Drops are datatrove stats under ``dropped/<reason>``, so datatrove's own steps (whose counters we translate)
and ours are summed the same way into the per-task stats file. Documents a step marks but forwards (e.g.
decontamination in flag mode) are counted the same way under ``flagged/<reason>``. A step that only keeps or
drops documents is a :class:`Filter`: it says why for one document, the base does the bookkeeping.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.batching import batched

log = logging.getLogger("curation")
DROP_PREFIX = "dropped/"
FLAG_PREFIX = "flagged/"

#: Consecutive lists of at most ``size`` items (the last one shorter): steps that call a model or a
#: subprocess per batch stream a shard through it without holding the shard. datatrove's own helper.
batches = batched


class Step(PipelineStep):
    """A datatrove step that records why each document it does not forward was dropped."""

    type = "curation"

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []
        self.aside: list[dict] = []

    def drop(self, reason: str, value: int = 1, doc: Document | None = None, **detail: Any) -> None:
        """Count a drop; with ``doc``, also record it (id, url, reason, detail) in the stage's ``_aside`` table."""
        self.stat_update(DROP_PREFIX + reason, value=value)
        if doc is not None:
            self.aside.append(
                {
                    "id": doc.id,
                    "url": doc.metadata.get("url"),
                    "reason": reason,
                    "detail": json.dumps(detail, sort_keys=True, default=str) if detail else None,
                }
            )

    def flag(self, reason: str, value: int = 1) -> None:
        """Count a document that is forwarded but marked (it stays in the output, so it is not a drop)."""
        self.stat_update(FLAG_PREFIX + reason, value=value)

    def error(self, message: str) -> None:
        """A problem with the input that a user must see (named file/record); the run goes on."""
        log.warning(message)
        self.errors.append(message)


@dataclass(frozen=True)
class Drop:
    """A filter's verdict when the dropped document must also be written aside, with why in ``detail``."""

    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


KEEP = True


class Filter(Step):
    """A step that keeps or drops each document, in the spirit of datatrove's ``BaseFilter``.

    ``filter(doc)`` returns ``KEEP`` (``True``), a drop reason (``str``), or a :class:`Drop` when the document
    should also be recorded in the stage's ``_aside`` table. It may set metadata on the document it keeps. The
    base forwards kept documents and counts every drop under its reason, so no filter hand-writes that loop.
    """

    def filter(self, doc: Document) -> bool | str | Drop:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        for doc in data:
            verdict = self.filter(doc)
            if verdict is KEEP:
                yield doc
            elif isinstance(verdict, Drop):
                self.drop(verdict.reason, doc=doc, **verdict.detail)
            elif isinstance(verdict, str):
                self.drop(verdict)
            else:  # a bare False would be a drop without a reason
                raise TypeError(f"{type(self).__name__}.filter returned {verdict!r}: KEEP, a reason or a Drop")


def counts_of(steps: Iterable[PipelineStep], prefix: str) -> Counter:
    """The steps' stats whose label starts with ``prefix``, summed by the rest of the label."""
    counts: Counter = Counter()
    for step in steps:
        for label, metric in step.stats.stats.items():
            if label.startswith(prefix):
                counts[label[len(prefix) :]] += int(metric.total)
    return counts


def drops_of(steps: Iterable[PipelineStep]) -> Counter:
    return counts_of(steps, DROP_PREFIX)


def flags_of(steps: Iterable[PipelineStep]) -> Counter:
    return counts_of(steps, FLAG_PREFIX)


def aside_of(steps: Iterable[PipelineStep]) -> list[dict]:
    return [a for s in steps for a in getattr(s, "aside", [])]


def errors_of(steps: Iterable[PipelineStep]) -> list[str]:
    return [e for s in steps for e in getattr(s, "errors", [])]

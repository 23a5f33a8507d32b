"""What every shard step of this project adds to a datatrove PipelineStep: named drop reasons and errors.

Drops are datatrove stats under ``dropped/<reason>``, so datatrove's own steps (whose counters we translate)
and ours are summed the same way into the per-task stats file. Documents a step marks but forwards (e.g.
decontamination in flag mode) are counted the same way under ``flagged/<reason>``.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable

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

    def __init__(self):
        super().__init__()
        self.errors: list[str] = []
        self.aside: list[dict] = []

    def drop(self, reason: str, value: int = 1, doc=None, **detail) -> None:
        """Count a drop; with ``doc``, also record it (id, url, reason, detail) in the stage's ``_aside`` table."""
        self.stat_update(DROP_PREFIX + reason, value=value)
        if doc is not None:
            self.aside.append({"id": doc.id, "url": doc.metadata.get("url"), "reason": reason,
                               "detail": json.dumps(detail, sort_keys=True, default=str) if detail else None})

    def flag(self, reason: str, value: int = 1) -> None:
        """Count a document that is forwarded but marked (it stays in the output, so it is not a drop)."""
        self.stat_update(FLAG_PREFIX + reason, value=value)

    def error(self, message: str) -> None:
        """A problem with the input that a user must see (named file/record); the run goes on."""
        log.warning(message)
        self.errors.append(message)


def counts_of(steps: Iterable[PipelineStep], prefix: str) -> Counter:
    """The steps' stats whose label starts with ``prefix``, summed by the rest of the label."""
    counts: Counter = Counter()
    for step in steps:
        for label, metric in step.stats.stats.items():
            if label.startswith(prefix):
                counts[label[len(prefix):]] += int(metric.total)
    return counts


def drops_of(steps: Iterable[PipelineStep]) -> Counter:
    return counts_of(steps, DROP_PREFIX)


def flags_of(steps: Iterable[PipelineStep]) -> Counter:
    return counts_of(steps, FLAG_PREFIX)


def aside_of(steps: Iterable[PipelineStep]) -> list[dict]:
    return [a for s in steps for a in getattr(s, "aside", [])]


def errors_of(steps: Iterable[PipelineStep]) -> list[str]:
    return [e for s in steps for e in getattr(s, "errors", [])]

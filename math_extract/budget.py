"""A page's time budget: a wall-clock deadline that the extraction steps check as they go.

Why cooperative: the extract stage runs in Dask worker threads, where ``signal.alarm`` cannot be used (signals
reach the main thread only) and a thread cannot be stopped from outside. So no step may take time that grows
faster than the page (every regex and loop of this package is linear in the page's size, see ``tex``,
``detect``, ``prepass``), and the steps call :meth:`Deadline.check` between their passes and inside their loops
over formulas, where a check costs nothing beside the work. A page over its budget raises :class:`PageTimeout`,
which the extractor turns into the drop reason ``extract_timeout``; the rest of the batch goes on. lynx is
not timed here: it runs in its own process, under its own timeout (``render``).
"""

from __future__ import annotations

import math
import time


class PageTimeout(Exception):
    """The page's budget ran out; ``step`` says where."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


class Deadline:
    """A point in ``time.monotonic()`` after which :meth:`check` raises :class:`PageTimeout`."""

    __slots__ = ("at",)

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left (negative once over)."""
        return self.at - time.monotonic()

    def check(self, step: str) -> None:
        if time.monotonic() > self.at:
            raise PageTimeout(step)


#: The deadline of a call that sets none (the steps used on their own, as the tests and baselines do).
UNBOUNDED = Deadline(math.inf)

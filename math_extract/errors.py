"""The one exception type of the extractor.

Every failure carries a short snake_case ``reason`` so that a pipeline can count dropped documents by
reason instead of losing them silently (see DESIGN.md, "a dropped document is never silent").
"""
from __future__ import annotations


class ExtractError(Exception):
    """A page that cannot be extracted; ``reason`` names why (``binary_payload``, ``undecodable``, ...)."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason
        self.message = message

    def __reduce__(self):  # keep the reason when the error crosses a process boundary
        return (type(self), (self.reason, self.message))


class DecodeError(ExtractError):
    """The payload is not text in any charset we can trust."""

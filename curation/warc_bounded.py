"""warcio, bounded: header blocks and lines read in linear time up to :data:`MAX_HEADER_BYTES`, and records
whose framing cannot be trusted refused with a reason (:class:`RecordError`) instead of guessed at.

warcio's own ``readline`` joins the pieces of a long line quadratically and reads a header block of any size;
an 80 MB line or a 600 KB header block then costs minutes and gigabytes. The subclasses here are built on first
use (:func:`warc_classes`), so importing this module does not import warcio.
"""

from __future__ import annotations

import functools
from typing import Any

#: The most bytes one WARC or HTTP header block may take (Common Crawl's are a few KB).
MAX_HEADER_BYTES = 256 * 1024


def excerpt(err: Exception, size: int = 160) -> str:
    """An error's message for a log line: at most ``size`` characters, control bytes escaped (warcio quotes the
    offending line, which may be binary)."""
    text = " ".join(str(err).split())[: size * 4]
    return (text if text.isprintable() else ascii(text)[1:-1])[:size]


class RecordError(Exception):
    """A record whose framing cannot be trusted: counted under ``reason``; the reader resumes at the next one."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class _OversizedHeaders(Exception):
    pass


class _HeaderBudget:
    """The stream as warcio's header parser sees it: lines until ``limit`` bytes, then :class:`_OversizedHeaders`
    (raised only when the parser asks for more, so a block of exactly ``limit`` bytes passes)."""

    def __init__(self, stream: Any, limit: int):
        self.stream = stream
        self.left = limit

    def readline(self, length: int | None = None) -> bytes:
        left = self.left
        if left <= 0:
            raise _OversizedHeaders
        line = self.stream.readline(left if length is None or length > left else length)
        self.left = left - len(line)
        return line


@functools.lru_cache(maxsize=1)
def warc_classes() -> tuple[type, type, type]:
    """warcio's iterator, loader and line reader, subclassed to bound what they read; built on first use so
    that importing this module does not import warcio."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.bufferedreaders import DecompressingBufferedReader
    from warcio.recordloader import ArcWarcRecordLoader
    from warcio.utils import BUFF_SIZE

    class LineReader(DecompressingBufferedReader):
        """warcio's reader with a linear ``readline`` (pieces joined once) that stops at
        :data:`MAX_HEADER_BYTES` when no length is given: it serves header lines and the blank lines
        between records, never payloads, which are read with ``read``."""

        def readline(self, length: int | None = None) -> bytes:
            cap = MAX_HEADER_BYTES if length is None or length > MAX_HEADER_BYTES else length
            self._fillbuff()
            if self.empty():
                return b""
            line = self.buff.readline(cap)
            if line.endswith(b"\n") or len(line) >= cap:  # the common case: the line is in the buffer
                return line
            pieces = [line]
            size = len(line)
            while size < cap:
                self._fillbuff()
                if self.empty():
                    break
                piece = self.buff.readline(cap - size)
                pieces.append(piece)
                size += len(piece)
                if piece.endswith(b"\n"):
                    break
            return b"".join(pieces)

    class Loader(ArcWarcRecordLoader):
        """Parses WARC records only, with bounded header blocks, and refuses a record whose framing is broken
        (:class:`RecordError`). ``problem`` is set to ``(reason, message)`` for a record that is framed
        correctly but unusable (oversized HTTP headers, a response without a target URI): skipped by length."""

        def __init__(self) -> None:
            super().__init__(verify_http=False, arc2warc=False)
            self.problem: tuple[str, str] | None = None

        def _detect_type_load_headers(self, stream, statusline=None, known_format=None):
            self.problem = None
            budget = _HeaderBudget(stream, MAX_HEADER_BYTES - len(statusline or b""))
            try:
                the_format, headers = super()._detect_type_load_headers(budget, statusline, "warc")
            except _OversizedHeaders:
                raise RecordError("oversized_headers", f"WARC header block over {MAX_HEADER_BYTES} bytes") from None
            length = headers.get_header("Content-Length")
            if length is None:
                raise RecordError("bad_warc_headers", "WARC record without Content-Length")
            if not (length.strip().isascii() and length.strip().isdigit()):  # negative, signed, not a number
                raise RecordError("bad_content_length", f"Content-Length {length[:40]!r} is not a byte count")
            if not headers.get_header("WARC-Type"):
                self.problem = ("bad_warc_headers", "WARC record without WARC-Type")
            return the_format, headers

        def load_http_headers(self, rec_type, uri, stream, length):
            if uri is None and rec_type in self.HTTP_RECORDS:
                self.problem = self.problem or ("bad_warc_headers", f"{rec_type} record without WARC-Target-URI")
                return None
            try:
                return super().load_http_headers(rec_type, uri, _HeaderBudget(stream, MAX_HEADER_BYTES), length)
            except _OversizedHeaders:
                self.problem = ("oversized_headers", f"HTTP header block over {MAX_HEADER_BYTES} bytes")
                return None

    class RecordIterator(ArchiveIterator):
        """warcio's iterator over WARC records only, with the bounded reader and loader; each record carries
        ``problem`` (see ``Loader``)."""

        INC_RECORD = ""  # warcio prints the line after a record of wrong length (any size); counted by the reader

        def __init__(self, fileobj):
            super().__init__(fileobj)
            self.loader = Loader()
            self.reader = LineReader(self.fh, block_size=BUFF_SIZE)
            self.known_format = "warc"  # a first line that is not WARC/1.x fails instead of being read as ARC

        def _next_record(self, next_line):
            record = super()._next_record(next_line)
            record.problem = self.loader.problem
            return record

    return RecordIterator, Loader, LineReader

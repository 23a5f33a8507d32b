"""The body of an HTTP response record, read in bounded memory, and whether it is HTML.

A payload is read up to a limit (plus one byte, to tell that it is over), whatever its ``Transfer-Encoding:
chunked`` or ``Content-Encoding`` says: chunks and compressed bodies are read in bounded pieces, so a small
compressed body cannot expand in memory beyond what the caller reads (:func:`read_payload`). A response served
without a useful Content-Type (:data:`UNKNOWN_TYPES`) is sniffed (:func:`looks_like_html`).
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterator
from typing import Any

#: Content-Types that say nothing of the body: such a payload is sniffed (:func:`looks_like_html`). WHATWG's
#: "unknown" types, plus application/octet-stream, which servers send for pages they do not know; a binary body
#: so labelled does not start with an HTML tag, so sniffing keeps it out.
UNKNOWN_TYPES = ("", "unknown/unknown", "application/unknown", "*/*", "application/octet-stream", "binary/octet-stream")
_PIECE = 64 * 1024  # read size for chunked and compressed bodies
# WHATWG MIME sniffing's HTML signatures (each followed by a space or ">"), and <meta, <link, <!-- as pages use.
_HTML_TAGS = tuple(
    b"<" + t
    for t in (
        b"!doctype html",
        b"html",
        b"head",
        b"script",
        b"iframe",
        b"h1",
        b"div",
        b"font",
        b"table",
        b"a",
        b"style",
        b"title",
        b"b",
        b"body",
        b"br",
        b"p",
        b"meta",
        b"link",
    )
)


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if any."""
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def clean_uri(uri: str | None) -> str | None:
    """WARC-Target-URI as written by some crawlers (wget) is wrapped in angle brackets or padded."""
    if uri is None:
        return None
    return uri.strip().strip("<>").strip() or None


def looks_like_html(payload: bytes) -> bool:
    """Whether a body served without a useful Content-Type is HTML: after a byte-order mark and whitespace it
    starts with a doctype, a comment or a common HTML tag (WHATWG MIME sniffing's rule)."""
    head = payload[:1024]
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            head = head[len(bom) :].decode(codec, "ignore").encode("ascii", "ignore")
            break
    head = head.lstrip(b" \t\r\n\x0c").lower()
    if head.startswith(b"<!--"):
        return True
    return any(
        head.startswith(tag) and head[len(tag) : len(tag) + 1] in (b" ", b">", b"\t", b"\n", b"\r", b"/")
        for tag in _HTML_TAGS
    )


def _plain_blocks(stream: Any) -> Iterator[bytes]:
    while block := stream.read(_PIECE):
        yield block


def _dechunked(stream: Any) -> Iterator[bytes]:
    """HTTP chunked transfer coding, undone in pieces of at most ``_PIECE`` bytes whatever a chunk's declared
    size. As warcio does, a body whose first size line is not one is taken as not chunked."""
    first = True
    while True:
        line = stream.readline(64)
        try:
            size = int(line.split(b";")[0].strip(), 16)
            if size < 0 or not line.endswith(b"\n"):
                raise ValueError
        except ValueError:
            if first:  # served as chunked but is not
                yield line
                yield from _plain_blocks(stream)
            return
        first = False
        if size == 0:
            return
        while size > 0:
            piece = stream.read(min(size, _PIECE))
            if not piece:
                return
            size -= len(piece)
            yield piece
        stream.readline(64)  # the CRLF after the chunk


def _decompressed(pieces: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """A gzip/deflate/brotli body decoded in output pieces of about ``_PIECE`` bytes, so that a small
    compressed body cannot expand in memory beyond what the caller reads. A body that does not decode from
    its first bytes is passed on as it is (servers send identity bodies labelled gzip), as warcio does; one
    that breaks later ends where it broke."""
    pieces = iter(pieces)
    first = next(pieces, b"")
    decoded = _brotli(first, pieces) if encoding == "br" else _inflated(first, pieces, encoding)
    try:
        yield next(decoded)
    except (zlib.error, ValueError):  # not encoded as it says (_brotli raises ValueError)
        yield first
        yield from pieces
        return
    except StopIteration:
        return
    try:
        yield from decoded
    except (zlib.error, ValueError):
        return


def _inflated(first: bytes, pieces: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """zlib's half of :func:`_decompressed`: raises ``zlib.error`` before its first output if ``first`` is not
    gzip/deflate (raw deflate is tried for ``deflate``, which servers send both ways)."""
    wbits = zlib.MAX_WBITS | 32 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
    dec = zlib.decompressobj(wbits)
    try:
        out = dec.decompress(first, _PIECE)
    except zlib.error:
        if encoding != "deflate":
            raise
        dec = zlib.decompressobj(-zlib.MAX_WBITS)
        out = dec.decompress(first, _PIECE)
    yield out
    for piece in itertools.chain([b""], pieces):
        if dec.eof:  # what follows the compressed stream is not the page (and would pile up in unused_data)
            return
        if piece:
            yield dec.decompress(piece, _PIECE)
        while dec.unconsumed_tail:
            yield dec.decompress(dec.unconsumed_tail, _PIECE)


def _brotli(first: bytes, pieces: Iterator[bytes]) -> Iterator[bytes]:
    """brotli's half of :func:`_decompressed`; its errors are re-raised as ``ValueError``. Its output limit is
    soft and output held back by it comes out (``process(b"")``) before more input goes in."""
    import brotli

    bro = brotli.Decompressor()
    try:
        out = bro.process(first, output_buffer_limit=_PIECE)
        yield out
        for piece in itertools.chain([b""], pieces):
            while out:
                out = bro.process(b"", output_buffer_limit=_PIECE)
                if out:
                    yield out
            if piece:
                out = bro.process(piece, output_buffer_limit=_PIECE)
                yield out
        while out:
            out = bro.process(b"", output_buffer_limit=_PIECE)
            yield out
    except brotli.error as err:
        raise ValueError(f"brotli: {err}") from err


def read_payload(record: Any, limit: int) -> bytes:
    """The record's body, HTTP transfer and content codings undone, up to ``limit`` bytes (more means too large):
    memory is bounded by ``limit`` plus one piece, however the body is chunked or compressed."""
    raw = record.raw_stream
    headers = record.http_headers
    if not headers:
        return raw.read(limit)
    chunked = (headers.get_header("Transfer-Encoding") or "").strip().lower() == "chunked"
    encoding = (headers.get_header("Content-Encoding") or "").strip().lower()
    if encoding not in ("gzip", "x-gzip", "deflate", "br"):
        if not chunked:
            return raw.read(limit)  # the common case, in one read
        encoding = ""
    pieces: Iterator[bytes] = _dechunked(raw) if chunked else _plain_blocks(raw)
    if encoding:
        pieces = _decompressed(pieces, encoding)
    out = bytearray()
    for piece in pieces:
        out += piece
        if len(out) >= limit:
            break
    return bytes(out[:limit])

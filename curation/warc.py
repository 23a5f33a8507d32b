"""Read one WARC or WET shard (local path or fsspec URL) into documents carrying the raw payload.

Unlike datatrove's WarcReader, which silently skips what it cannot use, every HTTP response or WET
conversion record becomes either a document or a counted drop, and a broken shard (missing, not a WARC,
truncated) is reported by name while the records read before the break are kept. Decoding the payload is
left to the extract stage (``curation.decode``), which reads the charset with ``http_payload.charset_of``.

Hostile shards are read in bounded time and memory: only regular files are opened (``curation.shard_files``);
header blocks and lines are bounded (``curation.warc_bounded``); a payload is read up to ``max_payload_bytes``
however it is chunked or compressed (``curation.http_payload``). A record whose framing cannot be trusted is
counted under its reason with the file and offset, and reading resumes at the next record (the next gzip member
of a ``.warc.gz``, the next line starting ``WARC/1.`` of a plain WARC; :meth:`WarcShardReader._resync`):
``bad_content_length`` (negative, signed, not a number), ``bad_warc_headers`` (no Content-Length: garbage after
a ``WARC/1.0`` line), ``oversized_headers`` (WARC headers), ``not_a_record`` (bytes between records). A record
framed correctly but unusable is skipped by its length: ``oversized_headers`` (HTTP headers),
``bad_warc_headers`` (no WARC-Type, a response without a URI). A shard with no record at all (an empty gzip
member) is ``empty_shard``; one that does not start with a record, ``not_a_warc``.

A response without a useful Content-Type is kept if its body starts like HTML, else dropped as ``not_html``.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator
from typing import IO

from datatrove.data import Document

from .documents import doc_id
from .http_payload import UNKNOWN_TYPES, looks_like_html, read_payload
from .shard_files import NotAFile, local_path, open_local
from .step import Step
from .warc_bounded import RecordError, excerpt, warc_classes

HTML_TYPES = ("text/html", "application/xhtml+xml")
DOCUMENT_RECORDS = ("response", "conversion", "resource")
#: Records with broken framing skipped in one shard before the rest of it is given up.
MAX_RESYNCS = 1000
#: Bytes searched for the next record, all resyncs of one shard together.
MAX_RESYNC_SCAN_BYTES = 1 << 30
#: Errors about single records listed per shard; further ones are counted only.
MAX_RECORD_ERRORS = 50
_SCAN_BLOCK = 1 << 20  # read size of the resync scan
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_MAGIC = b"WARC/1."


def clean_uri(uri: str | None) -> str | None:
    """WARC-Target-URI as written by some crawlers (wget) is wrapped in angle brackets or padded."""
    if uri is None:
        return None
    return uri.strip().strip("<>").strip() or None


class WarcShardReader(Step):
    """Yields one Document per usable record: ``text`` empty, ``metadata['payload']`` the body bytes.

    ``max_payload_bytes``: a larger body is dropped as ``payload_too_large`` (the extract stage sets it to the
    largest page its extractor takes, so no page is read only to be refused)."""

    name = "warc-reader"

    def __init__(self, path: str, max_payload_bytes: int = 8_000_000):
        super().__init__()
        self.path = path
        self.max_payload_bytes = max_payload_bytes
        self._record_errors = 0
        self._scan_left = MAX_RESYNC_SCAN_BYTES

    def _open(self) -> IO[bytes]:
        local = local_path(self.path)
        if local is not None:
            return open_local(local)
        import fsspec

        return fsspec.open(self.path, "rb").open()

    def run(self, data=None, rank: int = 0, world_size: int = 1) -> Generator[Document, None, None]:
        from warcio.exceptions import ArchiveLoadFailed

        try:
            fh = self._open()
        except NotAFile as err:
            self.drop("not_a_file")
            self.error(str(err))
            return
        except (OSError, ValueError, ImportError) as err:  # ImportError: no fsspec backend for the protocol
            self.drop("unreadable_shard")
            self.error(f"{self.path}: cannot open shard ({type(err).__name__}: {err})")
            return
        iterator_class = warc_classes()[0]
        self._record_errors = 0
        self._scan_left = MAX_RESYNC_SCAN_BYTES
        n_records = 0
        resyncs = 0
        with fh:
            head = fh.read(len(_GZIP_MAGIC))
            if not head:
                self.drop("empty_shard")
                self.error(f"{self.path}: empty shard (0 bytes)")
                return
            gzipped = head == _GZIP_MAGIC
            start: int | None = 0
            while start is not None:
                fh.seek(start)
                iterator = iterator_class(fh)
                try:
                    for record in iterator:
                        n_records += 1
                        doc = self._document(record, iterator)
                        if doc is not None:
                            yield doc
                    start = None
                except (RecordError, ArchiveLoadFailed) as err:
                    where = iterator.offset
                    if isinstance(err, ArchiveLoadFailed) and n_records == resyncs == 0:
                        # it does not start as a WARC: not searched for records, as it may be any file
                        self.drop("not_a_warc")
                        self.error(f"{self.path}: not a readable WARC: {excerpt(err)}")
                        return
                    resyncs += 1
                    start = self._resync(fh, where + 1, gzipped) if resyncs <= MAX_RESYNCS else None
                    reason = err.reason if isinstance(err, RecordError) else "not_a_record"
                    self.drop(reason)
                    what = f"{self.path}@{where}: {excerpt(err)}"
                    if start is not None:
                        self._record_error(f"{what}; resumed at the next record, offset {start}")
                    else:  # the end of the shard's reading: always listed
                        self.error(f"{what}; {self._gave_up(resyncs)}")
                except (EOFError, zlib.error, OSError, ValueError) as err:
                    self.drop("truncated_shard")
                    self.error(
                        f"{self.path}: shard ends inside a record after {n_records} record(s) "
                        f"({type(err).__name__}: {excerpt(err, 120)})"
                    )
                    return
            if n_records == 0 and resyncs == 0:  # e.g. an empty gzip member: bytes, but no record in them
                self.drop("empty_shard")
                self.error(f"{self.path}: no WARC record in the shard (it holds only compression framing or blanks)")

    def _record_error(self, message: str) -> None:
        """An error about one record: the first :data:`MAX_RECORD_ERRORS` of a shard are listed, the rest only
        counted (their drops are), so a shard of broken records cannot flood the log and the stats file."""
        self._record_errors += 1
        if self._record_errors <= MAX_RECORD_ERRORS:
            self.error(message)
        elif self._record_errors == MAX_RECORD_ERRORS + 1:
            self.error(f"{self.path}: more than {MAX_RECORD_ERRORS} broken records; the rest are counted, not listed")

    def _gave_up(self, resyncs: int) -> str:
        if resyncs > MAX_RESYNCS:
            return f"over {MAX_RESYNCS} broken records, the rest of the shard is skipped"
        if self._scan_left <= 0:
            return f"no record found in {MAX_RESYNC_SCAN_BYTES} bytes searched, the rest of the shard is skipped"
        return "no record after it, the rest of the shard is skipped"

    def _resync(self, fh: IO[bytes], start: int, gzipped: bool) -> int | None:
        """Offset of the next place a record can start at or after ``start``: a gzip member header in a
        compressed shard, a line beginning ``WARC/1.`` in a plain one; None at the end or if the stream cannot
        seek. Scanned in blocks, so a long stretch of garbage costs linear time and one block of memory; at most
        :data:`MAX_RESYNC_SCAN_BYTES` are scanned per shard (a huge sparse file is not read to its end)."""
        marker = _GZIP_MAGIC if gzipped else _WARC_MAGIC
        try:
            fh.seek(start)
        except (OSError, ValueError):
            return None
        base, data = start, b""
        while self._scan_left > 0 and (block := fh.read(_SCAN_BLOCK)):
            self._scan_left -= len(block)
            data += block
            i = data.find(marker)
            while i >= 0:
                if gzipped or (i > 0 and data[i - 1 : i] == b"\n"):
                    return base + i
                i = data.find(marker, i + 1)
            keep = len(marker)  # a marker across the block boundary, with the byte before it
            base += len(data) - keep
            data = data[-keep:]
        return None

    def _document(self, record, iterator) -> Document | None:
        if record.problem is not None:
            reason, message = record.problem
            self.drop(reason)
            self._record_error(f"{self.path}@{iterator.get_record_offset()}: {message}, record skipped")
            return None
        if record.rec_type not in DOCUMENT_RECORDS:
            return None  # warcinfo, request, metadata: not documents
        url = clean_uri(record.rec_headers.get_header("WARC-Target-URI"))
        if record.rec_type == "resource" and (url or "").startswith("metadata:"):
            return None  # crawler logs stored as resources
        self.stat_update("records")
        payload = read_payload(record, self.max_payload_bytes + 1)
        errors_before = iterator.err_count
        offset = iterator.get_record_offset()  # only valid once the record has been read
        where = f"{self.path}@{offset}: {url}"
        if len(payload) > self.max_payload_bytes:
            self.drop("payload_too_large")
            self._record_error(f"{where}: payload over {self.max_payload_bytes} bytes, skipped")
            return None
        if getattr(record.raw_stream, "limit", 0) > 0:  # the file ended before the declared Content-Length
            self.drop("clipped_record")
            self._record_error(
                f"{where}: record cut short ({record.raw_stream.limit} of {record.length} bytes missing)"
            )
            return None
        if iterator.err_count > errors_before:  # warcio found no record boundary where the length said
            self.drop("malformed_record")
            self._record_error(f"{where}: record length does not match its content, skipped")
            return None
        if record.rec_type == "conversion":
            kind, content_type = "text", "text/plain"
        else:
            # a response's type is its HTTP header's (the WARC one says application/http); a resource's the WARC one
            headers = record.http_headers if record.rec_type == "response" else record.rec_headers
            content_type = (headers.get_header("Content-Type") if headers else None) or ""
            mime = content_type.split(";")[0].strip().lower()
            if mime in UNKNOWN_TYPES:
                if payload.strip() and not looks_like_html(payload):  # an empty one is counted below
                    self.drop("not_html")
                    return None
            elif mime not in HTML_TYPES:
                self.drop("not_html")
                return None
            kind = "html"
        if not payload.strip():
            self.drop("empty_payload")
            return None
        record_id = record.rec_headers.get_header("WARC-Record-ID")
        return Document(
            text="",
            id=doc_id(record_id, url, self.path, offset),
            metadata={
                "url": url,
                "warc_date": record.rec_headers.get_header("WARC-Date"),
                "warc_file": self.path,
                "warc_offset": offset,
                "payload": payload,
                "content_type": content_type,
                "kind": kind,
            },
        )

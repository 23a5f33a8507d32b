"""Read one WARC or WET shard (local path or fsspec URL) into documents carrying the raw payload.

Unlike datatrove's WarcReader, which silently skips what it cannot use, every HTTP response or WET
conversion record becomes either a document or a counted drop, and a broken shard (missing, not a WARC,
truncated) is reported by name while the records read before the break are kept. Decoding the payload is
left to the extract stage (``curation.decode``), which reads the charset with :func:`charset_of`.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator

from datatrove.data import Document

from .documents import doc_id
from .step import Step

HTML_TYPES = ("text/html", "application/xhtml+xml")
DOCUMENT_RECORDS = ("response", "conversion", "resource")


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


class WarcShardReader(Step):
    """Yields one Document per usable record: ``text`` empty, ``metadata['payload']`` the body bytes."""

    name = "warc-reader"

    def __init__(self, path: str, max_payload_bytes: int = 50_000_000):
        super().__init__()
        self.path = path
        self.max_payload_bytes = max_payload_bytes

    def run(self, data=None, rank: int = 0, world_size: int = 1) -> Generator[Document, None, None]:
        import fsspec
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed

        try:
            fh = fsspec.open(self.path, "rb").open()
        except (OSError, ValueError, ImportError) as err:  # ImportError: no fsspec backend for the protocol
            self.drop("unreadable_shard")
            self.error(f"{self.path}: cannot open shard ({type(err).__name__}: {err})")
            return
        n_records = 0
        with fh:
            if not fh.read(1):
                self.drop("empty_shard")
                self.error(f"{self.path}: empty shard (0 bytes)")
                return
            fh.seek(0)
            iterator = ArchiveIterator(fh)
            try:
                for record in iterator:
                    if record.format != "warc":  # warcio reads any text with spaces as a legacy ARC header
                        raise ArchiveLoadFailed(f"not WARC/1.x (read as {record.format!r})")
                    n_records += 1
                    doc = self._document(record, iterator)
                    if doc is not None:
                        yield doc
            except ArchiveLoadFailed as err:
                self.drop("not_a_warc" if n_records == 0 else "truncated_shard")
                self.error(f"{self.path}: not a readable WARC after {n_records} record(s): {str(err)[:160]}")
            except (EOFError, zlib.error, OSError, ValueError) as err:
                self.drop("truncated_shard")
                self.error(
                    f"{self.path}: shard ends inside a record after {n_records} record(s) "
                    f"({type(err).__name__}: {str(err)[:120]})"
                )

    def _document(self, record, iterator) -> Document | None:
        if record.rec_type not in DOCUMENT_RECORDS:
            return None  # warcinfo, request, metadata: not documents
        url = clean_uri(record.rec_headers.get_header("WARC-Target-URI"))
        if record.rec_type == "resource" and (url or "").startswith("metadata:"):
            return None  # crawler logs stored as resources
        self.stat_update("records")
        stream = record.content_stream()
        payload = stream.read(self.max_payload_bytes + 1)
        errors_before = iterator.err_count
        offset = iterator.get_record_offset()  # only valid once the record has been read
        where = f"{self.path}@{offset}: {url}"
        if len(payload) > self.max_payload_bytes:
            self.drop("payload_too_large")
            self.error(f"{where}: payload over {self.max_payload_bytes} bytes, skipped")
            return None
        if getattr(record.raw_stream, "limit", 0) > 0:  # the file ended before the declared Content-Length
            self.drop("clipped_record")
            self.error(f"{where}: record cut short ({record.raw_stream.limit} of {record.length} bytes missing)")
            return None
        if iterator.err_count > errors_before:  # warcio found no record boundary where the length said
            self.drop("malformed_record")
            self.error(f"{where}: record length does not match its content, skipped")
            return None
        if record.rec_type == "conversion":
            kind, content_type = "text", "text/plain"
        else:
            content_type = (
                (record.http_headers.get_header("Content-Type") if record.http_headers else None)
                or record.rec_headers.get_header("Content-Type")
                or ""
            )
            mime = content_type.split(";")[0].strip().lower()
            if mime and mime not in HTML_TYPES:
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

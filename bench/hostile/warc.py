"""Hostile shards for the WARC reader and the input list (issue 10): inputs that are not files, lines and header
blocks without end, payloads that expand, broken framing, and file names that look like globs or URL chains.

Each case writes its shard under the folder it is given, reads it with the real ``WarcShardReader`` (after the
real ``expand_inputs`` where the name matters) and, where pages come out, the extract stage's text step with
the real ``MathExtractor``. The builders (:func:`record`, :func:`write_shard`) are also what
``tests/test_warc_hostile.py`` crafts its inputs with.
"""

from __future__ import annotations

import gzip
import os
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

PAGE = (
    b"<!DOCTYPE html><html><head><title>A page</title></head><body><p>"
    + b"Words of a page. " * 40
    + b"</p></body></html>"
)


def record(
    url: str,
    body: bytes = PAGE,
    *,
    http: list[tuple[str, str]] | None = None,
    content_length: str | None = None,
    warc: list[tuple[str, str]] | None = None,
    status: str = "WARC/1.0",
) -> bytes:
    """One WARC response record, byte for byte: ``http`` the HTTP headers (default: an HTML Content-Type),
    ``content_length`` the WARC Content-Length as written (default: the true one), ``warc`` extra WARC headers."""
    http_headers = [("Content-Type", "text/html; charset=utf-8")] if http is None else http
    block = b"HTTP/1.1 200 OK\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in http_headers) + b"\r\n" + body
    headers = [
        ("WARC-Type", "response"),
        ("WARC-Target-URI", url),
        ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>"),
        ("WARC-Date", "2026-01-01T00:00:00Z"),
        ("Content-Type", "application/http; msgtype=response"),
        ("Content-Length", str(len(block)) if content_length is None else content_length),
        *(warc or []),
    ]
    head = status.encode() + b"\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers) + b"\r\n"
    return head + block + b"\r\n\r\n"


def write_shard(path: Path, records: list[bytes], compress: bool | None = None) -> Path:
    """The records as a shard: one gzip member per record when ``compress`` (default: the name ends in .gz)."""
    if compress is None:
        compress = path.name.endswith(".gz")
    with open(path, "wb") as f:
        for rec in records:
            f.write(gzip.compress(rec, compresslevel=9, mtime=0) if compress else rec)
    return path


def big_gzip_member(parts: list[bytes], repeat: bytes, times: int) -> bytes:
    """A gzip member of ``parts[0] + repeat * times + parts[1]`` compressed without ever holding it whole."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [comp.compress(parts[0])]
    per_block = max(1, (1 << 20) // max(1, len(repeat)))
    block = repeat * per_block
    for _ in range(times // per_block):
        out.append(comp.compress(block))
    out += [comp.compress(repeat * (times % per_block)), comp.compress(parts[1]), comp.flush()]
    return b"".join(out)


def read(path: Path | str, extract: bool = False) -> str:
    """Read a shard as the extract stage does; the outcome as ``N kept, M dropped (reasons)``, plus the errors."""
    from curation.step import drops_of
    from curation.warc import WarcShardReader

    reader = WarcShardReader(str(path))
    steps: list = [reader]
    docs = reader()
    if extract:
        from curation.extract import ExtractText
        from math_extract import MathExtractor

        text = ExtractText(MathExtractor(), "math")
        steps.append(text)
        docs = text(docs)
    kept = list(docs)
    drops = Counter(drops_of(steps))
    reasons = ", ".join(f"{n} {r}" for r, n in sorted(drops.items()))
    out = f"{len(kept)} kept, {sum(drops.values())} dropped ({reasons or 'none'})"
    if extract:
        out += f", {sum(len(d.text) for d in kept)} characters extracted"
    return out + (f"; first error: {reader.errors[0][:150]}" if reader.errors else "")


def _refused(path: str) -> str:
    """What the input list and the reader each say of a path."""
    from pipelines.inputs import InputError, expand_inputs

    try:
        listed = f"listed as {expand_inputs([path])}"
    except InputError as err:
        listed = f"refused: {err}"
    return f"{listed}; reader: {read(path)}"


def fifo(work: Path) -> str:
    path = work / "shard.warc.gz"
    os.mkfifo(path)
    return _refused(str(path))


def dev_zero(work: Path) -> str:
    return _refused("/dev/zero")


def warc_line_80mb(work: Path) -> str:
    """A WARC header line of 80 MB (gzip: 80 KB) between two good records."""
    bad = big_gzip_member(
        [b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://x/", b"\r\n\r\n"], b"a", 80 << 20
    )
    shard = work / "line.warc.gz"
    with open(shard, "wb") as f:
        f.write(gzip.compress(record("http://a.example/")))
        f.write(bad)
        f.write(gzip.compress(record("http://b.example/")))
    return read(shard)


def http_line_80mb(work: Path) -> str:
    """An HTTP header line of 80 MB inside a record whose Content-Length is right, then a good record."""
    body = b"HTTP/1.1 200 OK\r\nX-Long: "
    length = len(body) + (80 << 20) + 4
    head = f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://x/\r\nContent-Length: {length}\r\n\r\n"
    bad = big_gzip_member([head.encode() + body, b"\r\n\r\n\r\n\r\n"], b"a", 80 << 20)
    shard = work / "http-line.warc.gz"
    with open(shard, "wb") as f:
        f.write(bad)
        f.write(gzip.compress(record("http://b.example/")))
    return read(shard)


def line_80mb_no_newline(work: Path) -> str:
    """A plain file: a good record, then ``WARC/1.0`` and 80 MB without a newline to the end."""
    shard = work / "endless.warc"
    with open(shard, "wb") as f:
        f.write(record("http://a.example/"))
        f.write(b"WARC/1.0\r\nWARC-Type: ")
        f.write(b"a" * (80 << 20))
    return read(shard)


def header_block_600kb(work: Path) -> str:
    """600 KB of short WARC header lines (gzip: a few KB), then a good record."""
    many = [(f"X-H{i}", "v") for i in range(60_000)]
    return read(write_shard(work / "headers.warc.gz", [record("http://x/", warc=many), record("http://b.example/")]))


def gzip_bomb(work: Path) -> str:
    """A small gzip shard that expands to 2 GB: 40 pages of 50 MB (over the page cap), gzip-encoded twice (HTTP
    Content-Encoding inside the shard's own gzip), and six pages of 2.6 MB under the cap, sent through the
    extract step with the real extractor."""
    para = b"<p>lorem ipsum dolor sit amet, consectetur</p>\n"
    shard = work / "bomb.warc.gz"
    with open(shard, "wb") as f:
        for size, urls in ((50 << 20, range(40)), (2_600_000, range(40, 46))):
            body = big_gzip_member([b"<html><body>", b"</body></html>"], para, size // len(para))
            for i in urls:
                http = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
                f.write(gzip.compress(record(f"http://p{i}.example/", body, http=http), mtime=0))
    return f"{shard.stat().st_size // 1024} KB shard: " + read(shard, extract=True)


def coding_bombs(work: Path) -> str:
    """A 50 MB page as one HTTP chunk, and as brotli (50 KB), each in a gzip member of a few KB, then a good page."""
    import brotli

    page = b"<p>lorem ipsum dolor sit amet, consectetur</p>\n" * ((50 << 20) // 48)
    chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(page), page)
    html = [("Content-Type", "text/html")]
    records = [
        record("http://chunk.example/", chunk, http=[*html, ("Transfer-Encoding", "chunked")]),
        record("http://br.example/", brotli.compress(page, quality=5), http=[*html, ("Content-Encoding", "br")]),
        record("http://good.example/"),
    ]
    del page, chunk
    return read(write_shard(work / "codings.warc.gz", records))


def resync_flood(work: Path) -> str:
    """A plain shard of 500,000 lines ``WARC/1.0`` (5 MB), each a record without headers: the reader gives up
    after a bounded number of broken records."""
    shard = work / "flood.warc"
    shard.write_bytes(record("http://a.example/") + b"WARC/1.0\r\n\r\n" * 500_000)
    out = read(shard)
    return out.split("; first error")[0] + f"; last error: {_last_error(shard)}"


def sparse_100gb(work: Path) -> str:
    """A good record, then 100 GB of zeros (a sparse file, /dev/zero's regular-file twin): no line, no record."""
    shard = write_shard(work / "sparse.warc", [record("http://a.example/")])
    with open(shard, "r+b") as f:
        f.truncate(100 << 30)
    return read(shard)


def _last_error(path: Path) -> str:
    from curation.warc import WarcShardReader

    reader = WarcShardReader(str(path))
    list(reader())
    return reader.errors[-1][-120:]


def html_without_content_type(work: Path) -> str:
    """Pages served without a Content-Type or as application/octet-stream, and a binary body so labelled."""
    shard = write_shard(
        work / "untyped.warc.gz",
        [
            record("http://none.example/", http=[]),
            record("http://octet.example/", http=[("Content-Type", "application/octet-stream")]),
            record("http://png.example/", b"\x89PNG\r\n\x1a\n" + bytes(200), http=[]),
        ],
    )
    return read(shard, extract=True)


def bad_content_length(work: Path) -> str:
    """A negative and a non-numeric Content-Length, each followed by a good record, in a plain and a gzip shard."""
    records = [
        record("http://neg.example/", content_length="-5"),
        record("http://good1.example/"),
        record("http://nan.example/", content_length="12abc"),
        record("http://good2.example/"),
    ]
    plain = read(write_shard(work / "bad-length.warc", records))
    zipped = read(write_shard(work / "bad-length.warc.gz", records))
    return f"plain: {plain} | gzip: {zipped}"


def empty_gzip(work: Path) -> str:
    shard = work / "empty.warc.gz"
    shard.write_bytes(gzip.compress(b""))
    return read(shard)


def garbage_after_version(work: Path) -> str:
    """``WARC/1.0`` then random bytes, plain and gzip."""
    junk = b"WARC/1.0\r\n" + bytes(range(256)) * 64 + os.urandom(4096)
    plain = work / "garbage.warc"
    plain.write_bytes(junk)
    zipped = work / "garbage.warc.gz"
    zipped.write_bytes(gzip.compress(junk))
    return f"plain: {read(plain)} | gzip: {read(zipped)}"


def double_colon_name(work: Path) -> str:
    from pipelines.inputs import expand_inputs

    shard = write_shard(work / "crawl::part.warc.gz", [record("http://a.example/")])
    listed = expand_inputs([str(shard)])
    return f"listed {[Path(p).name for p in listed]}; {read(listed[0])}"


def literal_brackets(work: Path) -> str:
    """``a[1].warc.gz`` exists, and so does ``a1.warc.gz``, which the name would match as a glob."""
    from pipelines.inputs import expand_inputs

    write_shard(work / "a[1].warc.gz", [record("http://literal.example/")])
    write_shard(work / "a1.warc.gz", [record("http://glob.example/")])
    listed = expand_inputs([str(work / "a[1].warc.gz")])
    return f"listed {[Path(p).name for p in listed]}; {read(listed[0])}"


def same_shard_twice(work: Path) -> str:
    """One shard named directly, through a symlink and by a glob: listed once, with notes."""
    from pipelines.inputs import expand_inputs

    shard = write_shard(work / "s.warc.gz", [record("http://a.example/")])
    (work / "link.warc.gz").symlink_to(shard)
    notes: list[str] = []
    listed = expand_inputs([str(shard), str(work / "link.warc.gz"), str(work / "*.warc.gz")], notes)
    return f"listed {[Path(p).name for p in listed]}; {len(notes)} notes, e.g. {notes[0] if notes else None}"


CASES: dict[str, Callable[[Path], str]] = {
    "fifo": fifo,
    "dev_zero": dev_zero,
    "warc_line_80mb": warc_line_80mb,
    "http_line_80mb": http_line_80mb,
    "line_80mb_no_newline": line_80mb_no_newline,
    "header_block_600kb": header_block_600kb,
    "gzip_bomb": gzip_bomb,
    "coding_bombs": coding_bombs,
    "resync_flood": resync_flood,
    "sparse_100gb": sparse_100gb,
    "html_without_content_type": html_without_content_type,
    "bad_content_length": bad_content_length,
    "empty_gzip": empty_gzip,
    "garbage_after_version": garbage_after_version,
    "double_colon_name": double_colon_name,
    "literal_brackets": literal_brackets,
    "same_shard_twice": same_shard_twice,
}

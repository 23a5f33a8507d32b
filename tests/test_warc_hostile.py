"""Hostile shards (issue 10): the reader and the input list refuse what is not a file, bound every header block
and payload, resume after a record with broken framing, and read odd file names as the files they are. The
shards are crafted here with the builders of ``bench/hostile/warc.py``, whose cases run the same inputs at
full size and report time and memory."""

from __future__ import annotations

import gzip
import os
import threading

import pytest

from bench.hostile.warc import PAGE, big_gzip_member, record, write_shard
from curation.extract import ExtractSettings, ExtractText
from curation.step import drops_of
from curation.warc import WarcShardReader
from curation.warc_bounded import MAX_HEADER_BYTES
from pipelines.inputs import InputError, expand_inputs


def read(path, **kw):
    reader = WarcShardReader(str(path), **kw)
    docs = list(reader())
    return [d.metadata["url"] for d in docs], dict(drops_of([reader])), reader.errors


def read_within(path, seconds: float = 20):
    """``read`` in a thread, so that a reader blocked on a FIFO fails the test instead of hanging it."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(read(path)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert out, f"reading {path} did not finish in {seconds} s"
    return out[0]


def test_inputs_that_are_not_regular_files_are_refused(tmp_path):
    fifo = tmp_path / "shard.warc.gz"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.warc"
    folder.mkdir()
    for path, kind in ((str(fifo), "a FIFO"), ("/dev/zero", "a character device"), (str(folder), "a directory")):
        with pytest.raises(InputError, match=f"{path} is {kind}"):
            expand_inputs([path])
        urls, drops, errors = read_within(path)
        assert not urls and drops == {"not_a_file": 1} and errors[0].startswith(f"{path} is {kind}")
    with pytest.raises(InputError, match="is a FIFO"):  # matched by a glob, too
        expand_inputs([str(tmp_path / "*.gz")])


def test_a_directory_matched_by_a_glob_is_left_out_with_a_note(tmp_path):
    write_shard(tmp_path / "a.warc.gz", [record("http://a.example/")])
    (tmp_path / "b.warc.gz").mkdir()
    notes: list[str] = []
    assert expand_inputs([str(tmp_path / "*.warc.gz")], notes) == [str(tmp_path / "a.warc.gz")]
    assert notes == [f"input {tmp_path / '*.warc.gz'}: {tmp_path / 'b.warc.gz'} is a directory, left out"]


@pytest.mark.parametrize("name", ["long.warc", "long.warc.gz"])
def test_oversized_header_blocks_are_dropped_and_the_next_record_kept(tmp_path, name):
    line = "a" * (MAX_HEADER_BYTES + 10)  # one line without end, as far as the bound goes
    shard = write_shard(
        tmp_path / name,
        [
            record("http://first.example/"),
            record("http://warc-line.example/", warc=[("X-Long", line)]),
            record("http://many-lines.example/", warc=[(f"X-H{i}", "v") for i in range(MAX_HEADER_BYTES // 8)]),
            record("http://http-line.example/", http=[("Content-Type", "text/html"), ("X-Long", line)]),
            record("http://last.example/"),
        ],
    )
    urls, drops, errors = read(shard)
    assert urls == ["http://first.example/", "http://last.example/"]
    assert drops == {"oversized_headers": 3}
    assert all(str(shard) + "@" in e and "header block over" in e for e in errors)


def test_a_line_without_end_is_read_in_bounded_pieces(tmp_path):
    """80 MB without a newline after WARC/1.0 (80 KB compressed): one counted drop, the record before kept."""
    shard = tmp_path / "endless.warc.gz"
    shard.write_bytes(
        gzip.compress(record("http://first.example/")) + big_gzip_member([b"WARC/1.0\r\nX: ", b""], b"a", 80 << 20)
    )
    urls, drops, errors = read(shard)
    assert urls == ["http://first.example/"] and drops == {"oversized_headers": 1}
    assert "no record after it" in errors[0]


def test_the_page_cap_is_the_extractors_and_expanding_payloads_are_read_only_up_to_it(tmp_path):
    from math_extract import MathExtractor

    settings = ExtractSettings()
    assert settings.max_payload_bytes == MathExtractor().max_html_bytes
    body = big_gzip_member([b"<html><body>", b"</body></html>"], b"<p>lorem ipsum</p>", (20 << 20) // 18)
    http = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    shard = write_shard(
        tmp_path / "bomb.warc.gz", [record("http://big.example/", body, http=http), record("http://b/")]
    )
    assert shard.stat().st_size < 100_000  # 20 MB of page
    urls, drops, errors = read(shard, max_payload_bytes=settings.max_payload_bytes)
    assert urls == ["http://b/"] and drops == {"payload_too_large": 1} and "http://big.example/" in errors[0]
    # the same page sent as one chunk of 20 MB, then as brotli
    import brotli

    page = b"<p>lorem ipsum</p>" * ((20 << 20) // 18)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(page), page)
    shard = write_shard(
        tmp_path / "bombs.warc.gz",
        [
            record("http://chunk/", chunked, http=[("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")]),
            record(
                "http://br/", brotli.compress(page), http=[("Content-Type", "text/html"), ("Content-Encoding", "br")]
            ),
            record("http://b/"),
        ],
    )
    assert read(shard)[:2] == (["http://b/"], {"payload_too_large": 2})


def test_chunked_and_encoded_bodies_are_decoded(tmp_path):
    """Transfer and content codings are undone in bounded pieces: bodies of several pieces come out whole."""
    import zlib

    import brotli

    big = PAGE.replace(b"</body>", b"<p>more words</p>" * 30_000 + b"</body>")  # 0.5 MB: many pieces
    pieces = (big[:100], big[100:300_000], big[300_000:])
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    html = [("Content-Type", "text/html")]
    shard = write_shard(
        tmp_path / "codings.warc",
        [
            record("http://chunked/", chunked, http=[*html, ("Transfer-Encoding", "chunked")]),
            record("http://gzip/", gzip.compress(big), http=[*html, ("Content-Encoding", "gzip")]),
            record("http://mislabelled/", big, http=[*html, ("Content-Encoding", "gzip")]),
            record("http://deflate/", zlib.compress(big)[2:-4], http=[("Content-Encoding", "deflate")]),
            record("http://br/", brotli.compress(big), http=[*html, ("Content-Encoding", "br")]),
            record(
                "http://both/",
                b"%x\r\n%s\r\n0\r\n\r\n" % (len(gzip.compress(big)), gzip.compress(big)),
                http=[*html, ("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")],
            ),
        ],
    )
    reader = WarcShardReader(str(shard))
    assert [d.metadata["payload"] == big for d in reader()] == [True] * 6


def test_batches_are_bounded_in_characters_as_well_as_pages():
    from datatrove.data import Document

    from math_extract import MathExtractor

    sizes: list[int] = []

    class Counting(MathExtractor):
        def extract_many(self, pages):
            sizes.append(len(pages))
            return super().extract_many(pages)

    page = b"<html><body><p>" + b"A sentence of a page. " * 500 + b"</p></body></html>"  # 11 KB
    docs = [Document(text="", id=str(i), metadata={"payload": page, "content_type": "text/html"}) for i in range(7)]
    out = list(ExtractText(Counting(batch_size=32), "math", max_batch_chars=25_000)(iter(docs)))
    assert len(out) == 7 and sizes == [3, 3, 1]


def test_html_without_a_useful_content_type_is_sniffed(tmp_path):
    shard = write_shard(
        tmp_path / "untyped.warc.gz",
        [
            record("http://none/", http=[]),
            record(
                "http://octet/",
                b"\xef\xbb\xbf\n  <html><p>page</p></html>",
                http=[("Content-Type", "application/octet-stream")],
            ),
            record("http://png/", b"\x89PNG\r\n\x1a\n" + bytes(100), http=[]),
            record("http://plain/", PAGE, http=[("Content-Type", "text/plain")]),
            record("http://empty/", b"", http=[]),
        ],
    )
    urls, drops, _ = read(shard)
    assert urls == ["http://none/", "http://octet/"] and drops == {"not_html": 2, "empty_payload": 1}


@pytest.mark.parametrize("name", ["bad.warc", "bad.warc.gz"])
def test_a_record_with_a_broken_content_length_is_counted_and_the_next_one_kept(tmp_path, name):
    shard = write_shard(
        tmp_path / name,
        [
            record("http://negative/", content_length="-5"),
            record("http://good1/"),
            record("http://not-a-number/", content_length="12abc"),
            record("http://good2/"),
            record("http://missing/", content_length="1").replace(b"Content-Length: 1\r\n", b""),
            record("http://good3/"),
        ],
    )
    urls, drops, errors = read(shard)
    assert urls == ["http://good1/", "http://good2/", "http://good3/"]
    assert drops == {"bad_content_length": 2, "bad_warc_headers": 1}
    assert f"{shard}@0: Content-Length '-5' is not a byte count" in errors[0]
    assert "resumed at the next record" in errors[1]


def test_bytes_between_records_are_counted_and_reading_resumes(tmp_path):
    shard = tmp_path / "junk.warc"
    shard.write_bytes(record("http://a/") + b"\x00garbage that is not a record\r\n" * 3 + record("http://b/"))
    urls, drops, errors = read(shard)
    assert urls == ["http://a/", "http://b/"] and drops == {"not_a_record": 1}
    assert errors[0].startswith(f"{shard}@") and "resumed at the next record" in errors[0]


def test_an_empty_gzip_and_garbage_after_the_version_line_are_reported(tmp_path):
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(gzip.compress(b""))
    urls, drops, errors = read(empty)
    assert not urls and drops == {"empty_shard": 1} and str(empty) in errors[0]
    for name in ("garbage.warc", "garbage.warc.gz"):
        junk = b"WARC/1.0\r\n" + bytes(range(256)) * 8
        shard = tmp_path / name
        shard.write_bytes(gzip.compress(junk) if name.endswith(".gz") else junk)
        urls, drops, errors = read(shard)
        assert not urls and drops == {"bad_warc_headers": 1} and errors[0].startswith(f"{shard}@0: ")


def test_file_names_are_files_not_url_chains_or_globs(tmp_path):
    chained = write_shard(tmp_path / "crawl::part.warc.gz", [record("http://chained/")])
    literal = write_shard(tmp_path / "a[1].warc.gz", [record("http://literal/")])
    write_shard(tmp_path / "a1.warc.gz", [record("http://glob/")])
    assert expand_inputs([str(chained), str(literal)]) == [str(chained), str(literal)]
    assert read(chained)[0] == ["http://chained/"] and read(literal)[0] == ["http://literal/"]
    assert expand_inputs([str(tmp_path / "a[1]x.warc.gz")]) == [str(tmp_path / "a[1]x.warc.gz")]  # no match: kept
    assert expand_inputs([str(tmp_path / "a[0-9].warc.gz")]) == [str(tmp_path / "a1.warc.gz")]  # not a file: a glob


def test_a_shard_named_twice_is_listed_once_with_a_note(tmp_path):
    shard = write_shard(tmp_path / "s.warc.gz", [record("http://a/")])
    (tmp_path / "link.warc.gz").symlink_to(shard)
    notes: list[str] = []
    listed = expand_inputs([str(shard), str(tmp_path / "link.warc.gz"), str(tmp_path / "*.gz"), str(shard)], notes)
    assert listed == [str(shard)]
    assert notes[0] == f"input {tmp_path / 'link.warc.gz'} is the same file as {shard}: read once"
    assert notes[-1] == f"input {shard} is listed again: read once" and len(notes) == 4


def test_a_record_without_type_or_target_is_skipped_by_its_length(tmp_path):
    no_type = record("http://no-type/").replace(b"WARC-Type: response\r\n", b"")
    no_uri = record("http://no-uri/").replace(b"WARC-Target-URI: http://no-uri/\r\n", b"")
    urls, drops, errors = read(write_shard(tmp_path / "s.warc.gz", [no_type, no_uri, record("http://good/")]))
    assert urls == ["http://good/"] and drops == {"bad_warc_headers": 2}
    assert "without WARC-Type" in errors[0] and "response record without WARC-Target-URI" in errors[1]


def test_url_globs_leave_out_folders_and_repeats():
    import uuid

    import fsspec

    fs, base = fsspec.filesystem("memory"), f"/inputs-{uuid.uuid4().hex[:8]}"
    fs.pipe(f"{base}/a.warc.gz", gzip.compress(record("http://a/")))
    fs.mkdir(f"{base}/b.warc.gz")
    notes: list[str] = []
    try:
        listed = expand_inputs([f"memory://{base}/*.warc.gz", f"memory://{base}/a.warc.gz"], notes)
        assert listed == [f"memory://{base}/a.warc.gz"] and notes == [f"input {listed[0]} is listed again: read once"]
        assert read(listed[0])[0] == ["http://a/"]
    finally:
        fs.rm(base, recursive=True)

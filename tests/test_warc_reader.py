"""The WARC reader on local paths and on fsspec URLs (a real HTTP server on loopback)."""

from __future__ import annotations

import functools
import http.server
import threading

from curation.step import drops_of
from curation.warc import WarcShardReader

from conftest import bundled


def read(path: str):
    reader = WarcShardReader(path)
    return list(reader()), drops_of([reader]), reader.errors


def test_http_url_reads_the_same_documents_as_the_local_path(corpus):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(corpus))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/shard-a.warc.gz"
        remote, _, errors = read(url)
        local, _, _ = read(str(corpus / "shard-a.warc.gz"))
        assert not errors and len(remote) == len(local) > 0
        # the same records at the same offsets (ids differ: they name the shard as it was given)
        assert [(d.metadata["url"], d.metadata["warc_offset"]) for d in remote] == [
            (d.metadata["url"], d.metadata["warc_offset"]) for d in local
        ]
        assert [d.metadata["payload"] for d in remote] == [d.metadata["payload"] for d in local]
        assert remote[0].metadata["warc_file"] == url
        missing, drops, errors = read(url.replace("shard-a", "absent"))
        assert not missing and drops == {"unreadable_shard": 1} and "absent.warc.gz" in errors[0]
    finally:
        server.shutdown()


def test_wet_conversion_records_are_text_documents():
    docs, drops, errors = read(str(bundled("warc/cc-main-2024-22-single.warc.wet.gz")))
    assert len(docs) == 1 and not drops and not errors
    assert docs[0].metadata["kind"] == "text" and docs[0].metadata["url"].startswith("https://")


def test_offsets_point_at_the_records(corpus):
    from warcio.archiveiterator import ArchiveIterator

    docs, _, _ = read(str(corpus / "shard-b.warc.gz"))
    with open(corpus / "shard-b.warc.gz", "rb") as f:
        for doc in docs[:3]:
            f.seek(doc.metadata["warc_offset"])
            record = next(iter(ArchiveIterator(f)))
            assert record.rec_headers.get_header("WARC-Target-URI") == doc.metadata["url"]

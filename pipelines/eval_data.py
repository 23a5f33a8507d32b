"""Pages to measure extractors on: the gold sets and maths pages of ``../shared/data``, and the HTML of WARCs.

Used by ``curate eval-extract``, ``bench/`` and the tests. They live here, not in ``math_extract``, because
they read WARC shards and decode payloads with the core's reader and decoder, as the extract stage does.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from curation.decode import DecodeError, decode_html
from curation.http_payload import charset_of
from curation.step import drops_of
from curation.warc import WarcShardReader


def load_scrapinghub(root: str | Path) -> list[tuple[str, str, str]]:
    """(id, html, gold article body) for every page of the ScrapingHub article-extraction benchmark."""
    root = Path(root)
    gold = json.loads((root / "ground-truth.json").read_text())
    out = []
    for key in sorted(gold):
        path = root / "html" / f"{key}.html.gz"
        if path.exists():
            out.append((key, gzip.open(path).read().decode("utf-8", errors="replace"), gold[key]["articleBody"]))
    return out


def load_evaldata(evaldata: str | Path, cache: str | Path) -> list[tuple[str, str, list[str], list[str]]]:
    """(file, html, must-contain snippets, must-not-contain snippets) from trafilatura's evaldata.json."""
    cache = Path(cache)
    out = []
    for entry in json.loads(Path(evaldata).read_text()).values():
        path = cache / entry["file"]
        if path.exists():
            out.append((entry["file"], decode_html(path.read_bytes()), entry.get("with", []), entry.get("without", [])))
    return out


def maths_pages(data_root: str | Path, warcs: Sequence[str] = (), limit_per_warc: int = 0) -> list[tuple[str, str]]:
    """Real maths pages: the readability maths tests, Wikipedia t-SNE, and HTML records of Debian-doc WARCs."""
    root = Path(data_root)
    pages = [(str(p), decode_html(p.read_bytes())) for p in sorted((root / "math").glob("*/source.html"))]
    tsne = root / "extraction" / "trafilatura-cache" / "en.wikipedia.org.tsne.html"
    if tsne.exists():
        pages.append((str(tsne), decode_html(tsne.read_bytes())))
    for warc in warcs:
        pages.extend(warc_pages(warc, limit_per_warc))
    return pages


def warc_pages(path: str, limit: int = 0) -> list[tuple[str, str]]:
    """(url, decoded html) of the HTML response records of one WARC file; undecodable records are skipped.

    Read as the extract stage reads a shard (``WarcShardReader``, the declared charset to ``decode_html``), so
    benchmarks and evaluations see the pages the pipeline sees. A shard that cannot be read at all (missing,
    empty, not a WARC) raises, as a wrong path given to a benchmark must not pass as zero pages."""
    reader = WarcShardReader(path)
    out = []
    with closing(reader.run()) as docs:
        for doc in docs:
            content_type = doc.metadata["content_type"]
            if doc.metadata["kind"] != "html" or "html" not in content_type.lower():
                continue
            try:
                out.append((doc.metadata["url"], decode_html(doc.metadata["payload"], charset_of(content_type))))
            except DecodeError:
                continue
            if limit and len(out) >= limit:
                break
    if drops_of([reader]).keys() & {"unreadable_shard", "empty_shard", "not_a_warc"}:
        raise OSError(reader.errors[0])
    return out

"""The extractors we compare against, behind one batch interface: ours, trafilatura, resiliparse, plain lynx.

Each factory returns ``extract(pages: list[str]) -> list[str]`` so evaluation and the benchmark treat all
of them alike.  Heavy imports happen inside the factories.
"""
from __future__ import annotations

from typing import Callable

from .evaluate import Extractor


def ours(**settings) -> Extractor:
    from .extractor import MathExtractor

    extractor = MathExtractor(**settings)
    return lambda pages: [r.text for r in extractor.extract_many([(html, None) for html in pages])]


def trafilatura_extractor() -> Extractor:
    import trafilatura

    def run(pages: list[str]) -> list[str]:
        return [trafilatura.extract(html, favor_precision=True, include_comments=False) or "" for html in pages]
    return run


def resiliparse_extractor() -> Extractor:
    from resiliparse.extract.html2text import extract_plain_text

    return lambda pages: [extract_plain_text(html, main_content=True) for html in pages]


def plain_lynx(width: int = 80) -> Extractor:
    """``lynx -dump`` on the raw page, one process per page: the layout-keeping baseline with boilerplate."""
    from .render import lynx_dump

    def run(pages: list[str]) -> list[str]:
        return [lynx_dump(html.encode("utf-8", "replace"), width=width)[0] or "" for html in pages]
    return run


EXTRACTORS: dict[str, Callable[[], Extractor]] = {
    "ours": ours, "trafilatura": trafilatura_extractor, "resiliparse": resiliparse_extractor, "lynx": plain_lynx,
}


def maths_pages(data_root: str, warcs: list[str] = (), limit_per_warc: int = 0) -> list[tuple[str, str]]:
    """Real maths pages: the readability maths tests, Wikipedia t-SNE, and HTML records of Debian-doc WARCs."""
    from pathlib import Path

    from .decode import decode_html

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
    from contextlib import closing

    from curation.extract import _charset
    from curation.step import drops_of
    from curation.warc import WarcShardReader

    from .decode import decode_html
    from .errors import ExtractError

    reader = WarcShardReader(path)
    out = []
    with closing(reader.run()) as docs:
        for doc in docs:
            content_type = doc.metadata["content_type"]
            if doc.metadata["kind"] != "html" or "html" not in content_type.lower():
                continue
            try:
                out.append((doc.metadata["url"], decode_html(doc.metadata["payload"], _charset(content_type))))
            except ExtractError:
                continue
            if limit and len(out) >= limit:
                break
    if drops_of([reader]).keys() & {"unreadable_shard", "empty_shard", "not_a_warc"}:
        raise OSError(reader.errors[0])
    return out

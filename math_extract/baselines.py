"""The extractors we compare against, behind one batch interface: ours, trafilatura, resiliparse, plain lynx.

Each factory returns ``extract(pages: list[str]) -> list[str]`` so evaluation and the benchmark treat all
of them alike.  Heavy imports happen inside the factories.
"""
from __future__ import annotations

from typing import Callable

Extractor = Callable[[list[str]], list[str]]


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


def maths_pages(data_root: str | None = None, warcs: list[str] = (), limit_per_warc: int = 0) -> list[tuple[str, str]]:
    """Real maths pages: the readability maths tests, Wikipedia t-SNE, and HTML records of Debian-doc WARCs."""
    from pathlib import Path

    from .decode import decode_html

    if data_root is None:
        from curation.shared_data import shared_data_dir

        data_root = str(shared_data_dir())
    root = Path(data_root)
    pages = [(str(p), decode_html(p.read_bytes())) for p in sorted((root / "math").glob("*/source.html"))]
    tsne = root / "extraction" / "trafilatura-cache" / "en.wikipedia.org.tsne.html"
    if tsne.exists():
        pages.append((str(tsne), decode_html(tsne.read_bytes())))
    for warc in warcs:
        pages.extend(warc_pages(warc, limit_per_warc))
    return pages


def warc_pages(path: str, limit: int = 0) -> list[tuple[str, str]]:
    """(url, decoded html) of the HTML response records of one WARC file; undecodable records are skipped."""
    from warcio.archiveiterator import ArchiveIterator

    from .decode import decode_html
    from .errors import ExtractError

    out = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type != "response":
                continue
            ctype = record.http_headers.get_header("Content-Type", "") if record.http_headers else ""
            if "html" not in ctype.lower():
                continue
            charset = ctype.split("charset=", 1)[1].split(";")[0] if "charset=" in ctype else None
            try:
                out.append((record.rec_headers.get_header("WARC-Target-URI"), decode_html(record.content_stream().read(), charset)))
            except ExtractError:
                continue
            if limit and len(out) >= limit:
                break
    return out

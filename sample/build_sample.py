#!/usr/bin/env python3
"""Rebuild the bundled demo sample from real pages (see SOURCES.md for origins and licences).

    python sample/build_sample.py --shared ../shared --debian DIR

DIR holds one folder per Debian package made by ``../shared/tools/debian_doc_warcs.py --packages P``
(python-sympy-doc, python-scipy-doc, python-statsmodels-doc, maxima-doc). Writes:

- ``warc/news-and-web.warc.gz``: ScrapingHub benchmark articles (news), trafilatura's test pages (German, French,
  English web), readability's maths pages and Wikipedia's t-SNE article, plus one article captured twice under
  two URLs (an exact duplicate for the dedup stage);
- ``warc/debian-maths-docs.warc.gz``: SciPy, statsmodels and Maxima documentation pages (MathJax TeX, code);
- ``warc/cc-main-2020-34-excerpt.warc.gz``: a real Common Crawl excerpt, copied as it is;
- ``target/sympy-docs.jsonl``: the target validation set, text of SymPy documentation pages (none in the sample).

Selection is seeded, so the same inputs give the same sample.
"""

import argparse
import gzip
import io
import json
import random
import shutil
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HERE = Path(__file__).resolve().parent
DATE = "2026-01-01T00:00:00Z"


def write_record(writer, url: str, body: bytes, charset: str = "utf-8"):
    headers = StatusAndHeaders(
        "200 OK",
        [("Content-Type", f"text/html; charset={charset}"), ("Content-Length", str(len(body)))],
        protocol="HTTP/1.1",
    )
    writer.write_record(
        writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=headers, warc_headers_dict={"WARC-Date": DATE}
        )
    )


def debian_pages(folder: Path):
    for warc in sorted(folder.glob("*.warc.gz")):
        with open(warc, "rb") as f:
            for rec in ArchiveIterator(f):
                if rec.rec_type == "response":
                    yield rec.rec_headers.get_header("WARC-Target-URI"), rec.content_stream().read()


def has_tex(body: bytes) -> bool:
    return any(marker in body for marker in (b"\\(", b"\\[", b"$$", b'class="math'))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    ap.add_argument("--debian", type=Path, required=True)
    args = ap.parse_args()
    rng = random.Random(20261123)
    data = args.shared / "data"
    out = HERE / "warc"
    out.mkdir(exist_ok=True)

    with open(out / "news-and-web.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        truth = json.loads((data / "extraction/scrapinghub/ground-truth.json").read_text())
        ids = sorted(truth)
        for i, pid in enumerate(sorted(rng.sample(ids, 80))):
            body = gzip.decompress((data / f"extraction/scrapinghub/html/{pid}.html.gz").read_bytes())
            write_record(writer, truth[pid]["url"], body)
            if i == 0:  # the same article captured again under a tracking URL
                write_record(writer, truth[pid]["url"] + "?utm_source=feed", body)
        for page in sorted((data / "extraction/trafilatura-cache").glob("*.html")):
            write_record(writer, f"https://{page.stem}.trafilatura-cache.test/", page.read_bytes())
        for name in ("readability-mathjax", "readability-wikipedia-3"):
            write_record(
                writer, f"https://{name}.readability.test/", (data / "math" / name / "source.html").read_bytes()
            )

    with open(out / "debian-maths-docs.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for pkg, n in (("python-scipy-doc", 60), ("python-statsmodels-doc", 30), ("maxima-doc", 60)):
            pages = [(u, b) for u, b in debian_pages(args.debian / pkg) if len(b) < 400_000]
            maths = [p for p in pages if has_tex(p[1])]
            chosen = rng.sample(maths, min(n // 2, len(maths)))
            rest = [p for p in pages if p not in chosen]
            chosen += rng.sample(rest, min(n - len(chosen), len(rest)))
            for url, body in sorted(chosen):
                write_record(writer, url, body)

    shutil.copy(data / "warc/cc-main-2020-34-excerpt.warc.gz", out / "cc-main-2020-34-excerpt.warc.gz")

    import trafilatura

    target = HERE / "target"
    target.mkdir(exist_ok=True)
    with open(target / "sympy-docs.jsonl", "w") as f:
        for url, body in debian_pages(args.debian / "python-sympy-doc"):
            if has_tex(body):
                text = trafilatura.extract(body.decode("utf-8", "replace"), favor_precision=True)
                if text and len(text) > 500:
                    f.write(json.dumps({"url": url, "text": text}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Rebuild the real data the tests ship (see SOURCES.md) from ``../shared/data``.

    python tests/data/build.py [--shared ../shared]

Copies a small fixed selection of permissively licensed files, in the shared folder's own layout, so that the
tests read the same relative paths whether or not ``../shared`` is there: the first 40 ScrapingHub articles
(sorted by id) with their gold text, readability's two maths pages, seven of trafilatura's cached pages with their
evaldata entries (the six smallest that have entries, and Wikipedia's t-SNE article), warcio's and resiliparse's
broken WARCs and Common Crawl's own WET of one page. The selection is by rule, not by chance: the same shared
data gives the same files.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_ARTICLES = 40
N_EVALDATA = 6
LICENSES = [
    "scrapinghub-article-extraction-benchmark-LICENSE",
    "trafilatura-LICENSE",
    "readability-LICENSE",
    "warcio-LICENSE",
    "resiliparse-LICENSE",
    "whirlwind-python-LICENSE",
]
FILES = [
    "math/readability-mathjax/source.html",
    "math/readability-wikipedia-3/source.html",
    "warc/truncated.warc",
    "warc/bad-target-uri.warc.gz",
    "warc/clipped-record.warc.gz",
    "warc/cc-main-2024-22-single.warc.wet.gz",
]


def copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=HERE.parents[2] / "shared")
    data = ap.parse_args().shared / "data"

    for rel in FILES:
        copy(data / rel, HERE / rel)
    for name in LICENSES:
        copy(data / "licenses" / name, HERE / "licenses" / name)

    truth = json.loads((data / "extraction/scrapinghub/ground-truth.json").read_text())
    chosen = sorted(truth)[:N_ARTICLES]
    out = HERE / "extraction/scrapinghub"
    (out / "html").mkdir(parents=True, exist_ok=True)
    (out / "ground-truth.json").write_text(json.dumps({k: truth[k] for k in chosen}, indent=1, ensure_ascii=False))
    for key in chosen:
        copy(data / f"extraction/scrapinghub/html/{key}.html.gz", out / "html" / f"{key}.html.gz")

    cache = data / "extraction/trafilatura-cache"
    evaldata = json.loads((data / "extraction/trafilatura-evaldata.json").read_text())
    present = [(k, v) for k, v in evaldata.items() if (cache / v["file"]).exists()]
    present.sort(key=lambda kv: ((cache / kv[1]["file"]).stat().st_size, kv[0]))
    keep = dict(present[:N_EVALDATA])
    keep.update({k: v for k, v in present if v["file"] == "en.wikipedia.org.tsne.html"})
    for entry in keep.values():
        copy(cache / entry["file"], HERE / "extraction/trafilatura-cache" / entry["file"])
    (HERE / "extraction/trafilatura-evaldata.json").write_text(json.dumps(keep, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`curate extract-html` and `curate eval-extract`: run the extractor on one page, or score extractors on gold sets."""
from __future__ import annotations

import argparse
import sys

from curation.shared_data import shared_data_dir

DATA = str(shared_data_dir())


def register(subparsers) -> None:
    p = subparsers.add_parser("extract-html", help="print the maths-preserving text of one HTML page")
    p.add_argument("file", nargs="?", default="-", help="HTML file, or - for stdin")
    p.add_argument("--charset", default=None, help="declared charset (as an HTTP header would give)")
    p.add_argument("--no-main-content", action="store_true", help="keep boilerplate (render the whole page)")
    p.add_argument("--width", type=int, default=1000)
    p.add_argument("--info", action="store_true", help="print maths detection on stderr")
    p.set_defaults(func=_extract_html)

    p = subparsers.add_parser("eval-extract", help="score extractors on gold sets (ScrapingHub, trafilatura, maths)")
    p.add_argument("--extractor", action="append", choices=["ours", "trafilatura", "resiliparse", "lynx"],
                   help="repeatable; default: ours")
    p.add_argument("--scrapinghub", default=f"{DATA}/extraction/scrapinghub", help="folder with ground-truth.json")
    p.add_argument("--evaldata", default=f"{DATA}/extraction/trafilatura-evaldata.json")
    p.add_argument("--cache", default=f"{DATA}/extraction/trafilatura-cache")
    p.add_argument("--maths-warc", action="append", default=[], help="WARC of maths pages (repeatable)")
    p.add_argument("--limit", type=int, default=0, help="pages per gold set / WARC (0: all)")
    p.add_argument("--sets", default="scrapinghub,evaldata,maths", help="comma-separated subset")
    p.set_defaults(func=_eval_extract)


def _extract_html(args: argparse.Namespace) -> int:
    from . import MathExtractor, decode_html
    from .errors import ExtractError

    try:
        payload = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    except OSError as err:
        print(f"extract-html: cannot read {args.file}: {err}", file=sys.stderr)
        return 2
    try:
        html = decode_html(payload, args.charset)
    except ExtractError as err:
        print(f"extract-html: {args.file}: {err.reason}", file=sys.stderr)
        return 1
    result = MathExtractor(main_content=not args.no_main_content, width=args.width).extract(html)
    if args.info:
        print(f"has_math={result.has_math} formats={','.join(result.formats)} n_formulas={result.n_formulas}",
              file=sys.stderr)
    if result.reason:
        print(f"extract-html: {args.file}: {result.reason}", file=sys.stderr)
        return 1
    sys.stdout.write(result.text + "\n")
    return 0


def _eval_extract(args: argparse.Namespace) -> int:
    from .baselines import EXTRACTORS, maths_pages
    from .evaluate import (
        load_evaldata,
        load_scrapinghub,
        score_evaldata,
        score_formulas,
        score_scrapinghub,
    )

    sets = set(args.sets.split(","))
    lim = (lambda xs: xs[: args.limit]) if args.limit else (lambda xs: xs)
    gold = {}
    if "scrapinghub" in sets:
        gold["scrapinghub"] = lim(load_scrapinghub(args.scrapinghub))
    if "evaldata" in sets:
        gold["evaldata"] = lim(load_evaldata(args.evaldata, args.cache))
    if "maths" in sets:
        gold["maths"] = maths_pages(DATA, args.maths_warc, args.limit)
    print(f"{'extractor':<12} {'set':<12} {'n':>5}  scores")
    for name in args.extractor or ["ours"]:
        extract = EXTRACTORS[name]()
        for set_name, pages in gold.items():
            if set_name == "scrapinghub":
                r = score_scrapinghub(extract, pages)
                detail = f"P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f}"
            elif set_name == "evaldata":
                r = score_evaldata(extract, pages)
                detail = f"with-found={r['with_found']:.3f} without-absent={r['without_absent']:.3f} F1={r['f1']:.3f}"
            else:
                r = score_formulas(extract, pages)
                r["n"] = r["pages"]
                detail = f"formulas={r['formulas']} recall={r['recall']:.3f} macro={r['macro_recall']:.3f}"
            print(f"{name:<12} {set_name:<12} {r['n']:>5}  {detail}", flush=True)
    return 0

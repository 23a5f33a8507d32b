"""What the quality filter keeps, set by set: maths pages, ordinary pages and junk, with and without the
maths-aware mode.

Each page is extracted as the pipeline extracts it (``MathExtractor``), then judged by the default
``QualityFilter`` (maths-aware mode on) and by the plain rules (maths-aware mode off). The table shows pages
kept by each and the most frequent reasons for the drops. ``--save`` writes every decision, so that a change to
the filter can be compared page by page with ``--compare`` (the share of decisions unchanged, per set).

    python bench/bench_filter.py [--sets math/mixed,maths,debian,wcxb,...] [--limit N] [--debian-warc W ...]
                                 [--texts texts.json] [--save decisions.json] [--compare decisions.json]

Sets: ``math/mixed``, ``maths`` (readability and Wikipedia maths pages), ``debian`` (the maths pages, those
with at least one formula, of the bundled Debian-doc sample or of ``--debian-warc`` shards), ``wcxb``,
``cleaneval``, ``daniel``, ``scrapinghub``, ``cc`` (the Common Crawl excerpts) and ``junk`` (``tests/data/junk``
when it exists). All but ``debian`` and ``junk`` come from ``../shared/data``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_SETS = "math/mixed,maths,debian,wcxb,cleaneval,daniel,scrapinghub,cc,junk"


def pages_of(name: str, data: Path, limit: int, debian_warcs: list[str]) -> list[tuple[str, str]]:
    """(page id, decoded html) of one set."""
    from pipelines.eval_data import load_sets, warc_pages

    if name == "debian":
        warcs = debian_warcs or [str(REPO / "sample/warc/debian-maths-docs.warc.gz")]
        return [(url, html) for w in warcs for url, html in warc_pages(w, limit)]
    if name == "cc":
        return [
            (url, html) for w in sorted((data / "warc").glob("cc-main-*.warc.gz")) for url, html in warc_pages(str(w))
        ]
    if name == "junk":
        folder = REPO / "tests/data/junk"
        return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.html"))][: limit or None]
    return [(f"{p.set}/{p.id}", p.html) for p in load_sets([name], data, limit)[name]]


def extract(pages: list[tuple[str, str]]) -> dict[str, dict]:
    """Each page's text and maths metadata as the pipeline's extractor gives them (failed pages left out)."""
    from math_extract import MathExtractor

    extractor = MathExtractor()
    out = {}
    for page_id, html in pages:
        result = extractor.extract(html)
        if not result.reason:
            out[page_id] = {
                "text": result.text,
                "has_math": result.has_math,
                "n_formulas": result.n_formulas,
                "math_formats": list(result.formats),
            }
    return out


def judge(extracted: dict[str, dict], maths_only: bool) -> dict[str, dict]:
    """Both filter decisions for each page: ``{page id: {"aware": reason or "kept", "plain": ...}}``.
    ``maths_only`` keeps only the pages whose extraction found a formula (the Debian docs hold API pages
    without any)."""
    from datatrove.data import Document

    from curation.filter import FilterSettings
    from curation.quality import QualityFilter
    from math_extract import MathScorer

    settings = FilterSettings().quality
    plain_settings = settings.model_copy(
        update={"math_aware": settings.math_aware.model_copy(update={"enabled": False})}
    )
    aware, plain = QualityFilter(settings, MathScorer()), QualityFilter(plain_settings, MathScorer())
    decisions: dict[str, dict] = {}
    for page_id, page in extracted.items():
        if maths_only and not page["n_formulas"]:
            continue
        meta = {k: v for k, v in page.items() if k != "text"}
        row = {"n_formulas": page["n_formulas"]}
        for label, step in (("aware", aware), ("plain", plain)):
            verdict = step.filter(Document(text=page["text"], id=page_id, metadata=dict(meta)))
            row[label] = "kept" if verdict is True else str(getattr(verdict, "reason", verdict))
        decisions[page_id] = row
    return decisions


def summary(name: str, decisions: dict[str, dict], before: dict[str, dict] | None) -> str:
    n = len(decisions)
    kept = {k: sum(d[k] == "kept" for d in decisions.values()) for k in ("aware", "plain")}
    reasons = Counter(d["aware"] for d in decisions.values() if d["aware"] != "kept")
    top = ", ".join(f"{r} {c}" for r, c in reasons.most_common(4)) or "-"
    row = f"| {name} | {n} | {kept['aware']} ({kept['aware'] / max(n, 1):.0%}) | {kept['plain']} | {top} |"
    if before is not None:
        shared = [k for k in decisions if k in before]
        same = sum((decisions[k]["aware"] == "kept") == (before[k]["aware"] == "kept") for k in shared)
        row += f" {same / max(len(shared), 1):.1%} of {len(shared)} |"
    return row


def main() -> int:
    from pipelines.shared_data import shared_data_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=DEFAULT_SETS)
    ap.add_argument("--limit", type=int, default=0, help="pages per set (0: all)")
    ap.add_argument("--data", default=str(shared_data_dir()), help="the shared data folder")
    ap.add_argument("--debian-warc", action="append", default=[], help="Debian-doc WARC shard (repeatable)")
    ap.add_argument("--save", help="write every decision to this JSON file")
    ap.add_argument(
        "--texts",
        help="extracted texts: read from this JSON file if it exists, else written to it, so that two versions of "
        "the filter are compared on the same texts",
    )
    ap.add_argument("--compare", help="decisions saved earlier: show the share of keep/drop decisions unchanged")
    args = ap.parse_args()
    before = json.loads(Path(args.compare).read_text()) if args.compare else {}
    header = "| set | pages | kept (maths-aware, default) | kept (plain rules) | drops of the default, most frequent |"
    print(header + (" decisions unchanged |" if args.compare else ""))
    print("|---|---:|---:|---:|---|" + ("---:|" if args.compare else ""), flush=True)
    saved: dict[str, dict] = {}
    texts = json.loads(Path(args.texts).read_text()) if args.texts and Path(args.texts).exists() else {}
    for name in args.sets.split(","):
        if name not in texts:
            try:
                texts[name] = extract(pages_of(name, Path(args.data), args.limit, args.debian_warc))
            except (OSError, ValueError) as err:
                print(f"| {name} | - | - | - | not measured: {err} |", flush=True)
                continue
        saved[name] = judge(texts[name], maths_only=name == "debian")
        print(summary(name, saved[name], before.get(name) if args.compare else None), flush=True)
    if args.save:
        Path(args.save).write_text(json.dumps(saved, indent=1, sort_keys=True))
    if args.texts and not Path(args.texts).exists():
        Path(args.texts).write_text(json.dumps(texts))
    return 0


if __name__ == "__main__":
    sys.exit(main())

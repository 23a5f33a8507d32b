"""What the quality filter keeps, set by set: maths pages, ordinary pages and junk, with and without the
maths-aware mode, and how fast it judges them.

Each page is extracted as the pipeline extracts it (``MathExtractor``), then judged by the default
``QualityFilter`` (maths-aware mode on) and by the plain rules (maths-aware mode off). The table shows pages
kept by each, the share of pages on which both modes decide alike, and the most frequent reasons for the drops;
then the documents judged per CPU-second by each mode (CPU time of the ``filter`` calls alone). ``--save`` writes
every decision, so that a change to the filter can be compared page by page with ``--compare`` (the share of
decisions unchanged, per set); ``--baseline REV`` measures the filter's throughput at a git revision beside the
working tree's, on the same texts.

    python bench/bench_filter.py [--sets math/mixed,maths,debian,wcxb,...] [--limit N]
                                 [--debian-warc W ... | --debian-run RUN]
                                 [--texts texts.json] [--save decisions.json] [--compare decisions.json]
                                 [--baseline REV [--rounds N]]

Sets: ``math/mixed``, ``maths`` (readability and Wikipedia maths pages), ``debian`` (the maths pages, those
with at least one formula, of the bundled Debian-doc sample, of ``--debian-warc`` shards or of the extract stage of
the run directory ``--debian-run``), ``wcxb``,
``cleaneval``, ``daniel``, ``scrapinghub``, ``cc`` (the Common Crawl excerpts) and ``junk`` (``tests/data/junk``
when it exists). All but ``debian`` and ``junk`` come from ``../shared/data``. The ``debian`` set gets a second
row without its API stubs and index pages (the stub rule, :func:`stub_reason`), each left out listed below it.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
if "--code" in sys.argv:  # judge with the filter code of another checkout (see --baseline)
    sys.path.insert(0, sys.argv[sys.argv.index("--code") + 1])

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


def run_maths_pages(run: Path) -> dict[str, dict]:
    """The pages with a formula of a finished run's extract stage, as :func:`extract` gives pages: the maths
    pages of a large Debian-doc run (``bench/bench_gigabyte.py``) without extracting its shards again."""
    import pyarrow.parquet as pq

    columns = ["url", "text", "has_math", "n_formulas", "math_formats"]
    out = {}
    for part in sorted((run / "extract").glob("part-*.parquet")):
        for row in pq.read_table(part, columns=columns).to_pylist():
            if row["n_formulas"] and row["text"]:
                out[row.pop("url")] = {**row, "math_formats": list(row["math_formats"] or [])}
    if not out:
        raise ValueError(f"{run}/extract: no page with a formula (is it a finished run directory?)")
    return out


def judge(extracted: dict[str, dict], maths_only: bool, cpu: Counter | None = None) -> dict[str, dict]:
    """Both filter decisions for each page: ``{page id: {"aware": reason or "kept", "plain": ...}}``.
    ``maths_only`` keeps only the pages whose extraction found a formula (the Debian docs hold API pages
    without any). ``cpu`` adds up the CPU seconds each mode spent, and the documents it judged."""
    from datatrove.data import Document

    steps = filters()
    decisions: dict[str, dict] = {}
    for page_id, page in extracted.items():
        if maths_only and not page["n_formulas"]:
            continue
        meta = {k: v for k, v in page.items() if k != "text"}
        row = {"n_formulas": page["n_formulas"]}
        for label, step in steps.items():
            doc = Document(text=page["text"], id=page_id, metadata=dict(meta))
            start = time.process_time()
            verdict = step.filter(doc)
            if cpu is not None:
                cpu[label] += time.process_time() - start
                cpu[f"{label}-docs"] += 1
            row[label] = "kept" if verdict is True else str(getattr(verdict, "reason", verdict))
        decisions[page_id] = row
    return decisions


@functools.cache
def filters() -> dict[str, Any]:
    """The default quality filter (maths-aware) and the plain rules, warmed up: datatrove's tokenizers and the
    language-id model load on first use, once per process, and are not what a throughput figure should time."""
    from datatrove.data import Document

    from curation.filter import FilterSettings
    from curation.quality import QualityFilter
    from math_extract import MathScorer

    settings = FilterSettings().quality
    plain_settings = settings.model_copy(
        update={"math_aware": settings.math_aware.model_copy(update={"enabled": False})}
    )
    steps = {"aware": QualityFilter(settings, MathScorer()), "plain": QualityFilter(plain_settings, MathScorer())}
    warm_up = "We show that $x^2 + y^2 = 1$ describes the unit circle, and we prove it in the next section. " * 8
    for step in steps.values():
        step.filter(Document(text=warm_up, id="warm-up", metadata={}))
    return steps


def throughput(cpu: Counter) -> str:
    """Documents per CPU-second of each mode, over the pages of all sets judged."""
    rate = {k: cpu[f"{k}-docs"] / max(cpu[k], 1e-9) for k in ("aware", "plain")}
    return f"{rate['aware']:.0f} | {rate['plain']:.0f} | {rate['aware'] / rate['plain']:.2f}"


def baseline_throughput(rev: str, texts: str, sets: str, rounds: int) -> None:
    """Documents per CPU-second of the filter at ``rev`` (its ``curation`` and ``math_extract`` from git, run by
    this script) beside the working tree's, on the same texts: runs alternate, each in a fresh process, so both
    sides see the same machine load."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev, "curation", "math_extract"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        print(
            "\n| code | pages | docs/CPU-s, maths-aware | docs/CPU-s, plain | aware/plain |\n|---|---:|---:|---:|---:|"
        )
        totals: dict[str, Counter] = {rev: Counter(), "working tree": Counter()}
        for _ in range(rounds):
            for label, code in ((rev, tmp), ("working tree", str(REPO))):
                out = Path(tmp) / "cpu.json"
                cmd = [sys.executable, __file__, "--sets", sets, "--texts", texts, "--code", code]
                subprocess.run([*cmd, "--cpu-json", str(out)], check=True, capture_output=True)
                totals[label].update(json.loads(out.read_text()))
        for label, cpu in totals.items():
            print(f"| {label} | {cpu['aware-docs'] // rounds} | {throughput(cpu)} |")
        now, then = totals["working tree"], totals[rev]
        ratio = {k: (now[f"{k}-docs"] / now[k]) / (then[f"{k}-docs"] / then[k]) for k in ("aware", "plain")}
        print(f"\nworking tree / {rev}: maths-aware {ratio['aware']:.2f}x, plain {ratio['plain']:.2f}x docs per CPU-s")


#: The stub rule: a maths-doc page with less prose than this (in words, formulas masked; code, output and tables
#: left out) is an API stub; Gopher's own minimum document length, below which no page is judged worth keeping.
STUB_MIN_PROSE_WORDS = 50
#: ...or one whose prose lines are mostly not sentences is an index or a table (of constants, of links, of
#: signatures): fewer than this share of them has five words or more and ends as a sentence does.
STUB_MIN_SENTENCE_LINES = 0.25


def stub_reason(text: str) -> str | None:
    """Why a maths-doc page is an API stub or an index page that a reader would not keep for its text, or None.

    Measured on the prose view the maths-aware filter judges (``MathScorer.prose`` of the masked text), so the
    rule sees what the filter sees: a one-line docstring, or a list of names with a formula here and there."""
    from math_extract import MathScorer

    maths = MathScorer()
    lines = [line.strip() for line in maths.prose(maths.mask(text)).split("\n") if line.strip()]
    if sum(len(line.split()) for line in lines) < STUB_MIN_PROSE_WORDS:
        return f"stub: prose under {STUB_MIN_PROSE_WORDS} words"
    sentences = sum(len(line.split()) >= 5 and line.endswith((".", "?", "!", ":", "。")) for line in lines)
    if sentences < STUB_MIN_SENTENCE_LINES * len(lines):
        return f"index: under {STUB_MIN_SENTENCE_LINES:.0%} of prose lines are sentences"
    return None


def summary(name: str, decisions: dict[str, dict], before: dict[str, dict] | None) -> str:
    """One table row: kept by each mode, the share of pages on which both decide alike, the default's drops."""
    n = len(decisions)
    kept = {k: sum(d[k] == "kept" for d in decisions.values()) for k in ("aware", "plain")}
    same = sum((d["aware"] == "kept") == (d["plain"] == "kept") for d in decisions.values())
    reasons = Counter(d["aware"] for d in decisions.values() if d["aware"] != "kept")
    top = ", ".join(f"{r} {c}" for r, c in reasons.most_common(4)) or "-"
    row = (
        f"| {name} | {n} | {kept['aware']} ({kept['aware'] / max(n, 1):.1%}) | {kept['plain']} "
        f"({kept['plain'] / max(n, 1):.1%}) | {same / max(n, 1):.1%} | {top} |"
    )
    if before is not None:
        shared = [k for k in decisions if k in before]
        unchanged = sum((decisions[k]["aware"] == "kept") == (before[k]["aware"] == "kept") for k in shared)
        row += f" {unchanged / max(len(shared), 1):.1%} of {len(shared)} |"
    return row


def stub_summary(decisions: dict[str, dict], texts: dict[str, dict]) -> str:
    """The Debian row again without the API stubs and index pages (:func:`stub_reason`), and the pages left out."""
    stubs = {k: reason for k in decisions if (reason := stub_reason(texts[k]["text"]))}
    rest = {k: d for k, d in decisions.items() if k not in stubs}
    lines = [summary(f"debian, {len(stubs)} stubs and index pages left out", rest, None)]
    for k, reason in sorted(stubs.items()):
        lines.append(f"<!-- {reason}; maths-aware: {decisions[k]['aware']}: {k} -->")
    return "\n".join(lines)


def main() -> int:
    from pipelines.shared_data import shared_data_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=DEFAULT_SETS)
    ap.add_argument("--limit", type=int, default=0, help="pages per set (0: all)")
    ap.add_argument("--data", default=str(shared_data_dir()), help="the shared data folder")
    ap.add_argument("--debian-warc", action="append", default=[], help="Debian-doc WARC shard (repeatable)")
    ap.add_argument(
        "--debian-run",
        type=Path,
        metavar="RUN",
        help="the debian set from a finished run's extract stage (its pages with a formula), not from WARCs",
    )
    ap.add_argument("--save", help="write every decision to this JSON file")
    ap.add_argument(
        "--texts",
        help="extracted texts: read from this JSON file if it exists, else written to it, so that two versions of "
        "the filter are compared on the same texts",
    )
    ap.add_argument("--compare", help="decisions saved earlier: show the share of keep/drop decisions unchanged")
    ap.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure the filter's documents per CPU-second at this git revision beside the working tree's, "
        "on the same texts (needs --texts)",
    )
    ap.add_argument("--rounds", type=int, default=2, help="alternating runs per side for --baseline")
    ap.add_argument("--code", help=argparse.SUPPRESS)  # read before the imports, at the top of this file
    ap.add_argument("--cpu-json", help=argparse.SUPPRESS)  # --baseline's runs: CPU seconds only, no table
    args = ap.parse_args()
    if args.baseline and not args.texts:
        ap.error("--baseline needs --texts (both sides judge the same extracted texts)")
    before = json.loads(Path(args.compare).read_text()) if args.compare else {}
    cpu: Counter = Counter()
    texts = json.loads(Path(args.texts).read_text()) if args.texts and Path(args.texts).exists() else {}
    if args.cpu_json:
        for name in args.sets.split(","):
            judge(texts[name], maths_only=name == "debian", cpu=cpu)
        Path(args.cpu_json).write_text(json.dumps(cpu))
        return 0
    header = (
        "| set | pages | kept (maths-aware, default) | kept (plain rules) | same decision both modes "
        "| drops of the default, most frequent |"
    )
    print(header + (" decisions unchanged |" if args.compare else ""))
    print("|---|---:|---:|---:|---:|---|" + ("---:|" if args.compare else ""), flush=True)
    saved: dict[str, dict] = {}
    for name in args.sets.split(","):
        if name not in texts:
            try:
                if name == "debian" and args.debian_run:
                    texts[name] = run_maths_pages(args.debian_run)
                else:
                    texts[name] = extract(pages_of(name, Path(args.data), args.limit, args.debian_warc))
            except (OSError, ValueError) as err:
                print(f"| {name} | - | - | - | not measured: {err} |", flush=True)
                continue
        saved[name] = judge(texts[name], maths_only=name == "debian", cpu=cpu)
        print(summary(name, saved[name], before.get(name) if args.compare else None), flush=True)
        if name == "debian":
            print(stub_summary(saved[name], texts[name]), flush=True)
    print("\n| pages judged | docs/CPU-s, maths-aware | docs/CPU-s, plain | aware/plain |\n|---:|---:|---:|---:|")
    print(f"| {cpu['aware-docs']} | {throughput(cpu)} |")
    if args.save:
        Path(args.save).write_text(json.dumps(saved, indent=1, sort_keys=True))
    if args.texts and not Path(args.texts).exists():
        Path(args.texts).write_text(json.dumps(texts))
    if args.baseline:
        measured = ",".join(name for name in args.sets.split(",") if name in texts)
        baseline_throughput(args.baseline, args.texts, measured, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

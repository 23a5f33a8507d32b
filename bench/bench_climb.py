"""CLIMB against its baselines on a Debian-documentation pool, with SymPy's documentation held out as target.

    python bench/bench_climb.py                 # build what is missing, run the pipeline, print the table
    python bench/bench_climb.py --table-only RUN   # the table of a finished run (the demo's too)
    python bench/bench_climb.py --search-only RUN  # drop RUN's search and mixture outputs, run those two again
    python bench/bench_climb.py --search-only RUN --seed 1235  # the same in a copy RUN-seed1235, another seed
    python bench/bench_climb.py --seeds-table RUN RUN-seed1235 ...  # one table over finished runs (seeds)

The pool: ``../shared/tools/debian_doc_warcs.py`` packs its default packages without SymPy, plus pandas and the
Python 3.11 manual (``pool_packages()``: 23,564 pages, 653 MB of HTML; ruby3.1-doc has no HTML pages) into 100 MB
WARC shards under ``bench/.cache/``. The target: python-sympy-doc's pages, packed the same way, extracted with
the pipeline's own maths extractor and kept where the run's own filters keep them (66 of 264 pages, 1.27 MB of
text; the search and the judge see 33 each), into a jsonl file of one document per page. The run uses the
default filters and search settings (rounds of 32, 16 and 8 proxy runs), 16 super-clusters and a mixture budget of 500K tokens.

Why that budget: the default filters and dedup keep 2,430 of the 23,564 pages, 3.11M tokens (most API pages
fail the Gopher alpha-ratio, top-n-gram repetition and language-score rules), and a mixture search is
meaningful only when the pool holds several times the budget, as in CLIMB (400M documents for a 40B-token proxy
budget): 500K is 1/6.2 of it. On the earlier 380 MB pool (711K tokens) a 1M budget held the whole pool,
repeated, and the mixtures differed only in how often each cluster was repeated.

The table: each mixture judged by the larger proxy on the held-out half of the target over the judge's seeds
(mean ± standard deviation), each proxy's noise (mean deviation over draws of the same weights), the
cheap-vs-large Spearman over the search's runs, the predictor's Spearman per round (on the round's runs, and on
the random search's fresh runs), and the search stage's wall time (from its task stats and the driver's clock).
``--seeds-table`` puts several seeds' judgements side by side with the final mixture's margin over the best
baseline, in units of the larger of the two spreads, and the same margin draw by draw (``final_versus``).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))  # _common
from _common import debian_doc_shards, default_doc_packages  # noqa: E402


def pool_packages() -> list[str]:
    """The shared tool's default packages without SymPy, plus ``EXTRA_PACKAGES``: maths, statistics, astronomy,
    machine learning, databases, web frameworks, Python, a Debian handbook and a plotting tool, so that the
    search has clusters both near and far from the target."""
    return [*(p for p in default_doc_packages() if p != "python-sympy-doc"), *EXTRA_PACKAGES]


CACHE = REPO / "bench" / ".cache"
#: added to the shared tool's default packages (SymPy, the target, is taken out of them)
EXTRA_PACKAGES = ("python-pandas-doc", "python3.11-doc")
POOL = CACHE / "debdoc-climb-1gb"
POOL_MB, SHARD_MB = 1000, 100  # a cap the packages do not reach: they hold 653 MB of HTML
TARGET_WARC = CACHE / "debdoc-sympy-target"
TARGET = CACHE / "sympy-target-filtered.jsonl"
RUN = CACHE / "climb-debdoc-1gb-run"
#: the mixture's tokens: the filters and dedup keep 3.11M tokens of the 653 MB (2,430 of 23,564 pages), and the
#: pool should hold at least 5 times the budget or every mixture is nearly the same text; 500K leaves 6.2 times
TOKEN_BUDGET = 500_000
#: curate's closing lines, one per stage with its wall seconds: "  search   69.1 s"
STAGE_TIME = re.compile(r"^\s+\w+\s+[\d.]+ s$")


def write_target(config: Path) -> None:
    """SymPy's pages through the pipeline's maths extractor and then its filters (``config``'s, the pool's own),
    one jsonl document per kept page: 66 of 264, 1.27 MB of text.

    The target is text of the kind the mixture is meant for, so it passes the filters the pool passes. Taken
    unfiltered (every third page), it held SymPy's alphabetical index of API names (``genindex``, 312 KB, a
    fifth of its bytes): on the seed that held that page out it made 57 % of the judge's variance over draws,
    and on the seeds that searched with it the search fitted index pages."""
    if TARGET.exists():
        return
    from datatrove.data import Document

    from curation.filter import FilterStage
    from math_extract import MathExtractor, MathScorer
    from pipelines.config import parse_config, parse_yaml
    from pipelines.eval_data import warc_pages

    cfg = parse_config(parse_yaml(config.read_bytes(), str(config)), config.parent, source=str(config))
    steps = FilterStage("extract", cfg.filter, MathScorer()).steps(rundir=None)  # type: ignore[arg-type]
    shards = debian_doc_shards(TARGET_WARC, ["python-sympy-doc"], shard_mb=1000)
    pages = [page for shard in shards for page in warc_pages(str(shard))]  # (url, html) as the pipeline reads them
    extractor = MathExtractor()
    kept = []
    for start in range(0, len(pages), 64):
        batch = pages[start : start + 64]
        results = extractor.extract_many([(html, url) for url, html in batch])
        for (url, _), r in zip(batch, results):
            doc = Document(text=r.text, id=url, metadata={"url": url})
            if not r.reason and r.text.strip() and all(step.filter(doc) is True for step in steps):
                kept.append((url, r.text))
    tmp = TARGET.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for url, text in kept:
            out.write(json.dumps({"url": url, "text": text}, ensure_ascii=False) + "\n")
    tmp.rename(TARGET)


def write_config() -> Path:
    import yaml

    demo = yaml.safe_load((REPO / "pipelines/configs/demo.yaml").read_text())
    demo["run_dir"] = str(RUN)
    demo["inputs"] = [str(POOL / "*.warc.gz")]
    demo["filter"]["languages"] = ["en"]
    demo["climb"]["super_clusters"] = 16
    demo["climb"]["search"] = {"target": str(TARGET)}  # everything else: the defaults
    demo["mixture"]["token_budget"] = TOKEN_BUDGET
    path = CACHE / "climb-debdoc.yaml"
    path.write_text(yaml.safe_dump(demo, sort_keys=False))
    return path


def table(run: Path) -> str:
    from climb.baselines import format_judgement

    base = json.loads((run / "search/baselines.json").read_text())
    rounds = json.loads((run / "search/rounds.json").read_text())["rounds"]
    stats = sorted((run / "search").glob("*/_stats/*.json"))
    task_s = sum(json.loads(p.read_text()).get("seconds", 0.0) for p in stats)
    per_group: dict[str, list[float]] = {}
    for p in stats:
        per_group.setdefault(p.parent.parent.name, []).append(json.loads(p.read_text()).get("seconds", 0.0))
    rounds_line = "; ".join(
        f"{r['round']}: {r['runs']} runs, best {r['best_bpb']:.4f}, predictor Spearman {r['predictor_spearman']}"
        f" (on the random search's fresh runs {r.get('predictor_spearman_fresh')})"
        for r in rounds
    )
    tasks_line = ", ".join(f"{g} {len(v)} x {sum(v) / len(v):.1f} s" for g, v in sorted(per_group.items()))
    return "\n".join(
        [
            format_judgement(base),
            f"rounds: {rounds_line}",
            f"search tasks: {tasks_line}; {task_s:.0f} task-seconds in all",
        ]
    )


def seeds_table(runs: list[Path]) -> str:
    """One markdown table over several finished runs (seeds): each mixture's held-out score per run, and the
    final mixture's margin over the best baseline in units of the larger of the two spreads (negative: ahead), and
    draw by draw as the search reported it (mean ± std of the differences, draws ahead), and on resamples of the
    held-out documents (std, share of resamples with the final ahead)."""
    from climb.baselines import SEARCH_ANSWERS

    reports = [json.loads((run / "search/baselines.json").read_text()) for run in runs]
    seeds = [_seed(run) for run in runs]
    names = [m["name"] for m in reports[0]["mixtures"]]
    lines = ["| mixture | " + " | ".join(f"seed {s}" for s in seeds) + " |", "|---|" + "---:|" * len(runs)]
    for name in names:
        cells = []
        for report in reports:
            m = next(m for m in report["mixtures"] if m["name"] == name)
            mark = " (final)" if report["final"] == name else ""
            cells.append(f"{m['bits_per_byte_mean']:.4f} ± {m['bits_per_byte_std']:.4f}{mark}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    margins, paired, resampled = [], [], []
    for report in reports:
        by_name = {m["name"]: m for m in report["mixtures"]}
        final = by_name[report["final"]]
        baselines = [m for m in report["mixtures"] if m["name"] not in SEARCH_ANSWERS]
        best = min(baselines, key=lambda m: m["bits_per_byte_mean"])
        gap = final["bits_per_byte_mean"] - best["bits_per_byte_mean"]
        spread = max(final["bits_per_byte_std"], best["bits_per_byte_std"])
        margins.append(f"{gap:+.4f} vs {best['name']} ({gap / spread:+.1f} spreads)" if spread else f"{gap:+.4f}")
        v = next((v for v in report.get("final_versus", []) if v["name"] == best["name"]), None)
        draws = len(report["seeds"])
        paired.append(
            f"{v['mean_difference']:+.4f} ± {v['difference_std']:.4f} ({v['draws_ahead']}/{draws})" if v else "-"
        )
        resampled.append(
            f"± {v['document_resample_std']:.4f} ({v['document_resamples_ahead']:.0%})"
            if v and "document_resample_std" in v
            else "-"
        )
    lines.append("| final - best baseline | " + " | ".join(margins) + " |")
    lines.append("| the same, draw by draw (draws ahead) | " + " | ".join(paired) + " |")
    lines.append("| the same, held-out documents resampled (std, share ahead) | " + " | ".join(resampled) + " |")
    return "\n".join(lines)


def _seed(run: Path) -> int:
    import yaml

    return int(yaml.safe_load((run / "config.yaml").read_text())["seed"])


def search_again(run: Path, workers: int, config: Path | None = None) -> float:
    """The search and mixture stages of a finished run, again, on its clusters (the embedding and clustering
    are the expensive part and are kept); returns the search stage's wall seconds. The run's recorded config is
    read with today's defaults (or ``config``, this script's, is read), so a changed search setting takes effect
    without redoing the documents."""
    import shutil

    from curation.executor import Executor
    from curation.rundir import RunDir
    from pipelines.config import parse_config, parse_yaml
    from pipelines.inputs import expand_inputs
    from pipelines.run import run_stages
    from pipelines.stages import build_stages

    for stage in ("search", "mixture"):
        shutil.rmtree(run / stage, ignore_errors=True)
    path = config or run / "config.yaml"
    cfg = parse_config(parse_yaml(path.read_bytes(), str(path)), path.parent, source=str(path))
    stages = {s.name: s for s in build_stages(cfg, expand_inputs(cfg.inputs))}  # as `curate run` lists them
    rundir = RunDir(str(run))
    with Executor(workers=workers, progress=False) as ex:
        t0 = time.perf_counter()
        run_stages([stages["search"]], rundir, ex, echo=lambda m: print(m, file=sys.stderr))
        seconds = time.perf_counter() - t0
        run_stages([stages["mixture"]], rundir, ex, echo=lambda m: print(m, file=sys.stderr))
    return seconds


def seeded_copy(run: Path, seed: int, config: Path) -> tuple[Path, Path]:
    """A copy of ``run`` without its search and mixture, and its config with ``seed``: another seed moves the
    target's split, the proxies' pool and every draw, so a few of them show how much of a result is luck."""
    import shutil

    import yaml

    dest = run.with_name(f"{run.name}-seed{seed}")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns("search", "mixture"))
    cfg = yaml.safe_load(config.read_text())
    cfg["seed"], cfg["run_dir"] = seed, str(dest)
    path = dest / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest, path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table-only", type=Path, metavar="RUN", help="print the table of a finished run")
    ap.add_argument("--search-only", type=Path, metavar="RUN", help="search a finished run's clusters again")
    ap.add_argument("--seed", type=int, help="with --search-only: search a copy of RUN with this seed")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds-table", type=Path, nargs="+", metavar="RUN", help="one table over finished runs")
    args = ap.parse_args()
    if args.seeds_table:
        print(seeds_table(args.seeds_table))
        return 0
    if args.table_only:
        print(table(args.table_only))
        return 0
    if args.search_only:
        run = args.search_only
        config = write_config() if run.resolve() == RUN.resolve() else None
        if config:
            write_target(config)
        if args.seed is not None:
            run, config = seeded_copy(run, args.seed, config or run / "config.yaml")
        seconds = search_again(run, args.workers, config)
        print(f"search stage: {seconds:.0f} s wall on {args.workers} workers\n")
        print(table(run))
        return 0
    debian_doc_shards(POOL, pool_packages(), POOL_MB, SHARD_MB)
    config = write_config()
    write_target(config)
    t0 = time.perf_counter()
    cmd = [str(REPO / ".venv/bin/curate"), "run", str(config), "--quiet", "--workers", str(args.workers)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr)
        return proc.returncode
    print(f"curate run: {time.perf_counter() - t0:.0f} s wall")
    print("\n".join(line for line in proc.stderr.splitlines() if STAGE_TIME.match(line)))  # wall s per stage
    print(proc.stdout)
    print(table(RUN))
    return 0


if __name__ == "__main__":
    sys.exit(main())

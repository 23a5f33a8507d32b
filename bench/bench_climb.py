"""CLIMB against its baselines on a Debian-documentation pool, with SymPy's documentation held out as target.

    python bench/bench_climb.py                 # build what is missing, run the pipeline, print the table
    python bench/bench_climb.py --table-only RUN   # the table of a finished run (the demo's too)
    python bench/bench_climb.py --search-only RUN  # drop RUN's search and mixture outputs, run those two again
    python bench/bench_climb.py --search-only RUN --seed 1235  # the same in a copy RUN-seed1235, another seed

The pool: ``../shared/tools/debian_doc_warcs.py`` packs its default packages without SymPy, plus pandas and the
Python 3.11 manual (``pool_packages()``: 23,564 pages, 653 MB of HTML; ruby3.1-doc has no HTML pages) into 100 MB
WARC shards under ``bench/.cache/``. The target: python-sympy-doc's pages, packed the same way and extracted with
the pipeline's own maths extractor into a jsonl file of one document per page. The run uses the default filters
and search settings (rounds of 32, 16 and 8 proxy runs), 16 super-clusters and a mixture budget of 500K tokens.

Why that budget: the default filters and dedup keep 2,430 of the 23,564 pages, 3.11M tokens (most API pages
fail the Gopher alpha-ratio, top-n-gram repetition and language-score rules), and a mixture search is
meaningful only when the pool holds several times the budget, as in CLIMB (400M documents for a 40B-token proxy
budget): 500K is 1/6.2 of it. On the earlier 380 MB pool (711K tokens) a 1M budget held the whole pool,
repeated, and the mixtures differed only in how often each cluster was repeated.

The table: each mixture judged by the larger proxy on the held-out half of the target over the judge's seeds
(mean ± standard deviation), each proxy's noise (mean deviation over draws of the same weights), the
cheap-vs-large Spearman over the search's runs, the predictor's Spearman per round, and the search stage's
wall time (from its task stats and the driver's clock).
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
TARGET = CACHE / "sympy-target.jsonl"
RUN = CACHE / "climb-debdoc-1gb-run"
#: the mixture's tokens: the filters and dedup keep 3.11M tokens of the 653 MB (2,430 of 23,564 pages), and the
#: pool should hold at least 5 times the budget or every mixture is nearly the same text; 500K leaves 6.2 times
TOKEN_BUDGET = 500_000
#: every third SymPy page (88 of 264, 1.6 MB of text): every proxy run scores the target, and on two busy
#: cores the whole set made a cheap run cost a minute
TARGET_EVERY = 3
#: curate's closing lines, one per stage with its wall seconds: "  search   69.1 s"
STAGE_TIME = re.compile(r"^\s+\w+\s+[\d.]+ s$")


def write_target() -> None:
    """SymPy's pages through the pipeline's maths extractor, one jsonl document per non-empty page."""
    if TARGET.exists():
        return
    from math_extract import MathExtractor
    from pipelines.eval_data import warc_pages

    shards = debian_doc_shards(TARGET_WARC, ["python-sympy-doc"], shard_mb=1000)
    pages = [page for shard in shards for page in warc_pages(str(shard))]  # (url, html) as the pipeline reads them
    extractor = MathExtractor()
    kept = []
    for start in range(0, len(pages), 64):
        batch = pages[start : start + 64]
        results = extractor.extract_many([(html, url) for url, html in batch])
        kept += [(url, r.text) for (url, _), r in zip(batch, results) if not r.reason and len(r.text.split()) >= 50]
    tmp = TARGET.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for url, text in kept[::TARGET_EVERY]:
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
    args = ap.parse_args()
    if args.table_only:
        print(table(args.table_only))
        return 0
    if args.search_only:
        run = args.search_only
        config = write_config() if run.resolve() == RUN.resolve() else None
        if args.seed is not None:
            run, config = seeded_copy(run, args.seed, config or run / "config.yaml")
        seconds = search_again(run, args.workers, config)
        print(f"search stage: {seconds:.0f} s wall on {args.workers} workers\n")
        print(table(run))
        return 0
    debian_doc_shards(POOL, pool_packages(), POOL_MB, SHARD_MB)
    write_target()
    config = write_config()
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

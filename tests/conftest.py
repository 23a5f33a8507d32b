"""Shared fixtures: where the real data is, and a small real corpus for pipeline runs.

The real pages and WARCs the tests need ship in ``tests/data`` (:func:`bundled`; sources and licences in
``tests/data/SOURCES.md``), so a clone runs every test but the few that read the development sets of
``../shared/data``. Those reach it only through :func:`shared` and carry the ``shared_data`` marker: without the
folder they are skipped, with the reason, and every other test still runs.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from datatrove.data import Document

from curation.dedup import DedupSettings, DedupStage
from curation.documents import from_table, to_table
from curation.rundir import RunDir, part_name
from pipelines.shared_data import shared_dir

REPO = Path(__file__).resolve().parent.parent
SHARED = shared_dir()
DATA = SHARED / "data"
BUNDLED = REPO / "tests" / "data"
CURATE = [sys.executable, "-m", "pipelines.cli"]
SHARED_MISSING = (
    f"needs the shared development data at {DATA} (sets that may not ship with the project): put it in "
    "../shared/data beside the checkout or point CURATION_SHARED at the folder that holds data/"
)


def pytest_configure(config):
    config.addinivalue_line("markers", "shared_data: reads the development sets of ../shared/data (skipped without)")


def pytest_collection_modifyitems(config, items):
    if DATA.is_dir():
        return
    for item in items:
        if item.get_closest_marker("shared_data"):
            item.add_marker(pytest.mark.skip(reason=SHARED_MISSING))


def shared(relative: str) -> Path:
    """A path inside ``../shared/data``, for the tests marked ``shared_data``; skips the calling test or fixture,
    with the reason, when the folder is absent."""
    if not DATA.is_dir():
        pytest.skip(SHARED_MISSING)
    return DATA / relative


def bundled(relative: str) -> Path:
    """A real file the tests ship, in ``../shared/data``'s layout (``tests/data/SOURCES.md``)."""
    path = BUNDLED / relative
    if not path.exists():
        raise FileNotFoundError(f"{path}: not in tests/data; tests/data/build.py copies it from ../shared/data")
    return path


def write_warc(path: Path, pages: list[tuple[str, bytes]], record_ids: bool = True) -> Path:
    """A gzipped WARC of HTML responses; ``record_ids=False`` leaves out WARC-Record-ID, as some crawlers do."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, body in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                http_headers=headers,
                warc_headers_dict={"WARC-Date": "2026-01-01T00:00:00Z"},
            )
            if not record_ids:
                record.rec_headers.remove_header("WARC-Record-ID")
            writer.write_record(record)
    return path


def sample_pages(n_news: int = 24, n_docs: int = 16) -> tuple[list, list]:
    """Real news articles (ScrapingHub) and real maths documentation pages (the bundled Debian-doc sample)."""
    from warcio.archiveiterator import ArchiveIterator

    truth = json.loads(bundled("extraction/scrapinghub/ground-truth.json").read_text())
    news = [
        (truth[k]["url"], gzip.decompress(bundled(f"extraction/scrapinghub/html/{k}.html.gz").read_bytes()))
        for k in sorted(truth)[:n_news]
    ]
    docs = []
    with open(REPO / "sample/warc/debian-maths-docs.warc.gz", "rb") as f:
        for rec in ArchiveIterator(f):
            if rec.rec_type == "response" and len(docs) < n_docs:
                docs.append((rec.rec_headers.get_header("WARC-Target-URI"), rec.content_stream().read()))
    return news, docs


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """Two good shards of real pages plus every kind of bad input the reader must survive."""
    root = tmp_path_factory.mktemp("corpus")
    news, docs = sample_pages()
    # planted: an exact copy under another URL, a near copy (three words of the article reversed: Jaccard 0.98 on
    # 24-character shingles), the same page under a tracking URL
    near = news[1][1]
    for word in (b"people", b"country", b"buying"):
        near = near.replace(b" " + word + b" ", b" " + word[::-1] + b" ", 1)
    write_warc(root / "shard-a.warc.gz", news[:12] + docs[:8] + [(news[0][0] + "?again=1", news[0][1])])
    write_warc(
        root / "shard-b.warc.gz",
        news[12:] + docs[8:] + [(news[1][0] + "?v=2", near), (news[2][0] + "?utm_source=feed", news[2][1])],
    )
    for name in ("truncated.warc", "clipped-record.warc.gz", "bad-target-uri.warc.gz"):
        (root / name).write_bytes(bundled(f"warc/{name}").read_bytes())
    (root / "not-a-warc.warc.gz").write_bytes(b"this is a text file, not an archive\n" * 10)
    (root / "empty.warc.gz").write_bytes(b"")
    return root


def make_config(path: Path, corpus: Path, run_dir: Path, benchmark: Path | None = None, **overrides) -> Path:
    import yaml

    cfg = {
        "run_dir": str(run_dir),
        "inputs": [str(corpus / "*.warc*"), str(corpus / "missing-shard.warc.gz")],
        "seed": 7,
        "extract": {"extractor": "math", "timeout_s": 20, "batch_size": 16},
        "filter": {"languages": ["en"], "decontamination": {"benchmarks": [str(benchmark)] if benchmark else []}},
        "climb": {
            "k_init": 6,
            "min_cluster_docs": 3,
            "super_clusters": 3,
            "search": {
                "target": str(REPO / "sample/target/sympy-docs.jsonl"),
                "runs_per_round": [4, 2],
                "candidate_pool": 200,
                "proxy_tokens": 20000,
            },
        },
        "mixture": {"token_budget": 30000},
    }
    for key, value in overrides.items():
        cfg[key] = value
    path.write_text(yaml.safe_dump(cfg))
    return path


def curate(*args: str, check: bool = True, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([*CURATE, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"curate {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture
def memory_rundir():
    """A run directory in fsspec's in-memory filesystem: its paths carry no protocol, as on any remote store."""
    rundir = RunDir(f"memory://dedup-test-{uuid.uuid4().hex[:8]}")
    yield rundir
    rundir.fs.rm(rundir.base, recursive=True)


def run_dedup_stage(
    rundir: RunDir, shards: list[list[Document]], **settings
) -> tuple[dict, list[dict], list[Document]]:
    """The dedup stage's three passes in this process (what ``DedupStage.run`` hands to the executor) over
    ``shards`` written as the filter stage's parts. Returns (global pass stats, task stats, kept documents)."""
    stage = DedupStage("filter", DedupSettings(**settings))
    parts = [part_name(i) for i in range(len(shards))]
    for part, docs in zip(parts, shards):
        rundir.write_table(to_table(docs), "filter", part)
        stage.signature_task(rundir, part)
    found = stage.find_duplicates(rundir, parts)
    stats = [stage.task(rundir, part, i) for i, part in enumerate(parts)]
    kept = [d for part in parts for d in from_table(rundir.read_table("dedup", part))]
    return found, stats, kept

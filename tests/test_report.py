"""The mixture report against a finished run of the bundled sample: the notebook executed headless (nbclient)
with every section showing its figure or table from that run's numbers, ``curate report`` opened in a real
headless chromium (page loaded, every image decoded with a size, no console error, nothing fetched), and each
section's one-line note when its input is absent."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, curate

pytestmark = pytest.mark.slow

SECTION_KEYS = ["funnel", "extraction", "clusters", "search", "mixture"]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    """The demo config (its current climb settings, whatever they are) over the bundled sample, with a shorter
    search and a smaller budget so that it finishes in a minute or two."""
    tmp = tmp_path_factory.mktemp("report")
    cfg = yaml.safe_load((REPO / "pipelines/configs/demo.yaml").read_text())
    cfg["run_dir"] = str(tmp / "run")
    cfg["inputs"] = [str(REPO / "sample/warc/*.warc.gz")]
    cfg["climb"]["search"].update(
        target=str(REPO / "sample/target/sympy-docs.jsonl"), runs_per_round=[6, 4], candidate_pool=200
    )
    cfg["climb"]["search"]["proxy_tokens"] = min(cfg["climb"]["search"].get("proxy_tokens", 30000), 30000)
    cfg["mixture"]["token_budget"] = 60000
    path = tmp / "sample.yaml"
    path.write_text(yaml.safe_dump(cfg))
    curate("run", str(path), "--workers", "2", "--quiet", timeout=1500)
    return tmp / "run"


def _outputs(cell) -> tuple[int, str]:
    """Images and HTML/markdown text a cell displayed."""
    images = sum("image/png" in o.get("data", {}) for o in cell.outputs)
    text = "\n".join(
        str(o["data"].get("text/html", "")) + str(o["data"].get("text/markdown", ""))
        for o in cell.outputs
        if "data" in o
    )
    return images, text


def test_notebook_runs_headless_and_every_section_shows_this_runs_data(sample_run):
    import nbclient
    import nbformat

    nb = nbformat.read(REPO / "notebooks/mixture_report.ipynb", as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(f"run_dir = {str(sample_run)!r}"))  # as papermill injects
    start = time.perf_counter()
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}
    ).execute()
    print(f"notebook executed in {time.perf_counter() - start:.1f} s")
    cells = {
        key: next(c for c in nb.cells if c.cell_type == "code" and f"report.{key}_section(" in c.source)
        for key in SECTION_KEYS
    }
    manifest = json.loads((sample_run / "mixture/manifest.json").read_text())
    clusters = json.loads((sample_run / "cluster/clusters.json").read_text())
    best = json.loads((sample_run / "search/best.json").read_text())
    extract_in = sum(json.loads(p.read_text())["in"] for p in (sample_run / "extract/_stats").glob("*.json"))
    expected = {  # a number of this run that each section must show
        "funnel": f"{extract_in:,}",
        "extraction": f"{extract_in:,} extracted documents",
        "clusters": f"{clusters['clusters'][0]['documents']:,}",
        "search": f"{(best.get('best_run') or best['best'])['bpb']:.4f}",  # the best proxy run
        "mixture": f"{manifest['tokens']:,} tokens",
    }
    for key, cell in cells.items():
        images, text = _outputs(cell)
        assert images >= 1, f"section {key} drew no figure"
        assert key == "extraction" or "<table>" in text, f"section {key} showed no table"
        assert expected[key] in text, f"section {key} does not show {expected[key]!r}"
        assert "has not finished" not in text, f"section {key}: {text[:300]}"


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is not installed: `make setup` installs Debian's chromium"
    return path


def _browser(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([_chromium(), *flags, *args], capture_output=True, text=True, timeout=timeout)


def test_curate_report_is_one_self_contained_page_that_chromium_renders(sample_run, tmp_path):
    proc = curate("report", str(sample_run))
    page = sample_run / "report" / "index.html"
    assert proc.stdout.strip().endswith(str(page)) and page.is_file()
    html = page.read_text()
    print(f"report: {page.stat().st_size / 1024:.0f} KiB")
    # self-contained: no script, every src/href a data: URI or an anchor, no @import or url() to fetch
    assert "<script" not in html.lower()
    links = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert links and all(link.startswith(("data:image/png;base64,", "#")) for link in links)
    assert "@import" not in html and "url(" not in html
    # the same bytes from the same run directory (nothing depends on the clock)
    again = curate("report", str(sample_run), "--out", str(tmp_path / "again"), "--quiet")
    assert Path(again.stdout.strip()).read_text() == html

    # a real browser: the page loads, shows every section, and every figure decodes with a size
    probe = tmp_path / "probe.html"
    probe.write_text(
        f'<!DOCTYPE html><html><body><iframe id="f" src="{page.as_uri()}" width="1100" height="900"></iframe>'
        '<pre id="out">not loaded</pre><script>'
        "document.getElementById('f').addEventListener('load', () => {"
        "  const d = document.getElementById('f').contentDocument;"
        "  document.getElementById('out').textContent = JSON.stringify({"
        "    sections: [...d.querySelectorAll('section')].map(s => s.id),"
        "    images: [...d.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight,"
        "                                    i.getBoundingClientRect().height]),"
        "    tables: d.querySelectorAll('table').length});"
        "});</script></body></html>"
    )
    dom = _browser("--allow-file-access-from-files", "--virtual-time-budget=20000", "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="out">(.*?)</pre>', dom.stdout, re.S)
    assert found and found.group(1) != "not loaded", dom.stderr[-2000:]
    seen = json.loads(found.group(1).replace("&quot;", '"'))
    assert seen["sections"] == SECTION_KEYS
    assert len(seen["images"]) >= 6 and seen["tables"] >= 6
    assert all(done and w > 0 and h > 0 and shown > 0 for done, w, h, shown in seen["images"]), seen["images"]

    shot = sample_run / "report" / "screenshot.png"
    result = _browser(f"--screenshot={shot}", "--window-size=1100,4000", page.as_uri())
    assert shot.is_file() and shot.stat().st_size > 50_000, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console


def test_each_section_says_in_one_line_what_is_missing(sample_run, tmp_path):
    """A copy of the run without the search's and mixture's outputs, then without cluster/: the report still
    renders, and the sections whose inputs went show one note naming what is absent instead of figures."""
    from pipelines.report import SECTIONS, RunData, write_report

    partial = tmp_path / "partial"
    shutil.copytree(sample_run, partial, ignore=shutil.ignore_patterns("report"))
    shutil.rmtree(partial / "mixture")
    for name in ("runs.parquet", "best.json", "baselines.json"):
        (partial / "search" / name).unlink(missing_ok=True)
    sections = {s.key: s for s in (make(RunData(str(partial))) for make in SECTIONS)}
    for key in ("search", "mixture"):
        assert len(sections[key].items) == 1 and sections[key].items[0].kind == "missing", key
        assert "has not finished" in sections[key].items[0].text
    for key in ("funnel", "extraction", "clusters"):
        assert sections[key].plots, key
    shutil.rmtree(partial / "cluster")
    page = Path(write_report(str(partial), str(tmp_path / "out"), progress=False)).read_text()
    assert page.count('class="missing"') >= 3 and "no cluster/clusters.json" in page

    missing = curate("report", str(tmp_path / "nowhere"), check=False)
    assert missing.returncode == 2 and "no such run directory" in missing.stderr

    bare = tmp_path / "bare"  # a run directory that holds only its config: every section is a note
    bare.mkdir()
    shutil.copy(sample_run / "config.yaml", bare / "config.yaml")
    sections = {s.key: s for s in (make(RunData(str(bare))) for make in SECTIONS)}
    assert all(len(s.items) == 1 and s.items[0].kind == "missing" for s in sections.values())


def test_baselines_table_when_the_search_wrote_one(sample_run, tmp_path):
    """``search/baselines.json`` present: its mixtures become the baselines table, the final one marked, with
    their spread over seeds; absent (as in a run made before the search judged baselines): one line says so."""
    from pipelines.report import RunData, search_section

    run = tmp_path / "with-baselines"
    shutil.copytree(sample_run, run, ignore=shutil.ignore_patterns("report", "embed", "extract", "filter"))
    (run / "search" / "baselines.json").unlink(missing_ok=True)
    notes = [i.text for i in search_section(RunData(str(run))).items if getattr(i, "kind", "") == "missing"]
    assert notes == ["No search/baselines.json in this run (made before the search judged baselines)."]
    baselines = {
        "judge": {"order": 5},
        "seeds": [1, 2, 3],
        "target": {"search_docs": 40, "heldout_docs": 20},
        "mixtures": [
            {
                "name": "uniform",
                "weights": [],
                "bits_per_byte_mean": 3.9,
                "bits_per_byte_std": 0.05,
                "per_seed": [3.85, 3.9, 3.95],
            },
            {
                "name": "climb",
                "weights": [],
                "bits_per_byte_mean": 3.6,
                "bits_per_byte_std": 0.02,
                "per_seed": [3.58, 3.6, 3.62],
            },
        ],
        "final": "climb",
    }
    (run / "search" / "baselines.json").write_text(json.dumps(baselines))
    section = search_section(RunData(str(run)))
    table = next(t.frame for t in section.tables if t.title.startswith("Baselines"))
    assert list(table["mixture"]) == ["climb (final)", "uniform"]
    assert list(table["std over seeds"]) == [0.02, 0.05] and table["per seed"][1] == "3.8500, 3.9000, 3.9500"
    assert not [t for t in section.tables if t.title.startswith("The final mixture against")]  # older runs: none

    baselines["final_versus"] = [
        {
            "name": "uniform",
            "mean_difference": -0.3,
            "difference_std": 0.03,
            "draws_ahead": 3,
            "document_resample_std": 0.04,
            "document_resamples_ahead": 0.98,
        }
    ]
    (run / "search" / "baselines.json").write_text(json.dumps(baselines))
    section = search_section(RunData(str(run)))
    versus = next(t.frame for t in section.tables if t.title.startswith("The final mixture against"))
    assert versus.to_dict("records") == [
        {
            "baseline": "uniform",
            "final minus baseline, mean": -0.3,
            "std over draws": 0.03,
            "draws where the final is better": 3,
            "std over resampled held-out documents": 0.04,
            "share of resamples where the final is better": 0.98,
        }
    ]

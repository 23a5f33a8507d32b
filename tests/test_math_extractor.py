"""The extractor end to end with the real lynx binary, on real pages and on hostile input."""

import gzip
import multiprocessing
import os
import pickle
import shlex
import shutil
import stat
import subprocess
import sys

import pytest

from curation.decode import decode_html
from math_extract import Extraction, MathExtractor
from math_extract.evaluate import bag_of_words_prf, formula_recall, gold_formulas
from pipelines.eval_data import load_scrapinghub

from conftest import CURATE, REPO, bundled


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    """Real maths pages (tests/data), decoded as the pipeline decodes them."""
    paths = {
        "mathjax": "math/readability-mathjax/source.html",
        "wiki": "math/readability-wikipedia-3/source.html",
        "tsne": "extraction/trafilatura-cache/en.wikipedia.org.tsne.html",
    }
    return {name: decode_html(bundled(path).read_bytes()) for name, path in paths.items()}


@pytest.fixture(scope="module")
def extractor():
    return MathExtractor(timeout_s=20)


def test_real_maths_pages_keep_every_tex_formula(extractor, pages):
    for html in (pages["wiki"], pages["tsne"]):
        found, total = formula_recall(gold_formulas(html), extractor.extract(html).text)
        assert total > 20 and found / total >= 0.98


def test_mathjax3_page_without_tex_source_gets_converted_formulas(extractor, pages):
    result = extractor.extract(pages["mathjax"])
    assert result.reason is None and "mathjax3" in result.formats
    assert "x=\\frac{-b\\pm \\sqrt{b^2-4ac}}{2a}" in result.text
    assert result.n_formulas >= 12


def test_boilerplate_is_removed_and_the_article_kept(extractor, pages):
    text = extractor.extract(pages["wiki"]).text
    assert "Hermitian matrices can be understood as the complex extension" in text
    assert "Navigation menu" not in text and "Privacy policy" not in text and "Edit links" not in text


def test_scrapinghub_sample_f1(extractor):
    pages = load_scrapinghub(bundled("extraction/scrapinghub"))[:40]
    texts = [r.text for r in extractor.extract_many([(html, None) for _, html, _ in pages])]
    f1 = sum(bag_of_words_prf(t, gold)[2] for t, (_, _, gold) in zip(texts, pages)) / len(pages)
    assert f1 >= 0.93


def test_batch_equals_one_at_a_time(extractor):
    pages = [
        gzip.open(p).read().decode("utf-8", "replace")
        for p in sorted(bundled("extraction/scrapinghub/html").glob("*.html.gz"))[:6]
    ]
    batch = MathExtractor(batch_size=4).extract_many([(p, None) for p in pages])
    single = [extractor.extract(p) for p in pages]
    assert [b.text for b in batch] == [s.text for s in single]
    assert all(b.reason is None and b.text for b in batch)


def test_forum_thread_keeps_its_posts(extractor):
    posts = "".join(
        f'<div class="post"><div class="author"><a href="/u/{i}">user{i}</a></div>'
        f'<div class="message">Post number {i}: I think the integral [tex]\\int_0^{i} x\\,dx[/tex] '
        f"equals {i * i / 2}, because the antiderivative is x squared over two, evaluated at the bounds.</div></div>"
        for i in range(1, 6)
    )
    html = (
        f'<html><body><div class="nav"><a href="/">Home</a> <a href="/f">Forums</a></div>'
        f'<div id="thread">{posts}</div><div class="footer">Powered by forum software. '
        f'<a href="/terms">Terms</a></div></body></html>'
    )
    text = extractor.extract(html).text
    for i in range(1, 6):
        assert f"Post number {i}" in text and f"$\\int_0^{i} x\\,dx$" in text
    assert "Powered by" not in text and "Forums" not in text


def test_extraction_is_picklable_and_works_in_daemonic_workers(extractor, pages):
    clone = pickle.loads(pickle.dumps(extractor))
    assert clone.timeout_s == extractor.timeout_s
    with multiprocessing.get_context("fork").Pool(2) as pool:  # pool workers are daemonic
        results = pool.map(clone.extract, [pages["wiki"], pages["mathjax"]])
    assert all(isinstance(r, Extraction) and r.reason is None and r.has_math for r in results)


# ---- bad input: every document is extracted or counted under a named reason, and the run goes on ----


def test_peak_memory_stays_bounded_over_many_large_pages():
    """Five 7 MB pages (35 MB of HTML) in one call: batches are cut by bytes, so the worker's peak RSS stays
    far below the 1 GB budget instead of growing with the input."""
    code = (
        "from math_extract import MathExtractor\n"
        "para = '<p>' + 'An integral \\\\(x^2\\\\) and some words of text, repeated. ' * 20 + '</p>'\n"
        "page = '<html><body><article>' + para * (7_000_000 // len(para)) + '</article></body></html>'\n"
        "results = MathExtractor(timeout_s=120).extract_many([(page, None)] * 5)\n"
        "assert all(r.reason is None and r.n_formulas > 90_000 for r in results), [r.reason for r in results]\n"
        "print([int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip()) < 1024 * 1024  # kB


def test_huge_page_is_refused_as_too_large():
    big = "<html><body>" + "<p>word " * (50 * 1024 * 1024 // 8) + "</body></html>"
    results = MathExtractor().extract_many([(big, None), ("<p>fine page here</p>", None)])
    assert results[0].reason == "too_large" and results[0].text == ""
    assert results[1].reason is None and results[1].text == "fine page here"


def test_dom_nested_100000_deep_is_refused_as_too_deep():
    deep = "<html><body>" + "<div>" * 100_000 + "x" + "</div>" * 100_000 + "</body></html>"
    results = MathExtractor().extract_many([(deep, None), ("<p>next</p>", None), (deep, None)])
    # one parser serves every page of a thread: each page is judged by its own parse's errors only
    assert [r.reason for r in results] == ["too_deep", None, "too_deep"]


def test_invalid_utf8_and_wrong_charset_still_extract():
    payload = (
        "<html><head><meta charset='utf-8'></head><body><p>Théorème: la somme "
        "\\(\\sum_k k\\) est finie, naïvement.</p></body></html>"
    ).encode("cp1252")
    result = MathExtractor().extract(decode_html(payload, "utf-8"))
    assert result.reason is None and "Théorème" in result.text and "\\(\\sum_k k\\)" in result.text


def test_mojibake_is_repaired():
    result = MathExtractor().extract("<p>The café served crème brûlée — a ‘treat’.</p>".encode().decode("cp1252"))
    assert "The café served crème brûlée — a ‘treat’." in result.text


def test_empty_page_is_named():
    assert MathExtractor().extract("<html><body><script>x()</script></body></html>").reason == "empty"


def _fake_lynx(tmp_path, body: str) -> str:
    path = tmp_path / "lynx"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_lynx_killed_mid_batch_falls_back_to_one_page_at_a_time(tmp_path):
    # the real lynx (wherever PATH has it), except that a process given a whole batch (several markers) is killed
    real = shutil.which("lynx")
    assert real, "lynx is not on PATH (make setup installs it)"
    lynx = _fake_lynx(
        tmp_path,
        'input=$(cat)\ncase "$input" in *MXSEP*B1*) kill -9 $$;; esac\n'
        f'printf "%s" "$input" | exec {shlex.quote(real)} "$@"\n',
    )
    pages = [(f"<p>page {i} says \\(x_{i}\\)</p>", None) for i in range(5)]
    results = MathExtractor(lynx=lynx, batch_size=5).extract_many(pages)
    assert [r.text for r in results] == [f"page {i} says \\(x_{i}\\)" for i in range(5)]


def test_hung_lynx_is_killed_and_named(tmp_path):
    lynx = _fake_lynx(tmp_path, "sleep 300\n")
    results = MathExtractor(lynx=lynx, timeout_s=0.5).extract_many([("<p>a</p>", None), ("<p>b</p>", None)])
    assert [r.reason for r in results] == ["lynx_timeout", "lynx_timeout"]


def test_missing_lynx_is_named():
    assert MathExtractor(lynx="/nonexistent/lynx").extract("<p>a</p>").reason == "lynx_missing"


# ---- command line ----


def test_cli_extract_html_from_file_and_stdin(tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(b"<html><body><p>Euler: <script type='math/tex'>e^{i\\pi}+1=0</script>.</p></body></html>")
    cmd = [*CURATE, "extract-html"]
    from_file = subprocess.run(cmd + [str(page)], capture_output=True, text=True, cwd=REPO)
    from_stdin = subprocess.run(cmd + ["-"], input=page.read_text(), capture_output=True, text=True, cwd=REPO)
    assert from_file.returncode == 0 and from_file.stdout.strip() == "Euler: $e^{i\\pi}+1=0$."
    assert from_stdin.stdout == from_file.stdout


def test_cli_extract_html_names_the_reason_for_binary(tmp_path):
    page = tmp_path / "image.html"
    page.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    out = subprocess.run([*CURATE, "extract-html", str(page)], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 1 and "binary_payload" in out.stderr


# ---- lynx batches: links, tables, failures ----


def test_links_are_plain_text_for_lynx():
    # links reach lynx unwrapped (their targets are not shown): a link nested in a link (PostgreSQL's glossary
    # terms) made lynx break the line after it, and every <a> costs lynx an anchor it walks at each line
    page = (
        "<html><body><p>The module also provides a data type <code>lo</code>, which is really just a "
        '<a href="g.html#d"><em><a href="g.html#d" title="Domain">domain</a></em></a> over the '
        "<code>oid</code> type. This is useful for differentiating database columns.</p></body></html>"
    )
    result = MathExtractor().extract(page)
    assert "really just a domain over the oid type." in result.text


def test_batch_with_tables_renders_each_page_as_alone():
    # pages with tables are joined first (render.lynx_order); each page still gets its own text, in input order
    table = "<table><tr><td>cell {i} a</td><td>cell {i} b</td></tr></table>"
    pages = [(f"<p>page {i} says hello</p>" + (table.format(i=i) * (i % 3)), None) for i in range(9)]
    batch = MathExtractor(batch_size=9).extract_many(pages)
    alone = [MathExtractor().extract(html) for html, _ in pages]
    assert [r.text for r in batch] == [r.text for r in alone]
    assert all(f"page {i} says hello" in r.text for i, r in enumerate(batch))


def test_crashing_page_costs_few_lynx_runs(tmp_path):
    # the real lynx, except that any input holding POISON kills it: the batch is split in halves down to the
    # poisoned page (about 2 log2(n) runs), not re-rendered a page at a time (n runs)
    real = shutil.which("lynx")
    assert real, "lynx is not on PATH (make setup installs it)"
    runs = tmp_path / "runs"
    lynx = _fake_lynx(
        tmp_path,
        f"echo run >> {shlex.quote(str(runs))}\ninput=$(cat)\n"
        'case "$input" in *POISON*) kill -9 $$;; esac\n'
        f'printf "%s" "$input" | exec {shlex.quote(real)} "$@"\n',
    )
    pages = [(f"<p>page {i} says {'POISON' if i == 11 else 'fine'}</p>", None) for i in range(32)]
    results = MathExtractor(lynx=lynx, batch_size=32).extract_many(pages)
    assert [r.reason for r in results] == [None] * 11 + ["lynx_crash"] + [None] * 20
    assert [r.text for i, r in enumerate(results) if i != 11] == [f"page {i} says fine" for i in range(32) if i != 11]
    assert len(runs.read_text().split()) <= 12

"""Pages to measure extractors on: the gold sets and maths pages of ``../shared/data``, and the HTML of WARCs.

Used by ``curate eval-extract``, ``bench/`` and the tests. They live here, not in ``math_extract``, because
they read WARC shards and decode payloads with the core's reader and decoder, as the extract stage does.
``load_sets`` gives every set as ``math_extract.evaluate.GoldPage`` records, the one shape the scorer takes;
the tuple loaders below it stay for ``bench/`` and the older tests.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from curation.decode import DecodeError, decode_html
from curation.http_payload import charset_of
from curation.step import drops_of
from curation.warc import WarcShardReader
from math_extract.evaluate import GoldFormula, GoldPage, gold_formulas

# the development sets of ``../shared/data``, by the name ``--sets`` takes, and their folders there
DEV_SETS: dict[str, str] = {
    "wcxb": "extraction/dev/wcxb",
    "cleaneval": "extraction/dev/cleaneval",
    "daniel": "extraction/dev/daniel",
    "math/mixed": "math/mixed",
    "math/threads": "math/threads",
}
# the sets with layouts of their own (ScrapingHub's ground truth, trafilatura's evaldata, maths pages and WARCs)
OTHER_SETS = ("scrapinghub", "evaldata", "maths")
ALL_SETS = (*OTHER_SETS, *DEV_SETS)


def load_scrapinghub(root: str | Path) -> list[tuple[str, str, str]]:
    """(id, html, gold article body) for every page of the ScrapingHub article-extraction benchmark."""
    root = Path(root)
    gold = json.loads((root / "ground-truth.json").read_text())
    out = []
    for key in sorted(gold):
        path = root / "html" / f"{key}.html.gz"
        if path.exists():
            out.append((key, gzip.open(path).read().decode("utf-8", errors="replace"), gold[key]["articleBody"]))
    return out


def load_evaldata(evaldata: str | Path, cache: str | Path) -> list[tuple[str, str, list[str], list[str]]]:
    """(file, html, must-contain snippets, must-not-contain snippets) from trafilatura's evaldata.json."""
    cache = Path(cache)
    out = []
    for entry in json.loads(Path(evaldata).read_text()).values():
        path = cache / entry["file"]
        if path.exists():
            out.append((entry["file"], decode_html(path.read_bytes()), entry.get("with", []), entry.get("without", [])))
    return out


def maths_pages(data_root: str | Path, warcs: Sequence[str] = (), limit_per_warc: int = 0) -> list[tuple[str, str]]:
    """Real maths pages: the readability maths tests, Wikipedia t-SNE, and HTML records of Debian-doc WARCs."""
    root = Path(data_root)
    pages = [(str(p), decode_html(p.read_bytes())) for p in sorted((root / "math").glob("*/source.html"))]
    tsne = root / "extraction" / "trafilatura-cache" / "en.wikipedia.org.tsne.html"
    if tsne.exists():
        pages.append((str(tsne), decode_html(tsne.read_bytes())))
    for warc in warcs:
        pages.extend(warc_pages(warc, limit_per_warc))
    return pages


def warc_pages(path: str, limit: int = 0) -> list[tuple[str, str]]:
    """(url, decoded html) of the HTML response records of one WARC file; undecodable records are skipped.

    Read as the extract stage reads a shard (``WarcShardReader``, the declared charset to ``decode_html``), so
    benchmarks and evaluations see the pages the pipeline sees. A shard that cannot be read at all (missing,
    empty, not a WARC) raises, as a wrong path given to a benchmark must not pass as zero pages."""
    reader = WarcShardReader(path)
    out = []
    with closing(reader.run()) as docs:
        for doc in docs:
            content_type = doc.metadata["content_type"]
            if doc.metadata["kind"] != "html" or "html" not in content_type.lower():
                continue
            try:
                out.append((doc.metadata["url"], decode_html(doc.metadata["payload"], charset_of(content_type))))
            except DecodeError:
                continue
            if limit and len(out) >= limit:
                break
    if drops_of([reader]).keys() & {"unreadable_shard", "empty_shard", "not_a_warc"}:
        raise OSError(reader.errors[0])
    return out


def _read_page(path: Path, charset: str | None) -> str | None:
    """The decoded page, or None (said on stderr) when it cannot be decoded: one bad page must not end a run."""
    try:
        return decode_html(path.read_bytes(), charset)
    except DecodeError as exc:
        print(f"eval-extract: {path}: skipped, {exc}", file=sys.stderr)
        return None


def load_dev_set(root: str | Path, name: str, limit: int = 0) -> list[GoldPage]:
    """One development set in the common layout: ``index.json`` (a list of records with ``id``), ``html/<id>.html``
    and ``gold/<id>.txt`` (text sets) or ``gold/<id>.json`` (maths sets: ``formulas`` with ``tex``, ``post`` and
    ``encoding``), and, optionally, ``meta/<id>.json`` (url, page type, must / must-not snippets).

    The declared charset of a page (CleanEval's ``cleaneval_encoding``, or a ``charset`` field) goes to ``decode_html`` as an HTTP
    header's would; labels it does not know (``unset``) are ignored there. A page's kind is its page type, or
    its language where the set has no page types (DAnIEL), so the table can show both."""
    root = Path(root)
    out: list[GoldPage] = []
    for record in json.loads((root / "index.json").read_text()):
        if limit and len(out) >= limit:
            break
        page_id = record["id"]
        html = _read_page(root / "html" / f"{page_id}.html", record.get("cleaneval_encoding") or record.get("charset"))
        if html is None:
            continue
        meta_path = root / "meta" / f"{page_id}.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        gold_json = root / "gold" / f"{page_id}.json"
        formulas = None
        text = None
        if gold_json.exists():
            formulas = tuple(
                GoldFormula(f["tex"], f.get("post"), (f.get("encoding") or "").startswith("asciimath"))
                for f in json.loads(gold_json.read_text())["formulas"]
            )
        else:
            text = (root / "gold" / f"{page_id}.txt").read_text(encoding="utf-8")
        out.append(
            GoldPage(
                set=name,
                id=page_id,
                html=html,
                url=meta.get("url") or record.get("url"),
                kind=meta.get("page_type") or record.get("page_type") or record.get("lang"),
                text=text,
                formulas=formulas,
                must=tuple(meta.get("with") or ()),
                must_not=tuple(meta.get("without") or ()),
            )
        )
    return out


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:  # a WARC record's URL
        return path


def load_sets(
    names: Sequence[str],
    data_root: str | Path,
    limit: int = 0,
    scrapinghub: str | Path | None = None,
    evaldata: str | Path | None = None,
    cache: str | Path | None = None,
    maths_warcs: Sequence[str] = (),
) -> dict[str, list[GoldPage]]:
    """The named sets as ``GoldPage`` lists, at most ``limit`` pages each (0: all), in the order named.

    ``scrapinghub``, ``evaldata`` and ``cache`` default to their places under ``data_root``; ``maths`` is the
    readability and Wikipedia maths pages plus the HTML of ``maths_warcs``, its gold read from the page source
    (``gold_formulas``), and only its pages that carry TeX source count, as in ``score_formulas``."""
    root = Path(data_root)
    out: dict[str, list[GoldPage]] = {}
    for name in names:
        if name in DEV_SETS:
            out[name] = load_dev_set(root / DEV_SETS[name], name, limit)
        elif name == "scrapinghub":
            sh = load_scrapinghub(scrapinghub or root / "extraction" / "scrapinghub")
            out[name] = [GoldPage(name, key, html, text=gold) for key, html, gold in sh]
        elif name == "evaldata":
            ev = load_evaldata(
                evaldata or root / "extraction" / "trafilatura-evaldata.json",
                cache or root / "extraction" / "trafilatura-cache",
            )
            out[name] = [GoldPage(name, f, html, must=tuple(w), must_not=tuple(wo)) for f, html, w, wo in ev]
        elif name == "maths":
            pages = [(p, html, gold_formulas(html)) for p, html in maths_pages(root, maths_warcs, limit)]
            out[name] = [
                GoldPage(
                    name,
                    _relative(p, root),
                    html,
                    url=p if "://" in p else None,
                    formulas=tuple(GoldFormula(f) for f in formulas),
                )
                for p, html, formulas in pages
                if formulas
            ]
        else:
            raise ValueError(f"unknown set {name!r}: choose from {', '.join(ALL_SETS)}")
        if limit:
            out[name] = out[name][:limit]
    return out

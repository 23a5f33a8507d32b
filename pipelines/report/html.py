"""The report as one self-contained HTML page: figures as PNG ``data:`` URIs, the style inline, no script and
nothing fetched, so the file reads the same offline, attached to a mail or opened from a bucket.

The page is the sections of :data:`pipelines.report.SECTIONS` rendered in order; the same section objects are
what the notebook displays. Same run directory, same bytes: nothing in the page depends on the clock.
"""

from __future__ import annotations

import base64
import html
import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .rundata import RunData
from .section import Documents, Note, Plot, Section, Table
from .style import DPI

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #222;
       max-width: 1000px; margin: 0 auto; padding: 16px 20px 60px; background: #fff; }
h1 { font-size: 24px; margin: 8px 0 4px; } h2 { font-size: 20px; margin: 34px 0 8px; border-bottom: 2px solid #ddd; }
h3 { font-size: 15px; margin: 18px 0 6px; } .meta { color: #555; font-size: 13px; } .meta code { font-size: 12px; }
nav { margin: 10px 0 4px; font-size: 14px; } nav a { margin-right: 14px; }
p.missing { color: #8a5a00; background: #fff6e0; border-left: 4px solid #e0a800; padding: 6px 10px; }
img { display: block; max-width: 100%; height: auto; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 10px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; vertical-align: top; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; overflow-wrap: anywhere; } tr:nth-child(even) td { background: #fafafa; }
.doc { border: 1px solid #ddd; margin: 8px 0; } .doc .title { background: #f3f3f3; padding: 4px 8px;
       font-size: 13px; overflow-wrap: anywhere; }
.doc pre { margin: 0; padding: 6px 8px; white-space: pre-wrap; font-size: 12px; max-height: 260px; overflow: auto; }
"""


def figure_png(fig) -> bytes:
    """The figure as PNG bytes (no timestamp or software tag in the file: same figure, same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def figure_uri(fig) -> str:
    return "data:image/png;base64," + base64.b64encode(figure_png(fig)).decode("ascii")


def table_html(frame: pd.DataFrame) -> str:
    """The frame as an HTML table: every cell escaped, whole numbers with thousands separators, line breaks in
    text kept, text columns left-aligned, missing values as a dash."""
    text = [not pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    head = "".join(f"<th{_cls(t)}>{html.escape(str(c))}</th>" for c, t in zip(frame.columns, text))
    body = "".join(
        "<tr>" + "".join(f"<td{_cls(t)}>{_cell(v)}</td>" for v, t in zip(row, text)) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cls(is_text: bool) -> str:
    return ' class="text"' if is_text else ""


def _cell(value) -> str:
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return f"{number:,.0f}" if abs(number) >= 1e4 else f"{number:.4g}"
    return html.escape(str(value)).replace("\n", "<br>")


def documents_html(item: Documents) -> str:
    return "".join(
        f'<div class="doc"><div class="title">{html.escape(d["title"])}</div><pre>{html.escape(d["text"])}</pre></div>'
        for d in item.docs
    )


def section_html(section: Section) -> str:
    parts = [f'<section id="{section.key}"><h2>{html.escape(section.title)}</h2>']
    for item in section.items:
        if isinstance(item, Note):
            cls = ' class="missing"' if item.kind == "missing" else ""
            parts.append(f"<p{cls}>{html.escape(item.text)}</p>")
        elif isinstance(item, Plot):
            parts.append(
                f"<h3>{html.escape(item.title)}</h3>"
                f'<img src="{figure_uri(item.figure)}" alt="{html.escape(item.title)}" '
                f'width="{int(item.figure.get_figwidth() * DPI)}" height="{int(item.figure.get_figheight() * DPI)}">'
            )
        elif isinstance(item, Table):
            parts.append(f"<h3>{html.escape(item.title)}</h3>{table_html(item.frame)}")
        else:
            parts.append(f"<h3>{html.escape(item.title)}</h3>{documents_html(item)}")
    parts.append("</section>")
    return "\n".join(parts)


def page_html(run: RunData, sections: Sequence[Section]) -> str:
    manifest = run.manifest or {}
    inputs = run.inputs
    nav = "".join(f'<a href="#{s.key}">{html.escape(s.title.split(":")[0])}</a>' for s in sections)
    head = (
        f'<h1>Mixture report</h1><p class="meta">run <code>{html.escape(run.rundir.url())}</code> · config hash '
        f"<code>{html.escape(str(manifest.get('config_hash', '–')))}</code> · seed {run.seed} · "
        f"{len(inputs)} input pattern(s): {html.escape(', '.join(Path(i).name for i in inputs))}</p>"
        + (f'<p class="missing">Note: {html.escape(run.config_note)}.</p>' if run.config_note else "")
        + f"<nav>{nav}</nav>"
    )
    body = "\n".join(section_html(s) for s in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Mixture report: {html.escape(run.rundir.url())}</title><style>{CSS}</style></head>"
        f"<body>{head}\n{body}\n</body></html>\n"
    )


def write_report(
    run_dir: str,
    out_dir: str | None = None,
    progress: bool = True,
    sections: Sequence[Callable[[RunData], Section]] | None = None,
) -> str:
    """Render every section of the run into ``OUT/index.html`` (default ``RUN/report/``); returns its path.
    Each section is a step of the progress bar (the cluster map reads every embedding)."""
    from tqdm.auto import tqdm

    from . import SECTIONS

    run = RunData(run_dir)
    built = []
    makers = list(sections or SECTIONS)
    with tqdm(makers, desc="report", unit="section", disable=not progress, file=sys.stderr, leave=False) as bar:
        for make in bar:
            bar.set_postfix_str(make.__name__.removesuffix("_section"))
            built.append(make(run))
    page = page_html(run, built)
    for section in built:  # the figures are not registered with pyplot; drop them with their section
        for plot in section.plots:
            plot.figure.clf()
    if out_dir is None:
        run.rundir.write_bytes(page.encode("utf-8"), "report", "index.html")
        return run.rundir.url("report", "index.html")
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    (target / "index.html").write_text(page, encoding="utf-8")
    return str(target / "index.html")

"""Extraction: which maths formats the extractor found, how many formulas a document holds, how much of each
stage's output has maths, and the documents a chosen score ranks worst and best, shown as their text.

Read from the document parts (``has_math``, ``math_formats``, ``n_formulas`` set by extract; ``math_score`` by
filter; ``quality_score`` by classify when it ran).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .rundata import RunData
from .section import Documents, Note, Plot, Section, Table, shorten
from .style import figure

MATH_COLUMNS = ["id", "has_math", "math_formats", "n_formulas", "n_tokens"]
#: documents shown at each end of the ranking
SHOWN = 3


def default_score(frame: pd.DataFrame) -> tuple[str | None, pd.DataFrame]:
    """The score to rank by and the documents it ranks: ``quality_score`` over all documents when the classify
    stage scored them; else ``math_score`` over the documents where maths was found (the maths pages the
    scorer doubts most and trusts most; every other document scores 0), or over all if none has maths."""
    if "quality_score" in frame and len(frame) and frame["quality_score"].notna().all():
        return "quality_score", frame
    if "math_score" in frame:
        maths = frame[frame["has_math"].fillna(False).astype(bool)] if "has_math" in frame else frame
        return "math_score", maths if len(maths) >= 2 * SHOWN else frame
    return None, frame


def maths_share(run: RunData, read: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Per document stage (and the mixture, copies counted): documents, how many hold maths, formulas.
    ``read``: stages whose ``MATH_COLUMNS`` the caller has read already (not read again)."""
    rows = []
    read = read or {}
    stages = [s for s in run.stage_names if s not in ("embed", "cluster", "search")]
    for stage in stages:
        frame = read[stage] if stage in read else run.documents(stage, MATH_COLUMNS)
        if frame is None or "has_math" not in frame:
            continue
        maths = frame["has_math"].fillna(False).astype(bool)
        formulas = frame["n_formulas"].fillna(0)
        rows.append(
            {
                "stage": stage,
                "documents": len(frame),
                "with maths": int(maths.sum()),
                "share with maths": round(float(maths.mean()), 3) if len(frame) else 0.0,
                "formulas": int(formulas.sum()),
                "median formulas (maths docs)": float(formulas[maths].median()) if maths.any() else 0.0,
            }
        )
    return pd.DataFrame(rows)


def ranked_documents(frame: pd.DataFrame, score: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``SHOWN`` lowest and highest by ``score``; ties go by id, so the choice is the same on every run."""
    ranked = frame.dropna(subset=[score]).sort_values([score, "id"], kind="stable")
    worst = ranked.head(SHOWN)
    best = ranked.sort_values([score, "id"], ascending=[False, True], kind="stable").head(SHOWN)
    return worst, best


def extraction_section(run: RunData, score: str | None = None) -> Section:
    """``score``: the column the documents are ranked by (default: :func:`default_score`)."""
    section = Section("extraction", "Extraction: maths found, and the documents at both ends")
    extracted = run.documents("extract", MATH_COLUMNS)
    if extracted is None or "has_math" not in extracted:
        return section.missing("No extract parts with maths metadata in this run: nothing to show about extraction.")
    maths = extracted["has_math"].fillna(False).astype(bool)
    formats = extracted.loc[maths, "math_formats"].explode().dropna()
    counts = formats.value_counts().sort_index().sort_values(ascending=False, kind="stable")
    section.add(
        Note(
            f"{int(maths.sum()):,} of {len(extracted):,} extracted documents ({maths.mean():.0%}) hold maths, "
            f"{int(extracted['n_formulas'].fillna(0).sum()):,} formulas in all; formats found: "
            + (", ".join(f"{k} ({v})" for k, v in counts.items()) or "none")
            + "."
        )
    )
    fig, (fmt_ax, hist_ax) = figure(3.4, ncols=2)
    if len(counts):
        fmt_ax.barh(list(counts.index)[::-1], list(counts.values)[::-1], color="#6baed6")
        for y, v in enumerate(list(counts.values)[::-1]):
            fmt_ax.annotate(str(v), (v, y), va="center", fontsize=8, xytext=(3, 0), textcoords="offset points")
    else:
        fmt_ax.text(0.5, 0.5, "no maths found", ha="center", transform=fmt_ax.transAxes)
    fmt_ax.set_title("documents per maths format (extract)")
    fmt_ax.set_xlabel("documents")
    per_doc = extracted.loc[maths, "n_formulas"].fillna(0).astype(int).to_numpy()
    if len(per_doc):
        edges = [0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 10**9]
        labels = ["0", "1", "2", "3-4", "5-9", "10-19", "20-49", "50-99", "100-199", "200-499", "500-999", "1000+"]
        counts_per_bin = np.histogram(per_doc, bins=edges)[0]
        last = int(np.flatnonzero(counts_per_bin).max()) + 1
        hist_ax.bar(range(last), counts_per_bin[:last], 0.8, color="#fd8d3c")
        hist_ax.set_xticks(range(last), labels[:last], fontsize=8)
        hist_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        hist_ax.set_ylabel("documents")
        hist_ax.text(0.98, 0.95, f"median {np.median(per_doc):g}", ha="right", va="top", transform=hist_ax.transAxes)
    hist_ax.set_title("formulas per document (documents with maths)")
    hist_ax.set_xlabel("formulas in the document")
    section.add(Plot("Maths formats found and formulas per document", fig))
    section.add(Table("Share of documents with maths, per stage", maths_share(run, {"extract": extracted})))

    stage = run.documents_stage
    pool = run.documents(
        stage, ["id", "url", "text", "has_math", "n_tokens", "n_formulas", "math_score", "quality_score"]
    )
    if pool is None or not len(pool):
        return section.missing(f"Stage {stage} wrote no documents: no documents to rank.")
    if score is None:
        score, pool = default_score(pool)
    if score is None or score not in pool:
        return section.missing(f"The documents of stage {stage} carry no score to rank them by.")
    which = "with maths found" if score == "math_score" and pool["has_math"].fillna(False).all() else "of all"
    worst, best = ranked_documents(pool, score)
    for label, frame in (("lowest", worst), ("highest", best)):
        section.add(
            Documents(
                f"The {len(frame)} documents with the {label} {score}, {which} the documents the mixture draws "
                f"from ({stage}: {len(pool):,})",
                [
                    {
                        "title": f"{score} {row[score]:.3f} · {_int(row['n_tokens'])} tokens · "
                        f"{_int(row['n_formulas'])} formulas · {row['url']}",
                        "text": shorten(row["text"]),
                    }
                    for _, row in frame.iterrows()
                ],
            )
        )
    return section


def _int(value) -> int:
    return 0 if value is None or pd.isna(value) else int(value)

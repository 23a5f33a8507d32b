"""The mixture report: what a run did and why the mixture is what it is, from the run directory alone.

Each topic is a function ``run -> Section`` (figures with matplotlib's Agg backend, tables as pandas
DataFrames, documents as text); ``notebooks/mixture_report.ipynb`` displays them one by one and
``curate report RUN`` renders the same objects into ``RUN/report/index.html`` (:func:`write_report`). A section
whose input the run did not write shows a one-line note instead.

| module | section |
|---|---|
| ``funnel`` | documents and tokens in and out per stage, drops stacked by reason (also ``stage_totals``, the table that ``curate run`` and ``curate stats`` print) |
| ``extraction`` | maths formats, formulas per document, share with maths, the documents a score ranks worst and best |
| ``clusters`` | a PCA map of the embeddings coloured by cluster, the cluster table |
| ``search`` | every proxy run by round, predicted vs measured (Spearman per round), chosen weights, baselines |
| ``mixture`` | tokens and epochs per cluster, sample documents per cluster |
"""

from __future__ import annotations

import importlib

#: each public name and the module holding it, imported on first use (PEP 562): ``curate run`` and ``curate
#: stats`` take ``stage_totals`` and ``format_totals`` from here, and must not load matplotlib, scikit-learn or
#: the embedders that only the sections need
_WHERE = {
    "clusters_section": "clusters",
    "extraction_section": "extraction",
    "format_totals": "funnel",
    "funnel_section": "funnel",
    "stage_totals": "funnel",
    "write_report": "html",
    "mixture_section": "mixture",
    "NotARunDir": "rundata",
    "RunData": "rundata",
    "recorded_config": "rundata",
    "search_section": "search",
    "Section": "section",
}


def __getattr__(name: str):
    if name == "SECTIONS":
        return tuple(
            __getattr__(f)
            for f in ("funnel_section", "extraction_section", "clusters_section", "search_section", "mixture_section")
        )
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SECTIONS", *sorted(_WHERE)]

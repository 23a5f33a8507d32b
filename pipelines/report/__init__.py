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

from .clusters import clusters_section
from .extraction import extraction_section
from .funnel import format_totals, funnel_section, stage_totals
from .html import write_report
from .mixture import mixture_section
from .rundata import NotARunDir, RunData, recorded_config
from .search import search_section
from .section import Section

SECTIONS = (funnel_section, extraction_section, clusters_section, search_section, mixture_section)

__all__ = [
    "SECTIONS",
    "NotARunDir",
    "RunData",
    "Section",
    "clusters_section",
    "extraction_section",
    "format_totals",
    "funnel_section",
    "mixture_section",
    "recorded_config",
    "search_section",
    "stage_totals",
    "write_report",
]

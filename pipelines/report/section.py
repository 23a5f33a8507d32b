"""A report section: a title and what it shows (notes, figures, tables, documents as text), rendered by the
notebook (``_ipython_display_``) and by the HTML page (``pipelines.report.html``) from the same object with the
same renderers (PNG bytes, HTML tables), so the two never show different numbers.

A section whose input the run did not write holds one :class:`Note` saying so instead of its figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class Note:
    """One line of prose: a finding (``kind="text"``) or a missing input (``kind="missing"``)."""

    text: str
    kind: str = "text"


@dataclass
class Table:
    title: str
    frame: pd.DataFrame


@dataclass
class Plot:
    title: str
    figure: Figure


@dataclass
class Documents:
    """Documents shown as text: each a dict with ``title`` (one line) and ``text`` (already shortened)."""

    title: str
    docs: list[dict[str, Any]]


Item = Note | Table | Plot | Documents


@dataclass
class Section:
    key: str
    title: str
    items: list[Item] = field(default_factory=list)

    def add(self, item: Item) -> None:
        self.items.append(item)

    def missing(self, what: str) -> Section:
        self.items.append(Note(what, kind="missing"))
        return self

    @property
    def plots(self) -> list[Plot]:
        return [i for i in self.items if isinstance(i, Plot)]

    @property
    def tables(self) -> list[Table]:
        return [i for i in self.items if isinstance(i, Table)]

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, Image, Markdown, display

        from .html import documents_html, figure_png, table_html

        display(Markdown(f"## {self.title}"))
        for item in self.items:
            if isinstance(item, Note):
                display(Markdown(f"*{item.text}*" if item.kind == "missing" else item.text))
            elif isinstance(item, Plot):
                display(Markdown(f"**{item.title}**"))
                display(Image(data=figure_png(item.figure), format="png"))
            elif isinstance(item, Table):
                display(Markdown(f"**{item.title}**"))
                display(HTML(table_html(item.frame)))
            else:
                display(HTML(documents_html(item)))


def shorten(text: str, limit: int = 900) -> str:
    """The start of a document's text, cut at a line end near ``limit`` characters, with what was left out."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", limit // 2, limit)
    cut = cut if cut > 0 else limit
    return f"{text[:cut].rstrip()}\n[… {len(text) - cut:,} more characters]"

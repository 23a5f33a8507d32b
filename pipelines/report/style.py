"""One look for every figure: fixed sizes, and a colour per cluster that the map, the weights and the mixture
figures share.

Figures are plain ``matplotlib.figure.Figure`` objects, never pyplot's: they render to PNG with the Agg
canvas (no display needed, the same pixels on every machine) and touch no global backend state, so importing
the report does not change the plotting of the notebook or program that imports it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 96
WIDTH = 10.0  # inches: 960 pixels, the width of the page's column


def figure(height: float, ncols: int = 1, width: float = WIDTH) -> tuple[Figure, list]:
    """A figure of ``ncols`` axes side by side, not registered with pyplot (no global state, no leaks)."""
    from matplotlib.figure import Figure  # here, not at import: ``curate run`` and ``stats`` draw nothing

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    for ax in axes:
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return fig, list(axes)


def cluster_color(cluster: int):
    """The colour of a cluster everywhere in the report (tab20 then cycling)."""
    return _tab20()(int(cluster) % 20)


def palette(n: int) -> list:
    return [_tab20()(i % 20) for i in range(n)]


def _tab20():
    import matplotlib

    return matplotlib.colormaps["tab20"]

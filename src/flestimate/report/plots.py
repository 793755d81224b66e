"""Forest plots of estimates by domain and coefficient plots of regression models, rendered
off-screen (matplotlib Agg) for embedding."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["MAX_FOREST_ROWS", "coefficient_plot", "coefficient_plot_png", "forest_plot",
           "forest_plot_png"]

# most domain lines drawn in one forest plot
MAX_FOREST_ROWS = 80


def forest_plot(table: pd.DataFrame, by: list[str], *, statistic: str = "prevalence", title: str = "",
                xlabel: str = "") -> Figure | None:
    """Draw estimates with their confidence intervals, one line per domain.

    Parameters
    ----------
    table : pandas.DataFrame
        A published table (:func:`flestimate.report.tables.assemble_table`).
    by : list of str
        Its domain columns; the labels ``<by>_label`` name the lines.
    statistic : str
        Which statistic to plot.
    title, xlabel : str

    Returns
    -------
    matplotlib.figure.Figure or None
        None when the table has no domain rows for that statistic, or more than
        ``MAX_FOREST_ROWS`` (a chart of hundreds of lines, e.g. districts, is
        unreadable and its image megabytes tall: the table stays).
    """
    rows = table[table["statistic"] == statistic]
    if rows.empty or not by:
        return None
    is_total = rows[by].isna().all(axis=1)
    cells = rows[~is_total]
    total = rows[is_total]
    if cells.empty or len(cells) > MAX_FOREST_ROWS:
        return None
    names = cells[[f"{b}_label" for b in by]].astype(str).agg(" / ".join, axis=1).to_numpy()
    est = cells["estimate"].to_numpy(dtype=float)
    lo = cells["ci_lower"].to_numpy(dtype=float)
    hi = cells["ci_upper"].to_numpy(dtype=float)
    sup = cells["suppressed"].to_numpy(dtype=bool)
    k = len(cells)
    y = np.arange(k)[::-1]
    # constrained layout keeps the legend outside the axes: it never covers a bar
    fig = Figure(figsize=(7.0, 1.2 + 0.32 * k), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ok = ~sup & np.isfinite(est)
    err = np.vstack([np.clip(est - lo, 0, None), np.clip(hi - est, 0, None)])
    ax.errorbar(est[ok], y[ok], xerr=err[:, ok], fmt="o", color="#1f4e79", ecolor="#6b8fb3",
                capsize=3, markersize=4)
    # suppressed cells and a suppressed total are never drawn, whatever their frame holds
    if (not total.empty and not bool(total["suppressed"].to_numpy(dtype=bool)[0])
            and np.isfinite(total["estimate"].to_numpy(dtype=float)[0])):
        t = float(total["estimate"].to_numpy(dtype=float)[0])
        ax.axvline(t, color="#b03a2e", linestyle="--", linewidth=1, label=f"Total: {t:,.2f}")
        fig.legend(loc="outside lower right", fontsize=8, frameon=False)
    for yi in y[sup]:
        ax.text(0.01, yi, "suppressed", transform=ax.get_yaxis_transform(), va="center",
                fontsize=8, color="#7f7f7f", style="italic")
    ax.set_xlim(left=0)
    _label_axes(ax, names, xlabel, title)
    return fig


def coefficient_plot(table: pd.DataFrame, *, ratio: bool, title: str = "",
                     xlabel: str = "") -> Figure | None:
    """Draw the coefficients of a model with their confidence intervals, one line per term
    (the intercept and terms flagged ``separation`` left out: their intervals are
    meaningless), with the line of no effect (1 for ratios, on a log scale; 0
    otherwise).

    Parameters
    ----------
    table : pandas.DataFrame
        A model's coefficient table: ``term``, ``label``, ``estimate``, ``ci_lower``,
        ``ci_upper`` and ``flags`` (terms flagged ``few_respondents`` are drawn grey).
    ratio : bool
        The estimates are odds or rate ratios (log scale, no effect at 1).
    title, xlabel : str

    Returns
    -------
    matplotlib.figure.Figure or None
        None when no term but the intercept has a finite estimate, or there are more than
        ``MAX_FOREST_ROWS`` terms.
    """
    flags = table["flags"].astype(str)
    rows = table[(table["term"] != "Intercept") & ~flags.str.contains("separation")
                 & np.isfinite(table["estimate"].to_numpy(dtype=float))]
    if rows.empty or len(rows) > MAX_FOREST_ROWS:
        return None
    est = rows["estimate"].to_numpy(dtype=float)
    lo = rows["ci_lower"].to_numpy(dtype=float)
    hi = rows["ci_upper"].to_numpy(dtype=float)
    few = rows["flags"].astype(str).str.contains("few_respondents").to_numpy()
    k = len(rows)
    y = np.arange(k)[::-1]
    fig = Figure(figsize=(7.0, 1.2 + 0.32 * k), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    err = np.vstack([np.clip(est - lo, 0, None), np.clip(hi - est, 0, None)])
    for mask, colour in ((~few, "#1f4e79"), (few, "#9a9a9a")):
        if mask.any():
            ax.errorbar(est[mask], y[mask], xerr=err[:, mask], fmt="o", color=colour,
                        ecolor=colour, capsize=3, markersize=4)
    ax.axvline(1.0 if ratio else 0.0, color="#b03a2e", linestyle="--", linewidth=1)
    if ratio:
        ax.set_xscale("log")
    _label_axes(ax, rows["label"].astype(str).to_numpy(), xlabel, title)
    return fig


def _label_axes(ax, names, xlabel: str, title: str) -> None:
    """One line per name, top down; the x label, the title and the grid."""
    k = len(names)
    ax.set_yticks(np.arange(k)[::-1])
    ax.set_ylim(-0.7, k - 0.3)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel(xlabel, fontsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(axis="x", color="#e5e5e5")
    ax.set_axisbelow(True)


def _png(fig: Figure | None) -> str | None:
    if fig is None:
        return None
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def forest_plot_png(*args, **kwargs) -> str | None:
    """:func:`forest_plot` as a base64-encoded PNG (for an ``<img src="data:...">``)."""
    return _png(forest_plot(*args, **kwargs))


def coefficient_plot_png(*args, **kwargs) -> str | None:
    """:func:`coefficient_plot` as a base64-encoded PNG."""
    return _png(coefficient_plot(*args, **kwargs))

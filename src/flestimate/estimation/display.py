"""How an EstimateTable shows itself: text at a terminal, HTML in a notebook, a forest plot.

One source of cells (:func:`cells`) feeds the text and the HTML; numbers are rounded
as a statistician reads them: an estimate, its SE and its bounds to the decimals that
give the SE two significant digits (per row), CV to 3 decimals, design effect to 2,
sizes as whole numbers with thousands separators.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from flestimate.estimation.table import EstimateTable

__all__ = ["cells", "forest_plot", "html_table", "row_labels", "text_table"]

_HEAD = {"ci_lower": "CI lower", "ci_upper": "CI upper", "n_unweighted": "n"}
_MAX_ROWS = 60


def _decimals(se: float) -> int:
    """Decimals that give ``se`` two significant digits (0 to 6)."""
    if not (math.isfinite(se) and se > 0):
        return 2
    return int(min(6, max(0, 1 - math.floor(math.log10(se)))))


def _num(v: Any, digits: int) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ""
    return "" if not math.isfinite(f) else f"{f:,.{digits}f}"


def _extra_keys(frame: pd.DataFrame) -> list[str]:
    """The key columns beside the domains and the variable: a proportion's ``category``,
    a quantile table's ``quantile``."""
    return [c for c in ("category", "quantile") if c in frame]


def row_labels(frame: pd.DataFrame, by: tuple[str, ...]) -> list[str]:
    """One label per row: the domain values (labels when labelled), the variable and
    the category, joined by `` / ``."""
    cols = [*by, "variable", *_extra_keys(frame)]
    return [" / ".join(str(v) for v in row) for row in frame[cols].itertuples(index=False)]


def cells(table: EstimateTable) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of every row (the text and HTML renderings' source)."""
    f = table.to_frame()
    keys = [*table.by, "variable", *_extra_keys(f)]
    tests = [c for c in ("p_value", "p_adjusted") if c in f]  # contrasts and comparisons
    shown = [*keys, "estimate", "se", "ci_lower", "ci_upper", "cv", "deff", "df",
             "n_unweighted", "flags", *tests]
    rows = []
    for rec in f[shown].itertuples(index=False):
        r = dict(zip(shown, rec, strict=True))
        d = _decimals(float(r["se"]) if pd.notna(r["se"]) else float("nan"))
        rows.append(
            [str(r[k]) for k in keys]
            + [_num(r[k], d) for k in ("estimate", "se", "ci_lower", "ci_upper")]
            + [_num(r["cv"], 3), _num(r["deff"], 2), _num(r["df"], 0),
               _num(r["n_unweighted"], 0), str(r["flags"] or "")]
            + [("" if pd.isna(r[k]) else f"{r[k]:.4g}") for k in tests]
        )
    return [_HEAD.get(h, h) for h in shown], rows


def title(table: EstimateTable) -> str:
    return (
        f"{table.statistic} ({len(table)} rows; {table.ci_method} {table.level:.0%} CI; "
        f"df={table.df_rule}; lonely_psu={table.lonely_psu}"
        + (f"; per {table.scale:g}" if table.scale != 1 else "")
        + ")"
    )


def text_table(table: EstimateTable) -> str:
    """The table as aligned text (the first and last rows of a long table)."""
    head, rows = cells(table)
    if len(rows) > _MAX_ROWS:
        half = _MAX_ROWS // 2
        rows = rows[:half] + [["..."] * len(head)] + rows[-half:]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(head)]
    nkeys = len(table.by) + 1 + len(_extra_keys(table.to_frame()))

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) if i < nkeys else v.rjust(w)
                         for i, (v, w) in enumerate(zip(values, widths, strict=True))).rstrip()

    lines = [title(table), line(head), *(line(r) for r in rows)]
    lines += [f"note: {d.message}" for d in table.diagnostics]
    return "\n".join(lines)


def html_table(table: EstimateTable) -> str:
    """The table as HTML (a notebook's display): the same cells as the text."""
    head, rows = cells(table)
    out = [f"<table><caption>{html.escape(title(table))}</caption><thead><tr>"]
    out += [f"<th>{html.escape(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>")
    out.append("</tbody></table>")
    out += [f"<p>note: {html.escape(d.message)}</p>" for d in table.diagnostics]
    return "".join(out)


def forest_plot(table: EstimateTable, *, ax: Any = None):
    """A forest plot of the table: one line per row, the estimate and its interval.

    Parameters
    ----------
    table : EstimateTable
    ax : matplotlib Axes, optional
        Where to draw; a new figure's axes by default (the caller's backend: a notebook
        shows it).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    f = table.to_frame()
    labels = row_labels(f, table.by)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.9 + 0.35 * max(1, len(f))))
    y = np.arange(len(f))[::-1]
    est = f["estimate"].to_numpy(dtype=float)
    lo = f["ci_lower"].to_numpy(dtype=float)
    hi = f["ci_upper"].to_numpy(dtype=float)
    ax.hlines(y, lo, hi, color="#4c72b0", lw=2)
    ax.plot(est, y, "o", color="#1f3b63")
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    unit = f" per {table.scale:,g}" if table.scale != 1 else ""
    ax.set_xlabel(f"{table.statistic}{unit} ({table.level:.0%} CI, {table.ci_method})")
    ax.grid(axis="x", alpha=0.3)
    ax.set_ylim(-0.7, len(f) - 0.3)
    return ax

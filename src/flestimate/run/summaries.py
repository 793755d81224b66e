"""The design and weighting summaries of a run's report, as text."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flestimate.design.interface import VarianceEngine
from flestimate.run.config_specs import Config
from flestimate.weighting import weight_summary as _library_weight_summary

__all__ = ["design_lines", "design_summary", "weight_summary", "weighting_steps_text"]


def design_summary(frame: pd.DataFrame, config: Config, design: VarianceEngine,
                   headline: dict) -> dict[str, str]:
    """The design's description: its structure (asked of the design: strata, PSUs), its
    columns and rules, the input weights and the headline's design effect."""
    w = pd.to_numeric(frame[config.design.weight], errors="coerce").to_numpy(dtype=float)
    d = config.design
    return design_lines(config, n=len(frame), sum_w=float(np.sum(w)),
                        sum_w2=float(np.sum(w * w)),
                        n_strata=design.structure.n_strata if d.strata else None,
                        n_psus=design.structure.n_psus if d.psu else None, headline=headline)


def design_lines(config: Config, *, n: int, sum_w: float, sum_w2: float, n_strata: int | None,
                 n_psus: int | None, headline: dict) -> dict[str, str]:
    """:func:`design_summary` from the counts and the sums of the input weights ``w``
    and ``w**2`` (as the out-of-core engines give them)."""
    d = config.design
    out: dict[str, Any] = {"Respondents (rows)": f"{n:,}"}
    if d.strata and n_strata is not None:
        out["Strata"] = f"{n_strata:,}"
    if d.psu and n_psus is not None:
        out["PSUs"] = f"{n_psus:,}"
    df = headline["prevalence"].get("df")
    if df is not None:
        out["Design degrees of freedom"] = f"{df:g}"
    out["Design weight column"] = d.weight
    out["Lonely PSU rule"] = d.lonely_psu
    if d.fpc:
        out["Finite population correction"] = d.fpc
    out["Sum of input weights"] = f"{sum_w:,.0f}"
    out["Kish weighting effect (input weights)"] = f"{n * sum_w2 / (sum_w * sum_w):.3f}"
    deff = headline["prevalence"].get("deff")
    if deff is not None:
        out["Design effect of the headline prevalence"] = f"{deff:.2f}"
    return out


def weighting_steps_text(config: Config) -> list[str]:
    """One line per weighting step: ``rake to margins.csv (max_iter=100)``."""
    lines = []
    for s in config.weighting:
        opts = ", ".join(f"{k}={v}" for k, v in s.options.items())
        lines.append(f"{s.step}" + (f" to {s.totals.name}" if s.totals else "")
                     + (f" ({opts})" if opts else ""))
    return lines


def weight_summary(design: VarianceEngine | pd.DataFrame) -> dict[str, Any]:
    """``flestimate.weight_summary`` (or a table of its columns) as
    ``{"columns": [...], "rows": [[...], ...]}`` (text)."""
    ws = design if isinstance(design, pd.DataFrame) else _library_weight_summary(design)
    if isinstance(ws, pd.Series):
        ws = ws.to_frame().T
    if not isinstance(ws, pd.DataFrame):
        return {"columns": ["summary"], "rows": [[str(ws)]]}
    ws = ws.dropna(axis=1, how="all")
    return {"columns": [str(c) for c in ws.columns],
            "rows": [[_fmt_value(v) for v in row] for row in ws.itertuples(index=False)]}


def _fmt_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.4g}" if abs(float(v)) < 1e4 else f"{float(v):,.0f}"
    return str(v)

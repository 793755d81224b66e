"""MSEResult: the read-only outcome of :func:`flestimate.mse.fit`, with its displays."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import Diagnostic
from flestimate.mse.models import Interaction, ModelFit

__all__ = ["MSEResult", "model_label", "sensitivity_plot"]


def model_label(interactions: tuple[Interaction, ...]) -> str:
    """``"main effects + PF:NCA + LA:NG"``."""
    return " + ".join(["main effects", *(f"{a}:{b}" for a, b in interactions)])


def _n(x: float) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:,.0f}"


def _ci(lo: float, hi: float) -> str:
    hi_text = "inf" if np.isinf(hi) else _n(hi)
    return f"{_n(lo)} – {hi_text}"


@dataclass(frozen=True, eq=False)
class MSEResult:
    """A multiple systems estimate: observed, dark figure, total, intervals, models.

    Build it with :func:`flestimate.mse.fit`; read it with the attributes below,
    :meth:`to_frame` (the headline) and :attr:`models` (every model considered).

    Attributes
    ----------
    lists : tuple of str
    observed : int
        Distinct cases on at least one list.
    dark : float
        Estimated cases on no list.
    total : float
        ``observed + dark``.
    ci : tuple of float
        Interval of the total by :attr:`ci_method` at :attr:`level`.
    dark_ci : tuple of float
        The same interval for the dark figure.
    level : float
    ci_method : str
        ``"profile"``, ``"wald"``, ``"percentile"``, ``"bca"`` or
        ``"model-averaged (aic|bic)"``.
    model : tuple of (str, str), or dict
        The interactions of the model used; with strata, a dict stratum -> interactions.
    models : pandas.DataFrame
        The sensitivity table: every model considered, in the order seen, with its
        deviance, AIC, BIC, dark figure, total and profile interval; ``chosen`` marks
        the model used.
    coefficients : pandas.DataFrame
        Estimates, SEs, z and Wald p-values of the model used (``stratum`` column with strata).
    intervals : pandas.DataFrame
        Every interval computed (profile and Wald always; percentile and BCa with a
        bootstrap; the model-averaged one with ``average=``).
    selection : str or None
        ``"stepwise"``, ``"aic"``, ``"bic"`` or None (model given).
    threshold : float or None
    bootstrap : dict or None
        ``replicates``, ``failed`` and the reasons of the failures.
    strata : str or None
        The strata column; :attr:`by_stratum` then holds one result per stratum.
    diagnostics : tuple of Diagnostic
        Notes and warnings (never-overlapping lists, failed bootstrap fits, ...).
    fits : tuple of ModelFit
        The fitted model of each stratum (one without strata), with its fitted counts.
    """

    lists: tuple[str, ...]
    observed: int
    dark: float
    total: float
    ci: tuple[float, float]
    dark_ci: tuple[float, float]
    level: float
    ci_method: str
    model: Any
    models: pd.DataFrame = field(repr=False)
    coefficients: pd.DataFrame = field(repr=False)
    intervals: pd.DataFrame = field(repr=False)
    selection: str | None = None
    threshold: float | None = None
    bootstrap: dict | None = None
    strata: str | None = None
    by_stratum: dict = field(default_factory=dict, repr=False)
    diagnostics: tuple[Diagnostic, ...] = ()
    fits: tuple[ModelFit, ...] = field(default=(), repr=False)

    # ------------------------------------------------------------------ access
    def to_frame(self) -> pd.DataFrame:
        """The headline as a tidy frame: one row, or one per stratum plus their sum.

        Columns: [``stratum``], ``observed``, ``dark``, ``total``, ``ci_lower``,
        ``ci_upper``, ``dark_lower``, ``dark_upper``, ``level``, ``ci_method``,
        ``model``, ``deviance``, ``df_residual``, ``aic``, ``bic``.
        """
        rows = [self._row()]
        if self.strata is not None:
            rows = [{"stratum": s, **r._row()} for s, r in self.by_stratum.items()]
            rows.append({"stratum": "all strata", **self._row()})
        return pd.DataFrame(rows)

    def _row(self) -> dict:
        fit = self.fits[0] if len(self.fits) == 1 else None
        return {
            "observed": self.observed,
            "dark": self.dark,
            "total": self.total,
            "ci_lower": self.ci[0],
            "ci_upper": self.ci[1],
            "dark_lower": self.dark_ci[0],
            "dark_upper": self.dark_ci[1],
            "level": self.level,
            "ci_method": self.ci_method,
            "model": model_label(self.model) if isinstance(self.model, tuple) else "by stratum",
            "deviance": fit.deviance if fit else np.nan,
            "df_residual": fit.df_residual if fit else np.nan,
            "aic": fit.aic if fit else np.nan,
            "bic": fit.bic if fit else np.nan,
        }

    def to_dict(self) -> dict:
        """Everything as plain Python (for JSON): headline, intervals, models, diagnostics."""
        return {
            "lists": list(self.lists),
            "observed": self.observed,
            "dark": self.dark,
            "total": self.total,
            "ci": list(self.ci),
            "dark_ci": list(self.dark_ci),
            "level": self.level,
            "ci_method": self.ci_method,
            "model": ([list(p) for p in self.model] if isinstance(self.model, tuple)
                      else {str(k): [list(p) for p in v] for k, v in self.model.items()}),
            "selection": self.selection,
            "threshold": self.threshold,
            "strata": self.strata,
            "bootstrap": self.bootstrap,
            "estimates": self.to_frame().to_dict(orient="records"),
            "intervals": self.intervals.to_dict(orient="records"),
            "models": self.models.to_dict(orient="records"),
            "coefficients": self.coefficients.to_dict(orient="records"),
            "diagnostics": [d.as_dict() for d in self.diagnostics],
        }

    # ------------------------------------------------------------------ display
    def _summary_lines(self) -> list[tuple[str, str, str]]:
        lv = f"{self.level:.0%}"
        return [
            ("observed (on at least one list)", _n(self.observed), ""),
            ("dark figure (on no list)", _n(self.dark), _ci(*self.dark_ci)),
            ("total", _n(self.total), _ci(*self.ci)),
            ("", "", f"{lv} CI, {self.ci_method}"),
        ]

    def model_description(self) -> str:
        """The model used and how it was chosen, in words."""
        how = {"stepwise": f"chosen stepwise (Poisson p < {self.threshold})",
               "aic": "chosen by AIC", "bic": "chosen by BIC", None: "given"}[self.selection]
        if self.selection in ("aic", "bic") and self.threshold is not None:
            how += f" with Wald p <= {self.threshold:g}"
        if isinstance(self.model, tuple):
            return f"{model_label(self.model)}  ({how})"
        parts = [f"{s}: {model_label(m)}" for s, m in self.model.items()]
        return f"by stratum of {self.strata} ({how}): " + "; ".join(parts)

    def _notes(self) -> list[str]:
        out = []
        ok = self.models[self.models["status"] == "ok"]
        if len(ok) > 1 and self.strata is None:
            out.append(f"{len(self.models)} models considered; their totals range "
                       f"{_n(ok['total'].min())} – {_n(ok['total'].max())} (see .models)")
        elif len(ok) > len(self.by_stratum) and self.strata is not None:
            out.append(f"{len(self.models)} models considered in {len(self.by_stratum)} strata "
                       "(see .models)")
        if self.bootstrap:
            b = self.bootstrap
            out.append(f"bootstrap: {b['replicates']:,} replicates, {b['failed']} failed")
        out += [d.message for d in self.diagnostics if d.severity != "info"]
        return out

    def __str__(self) -> str:
        lines = [f"Multiple systems estimation: {len(self.lists)} lists "
                 f"({', '.join(self.lists)})",
                 f"Model: {self.model_description()}"]
        rows = self._summary_lines()
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        lines += [f"  {a.ljust(w0)}  {b.rjust(w1)}  {c}".rstrip() for a, b, c in rows]
        if self.strata is not None:
            frame = self.to_frame()
            lines.append(f"By stratum ({self.strata}):")
            for r in frame.itertuples(index=False):
                lines.append(f"  {str(r.stratum):<14} observed {_n(r.observed):>8}  total "
                             f"{_n(r.total):>9}  {_ci(r.ci_lower, r.ci_upper)}")
        lines += [f"note: {n}" for n in self._notes()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<MSEResult total {_n(self.total)} ({_ci(*self.ci)}, {self.level:.0%} "
                f"{self.ci_method}); observed {_n(self.observed)}>")

    def _repr_html_(self) -> str:
        e = html.escape
        out = [f"<div><p><b>Multiple systems estimation</b>: {len(self.lists)} lists "
               f"({e(', '.join(self.lists))})<br>Model: {e(self.model_description())}</p>",
               f"<table><thead><tr><th></th><th>estimate</th><th>{self.level:.0%} CI "
               f"({e(self.ci_method)})</th></tr></thead><tbody>"]
        for a, b, c in self._summary_lines()[:3]:
            out.append(f"<tr><td>{e(a)}</td><td>{e(b)}</td><td>{e(c)}</td></tr>")
        out.append("</tbody></table>")
        if self.strata is not None:
            out.append(self.to_frame()[["stratum", "observed", "dark", "total", "ci_lower",
                                        "ci_upper"]].to_html(index=False, float_format="{:,.0f}".format))
        for n in self._notes():
            out.append(f"<p>note: {e(n)}</p>")
        out.append("</div>")
        return "".join(out)

    def plot(self, ax=None):
        """The sensitivity plot: the total and profile interval of every model considered.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; by default a new figure with ``matplotlib.pyplot`` (the
            caller's backend, so a notebook shows it).

        Returns
        -------
        matplotlib.figure.Figure
        """
        if ax is None:
            import matplotlib.pyplot as plt

            height = min(12.0, 1.5 + 0.18 * len(self.models))
            fig, ax = plt.subplots(figsize=(7.5, height))
        sensitivity_plot(self.models, ax, level=self.level)
        return ax.figure


def sensitivity_plot(models: pd.DataFrame, ax, *, level: float = 0.95, max_rows: int = 60) -> None:
    """Draw the models' totals with their profile intervals, ordered by AIC.

    The chosen model is drawn in colour and marked by a vertical line; models on the
    selection path are labelled with their interactions. With more than ``max_rows``
    models, the path and the other models of lowest AIC up to ``max_rows`` are drawn.
    """
    ok = models[models["status"] == "ok"]
    if len(ok) > max_rows:
        rank = ok["aic"].rank(method="first")
        others = rank[~ok["on_path"]].sort_values()
        room = max(0, max_rows - int(ok["on_path"].sum()))
        ok = ok[ok["on_path"] | ok.index.isin(others.index[:room])]
    # a path model is named by its step: "main effects", "step 2: + LA:NG"
    short = np.where(ok["step"] == 0, "main effects",
                     "step " + ok["step"].astype(str) + ": + " + ok["added"].astype(str))
    if "stratum" in ok:
        short = ok["stratum"].astype(str).to_numpy() + ": " + short
        ok = ok.assign(label=short).sort_values(["stratum", "aic"])
    else:
        ok = ok.assign(label=short).sort_values("aic")
    y = np.arange(len(ok))[::-1]
    chosen = ok["chosen"].to_numpy(dtype=bool)
    colours = np.where(chosen, "#c0392b", "#555555")
    lo = ok["profile_lower"].to_numpy(dtype=float)
    hi = ok["profile_upper"].to_numpy(dtype=float)
    est = ok["total"].to_numpy(dtype=float)
    finite_hi = np.where(np.isfinite(hi), hi, np.nanmax(np.where(np.isfinite(hi), hi, est)) * 1.2)
    ax.hlines(y, lo, finite_hi, colors=colours, linewidth=1.2)
    ax.scatter(est, y, c=colours, s=14, zorder=3)
    for total in est[chosen]:
        ax.axvline(total, color="#c0392b", linewidth=0.8, linestyle=":")
    labels = [lab + (" (chosen)" if ch else "") if (path or ch) else "" for lab, path, ch in
              zip(ok["label"], ok["on_path"], chosen, strict=True)]
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel(f"estimated total with {level:.0%} profile interval")
    ax.set_title("Models considered, lowest AIC at the top; labelled: the selection path",
                 fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.figure.tight_layout()

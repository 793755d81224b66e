"""FayHerriotResult: the frozen result of a Fay-Herriot fit."""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import Diagnostic, ValidationError

__all__ = ["FayHerriotResult", "ModelArrays"]


@dataclass(frozen=True)
class ModelArrays:
    """The fit on the model scale (the arcsine scale when transformed), for diagnostics:
    direct estimates ``y`` and sampling variances ``d`` of the sampled areas, their
    synthetic values ``x'beta`` and EBLUPs, and the mask of sampled areas (all areas)."""

    y: np.ndarray
    d: np.ndarray
    synthetic: np.ndarray
    eblup: np.ndarray
    sampled: np.ndarray


@dataclass(frozen=True, eq=False)
class FayHerriotResult:
    """Model-based small-area estimates from a Fay-Herriot model, with their MSEs.

    Build it with :func:`flestimate.sae.fay_herriot` (or
    :func:`flestimate.sae.small_area` from a survey design); read the area table
    with :meth:`to_frame`. The result is frozen: :meth:`benchmark` returns a new one.

    Attributes
    ----------
    beta, beta_se : pandas.Series
        Fixed effects and their standard errors, by term of the formula (on the
        arcsine scale when ``transform="arcsin"``).
    sigma2_u : float
        Estimated variance of the area random effects (model scale).
    sigma2_u_se : float
        Its asymptotic standard error.
    method : str
        ``"REML"``, ``"ML"`` or ``"FH"``.
    mse_method : str
        ``"datta-lahiri"``, ``"prasad-rao"`` or ``"bootstrap"``.
    transform, back_transform : str or None
    formula : str
    area : str
        The area column of the input.
    level : float
        Confidence level of the intervals.
    scale : float
        Units of the estimates (1,000: per 1,000).
    converged : bool
    iterations : int
    tolerance : float
        Relative change of ``sigma2_u`` at which the scoring stopped.
    loglike, aic, bic : float
        Gaussian log-likelihood of the sampled areas' direct estimates at the fit (R
        sae's ``goodness``), :math:`-2\\ell + 2(p + 1)` and :math:`-2\\ell + (p + 1)\\log m`.
    n_bootstrap : int or None
        Bootstrap replicates used for the MSE.
    seed : int or None
        Seed of the bootstrap (reproduces it).
    benchmarking : dict or None
        ``method``, ``target``, ``aggregate_before`` and ``adjustment`` when benchmarked.
    gvf : dict or None
        The generalised variance function, when sampling variances were smoothed:
        ``deff`` (pooled design effect), ``p_pooled``, ``areas_smoothed``, ``areas_used``.
    diagnostics : tuple of Diagnostic
        Warnings and notes of the fit, kept with the result.
    """

    _frame: pd.DataFrame = field(repr=False)
    beta: pd.Series = field(repr=False)
    beta_se: pd.Series = field(repr=False)
    sigma2_u: float
    sigma2_u_se: float
    method: str
    mse_method: str
    transform: str | None
    back_transform: str | None
    formula: str
    area: str
    level: float
    scale: float
    converged: bool
    iterations: int
    tolerance: float
    loglike: float
    aic: float
    bic: float
    _model: ModelArrays = field(repr=False)
    n_bootstrap: int | None = None
    seed: int | None = None
    benchmarking: dict[str, Any] | None = None
    gvf: dict[str, Any] | None = None
    diagnostics: tuple[Diagnostic, ...] = ()

    # ------------------------------------------------------------------ access
    def to_frame(self) -> pd.DataFrame:
        """One row per area (a copy).

        Columns: ``area``, ``direct``, ``direct_se``, ``estimate`` (the EBLUP, or the
        synthetic estimate for an area without a sample; benchmarked when asked),
        ``mse``, ``gamma`` (shrinkage factor: weight of the direct estimate),
        ``rmse``, ``cv`` (``rmse / estimate``), ``ci_lower``, ``ci_upper``,
        ``synthetic`` (:math:`x'\\hat\\beta`, back-transformed), ``direct_cv``,
        ``model_se`` (the sampling SE the model used: smoothed where
        ``variance_smoothed``), ``in_sample``, ``variance_smoothed``, ``n`` (when given)
        and, when benchmarked, ``estimate_unbenchmarked`` and ``mse_unbenchmarked``.
        """
        return self._frame.copy()

    def __len__(self) -> int:
        return len(self._frame)

    def coefficients(self) -> pd.DataFrame:
        """The fixed effects: ``term``, ``estimate``, ``se``, ``z``, ``p_value`` (normal)."""
        from scipy import stats

        z = self.beta / self.beta_se
        return pd.DataFrame(
            {
                "term": self.beta.index,
                "estimate": self.beta.to_numpy(),
                "se": self.beta_se.to_numpy(),
                "z": z.to_numpy(),
                "p_value": 2.0 * stats.norm.sf(np.abs(z.to_numpy())),
            }
        )

    # ------------------------------------------------------------------ further steps
    def benchmark(self, target: float, *, population: Any, method: str = "ratio") -> FayHerriotResult:
        """A new result whose estimates have the population-weighted mean ``target``.

        Parameters
        ----------
        target : float
            The direct national estimate, in the units of the estimates.
        population : pandas.Series or array-like
            Population of each area: a Series indexed by area label (matched by label),
            or an array in the row order of :meth:`to_frame`. Positive.
        method : {"ratio", "difference"}

        See :func:`flestimate.sae.benchmark.benchmark_estimates` for the formulas.
        """
        from flestimate.sae.model import apply_benchmark, population_weights

        if self.benchmarking is not None:
            raise ValidationError(
                "this result is already benchmarked; benchmark the unbenchmarked fit instead "
                "(fit again without benchmark=)."
            )
        frame = self._frame
        weights = population_weights(population, frame["area"], "population")
        new_frame, info, notes = apply_benchmark(
            frame, weights, target, method, self.transform, self.level
        )
        return replace(
            self, _frame=new_frame, benchmarking=info, diagnostics=self.diagnostics + notes
        )

    # ------------------------------------------------------------------ diagnostics
    def normality(self) -> pd.DataFrame:
        """Shapiro-Wilk tests, skewness and kurtosis of the standardised residuals and
        random effects; see :func:`flestimate.sae.diagnostics.normality`."""
        from flestimate.sae.diagnostics import normality

        return normality(self)

    def cv_table(self, *, threshold: float = 0.2) -> pd.DataFrame:
        """Direct and model CVs per area; see :func:`flestimate.sae.diagnostics.cv_table`."""
        from flestimate.sae.diagnostics import cv_table

        return cv_table(self, threshold=threshold)

    def cv_summary(self, *, threshold: float = 0.2) -> pd.DataFrame:
        """Quartiles of the CVs and areas below ``threshold``; see
        :func:`flestimate.sae.diagnostics.cv_summary`."""
        from flestimate.sae.diagnostics import cv_summary

        return cv_summary(self, threshold=threshold)

    def plot_direct_vs_model(self, ax: Any = None) -> Any:
        """Direct against model-based estimates; see :func:`flestimate.sae.plots.plot_direct_vs_model`."""
        from flestimate.sae.plots import plot_direct_vs_model

        return plot_direct_vs_model(self, ax=ax)

    def plot_areas(self, ax: Any = None, *, max_areas: int = 200) -> Any:
        """Areas ordered by estimate with intervals; see :func:`flestimate.sae.plots.plot_areas`."""
        from flestimate.sae.plots import plot_areas

        return plot_areas(self, ax=ax, max_areas=max_areas)

    def plot_residuals(self, axes: Any = None) -> Any:
        """Normal Q-Q plots of the residuals; see :func:`flestimate.sae.plots.plot_residuals`."""
        from flestimate.sae.plots import plot_residuals

        return plot_residuals(self, axes=axes)

    # ------------------------------------------------------------------ rendering
    def _summary_rows(self) -> list[tuple[str, str]]:
        f = self._frame
        sampled = int(f["in_sample"].sum())
        rows = [
            ("formula", self.formula),
            ("areas", f"{len(f):,} ({sampled:,} with a sample, {len(f) - sampled:,} synthetic)"),
            ("sigma2_u", f"{self.sigma2_u:.6g} (SE {self.sigma2_u_se:.3g})"),
            ("fit", f"{self.method}, "
                    + (f"converged in {self.iterations} iterations" if self.converged
                       else "did not converge")
                    + f" (relative tolerance {self.tolerance:g})"),
            ("log-likelihood", f"{self.loglike:.6g} (AIC {self.aic:.6g}, BIC {self.bic:.6g})"),
            ("MSE", self.mse_method
             + (f" ({self.n_bootstrap} replicates, seed {self.seed})" if self.n_bootstrap else "")),
        ]  # fmt: skip
        if self.transform:
            rows.append(("transformation", f"{self.transform}, back-transformation "
                                           f"{self.back_transform}"))  # fmt: skip
        if self.gvf:
            g = self.gvf
            rows.append(("smoothed variances", f"{g['areas_smoothed']} areas (GVF: deff "
                         f"{g['deff']:.3g}, pooled proportion {g['p_pooled']:.4g})"))  # fmt: skip
        if self.benchmarking:
            b = self.benchmarking
            rows.append(("benchmark", f"{b['method']} to {b['target']:.6g} (aggregate before "
                         f"{b['aggregate_before']:.6g}, adjustment {b['adjustment']:.6g})"))  # fmt: skip
        return rows

    def _area_cells(self, limit: int) -> tuple[list[str], list[list[str]]]:
        cols = ["area", "direct", "direct_se", "estimate", "rmse", "cv", "ci_lower",
                "ci_upper", "gamma"]  # fmt: skip
        rows = []
        for rec in self._frame[cols].head(limit).itertuples(index=False):
            cells = [str(rec[0])]
            cells += ["" if pd.isna(v) else f"{v:.4g}" for v in rec[1:]]
            rows.append(cells)
        return cols, rows

    def _title(self) -> str:
        return (
            f"Fay-Herriot {self.method} ({len(self)} areas; {self.mse_method} MSE"
            + (f"; {self.transform}" if self.transform else "")
            + (f"; per {self.scale:g}" if self.scale != 1 else "")
            + ")"
        )

    def __str__(self) -> str:
        rows = self._summary_rows()
        width = max(len(k) for k, _ in rows)
        lines = [self._title()] + [f"  {k.ljust(width)}  {v}" for k, v in rows]
        coef = self.coefficients()
        lines.append("coefficients")
        lines += ["  " + line for line in coef.to_string(index=False, float_format="%.6g")
                  .splitlines()]  # fmt: skip
        head, cells = self._area_cells(10)
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(head)]
        lines.append("areas" + (f" (first 10 of {len(self)})" if len(self) > 10 else ""))
        lines.append("  " + "  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
        lines += ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True))
                  for r in cells]  # fmt: skip
        lines += [f"note: {d.message}" for d in self.diagnostics]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<FayHerriotResult {self._title()}>"

    def _repr_html_(self) -> str:
        esc = html.escape
        out = [f"<div><strong>{esc(self._title())}</strong><table>"]
        out += [f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self._summary_rows()]
        out.append("</table>")
        coef = self.coefficients()
        out.append("<table><caption>coefficients</caption><thead><tr>")
        out += [f"<th>{esc(c)}</th>" for c in coef.columns]
        out.append("</tr></thead><tbody>")
        for rec in coef.itertuples(index=False):
            out.append("<tr><td>" + esc(str(rec[0])) + "</td>"
                       + "".join(f"<td>{v:.6g}</td>" for v in rec[1:]) + "</tr>")  # fmt: skip
        out.append("</tbody></table>")
        head, cells = self._area_cells(20)
        cap = "areas" + (f" (first 20 of {len(self)})" if len(self) > 20 else "")
        out.append(f"<table><caption>{esc(cap)}</caption><thead><tr>")
        out += [f"<th>{esc(h)}</th>" for h in head]
        out.append("</tr></thead><tbody>")
        for r in cells:
            out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
        out.append("</tbody></table>")
        out += [f"<p>note: {esc(d.message)}</p>" for d in self.diagnostics]
        out.append("</div>")
        return "".join(out)

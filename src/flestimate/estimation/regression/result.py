"""RegressionResult: the read-only result of ``design.glm``."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # t distribution functions without importing scipy.stats

from flestimate.errors import Diagnostic
from flestimate.estimation.regression.family import Family
from flestimate.estimation.regression.formula import ModelFrame
from flestimate.estimation.table import check_level

__all__ = ["RegressionResult"]

_TABLE_COLUMNS = (
    "term", "label", "estimate", "se", "statistic", "df", "p_value", "ci_lower",
    "ci_upper", "deff", "flags",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class RegressionResult:
    """A design-based GLM fit (``design.glm``): coefficients, design-based covariance,
    tests, predictions and margins. Read-only.

    Attributes
    ----------
    formula : str
    family : Family
        Family and link.
    names : tuple of str
        Columns of the model matrix (formulaic's names, e.g. ``stype[T.H]``).
    labels : tuple of str
        Readable names (``"stype: H"``, value labels where given).
    degf : float
        Design df of the rows used (R's ``degf``).
    n, n_weighted : int, float
        Rows used and their sum of weights.
    converged : bool
    iterations : int
    deviance : float
        Deviance with the weights rescaled to mean 1 (R's ``svyglm``).
    level : float
    diagnostics : tuple of Diagnostic
        Warnings issued while fitting (collinearity, separation, no convergence).

    Notes
    -----
    ``df_resid`` is :math:`d - p + 1` (R's ``svyglm``), used for the t statistics,
    p-values and intervals, as R's ``summary.svyglm`` for every family.

    Examples
    --------
    Odds ratios of forced labour by sex and migrant status on the bundled sample:

    >>> import pandas as pd
    >>> import flestimate
    >>> data = pd.read_csv("data/sample/fl_survey.csv").merge(
    ...     pd.read_csv("data/sample/truth_respondents.csv")[["pid", "fl_true"]], on="pid")
    >>> design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
    >>> model = design.glm("fl_true ~ C(sex) + C(migrant)", family="quasibinomial")
    >>> model.df_resid
    611.0
    >>> odds = model.table(exponentiate=True)
    >>> print(odds[["term", "estimate", "ci_lower", "ci_upper"]].round(2).to_string(index=False))
               term  estimate  ci_lower  ci_upper
          Intercept      0.00      0.00      0.01
        C(sex)[T.2]      0.86      0.60      1.22
    C(migrant)[T.2]      1.56      0.77      3.16
    C(migrant)[T.3]      3.11      1.31      7.39
    """

    formula: str
    family: Family
    design: Any = field(repr=False)
    model: ModelFrame = field(repr=False)
    names: tuple[str, ...]
    labels: tuple[str, ...]
    kept: np.ndarray = field(repr=False)
    coef: np.ndarray = field(repr=False)
    vcov_kept: np.ndarray = field(repr=False)
    naive_cov: np.ndarray = field(repr=False)
    weight_scale: float = field(repr=False)
    degf: float
    deff: np.ndarray = field(repr=False)
    n: int
    n_weighted: float
    converged: bool
    iterations: int
    deviance: float
    level: float
    flagged: tuple[int, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    options: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name in ("kept", "coef", "vcov_kept", "naive_cov", "deff"):
            getattr(self, name).setflags(write=False)

    # ------------------------------------------------------------------ access
    @property
    def params(self) -> pd.Series:
        """Coefficients by column name (NaN for a collinear column left out)."""
        return pd.Series(self.coef.copy(), index=list(self.names), name="estimate")

    @property
    def vcov(self) -> pd.DataFrame:
        """Design-based covariance of the coefficients of the kept columns."""
        names = [n for n, k in zip(self.names, self.kept, strict=True) if k]
        return pd.DataFrame(self.vcov_kept.copy(), index=names, columns=names)

    @property
    def bse(self) -> pd.Series:
        """Standard errors (NaN for a collinear column)."""
        se = np.full(self.coef.size, np.nan)
        se[self.kept] = np.sqrt(np.maximum(np.diag(self.vcov_kept), 0.0))
        return pd.Series(se, index=list(self.names), name="se")

    @property
    def df_resid(self) -> float:
        """Residual degrees of freedom: design df minus kept columns plus one."""
        return self.degf - int(self.kept.sum()) + 1

    @property
    def link(self) -> str:
        return self.family.link.name

    def table(self, *, level: float | None = None, exponentiate: bool = False) -> pd.DataFrame:
        """The coefficient table: ``term``, ``label``, ``estimate``, ``se``,
        ``statistic`` (t), ``df``, ``p_value``, ``ci_lower``, ``ci_upper``, ``deff``,
        ``flags``.

        Parameters
        ----------
        level : float, optional
            Confidence level (default: the fit's).
        exponentiate : bool, default False
            Report :math:`e^{\\beta}` (odds ratios for a logit link, rate ratios for
            a log link) with the exponentiated interval bounds; ``se`` becomes the
            delta-method SE :math:`e^{\\beta}\\mathrm{SE}(\\beta)`; the statistic and
            p-value are those of :math:`\\beta = 0`.

        Notes
        -----
        :math:`t = \\hat\\beta / \\mathrm{SE}`, p-value :math:`2 P(T_d > |t|)` and
        interval :math:`\\hat\\beta \\pm t_{1-\\alpha/2, d}\\mathrm{SE}` on the residual
        df (R's ``summary.svyglm`` and ``confint.svyglm``).
        """
        lv = self.level if level is None else check_level(level)
        est = self.coef
        se = self.bse.to_numpy()
        d = float(self.df_resid)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = est / se
            # scipy.stats.t.sf(x, d) is special.stdtr(d, -x); t.ppf(q, d) is stdtrit(d, q)
            p = 2.0 * special.stdtr(d, -np.abs(t)) if d > 0 else np.full_like(t, np.nan)
        q = special.stdtrit(d, 0.5 + lv / 2.0) if d > 0 else np.nan
        lo, hi = est - q * se, est + q * se
        if exponentiate:
            est, se, lo, hi = np.exp(est), np.exp(est) * se, np.exp(lo), np.exp(hi)
        flags = []
        for j in range(est.size):
            f = []
            if not self.kept[j]:
                f.append("collinear")
            if j in self.flagged:
                f.append("separation")
            if not self.converged:
                f.append("not_converged")
            flags.append(";".join(f))
        return pd.DataFrame({
            "term": list(self.names), "label": list(self.labels), "estimate": est, "se": se,
            "statistic": t, "df": np.full(est.size, d), "p_value": p, "ci_lower": lo,
            "ci_upper": hi, "deff": self.deff, "flags": flags,
        })  # fmt: skip

    def to_frame(self, *, level: float | None = None, exponentiate: bool = False) -> pd.DataFrame:
        """The coefficient table (:meth:`table`)."""
        return self.table(level=level, exponentiate=exponentiate)

    def confint(self, level: float | None = None) -> pd.DataFrame:
        """Interval bounds of the coefficients (``ci_lower``, ``ci_upper``) by term."""
        t = self.table(level=level)
        return t.set_index("term")[["ci_lower", "ci_upper"]]

    # ------------------------------------------------------------------ inference
    def term_test(self, terms, *, method: str = "wald"):
        """Test that the coefficients of ``terms`` are all zero (R's ``regTermTest``);
        see :func:`flestimate.estimation.regression.inference.term_test`."""
        from flestimate.estimation.regression.inference import term_test

        return term_test(self, terms, method=method)

    def predict(self, newdata: pd.DataFrame | None = None, *, type: str = "response",
                se: bool = True) -> pd.DataFrame:
        """Predictions with SEs (R's ``predict.svyglm``); see
        :func:`flestimate.estimation.regression.margins.predict`."""
        from flestimate.estimation.regression.margins import predict

        return predict(self, newdata, type=type, se=se)

    def margins(self, by: str, *, level: float | None = None):
        """Predictive margins of the groups of ``by`` (R's ``svypredmeans``, Stata's
        ``margins``) as an EstimateTable; see
        :func:`flestimate.estimation.regression.margins.predictive_margins`."""
        from flestimate.estimation.regression.margins import margins

        return margins(self, by, level=level)

    def marginal_effects(self, term: str, *, level: float | None = None):
        """Average marginal effects of a binary or categorical column: the predictive
        margin of each level minus that of the reference level, as an EstimateTable."""
        from flestimate.estimation.regression.margins import marginal_effects

        return marginal_effects(self, term, level=level)

    # ------------------------------------------------------------------ rendering
    def _header(self) -> list[tuple[str, str]]:
        design = type(self.design).__name__
        return [
            ("model", f"{self.formula}  [{self.family.name}, link {self.link}]"),
            ("design", f"{design}; df {self.degf:g}, residual df {self.df_resid:g}"),
            ("rows", f"{self.n:,} (weighted {self.n_weighted:,.6g})"),
            ("fit", f"{'converged' if self.converged else 'NOT converged'} in "
                    f"{self.iterations} IRLS iterations; deviance {self.deviance:.6g}"),
        ]  # fmt: skip

    def _cells(self, exponentiate: bool = False) -> tuple[list[str], list[list[str]]]:
        t = self.table(exponentiate=exponentiate)
        head = ["label", "estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper",
                "deff", "flags"]  # fmt: skip
        rows = []
        for rec in t[head].itertuples(index=False):
            cells = []
            for name, v in zip(head, rec, strict=True):
                if name in ("label", "flags"):
                    cells.append(str(v))
                elif name == "p_value":
                    cells.append("" if pd.isna(v) else f"{v:.4g}")
                else:
                    cells.append("" if pd.isna(v) else f"{v:.6g}")
            rows.append(cells)
        if exponentiate:
            head[1] = "odds ratio" if self.link == "logit" else "exp(estimate)"
        return head, rows

    def summary(self, *, exponentiate: bool = False) -> str:
        """Text summary: the model, design, fit and the coefficient table."""
        head, rows = self._cells(exponentiate)
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        lines = [f"{k}: {v}" for k, v in self._header()]
        lines.append("  ".join(h.rjust(w) if i else h.ljust(w)
                               for i, (h, w) in enumerate(zip(head, widths, strict=True))))
        for r in rows:
            lines.append("  ".join(c.rjust(w) if i else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(r, widths, strict=True))))
        lines.append(f"t statistics on {self.df_resid:g} df; {self.level:.0%} intervals.")
        lines += [f"note: {d.message}" for d in self.diagnostics]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"<RegressionResult {self.formula!r} ({self.family.name}, {self.link}); "
            f"{self.n:,} rows, residual df {self.df_resid:g}>"
        )

    def _repr_html_(self) -> str:
        head, rows = self._cells()
        out = ["<div><table><caption>" + html.escape(f"Design-based GLM: {self.formula}")
               + "</caption>"]
        out += [f"<tr><th>{html.escape(k)}</th><td colspan='8'>{html.escape(v)}</td></tr>"
                for k, v in self._header()]
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>")
        for r in rows:
            out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>")
        out.append("</table>")
        out += [f"<p>note: {html.escape(d.message)}</p>" for d in self.diagnostics]
        out.append("</div>")
        return "".join(out)

"""EstimateTable: the frozen result of every estimator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import Diagnostic, EstimationError, ValidationError
from flestimate.estimation import display
from flestimate.estimation.cimethods import compute_ci

__all__ = ["EstimateTable"]

_RESULT_COLUMNS = (
    "estimate",
    "se",
    "ci_lower",
    "ci_upper",
    "level",
    "ci_method",
    "df",
    "deff",
    "deff_wr",
    "cv",
    "n_unweighted",
    "n_weighted",
    "n_effective",
    "flags",
)


def check_level(level: Any) -> float:
    try:
        lv = float(level)
    except (TypeError, ValueError):
        lv = np.nan
    if not (0.0 < lv < 1.0):
        raise ValidationError(
            f"level={level!r} is not a confidence level. Give a number between 0 and 1, e.g. 0.95."
        )
    return lv


@dataclass(frozen=True, eq=False)
class EstimateTable:
    """Estimates with standard errors, intervals and design effects; one row per domain x variable.

    Build it with an estimator (``design.mean(...)`` etc.); read it with
    :meth:`to_frame`. The table is frozen: :meth:`confint` returns a new table.

    Attributes
    ----------
    statistic : str
        ``"total"``, ``"mean"``, ``"ratio"``, ``"proportion"`` or ``"prevalence"``.
    by : tuple of str
        The domain columns.
    ci_method : str
    level : float
    df_rule : str or float
        ``"domain"``, ``"design"`` or the number given.
    lonely_psu : str
    scale : float
        Multiplier of estimate, SE and bounds (1,000 for a prevalence per 1,000).
    diagnostics : tuple of Diagnostic
        Warnings issued while estimating, kept with the result.
    design_df : float
        Degrees of freedom of the whole design (R's ``degf``); those of contrasts,
        differences and pairwise comparisons (:meth:`contrast`).

    Examples
    --------
    >>> import pandas as pd
    >>> import flestimate
    >>> data = pd.read_csv("data/sample/fl_survey.csv").merge(
    ...     pd.read_csv("data/sample/truth_respondents.csv")[["pid", "fl_true"]], on="pid")
    >>> design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
    >>> table = design.prevalence("fl_true", by="sex")
    >>> table.to_frame().columns.tolist()[:6]
    ['sex', 'variable', 'estimate', 'se', 'ci_lower', 'ci_upper']
    >>> print(table.confint(level=0.90).to_frame()[["sex", "ci_lower", "ci_upper"]]
    ...       .round(2).to_string(index=False))
     sex  ci_lower  ci_upper
       1      3.93      7.10
       2      3.33      6.08
    >>> men_minus_women = table.difference(0, 1).to_frame().iloc[0]
    >>> print(f"{men_minus_women.estimate:.2f} (SE {men_minus_women.se:.2f})")
    0.79 (SE 0.89)
    """

    _frame: pd.DataFrame
    statistic: str
    by: tuple[str, ...]
    ci_method: str
    level: float
    df_rule: Any
    lonely_psu: str
    scale: float
    _p: np.ndarray = field(repr=False)
    _se: np.ndarray = field(repr=False)
    _df: np.ndarray = field(repr=False)
    _n: np.ndarray = field(repr=False)
    _dispersion: np.ndarray | None = field(repr=False, default=None)
    _deff_pooled: np.ndarray | None = field(repr=False, default=None)
    # a total with an interval for proportions: the domain sizes its interval is relative to
    _base: np.ndarray | None = field(repr=False, default=None)
    _covariance: Callable[[], np.ndarray] | None = field(repr=False, default=None)
    diagnostics: tuple[Diagnostic, ...] = ()
    #: degrees of freedom of the whole design (R's ``degf``): those of contrasts
    design_df: float = np.nan

    # ------------------------------------------------------------------ access
    def to_frame(self) -> pd.DataFrame:
        """One row per domain x variable: ``by`` columns, ``variable``, [``category``],
        ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``level``, ``ci_method``,
        ``df``, ``deff``, ``deff_wr``, ``cv``, ``n_unweighted``, ``n_weighted``,
        ``n_effective``, ``flags`` (docs/internals.md section 3)."""
        return self._frame.copy()

    def __len__(self) -> int:
        return len(self._frame)

    @property
    def settings(self) -> dict[str, Any]:
        """The method settings that produced the table."""
        return {
            "statistic": self.statistic,
            "ci_method": self.ci_method,
            "level": self.level,
            "df": self.df_rule,
            "lonely_psu": self.lonely_psu,
            "scale": self.scale,
            "by": self.by,
        }

    # ------------------------------------------------------------------ inference
    def confint(self, level: float = 0.95) -> EstimateTable:
        """A copy with intervals at another confidence level (no re-estimation).

        Parameters
        ----------
        level : float, default 0.95
            The new confidence level, in (0, 1).

        Returns
        -------
        EstimateTable
            The same estimates, standard errors and degrees of freedom; ``ci_lower``,
            ``ci_upper`` and ``level`` recomputed by the table's ``ci_method``.

        Notes
        -----
        The bounds are those of :mod:`flestimate.estimation.cimethods` at
        :math:`\\alpha = 1 - \\text{level}`, e.g. :math:`\\hat\\theta \\pm
        t_{1-\\alpha/2, d}\\,\\mathrm{SE}` for ``wald``.

        References
        ----------
        Lumley, T. survey R package, ``confint.svystat``, ``svyciprop(level=)``.
        """
        lv = check_level(level)
        if self.statistic == "quantile":
            raise EstimationError(
                "a quantile table's interval is recomputed by the quantile rule: call "
                f"design.quantile(..., level={lv}) again."
            )
        base = 1.0 if self._base is None else self._base
        with np.errstate(divide="ignore", invalid="ignore"):
            lo, hi = compute_ci(
                self.ci_method, self._p / base, self._se / base, self._df, self._n, lv,
                self._dispersion, self._deff_pooled,
            )
        lo, hi = lo * base, hi * base
        frame = self._frame.copy()
        frame["ci_lower"] = lo * self.scale
        frame["ci_upper"] = hi * self.scale
        frame["level"] = lv
        return replace(self, _frame=frame, level=lv)

    def covariance(self) -> pd.DataFrame:
        """Covariance matrix of the estimates (rows x rows), on the table's scale.

        Notes
        -----
        From the PSU-level linearised scores :math:`z` kept with the table:
        :math:`\\hat C = \\sum_h (1-f_h) n_h/(n_h-1) \\sum_i (z_{hi}-\\bar z_h)
        (z_{hi}-\\bar z_h)^T` (plus later-stage terms); equal to R's
        ``vcov(svyby(..., covmat=TRUE))``.

        References
        ----------
        Lumley, T. survey R package, ``svyby(covmat=TRUE)``, ``vcov``.
        """
        if self._covariance is None:
            raise EstimationError(
                f"this {self.statistic} table has no covariance information (a quantile "
                "table has none); contrasts need a table of totals, means, ratios or "
                "proportions."
            )
        C = self._covariance() * self.scale**2
        labels = self._row_labels()
        return pd.DataFrame(C, index=labels, columns=labels)

    def _row_labels(self) -> list[str]:
        return display.row_labels(self._frame, self.by)

    def vcov(self) -> pd.DataFrame:
        r"""Full variance-covariance matrix of the rows, domains included (R's
        ``vcov(svyby(..., covmat=TRUE))``), on the table's scale; the same as
        :meth:`covariance`.

        Returns
        -------
        pandas.DataFrame
            Rows x rows, labelled like :meth:`contrast` names them (``"E / api00"``).
        """
        return self.covariance()

    def contrast(
        self,
        weights: Any,
        *,
        name: str | list[str] | None = None,
    ) -> EstimateTable:
        r"""A linear or nonlinear function of the rows, with SE, CI, df and p-value.

        Parameters
        ----------
        weights : dict, list of dict, str or callable
            - ``{row: weight}``: a linear contrast; rows are named by their label
              (``"E / api00"``, R's ``"E:api00"``), by the domain label alone when the
              table has one variable (``{"men": 1, "women": -1}``), by the variable
              when it has no domains, by a tuple of domain values, or by position;
            - a list of such dicts: several named contrasts (their covariance kept);
            - a text expression of row names, ``"api00 / api99"``,
              ``"log(`E` / `H`)"`` (backticks around labels that are not names;
              functions log, exp, sqrt, expit, logit, log10, asin, sin, cos);
            - a function of a dict ``{row name: estimate}`` returning a number.
        name : str or list of str, optional
            Names of the contrasts (the ``variable`` column).

        Returns
        -------
        EstimateTable
            One row per contrast: ``estimate``, ``se``, Wald ``ci_lower``/``ci_upper``,
            ``df``, ``t`` and ``p_value`` (two-sided, null of zero); ``vcov()`` gives
            the covariance of the contrasts.

        Raises
        ------
        ValidationError
            A row name that is not in the table (the message lists those that are).

        Notes
        -----
        Linear: :math:`L\hat\theta`, :math:`\hat V = L \hat C L^T` with
        :math:`\hat C` of :meth:`vcov`. Nonlinear (delta method):
        :math:`f(\hat\theta)`, :math:`\hat V = \nabla f^T \hat C \nabla f`, the
        gradient by complex-step differentiation, on Taylor and replicate tables
        alike (R's ``svycontrast`` applies a nonlinear function to the kept replicates
        instead; the two agree to first order). The p-value is
        :math:`2 P(T_d > |t|)` with :math:`d` the design's degrees of freedom (or the
        number given as ``df=``).

        References
        ----------
        Lumley, T. survey R package, ``svycontrast``.
        """
        from flestimate.estimation import contrasts

        return contrasts.contrast(self, weights, name=name)

    def difference(self, a: Any, b: Any) -> EstimateTable:
        r"""Estimate of (a - b) with its SE, Wald interval and p-value.

        Parameters
        ----------
        a, b : str, tuple or int
            Rows named as in :meth:`contrast` (a domain label such as ``"women"``)
            or row positions in :meth:`to_frame`.

        Returns
        -------
        EstimateTable
            One row (``variable`` names the two rows), ``ci_method`` ``"wald"``.

        Notes
        -----
        :math:`\widehat{\Delta} = \hat\theta_a - \hat\theta_b`,
        :math:`\mathrm{SE} = \sqrt{\hat v_a + \hat v_b - 2\hat c_{ab}}`, interval
        :math:`\widehat\Delta \pm t_{1-\alpha/2, d}\mathrm{SE}` with :math:`d`
        the design's degrees of freedom.

        References
        ----------
        Lumley, T. survey R package, ``svycontrast``.
        """
        from flestimate.estimation import contrasts

        return contrasts.difference(self, a, b)

    def pairwise(self, *, adjust: str = "holm") -> EstimateTable:
        """All pairwise differences of the domains of each variable, with p-values
        adjusted for multiple comparisons.

        Parameters
        ----------
        adjust : {"holm", "bonferroni", "none"}, default "holm"
            The adjustment (R's ``p.adjust``) over all the comparisons of the table.

        Returns
        -------
        EstimateTable
            One row per pair (``"E - H"``), with ``p_value`` and ``p_adjusted``.

        References
        ----------
        Holm, S. (1979). A simple sequentially rejective multiple test procedure.
        Scandinavian Journal of Statistics 6, 65-70.
        """
        from flestimate.estimation import contrasts

        return contrasts.pairwise(self, adjust=adjust)

    # ------------------------------------------------------------------ rendering
    # (flestimate.estimation.display: the one source of the text, HTML and plot)
    def __str__(self) -> str:
        return display.text_table(self)

    def __repr__(self) -> str:
        return display.text_table(self)

    def _repr_html_(self) -> str:
        return display.html_table(self)

    def plot(self, *, ax: Any = None):
        """Forest plot of the rows: each estimate with its interval (matplotlib).

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; new axes by default (shown by a notebook).

        Returns
        -------
        matplotlib.axes.Axes
        """
        return display.forest_plot(self, ax=ax)

"""Tests of model terms (R's ``regTermTest``): the Wald F test and the Rao-Scott
working likelihood-ratio test with its chi-square-mixture p-value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import linalg, optimize, stats

from flestimate.errors import EstimationError, ValidationError, closest_name
from flestimate.estimation.regression.irls import irls

if TYPE_CHECKING:
    from flestimate.estimation.regression.result import RegressionResult

__all__ = ["TermTest", "chisq_mixture_sf", "term_test"]


@dataclass(frozen=True)
class TermTest:
    """The result of :func:`term_test`.

    Attributes
    ----------
    terms : tuple of str
    method : str
        ``"wald"`` or ``"lrt"``.
    statistic : float
        Wald: the F statistic (chi-square / df); LRT: the deviance difference.
    df : int
        Coefficients tested.
    ddf : float
        Denominator df (the model's residual df).
    p_value : float
    eigenvalues : tuple of float
        LRT: the design effects :math:`\\lambda_j` of the chi-square mixture.
    """

    terms: tuple[str, ...]
    method: str
    statistic: float
    df: int
    ddf: float
    p_value: float
    eigenvalues: tuple[float, ...] = ()

    def __str__(self) -> str:
        if self.method == "wald":
            return (f"Wald test for {', '.join(self.terms)}: F = {self.statistic:.6g} on "
                    f"{self.df} and {self.ddf:g} df, p = {self.p_value:.4g}")
        lam = ", ".join(f"{v:.4g}" for v in self.eigenvalues)
        return (f"Working likelihood-ratio (Rao-Scott) test for {', '.join(self.terms)}: "
                f"deviance difference {self.statistic:.6g}, design effects ({lam}), "
                f"df {self.df} and {self.ddf:g}, p = {self.p_value:.4g}")  # fmt: skip


def _term_names(terms) -> list[str]:
    if isinstance(terms, str):
        text = terms.strip()
        if text.startswith("~"):
            import formulaic

            return [str(t) for t in formulaic.Formula(text) if str(t) != "1"]
        return [text]
    return [str(t) for t in terms]


def _columns(result: RegressionResult, terms: list[str]) -> np.ndarray:
    """Positions among the kept columns of the coefficients of ``terms``."""
    term_of = np.array(result.model.term_of, dtype=object)[result.kept]
    available = list(dict.fromkeys(result.model.term_of))
    index = []
    for term in terms:
        match = [t for t in available if t == term or t == f"C({term})"]
        if not match:
            hint = closest_name(term, available)
            raise ValidationError(
                f"term {term!r} is not in the model {result.formula!r}"
                + (f"; did you mean {hint!r}?" if hint else "")
                + f". Terms: {', '.join(available)}."
            )
        index.extend(np.flatnonzero(term_of == match[0]).tolist())
    if not index:
        raise EstimationError(f"terms {terms} have no coefficient left in the model.")
    return np.array(sorted(set(index)))


def term_test(result: RegressionResult, terms, *, method: str = "wald") -> TermTest:
    """Test that all coefficients of ``terms`` are zero (R's ``regTermTest``).

    Parameters
    ----------
    result : RegressionResult
    terms : str or list of str
        Terms of the formula (``"stype"``, ``["sex", "C(region)"]``) or a one-sided
        formula ``"~ sex + C(region)"``.
    method : {"wald", "lrt"}
        ``"wald"``: :math:`F = \\hat\\beta^T \\hat V^{-1}\\hat\\beta / q` on
        (q, residual df). ``"lrt"``: the Rao-Scott working likelihood ratio, the
        deviance difference of the model without the terms, referred to
        :math:`\\sum_j \\lambda_j \\chi^2_1 / (\\chi^2_{d}/d)` with
        :math:`\\lambda` the eigenvalues of :math:`V_0^{-1}\\hat V` (naive and design
        covariance of the tested coefficients), p-value by the saddlepoint
        approximation (R's default).

    Returns
    -------
    TermTest

    References
    ----------
    Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway
    contingency tables with cell proportions estimated from survey data. Annals of
    Statistics 12, 46-60.
    Lumley, T. and Scott, A. (2014). Tests for regression models fitted to survey
    data. Australian and New Zealand Journal of Statistics 56, 1-14.
    Kuonen, D. (1999). Saddlepoint approximations for distributions of quadratic
    forms in normal variables. Biometrika 86, 929-935.
    Lumley, T. survey R package, ``regTermTest``, ``pFsum``.
    """
    method = str(method).lower()
    if method not in ("wald", "lrt"):
        raise ValidationError(f"method={method!r} is not known. Use 'wald' or 'lrt'.")
    names = _term_names(terms)
    idx = _columns(result, names)
    beta = result.coef[result.kept][idx]
    V = result.vcov_kept[np.ix_(idx, idx)]
    q = idx.size
    ddf = float(result.df_resid)
    if method == "wald":
        chisq = float(beta @ linalg.solve(V, beta, assume_a="sym"))
        F = chisq / q
        p = float(stats.f.sf(F, q, ddf)) if np.isfinite(ddf) else float(stats.chi2.sf(chisq, q))
        return TermTest(tuple(names), "wald", F, q, ddf, p)
    model = result.model
    X = model.X[:, result.kept]
    keep = np.setdiff1d(np.arange(X.shape[1]), idx)
    w = result.design.weights.to_numpy(dtype=np.float64)[model.rows] / result.weight_scale
    opts = result.options
    reduced = irls(
        np.ascontiguousarray(X[:, keep]), model.y, w, result.family,
        maxiter=opts.get("maxiter", 100), tol=opts.get("tol", 1e-10),
    )  # fmt: skip
    chisq = float(reduced.deviance - result.deviance)
    V0 = result.naive_cov[np.ix_(idx, idx)]
    lam = np.sort(np.real(linalg.eigvals(linalg.solve(V0, V))))[::-1]
    p = chisq_mixture_sf(chisq, lam, ddf)
    return TermTest(tuple(names), "lrt", chisq, q, ddf, p, tuple(float(v) for v in lam))


def _saddle(x: float, lam: np.ndarray) -> float:
    """Upper tail of :math:`\\sum \\lambda_j \\chi^2_1` at x by the Lugannani-Rice
    saddlepoint approximation (R survey's ``saddle``); NaN near the mean."""
    d = lam.max()
    lam = lam / d
    x = x / d

    def k0(z):
        return -np.sum(np.log1p(-2.0 * z * lam)) / 2.0

    def k1(z):
        return np.sum(lam / (1.0 - 2.0 * z * lam))

    def k2(z):
        return 2.0 * np.sum(lam**2 / (1.0 - 2.0 * z * lam) ** 2)

    if (lam < 0).any():
        lmin = np.max(1.0 / (2.0 * lam[lam < 0])) * 0.99999
    elif x > lam.sum():
        lmin = -0.01
    else:
        lmin = -lam.size / (2.0 * x)
    lmax = np.min(1.0 / (2.0 * lam[lam > 0])) * 0.99999
    try:
        z = optimize.brentq(lambda z: k1(z) - x, lmin, lmax, xtol=1e-15, rtol=1e-15)
    except ValueError:
        return np.nan
    if abs(z) < 1e-4:
        return np.nan
    w = np.sign(z) * np.sqrt(2.0 * (z * x - k0(z)))
    v = z * np.sqrt(k2(z))
    return float(stats.norm.sf(w + np.log(v / w) / w))


def chisq_mixture_sf(x: float, lam: np.ndarray, ddf: float = np.inf) -> float:
    """P(:math:`\\sum_j \\lambda_j \\chi^2_1 / (\\chi^2_{d}/d) > x`) (R's ``pFsum`` with
    ``method="saddlepoint"``; d infinite: ``pchisqsum``), falling back to the
    Satterthwaite approximation where the saddlepoint is undefined."""
    lam = np.asarray(lam, dtype=np.float64)
    tr = lam.mean()
    tr2 = np.mean(lam**2) / tr**2
    scale = tr * tr2
    ndf = lam.size / tr2
    if not np.isfinite(ddf):
        s = _saddle(x, lam)
        return float(stats.chi2.sf(x / scale, ndf)) if np.isnan(s) else s
    satterthwaite = float(stats.f.sf(x / ndf / scale, ndf, ddf))
    full = np.concatenate([lam, np.full(int(ddf), -x / ddf)])
    s = _saddle(0.0, full)
    return satterthwaite if np.isnan(s) else s

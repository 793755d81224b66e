"""Choosing the interactions: SparseMSE's stepwise rule, AIC and BIC, and model averaging.

Every model a procedure looks at is kept, fitted, in the order seen: the path of
accepted models and, at each step, the candidates it weighed. That list is the
sensitivity table of the result, so the choice is shown rather than hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm, poisson

from flestimate.errors import EstimationError, ValidationError
from flestimate.mse.identify import Identifiability, ModelChecker
from flestimate.mse.models import Interaction, ModelFit, all_pairs, fit_models
from flestimate.mse.tables import CaptureTable

__all__ = ["SELECT_METHODS", "Considered", "Selection", "select_model", "model_weights",
           "average"]

SELECT_METHODS = ("stepwise", "aic", "bic")


@dataclass(frozen=True, eq=False)
class Considered:
    """A model weighed by a selection: its fit (None when the MLE fails) and its role."""

    interactions: tuple[Interaction, ...]
    fit: ModelFit | None
    check: Identifiability
    step: int
    added: Interaction | None
    p_value: float  # the rule's p-value of the interaction added (NaN for the start)
    on_path: bool


@dataclass(frozen=True, eq=False)
class Selection:
    """Outcome of :func:`select_model`: the chosen model and every model considered."""

    method: str
    threshold: float | None
    chosen: tuple[Interaction, ...]
    considered: list[Considered] = field(repr=False)

    @property
    def fit(self) -> ModelFit:
        return next(c.fit for c in self.considered
                    if c.on_path and c.interactions == self.chosen and c.fit is not None)


def _stepwise_pvalue(current: ModelFit, pair: Interaction, observed_overlap: float) -> float:
    """SparseMSE's p-value of adding ``pair``: the overlap against its fitted Poisson mean.

    The overlap count :math:`n^*` (cases on both lists, whatever else) is Poisson with
    mean :math:`\\lambda^* = \\sum_{z \\ni a,b} \\hat\\lambda_z` under the current model;
    :math:`p = \\min\\{P(X \\le n^*), P(X \\ge n^*)\\}`.
    """
    lists = current.table.lists
    z = current.table.patterns
    both = (z[:, lists.index(pair[0])] == 1) & (z[:, lists.index(pair[1])] == 1)
    lam = float(current.fitted[both].sum())
    return float(min(poisson.cdf(observed_overlap, lam), poisson.sf(observed_overlap - 1, lam)))


def _wald_p(fit: ModelFit, pair: Interaction) -> float:
    row = fit.coefficients[fit.coefficients["term"] == f"{pair[0]}:{pair[1]}"].iloc[0]
    if not np.isfinite(row["estimate"]):
        # a never-overlapping pair: -inf, no Wald test (R's glm, which cannot reach -inf,
        # reports a huge SE and p near 1): never significant
        return 1.0
    return float(2 * norm.sf(abs(row["estimate"] / row["se"])))


def select_model(table: CaptureTable, method: str, *, threshold: float | None = None,
                 start: Sequence[Interaction] = ()) -> Selection:
    """Forward selection of two-list interactions, keeping every model considered.

    Parameters
    ----------
    table : CaptureTable
    method : {"stepwise", "aic", "bic"}
        ``"stepwise"``: SparseMSE's rule (Chan, Silverman and Vincent 2021): add the
        interaction whose overlap is least compatible with the current model (smallest
        Poisson p-value), while that p-value is below ``threshold`` (default 0.02).
        ``"aic"`` / ``"bic"``: add the interaction that lowers the criterion most, while
        it does; with a ``threshold``, also stop when the Wald p-value of the added
        interaction is above it (the rule of Bales, Hesketh and Silverman 2015).
    threshold : float, optional
    start : sequence of (str, str)
        Interactions always in the model (default: main effects only).

    Returns
    -------
    Selection

    Notes
    -----
    A candidate whose MLE does not exist or is not identifiable
    (:func:`flestimate.mse.identify.check_model`) is never added; it stays in the list
    of models considered with its reason. AIC :math:`= -2\\ell + 2p` and BIC
    :math:`= -2\\ell + p \\log n` (:math:`n` the cases observed), counting the
    :math:`-\\infty` coefficients of never-overlapping pairs in :math:`p`.

    References
    ----------
    Chan, L., Silverman, B. W. and Vincent, K. (2021). Multiple systems estimation for
    sparse capture data: inferential challenges when there are nonoverlapping lists.
    JASA 116(535), 1297-1306.
    Bales, K., Hesketh, O. and Silverman, B. (2015). Modern slavery in the UK: how many
    victims? Significance 12(3), 16-21.
    """
    if method not in SELECT_METHODS:
        raise ValidationError(
            f"select={method!r} is not known; use one of {', '.join(map(repr, SELECT_METHODS))} "
            "or None (the model given by interactions=)."
        )
    if threshold is None and method == "stepwise":
        threshold = 0.02
    if threshold is not None and not (isinstance(threshold, (int, float)) and 0 <= threshold <= 1):
        raise ValidationError(f"threshold={threshold!r}: give a p-value between 0 and 1, e.g. 0.02.")
    checker = ModelChecker(table)
    current = tuple(start)
    first = checker(current)
    if not first.ok:
        raise EstimationError(f"the starting model cannot be fitted: {first.message}")
    current_fit = fit_models(table, [current])[0]
    considered = [Considered(current, current_fit, first, 0, None, np.nan, True)]
    overlaps = {p: table.overlap(*p) for p in all_pairs(table.lists)}
    criterion = "bic" if method == "bic" else "aic"
    for step in range(1, len(overlaps) + 1):
        candidates = [p for p in all_pairs(table.lists) if p not in current]
        if not candidates:
            break
        models = [(*current, p) for p in candidates]
        checks = [checker(m) for m in models]
        good = [i for i, c in enumerate(checks) if c.ok]
        fits = dict(zip(good, fit_models(table, [models[i] for i in good]), strict=True))
        pvals = [_stepwise_pvalue(current_fit, p, overlaps[p]) if method == "stepwise"
                 else (_wald_p(fits[i], p) if i in fits else np.nan)
                 for i, p in enumerate(candidates)]
        rows = [Considered(models[i], fits.get(i), checks[i], step, candidates[i], pvals[i], False)
                for i in range(len(candidates))]
        if method == "stepwise":
            scores = [pvals[i] if i in fits else np.inf for i in range(len(candidates))]
            best = int(np.argmin(scores))
            accept = threshold is not None and scores[best] < threshold
        else:
            scores = [getattr(fits[i], criterion) if i in fits else np.inf
                      for i in range(len(candidates))]
            best = int(np.argmin(scores))
            accept = scores[best] < getattr(current_fit, criterion) and (
                threshold is None or pvals[best] <= threshold)
        if accept:
            rows[best] = Considered(models[best], fits[best], checks[best], step,
                                    candidates[best], pvals[best], True)
        considered.extend(rows)
        if not accept:
            break
        current, current_fit = models[best], fits[best]
    return Selection(method=method, threshold=threshold, chosen=current, considered=considered)


def model_weights(fits: Sequence[ModelFit], criterion: str = "aic") -> np.ndarray:
    """Akaike weights :math:`w_m \\propto e^{-\\Delta_m/2}` of the models (AIC or BIC).

    References
    ----------
    Burnham, K. P. and Anderson, D. R. (2002). Model Selection and Multimodel Inference,
    2nd ed., §2.9. Springer.
    """
    values = np.array([getattr(f, criterion) for f in fits])
    w = np.exp(-(values - values.min()) / 2)
    return w / w.sum()


def average(fits: Sequence[ModelFit], criterion: str = "aic", level: float = 0.95) -> dict:
    """Model-averaged dark figure over distinct models, with its unconditional interval.

    Notes
    -----
    On the log scale :math:`\\theta_m = \\log \\hat d_m`:
    :math:`\\bar\\theta = \\sum_m w_m \\theta_m` and
    :math:`\\widehat{\\operatorname{se}}(\\bar\\theta) = \\sum_m w_m \\sqrt{\\operatorname{se}_m^2
    + (\\theta_m - \\bar\\theta)^2}` (Burnham and Anderson 2002, eq. 4.9); the interval is
    :math:`\\exp(\\bar\\theta \\pm z\\,\\widehat{\\operatorname{se}})` plus the observed count.
    The averaged dark figure reported is :math:`\\sum_m w_m \\hat d_m`.

    References
    ----------
    Burnham, K. P. and Anderson, D. R. (2002). Model Selection and Multimodel Inference,
    2nd ed., §4.3.2. Springer.
    """
    unique: dict[frozenset, ModelFit] = {}
    for f in fits:
        unique.setdefault(frozenset(f.interactions), f)
    fits = list(unique.values())
    w = model_weights(fits, criterion)
    theta = np.log([f.dark for f in fits])
    se = np.array([f.log_dark_se for f in fits])
    bar = float(np.sum(w * theta))
    se_bar = float(np.sum(w * np.sqrt(se**2 + (theta - bar) ** 2)))
    z = norm.ppf(0.5 + level / 2)
    dark = float(np.sum(w * np.exp(theta)))
    return {"dark": dark, "dark_lower": float(np.exp(bar - z * se_bar)),
            "dark_upper": float(np.exp(bar + z * se_bar)), "weights": w, "fits": fits,
            "criterion": criterion}

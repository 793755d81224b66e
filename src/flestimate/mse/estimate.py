"""``fit``: from a table of capture patterns (or cases) to an :class:`MSEResult`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

from flestimate.errors import Diagnostic, EstimationError, MSEWarning, ValidationError
from flestimate.mse import bootstrap as boot
from flestimate.mse.identify import check_model
from flestimate.mse.intervals import (
    Interval,
    profile_interval_sum,
    profile_limits,
    wald_interval_sum,
)
from flestimate.mse.models import (
    ModelFit,
    fit_models,
    fit_statsmodels,
    normalise_interactions,
)
from flestimate.mse.result import MSEResult, model_label
from flestimate.mse.select import SELECT_METHODS, Considered, select_model
from flestimate.mse.select import average as model_average
from flestimate.mse.tables import CaptureTable, capture_tables

__all__ = ["fit", "CI_METHODS"]

CI_METHODS = ("profile", "wald", "percentile", "bca")
ENGINES = ("numpy", "statsmodels")


def _check_options(ci: str, level: Any, select: Any, threshold: Any, average_by: Any,
                   engine: str, n_boot: Any) -> float:
    if ci not in CI_METHODS:
        raise ValidationError(f"ci={ci!r} is not known; use one of {', '.join(map(repr, CI_METHODS))}.")
    try:
        lv = float(level)
    except (TypeError, ValueError):
        lv = np.nan
    if not 0 < lv < 1:
        raise ValidationError(f"level={level!r}: give a confidence level between 0 and 1, e.g. 0.95.")
    if select is not None and select not in SELECT_METHODS:
        raise ValidationError(
            f"select={select!r} is not known; use one of {', '.join(map(repr, SELECT_METHODS))} "
            "or None (the model given by interactions=)."
        )
    if average_by not in (None, "aic", "bic"):
        raise ValidationError(f"average={average_by!r}: use 'aic', 'bic' or None.")
    if average_by is not None and select is None:
        raise ValidationError(
            "average= needs several models: give select='stepwise', 'aic' or 'bic' too "
            "(the models it considers are averaged)."
        )
    if threshold is not None and not (
            isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
            and 0 <= threshold <= 1):
        raise ValidationError(f"threshold={threshold!r}: give a p-value between 0 and 1, e.g. 0.02.")
    if engine not in ENGINES:
        raise ValidationError(f"engine={engine!r}: use 'numpy' (default) or 'statsmodels'.")
    if n_boot is not None and not (isinstance(n_boot, (int, np.integer)) and n_boot >= 10):
        raise ValidationError(
            f"bootstrap={n_boot!r}: give a whole number of replicates, at least 10 (1,000 or "
            "more for a 95% interval), or None."
        )
    return lv


def _models_frame(table: CaptureTable, considered: list[Considered], chosen: tuple,
                  level: float) -> pd.DataFrame:
    """The sensitivity table of one table's selection (profile intervals in one batch)."""
    fits = [c.fit for c in considered if c.fit is not None]
    lo, hi = profile_limits(fits, chi2.ppf(level, 1)) if fits else (np.empty((0, 1)),) * 2
    limits = {id(f): (np.exp(lo[i, 0]), np.exp(hi[i, 0])) for i, f in enumerate(fits)}
    rows = []
    for c in considered:
        f = c.fit
        dlo, dhi = limits.get(id(f), (np.nan, np.nan))
        rows.append({
            "model": model_label(c.interactions),
            "n_interactions": len(c.interactions),
            "step": c.step,
            "added": "" if c.added is None else f"{c.added[0]}:{c.added[1]}",
            "p_value": c.p_value,
            "on_path": c.on_path,
            "chosen": c.on_path and c.interactions == chosen,
            "status": "ok" if c.check.ok else ("no MLE" if not c.check.exists else "not identifiable"),
            "reason": c.check.message,
            "deviance": f.deviance if f else np.nan,
            "df_residual": f.df_residual if f else np.nan,
            "aic": f.aic if f else np.nan,
            "bic": f.bic if f else np.nan,
            "dark": f.dark if f else np.nan,
            "total": f.total if f else np.nan,
            "profile_lower": table.observed + dlo,
            "profile_upper": table.observed + dhi,
        })
    return pd.DataFrame(rows)


def _one_table(table: CaptureTable, interactions: tuple, select: str | None,
               threshold: float | None, engine: str, level: float) -> tuple[ModelFit, Any, pd.DataFrame]:
    where = "" if table.stratum is None else f"stratum {table.stratum!r}: "
    if select is None:
        check = check_model(table, interactions)
        if not check.ok:
            raise EstimationError(f"{where}model {model_label(interactions)}: {check.message}")
        considered = [Considered(interactions, None, check, 0, None, np.nan, True)]
        chosen = interactions
        selection = None
    else:
        try:
            selection = select_model(table, select, threshold=threshold, start=interactions)
        except EstimationError as exc:
            raise EstimationError(f"{where}{exc}") from None
        considered, chosen = selection.considered, selection.chosen
    fit = (fit_statsmodels(table, chosen) if engine == "statsmodels"
           else selection.fit if selection is not None else fit_models(table, [chosen])[0])
    if select is None:
        considered = [Considered(chosen, fit, considered[0].check, 0, None, np.nan, True)]
    if not fit.converged:  # pragma: no cover - checked models converge
        raise EstimationError(f"{where}the fit of {model_label(chosen)} did not converge.")
    return fit, selection, _models_frame(table, considered, chosen, level)


def fit(
    data: pd.DataFrame,
    *,
    lists: Sequence[str],
    count: str | None = "count",
    interactions: Sequence | None = None,
    select: str | None = None,
    threshold: float | None = None,
    ci: str = "profile",
    level: float = 0.95,
    strata: str | None = None,
    bootstrap: int | None = None,
    rng: int | np.random.Generator | None = None,
    average: str | None = None,
    engine: str = "numpy",
) -> MSEResult:
    """Estimate the number of cases known to no list from the overlap of several lists.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per capture pattern with its count (one 0/1 column per list and a count
        column), or one row per case (``count=None``). Patterns with no case may be left
        out: they are entered as zero counts.
    lists : sequence of str
        The list columns (at least two).
    count : str or None, default "count"
        The column of case counts, or None for case-level rows.
    interactions : sequence of pairs, optional
        Two-list interactions in the model, e.g. ``[("PF", "NCA"), ("LA", "NG")]`` (or
        ``["PF:NCA", "LA:NG"]``); None: main effects only. With ``select``, the
        interactions always kept.
    select : {None, "stepwise", "aic", "bic"}
        None fits the model given; ``"stepwise"`` is SparseMSE's rule (add the
        interaction with the smallest Poisson p-value while it is below ``threshold``,
        default 0.02); ``"aic"`` / ``"bic"`` add the interaction lowering the criterion
        most while it does (and, with ``threshold``, while its Wald p-value is at most it).
    threshold : float, optional
        The p-value of the selection rule.
    ci : {"profile", "wald", "percentile", "bca"}, default "profile"
        The interval reported as :attr:`MSEResult.ci`. Profile likelihood (default);
        Wald on the log scale; parametric bootstrap percentile or BCa. Profile and Wald
        are always in :attr:`MSEResult.intervals`, the bootstrap ones when computed.
    level : float, default 0.95
    strata : str, optional
        A column of the data: each stratum is estimated separately (its own selection)
        and the estimates are summed, with an interval for the sum.
    bootstrap : int, optional
        Number of bootstrap replicates; default 1,000 when ``ci`` is ``"percentile"``
        or ``"bca"``, else no bootstrap.
    rng : int, numpy.random.Generator or None
        Seed of the bootstrap.
    average : {None, "aic", "bic"}
        Report the model average over the models considered by ``select``, weighted by
        Akaike (or BIC) weights, instead of the chosen model (not with ``strata``).
    engine : {"numpy", "statsmodels"}
        Fit the reported model with flestimate's batched IRLS (default) or with
        statsmodels' GLM (the reference route; same numbers to about 1e-10).

    Returns
    -------
    MSEResult

    Raises
    ------
    ValidationError
        Bad data (see :func:`flestimate.mse.tables.capture_tables`) or options.
    EstimationError
        The model's MLE does not exist or is not identifiable; the message names the
        interaction and the reason.

    Notes
    -----
    The counts :math:`y_z` of the :math:`2^K - 1` observable capture patterns are
    Poisson with :math:`\\log \\lambda_z = \\mu + \\sum_k \\alpha_k z_k + \\sum_{(i,j)
    \\in I} \\beta_{ij} z_i z_j`; the dark figure is :math:`\\hat N_0 = e^{\\hat\\mu}`
    and the total :math:`\\hat N = n + e^{\\hat\\mu}`. The unobserved patterns are zero
    counts, never dropped. Assumptions: a closed population over the period of the
    lists; within a stratum, capture probabilities homogeneous up to the interactions
    modelled; list dependence only through the interactions included. Internal
    consistency studies found nominal 95 % intervals covering 60-90 %.

    References
    ----------
    Bishop, Y. M. M., Fienberg, S. E. and Holland, P. W. (1975). Discrete Multivariate
    Analysis, ch. 6. MIT Press.
    Silverman, B. W. (2020). Multiple-systems analysis for the quantification of modern
    slavery: classical and Bayesian approaches. JRSS A 183(3), 691-736.
    Chan, L., Silverman, B. W. and Vincent, K. (2021). Multiple systems estimation for
    sparse capture data. JASA 116(535), 1297-1306.

    Examples
    --------
    >>> from flestimate import mse
    >>> uk = mse.uk_2013()
    >>> r = mse.fit(uk, lists=["LA", "NG", "PF", "GO", "GP", "NCA"],
    ...             interactions=[("PF", "NCA"), ("LA", "NG")])
    >>> print(f"{r.observed:,} observed, total {r.total:,.0f} "
    ...       f"({r.ci[0]:,.0f} - {r.ci[1]:,.0f})")
    2,744 observed, total 14,218 (12,627 - 16,127)
    >>> mse.fit(uk, lists=["LA", "NG", "PF", "GO", "GP", "NCA"], select="stepwise").model
    (('PF', 'NCA'), ('LA', 'NG'), ('NG', 'GP'), ('LA', 'PF'), ('PF', 'GP'), ('GO', 'GP'), ('NG', 'GO'))
    """
    lv = _check_options(ci, level, select, threshold, average, engine, bootstrap)
    if average is not None and strata is not None:
        raise ValidationError("average= with strata= is not supported; average each stratum "
                              "separately (fit it on the stratum's rows).")
    tables = capture_tables(data, lists=lists, count=count, strata=strata)
    names = tables[0].lists
    ints = normalise_interactions(names, interactions)
    diags: list[Diagnostic] = [d for t in tables for d in t.diagnostics]
    fits, frames, selections = [], [], []
    for table in tables:  # strata: a handful, each fitted as a whole
        f, sel, frame = _one_table(table, ints, select, threshold, engine, lv)
        fits.append(f)
        selections.append(sel)
        if strata is not None:
            frame.insert(0, "stratum", table.stratum)
        frames.append(frame)
        for a, b in f.empty_overlaps:
            where = "" if table.stratum is None else f"stratum {table.stratum!r}: "
            diags.append(Diagnostic(
                code="empty_overlap",
                message=(f"{where}lists {a} and {b} share no case: the interaction {a}:{b} is "
                         f"estimated as -infinity and the patterns with both lists are fitted "
                         "as 0 (extended MLE)."),
                context=(("interaction", f"{a}:{b}"),)))
    intervals = [profile_interval_sum(fits, lv), wald_interval_sum(fits, lv)]
    boot_info = None
    n_boot = bootstrap if bootstrap is not None else (1000 if ci in ("percentile", "bca") else None)
    if n_boot is not None:
        boot_intervals, boot_info, boot_diags = _bootstrap(fits, n_boot, rng, lv)
        intervals += boot_intervals
        diags += boot_diags
    observed = sum(f.observed for f in fits)
    dark = float(sum(f.dark for f in fits))
    averaged = None
    if average is not None:
        considered = [c.fit for c in selections[0].considered if c.fit is not None]
        avg = model_average(considered, average, lv)
        averaged = Interval(f"model-averaged ({average})", lv, avg["dark_lower"],
                            avg["dark_upper"], observed + avg["dark_lower"],
                            observed + avg["dark_upper"])
        intervals.append(averaged)
        dark = avg["dark"]
    chosen = {"profile": 0, "wald": 1, "percentile": 2, "bca": 3}[ci]
    headline = averaged if averaged is not None else intervals[chosen]
    for d in diags:
        if d.severity == "warning":
            warnings.warn(d.message, MSEWarning, stacklevel=2)
    models = pd.concat(frames, ignore_index=True)
    coefs = pd.concat([f.coefficients.assign(stratum=t.stratum) if strata is not None
                       else f.coefficients for f, t in zip(fits, tables, strict=True)],
                      ignore_index=True)
    used_threshold = selections[0].threshold if selections[0] is not None else None
    by_stratum = {}
    if strata is not None:
        for t, f, frame in zip(tables, fits, frames, strict=True):
            by_stratum[t.stratum] = _single(f, frame, lv, ci, select, used_threshold, names)
    return MSEResult(
        lists=names, observed=observed, dark=dark, total=observed + dark,
        ci=(headline.total_lower, headline.total_upper),
        dark_ci=(headline.dark_lower, headline.dark_upper), level=lv,
        ci_method=headline.method, model=(fits[0].interactions if strata is None else
                                          {t.stratum: f.interactions for t, f in zip(tables, fits, strict=True)}),
        models=models, coefficients=coefs,
        intervals=pd.DataFrame([i.as_dict() for i in intervals]), selection=select,
        threshold=used_threshold, bootstrap=boot_info, strata=strata, by_stratum=by_stratum, diagnostics=tuple(diags),
        fits=tuple(fits),
    )


def _bootstrap(fits: list[ModelFit], n_boot: int, rng: Any,
               level: float) -> tuple[list[Interval], dict, list[Diagnostic]]:
    """Percentile and BCa intervals of the summed total, the bootstrap record, its warning."""
    reps = boot.replicate(fits, n_boot, rng)
    ok = reps.n - reps.n_failed
    if ok < 10:
        raise EstimationError(
            f"bootstrap: only {ok} of {reps.n} replicate fits succeeded ({reps.reasons}); "
            "the bootstrap interval cannot be computed. Use ci='profile'."
        )
    influence = [boot.jackknife_influence(f) for f in fits]
    delta = np.concatenate([d for d, _ in influence])
    weight = np.concatenate([w for _, w in influence])
    observed = sum(f.observed for f in fits)
    total = observed + sum(f.dark for f in fits)
    intervals = [boot.percentile_interval(reps, level, observed),
                 boot.bca_interval(reps, level, total, total - observed, delta, weight)]
    info = {"replicates": reps.n, "failed": reps.n_failed, "reasons": reps.reasons,
            "seed": rng if isinstance(rng, (int, np.integer)) else None}
    diags = []
    if reps.n_failed:
        diags.append(Diagnostic(
            code="bootstrap_failures",
            message=(f"{reps.n_failed} of {reps.n} bootstrap fits failed "
                     f"({', '.join(f'{k}: {v}' for k, v in reps.reasons.items() if v)}); "
                     "the bootstrap intervals use the others."),
            context=tuple(reps.reasons.items())))
    return intervals, info, diags


def _single(fit: ModelFit, frame: pd.DataFrame, level: float, ci: str, select, threshold,
            names) -> MSEResult:
    """A stratum's own result (profile and Wald intervals; the bootstrap is of the sum)."""
    intervals = [profile_interval_sum([fit], level), wald_interval_sum([fit], level)]
    head = intervals[1] if ci == "wald" else intervals[0]
    return MSEResult(
        lists=names, observed=fit.observed, dark=fit.dark, total=fit.total,
        ci=(head.total_lower, head.total_upper), dark_ci=(head.dark_lower, head.dark_upper),
        level=level, ci_method=head.method, model=fit.interactions,
        models=frame.drop(columns="stratum"), coefficients=fit.coefficients,
        intervals=pd.DataFrame([i.as_dict() for i in intervals]), selection=select,
        threshold=threshold, diagnostics=fit.table.diagnostics, fits=(fit,),
    )

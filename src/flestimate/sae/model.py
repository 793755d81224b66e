"""The Fay-Herriot area-level model: :func:`fay_herriot`, from a table of areas with
direct estimates, their sampling variances and covariates."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from flestimate.errors import (
    Diagnostic,
    DomainWarning,
    EstimationError,
    ReliabilityWarning,
    ValidationError,
    first_values,
    not_in_data,
    positive_number,
)
from flestimate.sae.benchmark import BENCHMARKS, benchmark_estimates
from flestimate.sae.fit import METHODS, fit_variance, gls
from flestimate.sae.formula import model_matrix
from flestimate.sae.mse import ANALYTIC_MSE, MSE_METHODS, analytic_mse
from flestimate.sae.result import FayHerriotResult, ModelArrays
from flestimate.sae.transform import (
    BACK_TRANSFORMS,
    TRANSFORMS,
    arcsin_back,
    arcsin_forward,
    bootstrap_mse,
)
from flestimate.sae.variances import SMOOTH, smooth_variances, unstable_variances

__all__ = ["fay_herriot"]


def _choice(name: str, value: Any, allowed: tuple, *, none: bool = False) -> Any:
    if value is None and none:
        return None
    if isinstance(value, str):
        for a in allowed:
            if value.lower() == a.lower():
                return a
    shown = ", ".join(map(repr, allowed)) + (" or None" if none else "")
    raise ValidationError(f"{name}={value!r} is not known. Use {shown}.")


def _positive_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValidationError(f"{name}={value!r} must be an integer >= {low}.")
    return int(value)


def _numeric_column(frame: pd.DataFrame, name: Any, what: str) -> np.ndarray:
    if not isinstance(name, str) or name not in frame.columns:
        raise EstimationError(not_in_data(f"{what}={name!r}", [name], frame.columns))
    col = frame[name]
    if not (pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col)):
        conv = pd.to_numeric(col, errors="coerce")
        bad = conv.isna() & col.notna()
        if bad.any():
            raise EstimationError(
                f"{what} column {name!r} is not numeric ({int(bad.sum())} values cannot be read "
                f"as numbers; first: {first_values(col[bad].unique()[:5])}). Convert it to numbers."
            )
        col = conv
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def _area_labels(frame: pd.DataFrame, area: Any) -> pd.Series:
    if not isinstance(area, str) or area not in frame.columns:
        raise EstimationError(not_in_data(f"area={area!r}", [area], frame.columns,
                                          "Name the column identifying the areas."))
    labels = frame[area].reset_index(drop=True)
    if labels.isna().any():
        raise EstimationError(
            f"area column {area!r} has {int(labels.isna().sum())} missing values (rows "
            f"{first_values(np.flatnonzero(labels.isna().to_numpy()))}). Every row must name its area."
        )
    dup = labels.duplicated(keep=False)
    if dup.any():
        raise EstimationError(
            f"area column {area!r} has repeated areas ({first_values(labels[dup].unique())}). "
            "Give one row per area (aggregate the rows of an area first)."
        )
    return labels


def population_weights(population: Any, labels: pd.Series, what: str) -> np.ndarray:
    """Positive population sizes aligned with ``labels``: a Series is matched by its index
    (the area labels), anything else is taken in row order."""
    if isinstance(population, pd.Series):
        missing = ~labels.isin(population.index)
        if missing.any():
            raise EstimationError(
                f"{what} has no value for {int(missing.sum())} areas "
                f"({first_values(labels[missing])}). A Series gives the population of each "
                "area by its index (the area labels); pass .to_numpy() for values in row order."
            )
        values = population.reindex(labels.to_numpy()).to_numpy(dtype=np.float64)
    else:
        values = np.asarray(population, dtype=np.float64).ravel()
        if values.size != len(labels):
            raise EstimationError(
                f"{what} has {values.size} values for {len(labels)} areas. Give one per area, "
                "or a Series indexed by area."
            )
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        raise EstimationError(
            f"{what} is not a positive number for {int(bad.sum())} areas "
            f"({first_values(labels[bad])}). Populations must be > 0."
        )
    return values


def _sampling_variances(frame, se, variance, sampled, labels) -> np.ndarray:
    if (se is None) == (variance is None):
        raise ValidationError(
            "give the sampling error of the direct estimates as exactly one of se= (standard "
            "errors) or variance= (variances)."
        )
    name, what = (se, "se") if se is not None else (variance, "variance")
    values = _numeric_column(frame, name, what)
    negative = sampled & (values < 0)
    if negative.any():
        raise EstimationError(
            f"{what} column {name!r} has {int(negative.sum())} negative values (areas "
            f"{first_values(labels[negative])}). Sampling errors must be >= 0."
        )
    return values**2 if se is not None else values


def _interval(estimate, mse, model_eblup, model_mse, transform, level, scale):
    z = stats.norm.ppf(0.5 + level / 2.0)
    if transform == "arcsin":
        half = z * np.sqrt(model_mse)
        lo = arcsin_back(model_eblup - half, 0.0, "naive") * scale
        hi = arcsin_back(model_eblup + half, 0.0, "naive") * scale
        return lo, hi
    half = z * np.sqrt(mse)
    return estimate - half, estimate + half


def apply_benchmark(frame, weights, target, method, transform, level):
    """Benchmark the area frame; returns the new frame, the summary and notes."""
    method = _choice("benchmark", method, BENCHMARKS)
    target = float(target)
    if not np.isfinite(target):
        raise ValidationError(f"benchmark target={target!r} must be a finite number.")
    est = frame["estimate"].to_numpy()
    mse = frame["mse"].to_numpy()
    done = benchmark_estimates(est, mse, weights, target, method)
    out = frame.copy()
    out["estimate_unbenchmarked"] = est
    out["mse_unbenchmarked"] = mse
    out["estimate"] = done.estimate
    out["mse"] = done.mse
    out["rmse"] = np.sqrt(done.mse)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cv"] = out["rmse"] / np.abs(done.estimate)
    if transform == "arcsin":  # the transformed-scale interval, moved like the estimate
        lo, hi = frame["ci_lower"].to_numpy(), frame["ci_upper"].to_numpy()
        if method == "ratio":
            lo, hi = lo * done.adjustment, hi * done.adjustment
        else:
            lo, hi = lo + done.adjustment, hi + done.adjustment
    else:
        lo, hi = _interval(done.estimate, done.mse, None, None, None, level, 1.0)
    out["ci_lower"], out["ci_upper"] = lo, hi
    increase = float(np.mean(done.mse / mse) - 1.0)
    note = Diagnostic(
        "benchmarked",
        f"estimates {method}-benchmarked to {target:.6g} (population-weighted mean before: "
        f"{done.aggregate_before:.6g}); the MSEs grew by {increase:.1%} on average.",
        severity="info",
        context=(("mean_mse_increase", increase),),
    )
    info = {**done.as_dict(), "mean_mse_increase": increase}
    return out, info, (note,)


@dataclass(frozen=True)
class ModelInputs:
    """The sampled areas' direct estimates ``y`` and sampling variances ``d`` on the model
    scale, their variances ``v_p`` on the proportion scale (``direct / scale``), which
    areas were smoothed, the GVF summary and the note (and whether to warn)."""

    y: np.ndarray
    d: np.ndarray
    v_p: np.ndarray
    smoothed: np.ndarray
    gvf: dict[str, Any] | None
    note: Diagnostic | None
    warn: bool


def _model_inputs(y, v, counts, sampled, labels, *, direct, transform, smooth, scale):
    """Smooth the unusable sampling variances (GVF) and move to the model scale."""
    m = int(sampled.sum())
    lab_in = labels[sampled].to_numpy()
    p_in = y[sampled] / scale
    v_in = v[sampled]
    v_p = v_in / scale**2  # proportion scale
    unstable = unstable_variances(p_in, v_p, proportion=transform is not None)
    replace = unstable if smooth != "all" else np.ones(m, dtype=bool)
    if unstable.any() and smooth == "none":
        raise EstimationError(
            f"{int(unstable.sum())} of {m} sampled areas have a direct variance of zero or none"
            + (" or a proportion of 0 or 1" if transform else "")
            + f" (areas {first_values(lab_in[unstable])}). Use "
            "smooth='unstable' with n= to give them smoothed variances, or fix the variances."
        )
    if transform or replace.any():
        bad = ~((p_in >= 0) & (p_in <= 1))
        if bad.any():
            why = ("so they are not proportions for transform='arcsin'" if transform else
                   f"and {int(unstable.sum())} areas have a direct variance of zero or none "
                   f"(areas {first_values(lab_in[unstable])}), which is smoothed for "
                   "proportions only")  # fmt: skip
            raise EstimationError(
                f"direct column {direct!r} has values outside [0, {scale:g}] (areas "
                f"{first_values(lab_in[bad])}), {why}. Give scale= (the units of {direct!r}) "
                "for proportions; for other estimates give every area a positive variance."
            )
    gvf, note = None, None
    if replace.any():
        n_in = counts[sampled] if counts is not None else np.full(m, np.nan)
        sv = smooth_variances(p_in, v_p, n_in, replace, lab_in)
        v_p = sv.variance
        gvf = {"deff": sv.deff, "p_pooled": sv.p_pooled, "areas_smoothed": int(replace.sum()),
               "areas_used": sv.areas_used}  # fmt: skip
        zero = ~(np.isfinite(v_in) & (v_in > 0))
        msg = (
            f"{int(replace.sum())} of {m} sampled areas use a smoothed sampling variance "
            f"(generalised variance function: pooled design effect {sv.deff:.3g} x "
            f"{sv.p_pooled:.4g} (1 - {sv.p_pooled:.4g}) / n)"
            + (f"; {int(unstable.sum())} had a direct variance of zero or none or a proportion "
               f"of 0 or 1 (areas {first_values(lab_in[unstable])})" if unstable.any() else "")
            + "."
        )  # fmt: skip
        note = Diagnostic("variance_smoothed", msg,
                          context=(("areas", int(replace.sum())), ("zero", int(zero.sum()))))  # fmt: skip
    if transform == "arcsin":
        y_m, d_m = arcsin_forward(p_in, v_p)
        if replace.any():  # the variance-stabilised GVF: deff / (4 n)
            d_m = np.where(replace, gvf["deff"] / (4.0 * counts[sampled]), d_m)
    else:
        y_m, d_m = y[sampled], v_p * scale**2
    return ModelInputs(y=y_m, d=d_m, v_p=v_p, smoothed=replace, gvf=gvf, note=note,
                       warn=bool(unstable.any()))  # fmt: skip


def _area_frame(*, labels, y, v, sampled, inputs, eblup_m, synthetic_m, mse_m, boot_mse,
                sigma2_u, transform, back_transform, level, scale) -> pd.DataFrame:
    """The area table in the units of the estimates (back-transformed when transformed)."""
    d_m = inputs.d
    gamma = np.zeros(len(labels))
    gamma[sampled] = gamma_in = sigma2_u / (sigma2_u + d_m)
    if transform == "arcsin":
        s2 = np.full(len(labels), sigma2_u)
        s2[sampled] = gamma_in * d_m
        estimate = arcsin_back(eblup_m, s2, back_transform) * scale
        synthetic = arcsin_back(synthetic_m, sigma2_u, back_transform) * scale
    else:
        estimate, synthetic = eblup_m, synthetic_m
    mse_out = mse_m if boot_mse is None else boot_mse * (scale**2 if transform else 1.0)
    lo, hi = _interval(estimate, mse_out, eblup_m, mse_m, transform, level, scale)
    model_var = np.full(len(labels), np.nan)
    model_var[sampled] = inputs.v_p * scale**2
    smoothed = np.zeros(len(labels), dtype=bool)
    smoothed[sampled] = inputs.smoothed
    direct_se = np.where(sampled, np.sqrt(v), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame = pd.DataFrame(
            {
                "area": labels,
                "direct": np.where(sampled, y, np.nan),
                "direct_se": direct_se,
                "estimate": estimate,
                "mse": mse_out,
                "gamma": gamma,
                "rmse": np.sqrt(mse_out),
                "cv": np.sqrt(mse_out) / np.abs(estimate),
                "ci_lower": lo,
                "ci_upper": hi,
                "synthetic": synthetic,
                "direct_cv": direct_se / np.abs(y),
                "model_se": np.sqrt(model_var),
                "in_sample": sampled,
                "variance_smoothed": smoothed,
            }
        )
    return frame


def fay_herriot(
    data: pd.DataFrame,
    *,
    direct: str,
    se: str | None = None,
    variance: str | None = None,
    formula: str,
    area: str,
    method: str = "REML",
    transform: str | None = None,
    benchmark: str | None = None,
    back_transform: str = "bias-corrected",
    mse: str | None = None,
    n: str | None = None,
    smooth: str = "unstable",
    population: str | None = None,
    benchmark_target: float | None = None,
    n_bootstrap: int = 200,
    rng: int | np.random.Generator | None = None,
    level: float = 0.95,
    scale: float = 1.0,
    tol: float = 1e-10,
    maxiter: int = 100,
) -> FayHerriotResult:
    """Fay-Herriot EBLUP of area means or proportions, with MSEs.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per area: the areas with a sample (``direct`` given) and, for synthetic
        estimates, the areas without (``direct`` missing). Not modified.
    direct : str
        Column of direct estimates (design-based, e.g. from
        :func:`flestimate.sae.direct_estimates`).
    se, variance : str
        Column of their standard errors, or of their sampling variances (exactly one).
    formula : str
        Covariates, patsy syntax: ``"~ x1 + np.log(x2) + C(region)"`` (the intercept is
        included unless ``- 1``). Columns of ``data``, known for every area.
    area : str
        Column naming the areas (unique).
    method : {"REML", "ML", "FH"}
        Estimator of the random-effect variance: restricted or full maximum likelihood,
        or the Fay-Herriot moment method.
    transform : {None, "arcsin"}
        ``"arcsin"`` fits the model to :math:`\\arcsin\\sqrt{p}` (``direct / scale``
        must be proportions) and back-transforms; for prevalences near zero.
    benchmark : {None, "ratio", "difference"}
        Make the ``population``-weighted mean of the estimates equal ``benchmark_target``.
    back_transform : {"bias-corrected", "naive"}
        With ``transform``: the conditional expectation of :math:`\\sin^2` (default) or
        :math:`\\sin^2` of the estimate.
    mse : {None, "datta-lahiri", "prasad-rao", "bootstrap"}
        MSE estimator. None: ``"datta-lahiri"`` (second-order unbiased for REML, ML
        and FH), or ``"bootstrap"`` with ``transform``.
    n : str, optional
        Column of respondents per area; needed to smooth variances (``smooth``).
    smooth : {"unstable", "all", "none"}
        Sampling variances replaced by the generalised variance function (proportions
        only): those that are zero, missing or of a proportion of 0 or 1
        (``"unstable"``, with a DomainWarning counting them), every area's (``"all"``),
        or none (such areas are then an error).
    population : str, optional
        Column of area population sizes, the benchmarking weights.
    benchmark_target : float, optional
        The direct national estimate, in the units of ``direct``.
    n_bootstrap : int, default 200
        Replicates of the bootstrap MSE.
    rng : int, numpy.random.Generator or None
        Seed or generator of the bootstrap (recorded on the result as ``seed``).
    level : float, default 0.95
        Confidence level of the intervals.
    scale : float, default 1
        Units of ``direct``: 1 for proportions, 1000 for prevalences per 1,000 (used
        by ``transform`` and ``smooth``, which work on proportions).
    tol : float, default 1e-10
        Relative change of the variance estimate at which the scoring stops.
    maxiter : int, default 100

    Returns
    -------
    FayHerriotResult
        ``.to_frame()`` has one row per area (``area``, ``direct``, ``direct_se``,
        ``estimate``, ``mse``, ``gamma``, ...); ``.beta``, ``.beta_se``, ``.sigma2_u``.

    Raises
    ------
    ValidationError
        An option is not known or out of range.
    EstimationError
        A column is missing or not numeric, areas repeat, covariates are missing or
        collinear, variances are negative or (with ``smooth="none"``) zero, too few
        areas have a sample, or the variance estimate does not converge.

    Notes
    -----
    The model (Rao & Molina 2015, ch. 6): :math:`y_d = x_d'\\beta + u_d + e_d`,
    :math:`u_d \\sim N(0, \\sigma^2_u)`, :math:`e_d \\sim N(0, D_d)` with :math:`D_d`
    the (known) sampling variance. The EBLUP is
    :math:`\\hat\\theta_d = \\gamma_d y_d + (1 - \\gamma_d) x_d'\\hat\\beta`,
    :math:`\\gamma_d = \\hat\\sigma^2_u / (\\hat\\sigma^2_u + D_d)`; an area without a
    sample gets the synthetic :math:`x_d'\\hat\\beta`. :math:`\\hat\\beta` is the GLS
    estimate at :math:`\\hat\\sigma^2_u` (:func:`flestimate.sae.fit.fit_variance`),
    the MSEs those of :func:`flestimate.sae.mse.analytic_mse` or
    :func:`flestimate.sae.transform.bootstrap_mse`. Intervals are
    :math:`\\hat\\theta_d \\pm z\\sqrt{\\mathrm{mse}_d}`; with ``transform`` they are
    built on the arcsine scale (analytic MSE there) and back-transformed, so they stay
    within [0, 1].

    References
    ----------
    Fay, R. E. and Herriot, R. A. (1979). JASA 74, 269-277.
    Prasad, N. G. N. and Rao, J. N. K. (1990). JASA 85, 163-171.
    Datta, G. S. and Lahiri, P. (2000). Statistica Sinica 10, 613-627.
    Rao, J. N. K. and Molina, I. (2015). Small Area Estimation, 2nd ed. Wiley.

    Examples
    --------
    >>> import pandas as pd
    >>> from flestimate import sae
    >>> milk = pd.read_csv("tests/reference/data/milk.csv")
    >>> fit = sae.fay_herriot(milk, direct="yi", se="SD", formula="~ C(MajorArea)",
    ...                       area="SmallArea")
    >>> fit.beta.round(4).tolist()
    [0.9682, 0.1328, 0.2269, -0.2413]
    >>> print(fit.to_frame()[["area", "direct", "estimate", "mse", "gamma"]].head(3)
    ...       .round(4).to_string(index=False))
     area  direct  estimate    mse  gamma
        1   1.099    1.0220 0.0135 0.4111
        2   1.075    1.0476 0.0054 0.7435
        3   1.105    1.0680 0.0057 0.7292
    """
    from flestimate.simulation.parameters import make_rng

    if not isinstance(data, pd.DataFrame):
        raise ValidationError(
            f"data must be a pandas DataFrame with one row per area; found {type(data).__name__}."
        )
    method = _choice("method", method, METHODS)
    transform = _choice("transform", transform, TRANSFORMS, none=True)
    benchmark = _choice("benchmark", benchmark, BENCHMARKS, none=True)
    back_transform = _choice("back_transform", back_transform, BACK_TRANSFORMS)
    smooth = _choice("smooth", smooth, SMOOTH)
    mse_method = _choice("mse", mse, MSE_METHODS, none=True)
    if mse_method is None:
        mse_method = "bootstrap" if transform else "datta-lahiri"
    if transform and mse_method in ANALYTIC_MSE:
        raise ValidationError(
            f"mse={mse!r} gives MSEs on the arcsine scale only; the MSE of the back-transformed "
            "estimates needs mse='bootstrap' (the default with transform='arcsin')."
        )
    n_bootstrap = _positive_int("n_bootstrap", n_bootstrap, 1)
    maxiter = _positive_int("maxiter", maxiter, 1)
    scale = positive_number("scale", scale)
    tol = positive_number("tol", tol)
    from flestimate.estimation.table import check_level

    level = check_level(level)
    if benchmark is not None and (benchmark_target is None or population is None):
        raise ValidationError(
            f"benchmark={benchmark!r} needs benchmark_target= (the direct national estimate) "
            "and population= (the column of area populations)."
        )

    labels = _area_labels(data, area)
    y = _numeric_column(data, direct, "direct")
    sampled = np.isfinite(y)
    v = _sampling_variances(data, se, variance, sampled, labels)
    counts = _numeric_column(data, n, "n") if n is not None else None
    x, terms = model_matrix(data, formula, labels)
    m, p = int(sampled.sum()), x.shape[1]
    if m <= p:
        raise EstimationError(
            f"{m} areas have a direct estimate in column {direct!r} and the formula has {p} "
            "terms; the model needs more areas than terms. Drop covariates or add areas."
        )
    if np.linalg.matrix_rank(x[sampled]) < p:
        raise EstimationError(
            f"the covariates of formula {formula!r} are collinear over the {m} sampled areas "
            f"(terms: {', '.join(terms)}). Drop a term, or merge levels that have no sampled area."
        )
    weights = None
    if benchmark is not None:
        weights = population_weights(_numeric_column(data, population, "population"), labels,
                                     f"population column {population!r}")  # fmt: skip

    notes: list[Diagnostic] = []
    inputs = _model_inputs(y, v, counts, sampled, labels, direct=direct, transform=transform,
                           smooth=smooth, scale=scale)  # fmt: skip
    y_m, d_m = inputs.y, inputs.d
    if inputs.note is not None:
        if inputs.warn:
            warnings.warn(inputs.note.message, DomainWarning, stacklevel=2)
        notes.append(inputs.note)
    x_in = x[sampled]
    fit = fit_variance(y_m[None, :], d_m, x_in, method, tol=tol, maxiter=maxiter)
    if not fit.converged[0]:
        raise EstimationError(
            f"the {method} estimate of the random-effect variance did not converge in {maxiter} "
            "iterations. Try method='FH', raise maxiter=, or check the sampling variances "
            "(very small ones dominate the fit)."
        )
    a = float(fit.sigma2_u[0])
    g = gls(y_m[None, :], d_m, x_in, fit.sigma2_u)
    beta, q, resid = g.beta[0], g.q[0], g.resid[0]
    gamma_in = a / (a + d_m)
    synthetic_m = x @ beta
    eblup_m = synthetic_m.copy()
    eblup_m[sampled] += gamma_in * resid
    terms_mse = analytic_mse("datta-lahiri" if mse_method == "bootstrap" else mse_method,
                             method, a, d_m, x_in, q, x[~sampled])  # fmt: skip
    mse_m = np.empty(len(labels))
    mse_m[sampled], mse_m[~sampled] = terms_mse.mse, terms_mse.synthetic_mse

    seed = None
    boot = None
    if mse_method == "bootstrap":
        gen, seed = make_rng(rng)
        boot = bootstrap_mse(x=x, sampled=sampled, beta=beta, sigma2_u=a, d=d_m, method=method,
                             transform=transform, back_transform=back_transform,
                             n_bootstrap=n_bootstrap, rng=gen, tol=tol, maxiter=maxiter)  # fmt: skip
        if boot.dropped:
            msg = (f"{boot.dropped} of {n_bootstrap} bootstrap replicates did not converge and "
                   f"were left out; the bootstrap MSE rests on {boot.replicates}.")  # fmt: skip
            warnings.warn(msg, ReliabilityWarning, stacklevel=2)
            notes.append(Diagnostic("bootstrap_dropped", msg))
    if a == 0.0:
        notes.append(Diagnostic(
            "sigma2_u_zero",
            "the random-effect variance is estimated at 0: every estimate is the synthetic "
            "x'beta. The covariates leave no between-area variation the data can show; check "
            "the sampling variances (overstated ones hide it) before publishing.",
            severity="info",
        ))  # fmt: skip

    # ---- back to the units of the estimates
    frame = _area_frame(labels=labels, y=y, v=v, sampled=sampled, inputs=inputs,
                        eblup_m=eblup_m, synthetic_m=synthetic_m, mse_m=mse_m,
                        boot_mse=boot.mse if boot is not None else None, sigma2_u=a,
                        transform=transform, back_transform=back_transform, level=level,
                        scale=scale)  # fmt: skip
    if counts is not None:
        frame["n"] = counts
    if (~sampled).any():
        notes.append(Diagnostic(
            "synthetic", f"{int((~sampled).sum())} areas have no sample and get the synthetic "
            f"estimate x'beta (areas {first_values(labels[~sampled])}).", severity="info",
        ))  # fmt: skip

    v_tot = a + d_m
    loglike = float(-0.5 * np.sum(np.log(2.0 * np.pi * v_tot) + resid**2 / v_tot))
    model = ModelArrays(y=y_m, d=d_m, synthetic=synthetic_m, eblup=eblup_m, sampled=sampled)
    benchmarking = None
    if benchmark is not None:
        frame, benchmarking, extra = apply_benchmark(frame, weights, benchmark_target, benchmark,
                                                     transform, level)  # fmt: skip
        notes.extend(extra)
    return FayHerriotResult(
        _frame=frame,
        beta=pd.Series(beta, index=terms, name="beta"),
        beta_se=pd.Series(np.sqrt(np.diag(q)), index=terms, name="beta_se"),
        sigma2_u=a,
        sigma2_u_se=float(np.sqrt(terms_mse.variance_of_sigma2_u)),
        method=method,
        mse_method=mse_method,
        transform=transform,
        back_transform=back_transform if transform else None,
        formula=formula,
        area=area,
        level=level,
        scale=scale,
        converged=True,
        iterations=fit.iterations,
        tolerance=tol,
        loglike=loglike,
        aic=-2.0 * loglike + 2.0 * (p + 1),
        bic=-2.0 * loglike + (p + 1) * np.log(m),
        n_bootstrap=boot.replicates if boot is not None else None,
        seed=seed,
        benchmarking=benchmarking,
        gvf=inputs.gvf,
        diagnostics=tuple(notes),
        _model=model,
    )

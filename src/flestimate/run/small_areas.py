"""The ``small_areas:`` section of a run: model-based estimates by area beside the direct.

The calls are the ones a notebook user makes::

    direct = build_table(design, <prevalence by area>)     # the run's own table rules
    fit = flestimate.sae.small_area(design, "fl", area="district",
                                    auxiliary=covariates, formula=..., transform=...)

One table comes out, one row per area of the covariate file: the direct estimate
(design-based, graded and suppressed by the ``reliability:`` rules like every other
table) and the model-based estimate (Fay-Herriot EBLUP, its root MSE, interval and
CV, the shrinkage factor ``gamma``) with its own quality grade
(docs/methodology/small-area.md, "Publishing from a run"): ``caution`` when the
model CV exceeds ``reliability.cv_flag`` or the area has no sample (a synthetic
estimate). A model-based estimate is never suppressed (it does not rest on the
area's respondents alone), but ``gamma`` is blanked where the direct estimate is
suppressed, since with the coefficients it would give the direct estimate back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import ConfigError, EstimationError, ValidationError
from flestimate.report.result import ReportSection, SectionTable
from flestimate.run.config_specs import Config, SmallAreaSpec, TableSpec
from flestimate.run.tables import build_table
from flestimate.sae import small_area

__all__ = ["add_area_column", "small_area_section"]

_KEY = "small_areas"


def add_area_column(frame: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The frame with the area column taken from the lookup file (unchanged without one)."""
    spec = config.small_areas
    if spec is None or spec.lookup is None:
        return frame
    lookup = pd.read_csv(spec.lookup)
    if lookup[spec.lookup_key].duplicated().any():
        raise ConfigError(f"{_KEY}.lookup: {spec.lookup.name} gives some {spec.lookup_key} "
                          f"values more than one {spec.area}; one row per {spec.lookup_key}")
    if spec.area in frame.columns:
        raise ConfigError(f"{_KEY}.lookup: the survey already has a column {spec.area!r}; "
                          f"remove the lookup (or rename the lookup's area column)")
    out = frame.copy()
    key = pd.to_numeric(out[spec.lookup_key], errors="coerce") \
        if pd.api.types.is_numeric_dtype(lookup[spec.lookup_key]) else out[spec.lookup_key]
    out[spec.area] = key.map(lookup.set_index(spec.lookup_key)[spec.area])
    unmatched = int(out[spec.area].isna().sum())
    if unmatched:
        raise ConfigError(f"{_KEY}.lookup: {unmatched} respondents have a {spec.lookup_key} that "
                          f"is not in {spec.lookup.name}; every value needs its area")
    return out


def _covariates(spec: SmallAreaSpec, area_values: pd.Series) -> pd.DataFrame:
    cov = pd.read_csv(spec.covariates)
    if cov[spec.area].duplicated().any():
        raise ConfigError(f"{_KEY}.covariates: {spec.covariates.name} has more than one row for "
                          f"some areas; one row per {spec.area}")
    if pd.api.types.is_numeric_dtype(area_values) != pd.api.types.is_numeric_dtype(cov[spec.area]):
        cov[spec.area] = cov[spec.area].astype(area_values.dtype) \
            if pd.api.types.is_numeric_dtype(area_values) else cov[spec.area].astype(str)
    return cov


def _fit(design: Any, spec: SmallAreaSpec, config: Config, cov: pd.DataFrame) -> Any:
    try:
        return small_area(design, spec.indicator, area=spec.area, auxiliary=cov,
                          formula=spec.formula, population=spec.area_population,
                          rng=config.seed, level=config.level, scale=config.scale,
                          na_rm=config.na_rm, **spec.options)
    except (EstimationError, ValidationError) as exc:
        raise ConfigError(f"{_KEY}: {exc}") from None


def _direct(design: Any, spec: SmallAreaSpec, config: Config, labels: dict,
            diags: list) -> pd.DataFrame:
    """The direct estimates by area, through the run's table rules (grading, suppression)."""
    t = TableSpec(name=spec.name, title=spec.title, indicator=spec.indicator, population="total",
                  statistics=("prevalence",), by=(spec.area,), total=False,
                  ci_method=config.ci_method, level=config.level, key=_KEY)
    tab = build_table(design, t, config, None, labels, diags)
    return tab[tab["statistic"] == "prevalence"]


def area_table(direct: pd.DataFrame, model: pd.DataFrame, area: str,
               rules: Any) -> pd.DataFrame:
    """One row per area: the protected direct estimate beside the model-based one."""
    d = direct.set_index(area)
    m = model.set_index("area")
    idx = m.index
    dget = (lambda c: d[c].reindex(idx).to_numpy()) if len(d) else (
        lambda c: np.full(len(idx), np.nan))
    suppressed = pd.array(dget("suppressed"), dtype="boolean").fillna(False).to_numpy(bool)
    in_sample = m["in_sample"].to_numpy(bool)
    cv = m["cv"].to_numpy(float)
    notes = np.where(~in_sample, "synthetic estimate: no respondent in the area", "")
    high = np.isfinite(cv) & (cv > rules.cv_flag)
    notes = np.where(high, np.where(notes != "", notes + "; ", "")
                     + f"model CV above {rules.cv_flag:g}", notes)
    gamma = np.where(suppressed, np.nan, m["gamma"].to_numpy(float))
    direct_quality = pd.Series(dget("quality"), dtype=object).where(in_sample, "no sample")
    return pd.DataFrame({
        area: idx.to_numpy(),
        "n": np.nan_to_num(np.asarray(dget("n_unweighted"), dtype=float)).astype(np.int64),
        "direct_estimate": dget("estimate"),
        "direct_se": dget("se"),
        "direct_ci_lower": dget("ci_lower"),
        "direct_ci_upper": dget("ci_upper"),
        "direct_cv": dget("cv"),
        "direct_quality": direct_quality.to_numpy(),
        "direct_suppressed": suppressed,
        "direct_suppression_reason": pd.Series(dget("suppression_reason"), dtype=object)
        .fillna("").to_numpy(),
        "model_estimate": m["estimate"].to_numpy(float),
        "model_rmse": m["rmse"].to_numpy(float),
        "model_ci_lower": m["ci_lower"].to_numpy(float),
        "model_ci_upper": m["ci_upper"].to_numpy(float),
        "model_cv": cv,
        "gamma": gamma,
        "variance_smoothed": m["variance_smoothed"].to_numpy(bool),
        "model_quality": np.where(high | ~in_sample, "caution", "ok"),
        "model_notes": notes,
    })  # fmt: skip


_SHOWN = {
    "n": "Respondents",
    "direct_estimate": "Direct estimate", "direct_ci_lower": "Direct CI lower",
    "direct_ci_upper": "Direct CI upper", "direct_cv": "Direct CV", "direct_quality": "Direct quality",
    "model_estimate": "Model-based estimate", "model_rmse": "Model-based root MSE",
    "model_ci_lower": "Model-based CI lower", "model_ci_upper": "Model-based CI upper",
    "model_cv": "Model-based CV", "gamma": "Weight of direct (gamma)",
    "model_quality": "Model-based quality", "model_notes": "Notes",
}  # fmt: skip


def _method(fit: Any, spec: SmallAreaSpec, config: Config, table: pd.DataFrame) -> list[str]:
    f = fit.to_frame()
    sampled = int(f["in_sample"].sum())
    cvs = fit.cv_summary()
    norm = fit.normality()
    text = [
        f"Small-area estimates of {spec.indicator} by {spec.area} (per {config.scale:,g}): "
        f"area-level Fay-Herriot model, {fit.method} estimate of the random-effect variance "
        f"(sigma2_u = {fit.sigma2_u:.4g}, SE {fit.sigma2_u_se:.3g}; "
        + ("converged" if fit.converged else "did NOT converge")
        + f" in {fit.iterations} iterations), covariates {fit.formula} from "
        f"{spec.covariates.name}; {len(f)} areas, {sampled} with respondents and "
        f"{len(f) - sampled} with a synthetic estimate.",
        "Transformation: " + (f"{fit.transform} square root, back-transformed "
                              f"({fit.back_transform})" if fit.transform else "none")
        + f"; MSE: {fit.mse_method}"
        + (f" ({fit.n_bootstrap} replicates, seed {fit.seed})" if fit.n_bootstrap else "")
        + "; benchmarking: "
        + (f"{fit.benchmarking['method']} to the direct national estimate "
           f"{fit.benchmarking['target']:.4g} (adjustment {fit.benchmarking['adjustment']:.4g})"
           if fit.benchmarking else "none") + ".",
        "Direct estimates follow the reliability rules of every table (suppressed cells are "
        "blank). Model-based estimates are published for every area with their own quality "
        "grade: 'caution' when their CV exceeds the flag threshold or the area has no sample; "
        "the weight of the direct estimate (gamma) is blank where the direct estimate is "
        "suppressed.",
        "Is the model good enough to publish? Model-based CVs should be clearly below the "
        f"direct ones (median CV: direct {_median(cvs, 'direct')}, model "
        f"{_median(cvs, 'model')}); the standardised residuals and random effects should look "
        "normal (Shapiro-Wilk p: " + _shapiro(norm) + "); the model-based estimates should "
        "track the direct ones where the sample is large, and the fit should have converged. "
        "See docs/methodology/small-area.md.",
    ]
    return text


def _median(cvs: pd.DataFrame, which: str) -> str:
    v = cvs.set_index("estimate")["median"].get(which, np.nan)
    return f"{float(v):.3g}" if np.isfinite(v) else "n/a"


def _shapiro(norm: pd.DataFrame) -> str:
    p = norm.set_index("check")["shapiro_p"]
    return ", ".join(f"{str(k).replace('_', ' ')} {v:.3g}" if np.isfinite(v) else f"{k} n/a"
                     for k, v in p.items())


def small_area_section(design: Any, config: Config, labels: dict, diags: list) -> ReportSection:
    """The small-area section of the report: the area table and the method stated."""
    spec = config.small_areas
    assert spec is not None
    direct = _direct(design, spec, config, labels, diags)
    cov = _covariates(spec, design.data[spec.area] if hasattr(design, "data") else direct[spec.area])
    fit = _fit(design, spec, config, cov)
    diags.extend(fit.diagnostics)
    table = area_table(direct, fit.to_frame(), spec.area, config.reliability)
    shown = {spec.area: spec.area, **_SHOWN}
    decimals = {c: 2 for c in shown if c.startswith(("direct_", "model_")) and "quality" not in c}
    decimals.update({"direct_cv": 3, "model_cv": 3, "gamma": 3, "n": 0})
    coef = fit.coefficients()
    return ReportSection(
        name=_KEY, title=spec.title, method=_method(fit, spec, config, table),
        tables=[SectionTable(
            name=spec.name, title=spec.title, frame=table, columns=shown, decimals=decimals,
            notes=[f"Direct: design-based, per {config.scale:,g}; model-based: Fay-Herriot "
                   f"{fit.method} EBLUP" + (f" ({fit.transform})" if fit.transform else "")
                   + "."])],
        details={"method": fit.method, "mse_method": fit.mse_method, "transform": fit.transform,
                 "benchmarking": fit.benchmarking, "sigma2_u": fit.sigma2_u,
                 "sigma2_u_se": fit.sigma2_u_se, "converged": fit.converged,
                 "formula": fit.formula, "coefficients": coef,
                 "cv_summary": fit.cv_summary(), "normality": fit.normality()},
    )

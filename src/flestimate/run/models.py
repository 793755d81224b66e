"""The ``models:`` section of a run: design-based regression models and their tables.

Each model is the call a notebook user makes, on the run's (weighted) design::

    design.glm("fl ~ sex + C(region) + migrant", family="quasibinomial", na_rm=True,
               value_labels=labels)

Within a reference population the outcome is missing outside it (``_model_<name>``, a
column added before the design is built), so the population is a *domain* of the full
design: no row is dropped from the design, the PSUs without members still count in the
variance and the degrees of freedom are the domain's (R's ``svyglm`` on
``subset(design, ...)``).

Each model gives a coefficient table (odds ratios or coefficients by term, labelled by
the value labels, with the interval, p-value, df, design effect and respondents), a
coefficient plot and the method stated. Disclosure (docs/methodology/disclosure.md): a
term whose category has fewer than ``reliability.min_n`` respondents among those fitted
is flagged ``few_respondents`` (quality "caution").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import ConfigError, EstimationError, ValidationError
from flestimate.report.plots import coefficient_plot_png
from flestimate.report.result import ReportSection, SectionTable
from flestimate.run.config_specs import Config, ModelSpec

__all__ = ["MODEL_COLUMNS", "MODEL_PREFIX", "add_model_columns", "fit_model", "model_section",
           "model_table"]

MODEL_PREFIX = "_model_"
#: the columns of a model's published table (CSV, data sheet, results.json)
MODEL_COLUMNS = (
    "model", "population", "term", "label", "scale", "estimate", "se", "t", "df", "p_value",
    "ci_lower", "ci_upper", "level", "deff", "n", "n_model", "flags", "quality",
    "quality_notes",
)  # fmt: skip
FEW = "few_respondents"


def add_model_columns(frame: pd.DataFrame, config: Config,
                      pop_cols: dict[str, str | None]) -> pd.DataFrame:
    """The outcome of each model within its reference population, missing outside it
    (``_model_<name>``), added to ``frame`` before the design is built."""
    new = {}
    for m in config.models:
        pop_col = pop_cols[m.population]
        if pop_col is not None:
            y = frame[m.response]
            if y.dtype == bool:
                y = y.astype(np.float64)
            new[f"{MODEL_PREFIX}{m.name}"] = y.where(frame[pop_col] == 1)
    return frame.assign(**new) if new else frame


def _check_missing(design: Any, spec: ModelSpec, pop_col: str | None) -> None:
    """Without ``estimation.na_rm``, a missing value of the model's columns among the
    population's respondents is an error naming the column (as the tables')."""
    data = design.data
    inside = (data[pop_col] == 1).to_numpy() if pop_col else np.ones(len(data), dtype=bool)
    for col in (spec.response, *spec.variables):
        n = int(data[col].isna().to_numpy()[inside].sum())
        if n:
            raise ConfigError(
                f"{spec.key}.formula: the column {col!r} has {n} missing values among the "
                f"respondents of population {spec.population!r}; set estimation.na_rm: true "
                "to leave them out of the model, or impute them first")


def fit_model(design: Any, spec: ModelSpec, config: Config, pop_col: str | None,
              labels: dict[str, dict[Any, str]]) -> Any:
    """The model fitted on the run's design (a :class:`RegressionResult`)."""
    if not config.na_rm:
        _check_missing(design, spec, pop_col)
    response = f"{MODEL_PREFIX}{spec.name}" if pop_col else spec.response
    rhs = spec.formula.split("~", 1)[1]
    value_labels = {c: labels[c] for c in spec.variables if c in labels}
    try:
        return design.glm(f"{response} ~{rhs}", family=spec.family, link=spec.link,
                          na_rm=True, value_labels=value_labels, level=config.level)
    except (EstimationError, ValidationError) as exc:
        raise ConfigError(f"{spec.key}: {str(exc).replace(response, spec.response)}") from None


def _term_counts(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """Respondents of each term's category (the rows where a 0/1 column is 1; every row
    fitted for the intercept and a numeric term) and whether the column is 0/1."""
    model = result.model
    S = model.X_sparse  # column-compressed when kept sparse: no dense matrix is made
    if S is not None:
        S = S.tocsc()
        col = np.repeat(np.arange(S.shape[1]), np.diff(S.indptr))
        other = np.bincount(col, weights=(S.data != 0) & (S.data != 1), minlength=S.shape[1])
        ones = np.bincount(col, weights=S.data == 1, minlength=S.shape[1])
        is01 = other == 0
    else:
        X = model.X
        is01 = ((X == 0) | (X == 1)).all(axis=0)
        ones = (X == 1).sum(axis=0)
    binary = is01 & np.array([n != "Intercept" for n in result.names])
    counts = np.where(binary, ones, model.rows.size)
    return counts.astype(np.int64), binary


def model_table(result: Any, spec: ModelSpec, min_n: int) -> pd.DataFrame:
    """The published coefficient table of one model (:data:`MODEL_COLUMNS`)."""
    t = result.table(exponentiate=spec.exponentiate)
    counts, binary = _term_counts(result)
    few = binary & (counts < min_n)
    flags = [";".join(f for f in (old, FEW if small else "") if f)
             for old, small in zip(t["flags"], few, strict=True)]
    # short: the HTML report shows them in one line
    why = {FEW: f"fewer than {min_n} respondents", "separation": "separation: not reliable",
           "collinear": "collinear: left out", "not_converged": "not converged"}
    notes = ["; ".join(why[f] for f in flag.split(";") if f in why) for flag in flags]
    scale = ("odds ratio" if spec.link == "logit" else "ratio") if spec.exponentiate else \
        "coefficient"
    out = pd.DataFrame({
        "model": spec.name, "population": spec.population, "term": t["term"],
        "label": t["label"], "scale": scale, "estimate": t["estimate"], "se": t["se"],
        "t": t["statistic"], "df": t["df"], "p_value": t["p_value"],
        "ci_lower": t["ci_lower"], "ci_upper": t["ci_upper"], "level": result.level,
        "deff": t["deff"], "n": counts, "n_model": result.n, "flags": flags,
        "quality": np.where(few | (t["flags"] != ""), "caution", "ok"),
        "quality_notes": notes,
    })  # fmt: skip
    return out[list(MODEL_COLUMNS)]


def _method(spec: ModelSpec, result: Any, design: Any, min_n: int) -> list[str]:
    calibration = ", with the calibration term of the weighting steps" if design.residualizers \
        else ""
    variance = (f"Taylor linearisation (the unit scores totalled by PSU{calibration})"
                if getattr(design, "linear_variance", True)
                else "the model refitted with each set of replicate weights")
    among = ("all respondents" if spec.population == "total" else
             f"the respondents of population {spec.population!r}, a domain of the full "
             "design (no row is dropped: PSUs without members count in the variance)")
    ratio = (" Estimates are exponentiated coefficients (odds ratios for the logit link, "
             "ratios for the log link) with exponentiated interval bounds; the p-value tests "
             "a coefficient of 0 (a ratio of 1)." if spec.exponentiate else "")
    fit = (f"{result.n:,} respondents (weighted {result.n_weighted:,.0f}), residual df "
           f"{result.df_resid:g}, " + (f"converged in {result.iterations} iterations."
                                       if result.converged else
                                       f"NOT converged after {result.iterations} iterations."))
    return [
        f"Design-based generalised linear model '{spec.name}': {spec.formula} "
        f"(family {spec.family}, link {spec.link}) among {among}. Coefficients by "
        f"iteratively reweighted least squares on the survey weights; design-based sandwich "
        f"variance (Binder 1983) by {variance}; t statistics, p-values and "
        f"{result.level * 100:g}% intervals on the residual degrees of freedom (design df "
        f"minus parameters plus one), as R survey's svyglm.{ratio} " + fit,
        f"A term whose category has fewer than {min_n} respondents among those fitted is "
        "flagged 'few_respondents' (quality caution): its coefficient rests on few people.",
    ]


def model_section(design: Any, spec: ModelSpec, config: Config, pop_col: str | None,
                  labels: dict[str, dict[Any, str]], *, plots: bool = True) -> ReportSection:
    """The report section of one model: its method, coefficient table and plot."""
    result = fit_model(design, spec, config, pop_col, labels)
    min_n = config.reliability.min_n
    frame = model_table(result, spec, min_n)
    head = {"odds ratio": "Odds ratio", "ratio": "Ratio", "coefficient": "Coefficient"}
    level = f"{result.level * 100:g}%"
    plot = (coefficient_plot_png(frame, ratio=spec.exponentiate, title=spec.title,
                                 xlabel=f"{head[frame['scale'].iloc[0]]} ({level} CI)")
            if plots else None)
    table = SectionTable(
        name=spec.name, title=spec.title, frame=frame,
        columns={"label": "Term", "estimate": head[frame["scale"].iloc[0]],
                 "ci_lower": f"{level} CI lower", "ci_upper": f"{level} CI upper",
                 "p_value": "p-value", "df": "df", "deff": "Design effect",
                 "n": "Respondents", "quality": "Quality", "quality_notes": "Notes"},
        decimals={"estimate": 3, "ci_lower": 3, "ci_upper": 3, "p_value": 4, "df": 0,
                  "deff": 2, "n": 0},
        notes=[f"Model: {spec.formula}; family {spec.family}, link {spec.link}; population "
               f"{spec.population}; {result.n:,} respondents."],
        plot_png=plot)
    details = {
        "formula": spec.formula, "family": spec.family, "link": spec.link,
        "population": spec.population, "exponentiate": spec.exponentiate, "n": result.n,
        "n_weighted": result.n_weighted, "df_resid": result.df_resid,
        "converged": result.converged, "iterations": result.iterations,
        "deviance": result.deviance,
        "diagnostics": [getattr(d, "message", str(d)) for d in result.diagnostics],
    }  # fmt: skip
    return ReportSection(name=spec.name, title=spec.title,
                         method=_method(spec, result, design, min_n), tables=[table],
                         details=details)

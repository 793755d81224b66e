"""A simulation study of the small-area estimators: districts of the synthetic country
with known true prevalence, sampled again and again with the survey's own design.

:func:`district_areas` cuts the simulated population (``simulate(...,
keep_population=True)``) into districts and gives each its true prevalence and the
covariates an NSO would have for every district: shares from a census and a count
from an administrative register. :func:`simulation_study` draws repeated samples,
estimates every district directly and with Fay-Herriot models, and summarises the
errors against the truth. ``python -m flestimate.sae.study --replications 200``
prints the table of the methodology page.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import ValidationError

__all__ = ["HIGH_RISK_SECTORS", "district_areas", "simulation_study"]

# ISIC sections with the high forced-labour risk of the simulator (agriculture, fishing,
# mining, construction, domestic work)
HIGH_RISK_SECTORS = ("A", "B", "C", "F", "T")
FORMULA_CENSUS = "~ migrant_share + risky_sector_share + urban_share + C(region)"
FORMULA_REGISTER = FORMULA_CENSUS + " + np.log1p(register_per_1000)"


def district_areas(
    population: pd.DataFrame,
    *,
    eas_per_district: int = 12,
    register_rate: float = 0.25,
    rng: int | np.random.Generator | None = 0,
) -> tuple[pd.Series, pd.DataFrame]:
    """Districts of a simulated population, their true prevalence and covariates.

    Parameters
    ----------
    population : pandas.DataFrame
        ``SimulatedSurvey.population`` (``simulate(..., keep_population=True)``).
    eas_per_district : int, default 12
        Enumeration areas per district: the EAs of each region, in the order of their
        ids, are cut into consecutive blocks of this many (the last may be smaller).
    register_rate : float, default 0.25
        Chance that a person in forced labour appears in the administrative register
        of identified victims.
    rng : int, numpy.random.Generator or None
        Seed of the register.

    Returns
    -------
    district_of_psu : pandas.Series
        The district of every EA (index ``psu``), to label the respondents.
    areas : pandas.DataFrame
        One row per district: ``district`` (region x 100 + block), ``region``,
        ``population`` (persons aged 5+), ``prevalence_true`` (per 1,000, the default
        rule), and covariates ``migrant_share`` (international migrants among adults),
        ``risky_sector_share`` (workers in sections A, B, C, F, T), ``urban_share``
        and ``register_per_1000`` (registered victims per 1,000 persons).
    """
    from flestimate.simulation.parameters import make_rng

    needed = ("psu", "region", "age", "worked", "sector", "migrant", "urban", "fl")
    if not isinstance(population, pd.DataFrame) or not all(c in population for c in needed):
        raise ValidationError(
            "population must be SimulatedSurvey.population; draw the survey with "
            "simulate(..., keep_population=True)."
        )
    if isinstance(eas_per_district, bool) or not isinstance(eas_per_district, int) or \
            eas_per_district < 1:  # fmt: skip
        raise ValidationError(f"eas_per_district={eas_per_district!r} must be an integer >= 1.")
    if not 0 <= register_rate <= 1:
        raise ValidationError(f"register_rate={register_rate!r} must be between 0 and 1.")
    gen, _ = make_rng(rng)
    ea = population.groupby("psu", sort=True)["region"].first().astype(np.int64).reset_index()
    block = ea.groupby("region").cumcount() // eas_per_district
    ea["district"] = ea["region"] * 100 + block + 1
    district_of_psu = ea.set_index("psu")["district"]
    district = district_of_psu.reindex(population["psu"].to_numpy()).to_numpy()
    adult = population["age"].to_numpy() >= 18
    worked = population["worked"].to_numpy() == 1
    sector = population["sector"].astype(str).to_numpy()
    fl = population["fl"].to_numpy().astype(np.int64)
    registered = gen.random(fl.size) < register_rate
    per = pd.DataFrame(
        {
            "district": district,
            "region": population["region"].to_numpy().astype(np.int64),
            "one": 1,
            "fl": fl,
            "adult": adult,
            "migrant_adult": adult & (population["migrant"].to_numpy() == 3),
            "worked": worked,
            "risky": worked & np.isin(sector, HIGH_RISK_SECTORS),
            "urban": population["urban"].to_numpy() == 1,
            "registered": (fl == 1) & registered,
        }
    )
    g = per.groupby("district", sort=True).agg(
        region=("region", "first"), population=("one", "sum"), fl=("fl", "sum"),
        adults=("adult", "sum"), migrants=("migrant_adult", "sum"), workers=("worked", "sum"),
        risky=("risky", "sum"), urban=("urban", "mean"), registered=("registered", "sum"),
    )  # fmt: skip
    areas = pd.DataFrame(
        {
            "district": g.index.to_numpy(),
            "region": g["region"].to_numpy(),
            "population": g["population"].to_numpy(),
            "prevalence_true": 1000.0 * g["fl"].to_numpy() / g["population"].to_numpy(),
            "migrant_share": g["migrants"].to_numpy() / np.maximum(g["adults"].to_numpy(), 1),
            "risky_sector_share": g["risky"].to_numpy() / np.maximum(g["workers"].to_numpy(), 1),
            "urban_share": g["urban"].to_numpy(),
            "register_per_1000": 1000.0 * g["registered"].to_numpy() / g["population"].to_numpy(),
        }
    )
    return district_of_psu, areas


# (label, formula, transform, benchmark)
VARIANTS = (
    ("FH, census covariates", FORMULA_CENSUS, None, False),
    ("FH, census + register", FORMULA_REGISTER, None, False),
    ("FH, census + register, benchmarked", FORMULA_REGISTER, None, True),
    ("FH arcsine, census + register", FORMULA_REGISTER, "arcsin", False),
    ("FH arcsine, census + register, benchmarked", FORMULA_REGISTER, "arcsin", True),
)


def _one_sample(sample, district_of_psu, areas, n_bootstrap, level, gen):
    """Estimates (D, K), MSE estimates and interval bounds of every estimator."""
    import flestimate
    from flestimate import sae

    data = sample.assign(district=district_of_psu.reindex(sample["psu"].to_numpy()).to_numpy())
    design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
    direct = sae.direct_estimates(design, "fl", area="district", level=level)
    national = float(design.prevalence("fl").to_frame()["estimate"].iloc[0])
    d = areas[["district"]].merge(direct, on="district", how="left")
    est = [d["direct"].to_numpy()]
    mse = [d["direct_se"].to_numpy() ** 2]
    lo, hi = [d["direct_ci_lower"].to_numpy()], [d["direct_ci_upper"].to_numpy()]
    auxiliary = areas.drop(columns="prevalence_true")
    fits: dict[tuple[str, Any], Any] = {}
    for _label, formula, transform, benchmarked in VARIANTS:  # a handful of models
        key = (formula, transform)
        if key not in fits:
            fits[key] = sae.small_area(
                design, "fl", area="district", auxiliary=auxiliary, formula=formula,
                transform=transform, smooth="all", n_bootstrap=n_bootstrap, rng=gen, level=level,
            )  # fmt: skip
        fit = fits[key]
        if benchmarked:
            fit = fit.benchmark(national, population=areas["population"].to_numpy())
        f = fit.to_frame()
        est.append(f["estimate"].to_numpy())
        mse.append(f["mse"].to_numpy())
        lo.append(f["ci_lower"].to_numpy())
        hi.append(f["ci_upper"].to_numpy())
    return (np.column_stack(est), np.column_stack(mse), np.column_stack(lo), np.column_stack(hi))


def simulation_study(
    *,
    replications: int = 100,
    respondents: int = 20_000,
    eas_per_district: int = 12,
    n_bootstrap: int = 100,
    level: float = 0.95,
    rng: int = 20181010,
) -> pd.DataFrame:
    """Errors of direct and Fay-Herriot district estimates against the true prevalence.

    The population of ``simulate(respondents, rng=rng, keep_population=True)`` is cut
    into districts (:func:`district_areas`); ``replications`` samples are drawn with the
    survey's design (:meth:`SimulatedSurvey.draw_samples`), and each district is
    estimated directly (Korn-Graubard intervals) and by the models of ``VARIANTS``
    (REML, GVF-smoothed variances, ``smooth="all"``; the arcsine models with the
    bootstrap MSE of ``n_bootstrap`` replicates).

    Returns
    -------
    pandas.DataFrame
        One row per estimator: ``estimator``, ``rmse`` (root of the MSE over samples,
        averaged over districts, per 1,000), ``rrmse`` (median over districts of the
        RMSE over the true prevalence), ``bias`` (mean over districts of the absolute
        bias), ``coverage`` (share of intervals that contain the true value),
        ``mse_ratio`` (mean estimated MSE over mean empirical MSE) and
        ``estimated`` (share of district x sample cells with an estimate: the direct
        estimator has none where a district has no sampled EA).

    Notes
    -----
    With :math:`\\hat\\theta_{dr}` the estimate of district d in sample r and
    :math:`\\theta_d` its true prevalence, :math:`\\mathrm{MSE}_d = R^{-1}\\sum_r
    (\\hat\\theta_{dr} - \\theta_d)^2` over the samples with an estimate.
    """
    import flestimate

    for name, value, low in (("replications", replications, 1), ("n_bootstrap", n_bootstrap, 1),
                             ("respondents", respondents, 2000)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValidationError(f"{name}={value!r} must be an integer >= {low}.")
    survey = flestimate.simulate(respondents, rng=rng, keep_population=True)
    district_of_psu, areas = district_areas(survey.population, eas_per_district=eas_per_district)
    gen = np.random.default_rng(rng + 1)
    truth = areas["prevalence_true"].to_numpy()
    runs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", flestimate.FlestimateWarning)
        for sample in survey.draw_samples(replications, rng=gen):  # one sample at a time
            runs.append(_one_sample(sample, district_of_psu, areas, n_bootstrap, level, gen))
    est, mse, lo, hi = (np.stack([r[i] for r in runs]) for i in range(4))  # (R, D, K)
    ok = np.isfinite(est)
    err = np.where(ok, est - truth[None, :, None], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        emp_mse = np.nanmean(err**2, axis=0)  # (D, K)
        bias = np.nanmean(err, axis=0)
        rrmse = np.sqrt(emp_mse) / truth[:, None]
        covered = (lo <= truth[None, :, None]) & (truth[None, :, None] <= hi)
        mse_est = np.where(ok, mse, np.nan)
    labels = ["direct (Korn-Graubard interval)", *(v[0] for v in VARIANTS)]
    return pd.DataFrame(
        {
            "estimator": labels,
            "rmse": np.sqrt(np.nanmean(emp_mse, axis=0)),
            "rrmse": np.nanmedian(np.where(truth[:, None] > 0, rrmse, np.nan), axis=0),
            "bias": np.nanmean(np.abs(bias), axis=0),
            "coverage": (covered & ok).sum(axis=(0, 1)) / ok.sum(axis=(0, 1)),
            "mse_ratio": np.nanmean(mse_est, axis=(0, 1)) / np.nanmean(emp_mse, axis=0),
            "estimated": ok.mean(axis=(0, 1)),
        }
    )


def markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table (the methodology page)."""
    head = ("| estimator | RMSE (per 1,000) | median relative RMSE | mean absolute bias | "
            "coverage of 95% intervals | estimated / empirical MSE | districts estimated |")  # fmt: skip
    lines = [head, "|" + "---|" * 7]
    for r in summary.itertuples(index=False):
        lines.append(
            f"| {r.estimator} | {r.rmse:.2f} | {r.rrmse:.2f} | {r.bias:.2f} | "
            f"{r.coverage:.3f} | {r.mse_ratio:.2f} | {r.estimated:.1%} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flestimate.sae.study", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--respondents", type=int, default=20_000)
    parser.add_argument("--eas-per-district", type=int, default=12)
    parser.add_argument("--bootstrap", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20181010)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        summary = simulation_study(
            replications=args.replications, respondents=args.respondents,
            eas_per_district=args.eas_per_district, n_bootstrap=args.bootstrap, rng=args.seed,
        )  # fmt: skip
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(markdown(summary))
    print(f"\n{args.replications} samples of {args.respondents:,} respondents (seed {args.seed}), "
          f"{args.eas_per_district} EAs per district, {args.bootstrap} bootstrap replicates; "
          f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

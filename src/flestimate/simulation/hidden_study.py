"""Bias and interval coverage of the hidden-population estimators, with known truth.

One synthetic population (:func:`flestimate.simulation.hidden_population`) is drawn
once; each replication draws new samples of it (:meth:`HiddenPopulation.resample`:
a design-based study) and estimates the hidden group with

- network scale-up (:func:`flestimate.nsum.scale_up`, basic estimator) at each
  ``visibilities`` value (transmission error);
- proxy (family) reports (:func:`flestimate.proxy.multiplicity_total`);
- respondent-driven sampling, RDS-II and Gile's SS given the size of the connected
  population (:func:`flestimate.rds.estimate`, tree-bootstrap interval).

:func:`summarise_study` gives the bias (with its Monte Carlo standard error) and the
coverage of the intervals; it is the table of the user guide's "Simulation with known
truth" (``python -m flestimate.simulation.hidden_study`` prints it).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flestimate.design import SurveyDesign
from flestimate.simulation.hidden import HiddenPopulation, hidden_population

__all__ = ["hidden_population_study", "summarise_study"]


def _row(method: str, setting: str, table: Any, truth: float) -> dict[str, Any]:
    r = table.to_frame().iloc[0]
    return {"method": method, "setting": setting, "estimate": float(r["estimate"]),
            "ci_lower": float(r["ci_lower"]), "ci_upper": float(r["ci_upper"]),
            "truth": truth}  # fmt: skip


def _replication(
    pop: HiddenPopulation, seed: int, visibilities: Sequence[float], n_bootstrap: int
) -> list[dict[str, Any]]:
    from flestimate import nsum, proxy, rds

    truth = pop.truth
    rows = []
    for v in visibilities:
        s = pop.resample(seed, visibility=v)
        design = SurveyDesign(s.survey, weight="weight", strata="region")
        table = nsum.scale_up(design, "fl_known", known=s.known, total_population=truth["population"])
        rows.append(_row("NSUM basic", f"visibility {v:g}", table, truth["fl"]))
        if v == visibilities[0]:
            total = proxy.multiplicity_total(design, s.reports, respondent="respondent",
                                             outcome="fl", multiplicity="multiplicity",
                                             respondent_id="id")  # fmt: skip
            fv = s.parameters["family_visibility"]
            rows.append(_row("Proxy (family) total", f"family visibility {fv:g}", total, truth["fl"]))
            for method, label in (("rds2", "RDS-II"), ("ss", "SS")):
                res = rds.estimate(s.rds, "fl", id="id", recruiter="recruiter",
                                   degree="network_size", method=method,
                                   population_size=truth["rds_population"],
                                   n_bootstrap=n_bootstrap, rng=seed)  # fmt: skip
                rows.append({"method": label, "setting": f"n = {len(s.rds)}",
                             "estimate": res.estimate, "ci_lower": res.ci[0],
                             "ci_upper": res.ci[1], "truth": truth["rds_prevalence"]})  # fmt: skip
    return rows


def hidden_population_study(
    replications: int = 60,
    *,
    population: HiddenPopulation | None = None,
    visibilities: Sequence[float] = (1.0, 0.6),
    n_bootstrap: int = 200,
    rng: int = 1,
) -> pd.DataFrame:
    """Estimates of the hidden group from ``replications`` samples of one population.

    Parameters
    ----------
    replications : int, default 60
    population : HiddenPopulation, optional
        Default: ``hidden_population(rng=rng)``.
    visibilities : sequence of float
        Scale-up transmission settings (the first is used for the other methods).
    n_bootstrap : int, default 200
        Tree-bootstrap replicates of each RDS interval.
    rng : int
        Seed of the population (when drawn here) and of the replications (rng + 1, ...).

    Returns
    -------
    DataFrame
        One row per replication and method: ``replication, method, setting, estimate,
        ci_lower, ci_upper, truth`` (95% intervals).
    """
    pop = hidden_population(rng=rng) if population is None else population
    rows = []
    for r in range(int(replications)):  # a loop over replications
        for row in _replication(pop, rng + 1 + r, tuple(visibilities), n_bootstrap):
            rows.append({"replication": r, **row})
    return pd.DataFrame(rows)


def summarise_study(results: pd.DataFrame) -> pd.DataFrame:
    """Bias, its Monte Carlo SE and interval coverage, by method and setting.

    Returns
    -------
    DataFrame
        ``method, setting, truth, replications, mean, bias, relative_bias, bias_mc_se``
        (standard deviation of the estimates over the root of the replications),
        ``coverage`` (share of intervals holding the truth) and ``coverage_mc_se``.
    """
    r = results.assign(covered=(results["ci_lower"] <= results["truth"])
                       & (results["truth"] <= results["ci_upper"]))  # fmt: skip
    g = r.groupby(["method", "setting"], sort=False)
    out = g.agg(truth=("truth", "mean"), replications=("estimate", "size"),
                mean=("estimate", "mean"), sd=("estimate", "std"),
                coverage=("covered", "mean")).reset_index()  # fmt: skip
    out["bias"] = out["mean"] - out["truth"]
    out["relative_bias"] = out["bias"] / out["truth"]
    out["bias_mc_se"] = out["sd"] / np.sqrt(out["replications"])
    cov = out["coverage"]
    out["coverage_mc_se"] = np.sqrt(cov * (1 - cov) / out["replications"])
    cols = ["method", "setting", "truth", "replications", "mean", "bias", "relative_bias",
            "bias_mc_se", "coverage", "coverage_mc_se"]  # fmt: skip
    return out[cols]


def main(argv: Sequence[str] | None = None) -> None:
    """Print the study's summary as a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=60)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    results = hidden_population_study(args.replications, n_bootstrap=args.bootstrap, rng=args.seed)
    summary = summarise_study(results)
    print("| Method | Setting | Truth | Bias (MC SE) | Relative bias | 95% coverage |")
    print("|---|---|---|---|---|---|")
    for s in summary.itertuples():
        print(f"| {s.method} | {s.setting} | {s.truth:.4g} | {s.bias:+.4g} ({s.bias_mc_se:.2g}) "
              f"| {s.relative_bias:+.1%} | {s.coverage:.0%} |")  # fmt: skip


if __name__ == "__main__":
    main()

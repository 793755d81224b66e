"""Coverage study of the confidence-interval methods for a rare, clustered prevalence.

Many samples are drawn from *one* synthetic population per scenario
(:func:`flestimate.simulate` with ``keep_population=True``, then
:meth:`flestimate.SimulatedSurvey.draw_samples`, which repeats the survey's
stratified two-stage PPS design and its nonresponse adjustment). Each sample is
estimated once with :class:`flestimate.SurveyDesign` (``strata``, ``psu``,
``w_final``); every interval method of ``ci_method=`` is then applied to the
sample's estimate, standard error, degrees of freedom and size, exactly as
:meth:`flestimate.SurveyDesign.prevalence` does (the tests check this), and the
interval is compared with the population's true prevalence.

In Python (notebook ``03-ci-coverage.ipynb``)::

    from flestimate.simulation import coverage
    records = coverage.coverage_study(replications=200)
    summary = coverage.summarise(records)
    coverage.plot_summary(summary)

From the command line (the table of ``docs/methodology/ci-coverage.md``)::

    python -m flestimate.simulation.coverage --replications 1500 --out docs/methodology/coverage

``--quick`` runs two scenarios with 20 samples each (seconds).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from flestimate.design import SurveyDesign
from flestimate.errors import FlestimateError, ValidationError
from flestimate.estimation.cimethods import (
    CI_METHODS,
    CIMethod,
    compute_ci,
    korn_graubard,
    pooled_deff,
)
from flestimate.simulation.parameters import check_float, check_int
from flestimate.simulation.survey import simulate

__all__ = [
    "METHODS",
    "PSU_FRACTION",
    "RECORD_COLUMNS",
    "SCENARIOS",
    "SIMULATE_KEYS",
    "SUMMARY_COLUMNS",
    "DOMAIN_SCENARIOS",
    "ZERO_RULES",
    "coverage_study",
    "domain_coverage_study",
    "intervals",
    "main",
    "markdown_table",
    "overall",
    "plot_summary",
    "sample_estimates",
    "summarise",
    "summarise_domains",
]

#: CI methods compared: the engine's registry itself (a read-only mapping, iterated as
#: the names in the registry's order), so a method registered later is compared too.
METHODS: Mapping[str, CIMethod] = CI_METHODS

#: Share of each stratum's enumeration areas in the sample. Small, as in national surveys,
#: so that the with-replacement (ultimate cluster) variance that the design declares
#: (no fpc) is close to unbiased and the study measures the interval methods, not the
#: variance approximation (at the simulator's default of 0.4 every method over-covers
#: under strong clustering).
PSU_FRACTION = 0.05

#: Scenarios: adult prevalence of the simulation and clustering of forced labour
#: (households per PSU, share and relative risk of hot-spot enumeration areas).
#: The realised population prevalence (all persons 5+) and the mean design effect
#: are measured by the study.
SCENARIOS: tuple[dict[str, Any], ...] = (
    {"name": "p0.1%-low", "prevalence": 0.001, "households_per_psu": 2,
     "hotspot_share": 0.0, "hotspot_risk": 1.0, "psu_fraction": PSU_FRACTION},
    {"name": "p0.1%-mid", "prevalence": 0.001, "households_per_psu": 10,
     "hotspot_share": 0.04, "hotspot_risk": 40.0, "psu_fraction": PSU_FRACTION},
    {"name": "p0.1%-high", "prevalence": 0.001, "households_per_psu": 25,
     "hotspot_share": 0.03, "hotspot_risk": 60.0, "psu_fraction": PSU_FRACTION},
    {"name": "p0.5%-low", "prevalence": 0.005, "households_per_psu": 2,
     "hotspot_share": 0.0, "hotspot_risk": 1.0, "psu_fraction": PSU_FRACTION},
    {"name": "p0.5%-mid", "prevalence": 0.005, "households_per_psu": 10,
     "hotspot_share": 0.04, "hotspot_risk": 20.0, "psu_fraction": PSU_FRACTION},
    {"name": "p0.5%-high", "prevalence": 0.005, "households_per_psu": 15,
     "hotspot_share": 0.04, "hotspot_risk": 40.0, "psu_fraction": PSU_FRACTION},
    {"name": "p2%-low", "prevalence": 0.02, "households_per_psu": 2,
     "hotspot_share": 0.0, "hotspot_risk": 1.0, "psu_fraction": PSU_FRACTION},
    {"name": "p2%-mid", "prevalence": 0.02, "households_per_psu": 10,
     "hotspot_share": 0.04, "hotspot_risk": 8.0, "psu_fraction": PSU_FRACTION},
    {"name": "p2%-high", "prevalence": 0.02, "households_per_psu": 10,
     "hotspot_share": 0.04, "hotspot_risk": 20.0, "psu_fraction": PSU_FRACTION},
)  # fmt: skip

#: The :func:`flestimate.simulate` arguments that a scenario sets (besides its ``name``).
SIMULATE_KEYS = ("prevalence", "households_per_psu", "hotspot_share", "hotspot_risk",
                 "psu_fraction")  # fmt: skip

#: Columns of the records of :func:`coverage_study` (one row per scenario x sample x method).
RECORD_COLUMNS = ("scenario", "sample", "method", "true_p", "estimate", "se", "df", "n",
                  "deff", "lower", "upper")  # fmt: skip

#: Columns of the summary of :func:`summarise` (one row per scenario x method).
SUMMARY_COLUMNS = ("scenario", "method", "true_per_1000", "mean_deff", "mean_df",
                   "variance_ratio", "share_zero", "coverage", "coverage_mcse", "miss_below",
                   "miss_above", "no_interval", "mean_width_per_1000", "samples")  # fmt: skip


def sample_estimates(sample: pd.DataFrame) -> tuple[float, float, float, float, float]:
    """Estimate, SE, df, unweighted n and deff of the national prevalence of one sample.

    ``sample`` is one frame of :meth:`flestimate.SimulatedSurvey.draw_samples`; the design
    is ``strata="stratum"``, ``psu="psu"``, ``weight="w_final"`` (with replacement, no fpc).
    """
    design = SurveyDesign(
        sample[["fl", "stratum", "psu", "w_final"]],
        weight="w_final",
        strata="stratum",
        psu="psu",
    )
    row = design.prevalence("fl", scale=1).to_frame().iloc[0]
    return (
        float(row["estimate"]),
        float(row["se"]),
        float(row["df"]),
        float(row["n_unweighted"]),
        float(row["deff"]),
    )


def intervals(
    method: str, p: np.ndarray, se: np.ndarray, df: np.ndarray, n: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``method`` for arrays of estimates, as ``SurveyDesign.prevalence`` gives them.

    Notes
    -----
    The engine's own :func:`flestimate.estimation.cimethods.compute_ci`; the likelihood
    interval's dispersion is :math:`n/(n-1)` (a 0/1 variable), as in the engine. Each
    sample is a one-row table: its pooled design effect is its own (1 without a case).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        dispersion = n / (n - 1.0)
    own = pooled_deff(p, se, n, np.arange(np.size(p)))
    return compute_ci(method, p, se, df, n, level, dispersion, own)


def coverage_study(
    scenarios: Sequence[dict[str, Any]] = SCENARIOS,
    *,
    replications: int = 1000,
    respondents: int = 10_000,
    level: float = 0.95,
    rng: int = 20181010,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Draw ``replications`` samples per scenario and record each sample's estimate and intervals.

    Parameters
    ----------
    scenarios : sequence of dict, default SCENARIOS
        Each with a unique ``name`` and the :func:`flestimate.simulate` arguments of
        :data:`SIMULATE_KEYS`: ``prevalence``, ``households_per_psu``,
        ``hotspot_share``, ``hotspot_risk``, ``psu_fraction``.
    replications : int, default 1000
        Samples per scenario (1 to 10,000,000).
    respondents : int, default 10,000
        Expected respondents of each sample (as in :func:`flestimate.simulate`).
    level : float, default 0.95
        Nominal confidence level, in (0, 1).
    rng : int, default 20181010
        Seed (a non-negative integer); scenario ``i`` uses population seed ``rng + i``
        and sample seed ``rng + 1000 + i``, so a scenario's result does not depend on
        the others.
    progress : callable, optional
        Called with a one-line message after each scenario.

    Returns
    -------
    pandas.DataFrame
        One row per scenario x sample x method: ``scenario``, ``sample``, ``method``,
        ``true_p``, ``estimate``, ``se``, ``df``, ``n``, ``deff``, ``lower``, ``upper``
        (proportions, not per 1,000). :func:`summarise` turns it into coverages.

    Raises
    ------
    ValidationError
        A scenario lacks a key, has an unknown one or repeats a name, or an argument
        is of the wrong type or out of range; the message names it.

    Examples
    --------
    >>> from flestimate.simulation import coverage_study
    >>> from flestimate.simulation.coverage import SCENARIOS
    >>> records = coverage_study(SCENARIOS[:1], replications=3, respondents=2_000, rng=1)
    >>> records.groupby("method").size().to_dict()["korn-graubard"]
    3
    """
    scenarios, replications, level, rng = _check_study(scenarios, replications, level, rng)
    frames = []
    for i, sc in enumerate(scenarios):
        t0 = time.perf_counter()
        kwargs = {k: sc[k] for k in SIMULATE_KEYS}
        survey = simulate(respondents, rng=rng + i, keep_population=True, **kwargs)
        population = cast(pd.DataFrame, survey.population)  # kept: keep_population=True
        true_p = float(population["fl"].mean())
        est = np.array(
            [sample_estimates(x) for x in survey.draw_samples(replications, rng=rng + 1000 + i)]
        )
        p, se, df, n, deff = est.T
        for method in METHODS:
            lo, hi = intervals(method, p, se, df, n, level)
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": sc["name"],
                        "sample": np.arange(replications),
                        "method": method,
                        "true_p": true_p,
                        "estimate": p,
                        "se": se,
                        "df": df,
                        "n": n,
                        "deff": deff,
                        "lower": lo,
                        "upper": hi,
                    }
                )
            )
        if progress is not None:
            progress(
                f"{sc['name']}: true prevalence {1000 * true_p:.2f} per 1,000, mean deff "
                f"{np.nanmean(deff):.2f}, {replications} samples in "
                f"{time.perf_counter() - t0:.0f} s"
            )
    return pd.concat(frames, ignore_index=True)


#: Scenarios of the domain study: the clustered scenarios, where a domain without a
#: case is most often a domain whose cases sit in unsampled hot spots.
DOMAIN_SCENARIOS: tuple[dict[str, Any], ...] = tuple(
    sc for sc in SCENARIOS if sc["name"] in ("p0.5%-mid", "p0.5%-high", "p2%-mid", "p2%-high")
)

#: Rules for the Korn-Graubard interval of a domain without a case, compared by
#: :func:`domain_coverage_study`: the engine's (effective size n / pooled design effect)
#: and the former one (the domain's unweighted n).
ZERO_RULES = ("pooled deff", "unweighted n")


def domain_coverage_study(
    scenarios: Sequence[dict[str, Any]] = DOMAIN_SCENARIOS,
    *,
    by: str = "sector",
    replications: int = 200,
    respondents: int = 10_000,
    level: float = 0.95,
    rng: int = 20181010,
) -> pd.DataFrame:
    """Coverage of the Korn-Graubard interval in small domains, those without a case included.

    Each sample's prevalence is estimated ``by`` a domain column (by default the 21
    economic sectors, from a few respondents to thousands), as
    ``SurveyDesign.prevalence("fl", by=by)`` does; the interval is computed by each
    rule of :data:`ZERO_RULES` (they differ only where a domain has no case).

    Parameters
    ----------
    scenarios, replications, respondents, level, rng
        As in :func:`coverage_study`.
    by : str, default "sector"
        The domain column of the simulated survey. Domains whose true prevalence is 0
        (which every interval covers) and the blank category are left out.

    Returns
    -------
    pandas.DataFrame
        One row per scenario x sample x domain x rule: ``scenario``, ``sample``,
        ``domain``, ``rule``, ``true_p``, ``estimate``, ``se``, ``df``, ``n``,
        ``deff_pooled``, ``lower``, ``upper``.

    Examples
    --------
    >>> from flestimate.simulation.coverage import DOMAIN_SCENARIOS, domain_coverage_study
    >>> rec = domain_coverage_study(DOMAIN_SCENARIOS[:1], replications=2, respondents=2_000)
    >>> sorted(rec["rule"].unique())
    ['pooled deff', 'unweighted n']
    """
    import warnings

    scenarios, replications, level, rng = _check_study(scenarios, replications, level, rng)
    frames = []
    for i, sc in enumerate(scenarios):
        survey = simulate(respondents, rng=rng + i, keep_population=True,
                          **{k: sc[k] for k in SIMULATE_KEYS})
        population = cast(pd.DataFrame, survey.population)
        truth = population.groupby(by, observed=True)["fl"].mean()
        truth = truth[(truth > 0) & (truth.index.astype(str) != "")]
        for j, sample in enumerate(survey.draw_samples(replications, rng=rng + 1000 + i)):
            design = SurveyDesign(sample[["fl", "stratum", "psu", "w_final", by]],
                                  weight="w_final", strata="stratum", psu="psu")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f = design.prevalence("fl", by=by, scale=1).to_frame()
            dp = pooled_deff(f["estimate"], f["se"], f["n_unweighted"])
            f = f.assign(deff_pooled=dp)
            f = f[f[by].isin(truth.index)]
            p, se, df, n = (f[c].to_numpy(dtype=float)
                            for c in ("estimate", "se", "df", "n_unweighted"))
            for rule, deff in zip(ZERO_RULES, (f["deff_pooled"].to_numpy(), None), strict=True):
                lo, hi = korn_graubard(p, se, df, n, level, deff_pooled=deff)
                frames.append(pd.DataFrame({
                    "scenario": sc["name"], "sample": j, "domain": f[by].to_numpy(),
                    "rule": rule, "true_p": truth.reindex(f[by]).to_numpy(), "estimate": p,
                    "se": se, "df": df, "n": n, "deff_pooled": f["deff_pooled"].to_numpy(),
                    "lower": lo, "upper": hi,
                }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def summarise_domains(records: pd.DataFrame) -> pd.DataFrame:
    """Coverage of :func:`domain_coverage_study` per scenario, rule and case status.

    Returns
    -------
    pandas.DataFrame
        ``scenario``, ``rule``, ``cases`` (``"none"`` for domains without a case in the
        sample, ``"some"`` otherwise, ``"all"`` for both), ``domains`` (sample x domain
        cells), ``coverage``, ``miss_above`` (truth above the interval),
        ``miss_below``, ``mean_deff_pooled`` and ``mean_upper_per_1000``.
    """
    cols = ("scenario", "rule", "true_p", "estimate", "lower", "upper", "deff_pooled")
    _require_columns(records, cols, "records (the result of domain_coverage_study)")
    r = records.assign(
        above=records["true_p"] > records["upper"],
        below=records["true_p"] < records["lower"],
        cases=np.where(records["estimate"] <= 0, "none", "some"),
    )
    r["covered"] = ~r["above"] & ~r["below"] & np.isfinite(r["upper"])
    both = pd.concat([r, r.assign(cases="all")], ignore_index=True)
    g = both.groupby(["scenario", "rule", "cases"], sort=False)
    return pd.DataFrame({
        "domains": g.size(),
        "coverage": g["covered"].mean(),
        "miss_above": g["above"].mean(),
        "miss_below": g["below"].mean(),
        "mean_deff_pooled": g["deff_pooled"].mean(),
        "mean_upper_per_1000": 1000 * g["upper"].mean(),
    }).reset_index()  # fmt: skip


def _check_study(scenarios: Any, replications: Any, level: Any, rng: Any) -> tuple:
    """The checked arguments of a coverage study: scenarios, replications, level, seed."""
    return (_check_scenarios(scenarios), check_int("replications", replications, 1, 10_000_000),
            check_float("level", level, 0.0, 1.0), check_int("rng", rng, 0, 2**63 - 1))


def _check_scenarios(scenarios: Any) -> list[dict[str, Any]]:
    """The scenarios as a list, or a ValidationError naming the scenario and the key."""
    if isinstance(scenarios, dict) or not isinstance(scenarios, Sequence) or not scenarios:
        raise ValidationError(
            f"parameter scenarios={scenarios!r:.80} must be a non-empty list of dicts, each "
            f"with 'name' and {', '.join(map(repr, SIMULATE_KEYS))} (see SCENARIOS)."
        )
    allowed = ("name", *SIMULATE_KEYS)
    names: list[Any] = []
    for k, sc in enumerate(scenarios):
        if not isinstance(sc, dict):
            raise ValidationError(
                f"scenario {k} is a {type(sc).__name__}, not a dict; give a dict with "
                f"{', '.join(map(repr, allowed))}."
            )
        missing = [key for key in allowed if key not in sc]
        unknown = [key for key in sc if key not in allowed]
        if missing or unknown:
            found = "lacks " + ", ".join(map(repr, missing)) if missing else ""
            if unknown:
                found += ("; " if found else "") + "has unknown " + ", ".join(map(repr, unknown))
            raise ValidationError(
                f"scenario {sc.get('name', k)!r} {found}; a scenario has exactly the keys "
                f"{', '.join(map(repr, allowed))}."
            )
        names.append(sc["name"])
    repeated = sorted({str(n) for n in names if names.count(n) > 1})
    if repeated:
        raise ValidationError(
            f"scenario names {', '.join(map(repr, repeated))} are used more than once; the "
            "results are grouped by name, so give each scenario its own name."
        )
    return list(scenarios)


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """Coverage, Monte Carlo SE, misses on each side and mean width per scenario x method.

    Returns
    -------
    pandas.DataFrame
        ``scenario``, ``method``, ``true_per_1000``, ``mean_deff``, ``mean_df``,
        ``variance_ratio`` (mean of the estimated variances over the variance of the
        estimates across samples: 1 when the variance estimator is unbiased),
        ``share_zero`` (samples with no case), ``coverage`` (share of samples whose
        interval contains the truth; a missing interval counts as a miss),
        ``coverage_mcse`` (:math:`\\sqrt{c(1-c)/R}`), ``miss_below`` (truth below the
        interval), ``miss_above`` (truth above it), ``no_interval`` (share of samples
        without an interval), ``mean_width_per_1000`` (over samples with an interval)
        and ``samples``.

    Notes
    -----
    A nominal 95 % interval should have coverage 0.95 and misses of about 0.025 on
    each side; a method whose misses are all on one side is biased even when its
    total coverage is right.
    """
    _require_columns(records, RECORD_COLUMNS, "records (the result of coverage_study)")
    r = records.assign(
        has=np.isfinite(records["lower"]) & np.isfinite(records["upper"]),
        below=records["true_p"] < records["lower"],
        above=records["true_p"] > records["upper"],
        width=1000 * (records["upper"] - records["lower"]),
        zero=records["estimate"] <= 0,
    )
    r["covered"] = r["has"] & ~r["below"] & ~r["above"]
    g = r.groupby(["scenario", "method"], sort=False)
    out = pd.DataFrame(
        {
            "true_per_1000": 1000 * g["true_p"].first(),
            "mean_deff": g["deff"].mean(),
            "mean_df": g["df"].mean(),
            "variance_ratio": (r["se"] ** 2)
            .groupby([r["scenario"], r["method"]], sort=False)
            .mean()
            / g["estimate"].var(ddof=1),
            "share_zero": g["zero"].mean(),
            "coverage": g["covered"].mean(),
            "miss_below": g["below"].mean(),
            "miss_above": g["above"].mean(),
            "no_interval": 1 - g["has"].mean(),
            "mean_width_per_1000": g["width"].mean(),
            "samples": g.size(),
        }
    ).reset_index()
    c = out["coverage"]
    out.insert(
        out.columns.get_loc("coverage") + 1, "coverage_mcse", np.sqrt(c * (1 - c) / out["samples"])
    )
    return out


def overall(summary: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean and worst coverage over the scenarios, mean width relative to KG.

    Returns
    -------
    pandas.DataFrame
        Index ``method``; columns ``mean_coverage``, ``min_coverage``,
        ``max_abs_error`` (largest :math:`|c - 0.95|`), ``mean_one_sided_imbalance``
        (mean of ``miss_above - miss_below``) and ``relative_width`` (mean over
        scenarios of the width divided by Korn-Graubard's).
    """
    s = summary.assign(rel_width=_width_relative_to_kg(summary))
    g = s.groupby("method", sort=False)
    return pd.DataFrame(
        {
            "mean_coverage": g["coverage"].mean(),
            "min_coverage": g["coverage"].min(),
            "max_abs_error": g["coverage"].apply(lambda c: float(np.max(np.abs(c - 0.95)))),
            "mean_one_sided_imbalance": g.apply(
                lambda d: float((d["miss_above"] - d["miss_below"]).mean()), include_groups=False
            ),
            "relative_width": g["rel_width"].mean(),
        }
    )


def markdown_table(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table (coverage in %, MC SE, misses, width per 1,000)."""
    _require_columns(summary, SUMMARY_COLUMNS, "summary (the result of summarise)")
    lines = [
        "| scenario | true per 1,000 | mean deff | variance ratio | no case | method "
        "| coverage % (MC SE) | miss below % | miss above % | no interval % "
        "| mean width per 1,000 |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in summary.itertuples(index=False):
        lines.append(
            f"| {r.scenario} | {r.true_per_1000:.2f} | {r.mean_deff:.2f} | "
            f"{r.variance_ratio:.2f} | "
            f"{100 * r.share_zero:.1f} % | {r.method} | {100 * r.coverage:.1f} "
            f"({100 * r.coverage_mcse:.1f}) | {100 * r.miss_below:.1f} | "
            f"{100 * r.miss_above:.1f} | {100 * r.no_interval:.1f} | "
            f"{r.mean_width_per_1000:.2f} |"
        )
    return "\n".join(lines) + "\n"


def plot_summary(summary: pd.DataFrame, level: float = 0.95):
    """Coverage (left) and mean width relative to Korn-Graubard (right) per scenario and method.

    The figure is made with ``matplotlib.pyplot`` and the caller's backend, so a notebook
    shows it; the backend is never changed here (the command line chooses Agg for itself).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    rel_width = _width_relative_to_kg(summary)
    scen = list(dict.fromkeys(summary["scenario"]))
    methods = list(dict.fromkeys(summary["method"]))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), sharey=False)
    x = np.arange(len(scen))
    for j, m in enumerate(methods):
        is_m = (summary["method"] == m).to_numpy()
        d = summary[is_m].set_index("scenario").reindex(scen)
        off = (j - (len(methods) - 1) / 2) * 0.1
        ax1.errorbar(
            x + off, 100 * d["coverage"], yerr=196 * d["coverage_mcse"], fmt="o", ms=4,
            label=m, capsize=2,
        )  # fmt: skip
        width = pd.Series(rel_width[is_m], index=summary["scenario"][is_m]).reindex(scen)
        ax2.plot(x, width.to_numpy(), "o-", ms=4, label=m)
    ax1.axhline(100 * level, color="k", lw=0.8)
    ax1.set_ylabel(f"actual coverage of nominal {100 * level:g} % intervals (%)")
    ax1.set_ylim(max(50, float(100 * summary["coverage"].min()) - 3), 100)
    ax2.set_ylabel("mean width / Korn-Graubard mean width")
    for ax in (ax1, ax2):
        ax.set_xticks(x)
        ax.set_xticklabels(scen, rotation=45, ha="right")
        ax.grid(alpha=0.3)
    ax2.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the study, print the table, write CSV, Markdown and PNG to ``--out``.

    Returns 0, or 2 after a one-line message on stderr when an argument is out of range.
    """
    prog = "python -m flestimate.simulation.coverage"
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    ap.add_argument("--replications", type=int, default=1000, help="samples per scenario")
    ap.add_argument("--respondents", type=int, default=10_000, help="respondents per sample")
    ap.add_argument("--seed", type=int, default=20181010)
    ap.add_argument("--out", type=Path, default=None, help="folder for the results")
    ap.add_argument("--quick", action="store_true", help="two scenarios, 20 samples each")
    ap.add_argument("--domains", action="store_true",
                    help="the domain study instead (zero-case domains; domain_coverage_study)")
    args = ap.parse_args(argv)
    if args.domains:
        return _main_domains(args)
    scenarios = SCENARIOS
    reps = args.replications
    if args.quick:
        scenarios, reps = (SCENARIOS[0], SCENARIOS[-1]), 20
    t0 = time.perf_counter()
    try:
        records = coverage_study(
            scenarios,
            replications=reps,
            respondents=args.respondents,
            rng=args.seed,
            progress=lambda msg: print(msg, flush=True),
        )
    except FlestimateError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    summary = summarise(records)
    table = markdown_table(summary)
    print(table)
    print(overall(summary).round(4).to_string())
    print(f"total {time.perf_counter() - t0:.0f} s")
    if args.out is not None:
        import matplotlib.pyplot as plt

        args.out.mkdir(parents=True, exist_ok=True)
        summary.to_csv(args.out / "coverage-summary.csv", index=False, float_format="%.6g")
        (args.out / "coverage-table.md").write_text(table, encoding="utf-8")
        fig = plot_summary(summary)
        fig.savefig(args.out / "coverage.png", dpi=110)
        plt.close(fig)
    return 0


def _main_domains(args: argparse.Namespace) -> int:
    """``--domains``: print and write (``domain-coverage-summary.csv``) the domain study."""
    t0 = time.perf_counter()
    scenarios = DOMAIN_SCENARIOS[:1] if args.quick else DOMAIN_SCENARIOS
    try:
        records = domain_coverage_study(scenarios, replications=20 if args.quick else
                                        args.replications, respondents=args.respondents,
                                        rng=args.seed)
    except FlestimateError as exc:
        print(f"python -m flestimate.simulation.coverage: error: {exc}", file=sys.stderr)
        return 2
    summary = summarise_domains(records)
    print(summary.round(4).to_string(index=False))
    print(f"total {time.perf_counter() - t0:.0f} s")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        summary.to_csv(args.out / "domain-coverage-summary.csv", index=False, float_format="%.6g")
    return 0


def _require_columns(frame: Any, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(f"{what} must be a pandas DataFrame, not {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"{what} lacks the column(s) {', '.join(map(repr, missing))}; pass the frame as "
            "the study returned it."
        )


def _width_relative_to_kg(summary: pd.DataFrame) -> np.ndarray:
    """Each row's mean width over Korn-Graubard's mean width in the same scenario."""
    _require_columns(summary, SUMMARY_COLUMNS, "summary (the result of summarise)")
    kg = summary[summary["method"] == "korn-graubard"].set_index("scenario")
    lacking = sorted(set(summary["scenario"]) - set(kg.index), key=str)
    if lacking:
        raise ValidationError(
            f"summary has no 'korn-graubard' row for scenario(s) "
            f"{', '.join(map(repr, lacking))}; widths are shown relative to Korn-Graubard, "
            "so keep its rows (METHODS includes it)."
        )
    kg_width = kg["mean_width_per_1000"].reindex(summary["scenario"]).to_numpy()
    return summary["mean_width_per_1000"].to_numpy() / kg_width


if __name__ == "__main__":  # pragma: no cover
    # a script that only writes files: here, and only here, the backend may be chosen
    import matplotlib

    matplotlib.use("Agg")
    raise SystemExit(main())

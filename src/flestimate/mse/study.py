"""Simulation study: bias and interval coverage of MSE when its assumptions hold and fail.

For each scenario, lists are drawn many times from a population of known size
(:func:`flestimate.mse.simulate_lists`) and every method estimates the total with its
95 % profile-likelihood interval. The summary gives the relative bias, the relative
root mean squared error, the coverage and the width of the intervals.

Run ``python -m flestimate.mse.study --replications 1000 --out DIR`` (``--quick`` for a
few replications); the table in docs/methodology/mse-simulation.md was made that way.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import chi2

from flestimate.errors import EstimationError, FlestimateError, ValidationError
from flestimate.mse.bootstrap import _rng
from flestimate.mse.identify import check_model
from flestimate.mse.intervals import profile_limits
from flestimate.mse.models import fit_models
from flestimate.mse.select import select_model
from flestimate.mse.simulate import simulate_lists
from flestimate.mse.tables import capture_tables

__all__ = ["SCENARIOS", "METHODS", "run_study", "summarise", "markdown_table", "main"]

_LN = np.log
# Four lists recording 3 % to 10 % of 10,000 cases: about a quarter of the cases are
# observed, as in the UK's 2013 lists (2,744 of some 12,000).
_CAPTURE = (0.05, 0.08, 0.03, 0.10)
SCENARIOS: dict[str, dict] = {
    "independent": {"population": 10_000, "capture": _CAPTURE},
    "dependent A:B, C:D": {"population": 10_000, "capture": _CAPTURE,
                           "dependence": {("A", "B"): float(_LN(4.0)), ("C", "D"): float(_LN(3.0))}},
    "heterogeneous (sd 1)": {"population": 10_000, "capture": _CAPTURE, "heterogeneity": 1.0},
}
METHODS = ("main effects", "stepwise")

RECORD_COLUMNS = ["scenario", "replication", "method", "truth", "observed", "total",
                  "ci_lower", "ci_upper", "n_interactions", "failed"]


def _estimate(table, method: str, level: float) -> tuple[float, float, float, int]:
    if method == "main effects":
        check = check_model(table, ())
        if not check.ok:
            raise EstimationError(check.message)
        fit = fit_models(table, [()])[0]
    else:
        fit = select_model(table, "stepwise").fit
    lo, hi = profile_limits([fit], chi2.ppf(level, 1))
    return fit.total, table.observed + np.exp(lo[0, 0]), table.observed + np.exp(hi[0, 0]), len(
        fit.interactions)


def run_study(
    scenarios: Sequence[str] | None = None,
    *,
    replications: int = 1000,
    methods: Sequence[str] = METHODS,
    level: float = 0.95,
    rng: int | np.random.Generator | None = 20190215,
) -> pd.DataFrame:
    """Draw lists ``replications`` times per scenario and estimate the total by each method.

    Parameters
    ----------
    scenarios : sequence of str, optional
        Names in :data:`SCENARIOS` (default: all).
    replications : int
    methods : sequence of str
        ``"main effects"`` and/or ``"stepwise"`` (SparseMSE's rule, threshold 0.02).
    level : float
    rng : int, numpy.random.Generator or None

    Returns
    -------
    pandas.DataFrame
        One row per scenario x replication x method (:data:`RECORD_COLUMNS`); a
        replication whose estimate cannot be computed (e.g. a list with no case drawn,
        or no MLE) has ``failed`` True and NaN estimates.
    """
    names = list(SCENARIOS) if scenarios is None else list(scenarios)
    unknown = [s for s in names if s not in SCENARIOS]
    if unknown:
        raise ValidationError(f"scenario(s) {unknown} not known; use {list(SCENARIOS)}.")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValidationError(f"method(s) {bad} not known; use {list(METHODS)}.")
    if not (isinstance(replications, (int, np.integer)) and replications >= 1):
        raise ValidationError(f"replications={replications!r}: give a whole number >= 1.")
    gen = _rng(rng)
    rows = []
    for name in names:  # scenarios x replications: each replication is one data set
        spec = SCENARIOS[name]
        for rep in range(replications):
            sim = simulate_lists(**spec, rng=gen)
            try:
                table = capture_tables(sim.table, lists=list(sim.table.columns[:-1]))[0]
            except ValidationError:
                table = None
            for method in methods:
                est = (np.nan,) * 3 + (0,)
                failed = table is None
                if table is not None:
                    try:
                        est = _estimate(table, method, level)
                    except EstimationError:
                        failed = True
                rows.append([name, rep, method, sim.population, sim.observed, *est[:3], est[3],
                             failed])
    return pd.DataFrame(rows, columns=RECORD_COLUMNS)


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and method: relative bias, relative RMSE, coverage, width, failures.

    Notes
    -----
    With truth :math:`N`, over the :math:`R` replications that gave an estimate:
    relative bias :math:`\\overline{\\hat N}/N - 1`, median relative error, relative
    RMSE :math:`\\sqrt{\\overline{(\\hat N - N)^2}}/N`, coverage the share of intervals
    containing :math:`N` (Monte Carlo SE :math:`\\sqrt{c(1-c)/R}`), relative width the
    mean of :math:`(U - L)/N`.
    """
    ok = records[~records["failed"]].copy()
    ok["err"] = ok["total"] / ok["truth"] - 1
    ok["covered"] = (ok["ci_lower"] <= ok["truth"]) & (ok["truth"] <= ok["ci_upper"])
    ok["width"] = (ok["ci_upper"] - ok["ci_lower"]) / ok["truth"]
    g = ok.groupby(["scenario", "method"], sort=False)
    out = pd.DataFrame({
        "replications": g.size(),
        "mean_observed": g["observed"].mean(),
        "truth": g["truth"].first(),
        "relative_bias": g["err"].mean(),
        "median_relative_error": g["err"].median(),
        "relative_rmse": g["err"].apply(lambda e: float(np.sqrt(np.mean(e**2)))),
        "coverage": g["covered"].mean(),
        "coverage_mcse": g["covered"].apply(lambda c: float(np.sqrt(c.mean() * (1 - c.mean()) / len(c)))),
        "relative_width": g["width"].mean(),
        "mean_interactions": g["n_interactions"].mean(),
    }).reset_index()
    failed = records.groupby(["scenario", "method"], sort=False)["failed"].sum()
    out["failed"] = [int(failed.loc[(s, m)]) for s, m in zip(out["scenario"], out["method"], strict=True)]
    return out


def markdown_table(summary: pd.DataFrame) -> str:
    """The summary as the Markdown table of the documentation."""
    head = ("| scenario | method | runs | observed | bias | median error | RMSE | coverage "
            "(MC SE) | width | interactions | failed |")
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples(index=False):
        lines.append(
            f"| {r.scenario} | {r.method} | {r.replications} | {r.mean_observed:,.0f} | "
            f"{r.relative_bias:+.1%} | {r.median_relative_error:+.1%} | {r.relative_rmse:.1%} | "
            f"{r.coverage:.1%} ({r.coverage_mcse:.1%}) | {r.relative_width:.1%} | "
            f"{r.mean_interactions:.1f} | {r.failed} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m flestimate.mse.study``: run the study, print and write the table."""
    parser = argparse.ArgumentParser(prog="python -m flestimate.mse.study",
                                     description="MSE simulation study: bias and coverage.")
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20190215)
    parser.add_argument("--out", metavar="DIR", help="write mse-study-summary.csv and mse-study-table.md")
    parser.add_argument("--quick", action="store_true", help="10 replications (seconds)")
    args = parser.parse_args(argv)
    try:
        started = time.perf_counter()
        reps = 10 if args.quick else args.replications
        records = run_study(replications=reps, rng=args.seed)
        summary = summarise(records)
        table = markdown_table(summary)
        print(table)
        print(f"\n{reps} replications per scenario, seed {args.seed}, "
              f"{time.perf_counter() - started:.0f} s")
        if args.out:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            summary.to_csv(out / "mse-study-summary.csv", index=False)
            (out / "mse-study-table.md").write_text(table + "\n", encoding="utf-8")
    except (FlestimateError, OSError) as exc:
        print(f"flestimate.mse.study: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

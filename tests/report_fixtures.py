"""Hand-made estimator results for the report tests (tests/report/).

Importable from any test folder (pyproject sets ``pythonpath = ["tests"]``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flestimate.report import PublishedTable, RunResult, assemble_table, tidy_rows
from flestimate.report.plots import forest_plot_png
from flestimate.report.specs import ReliabilityRules


def est_frame(by_values, estimates, n, cv, *, by="region", df=40, se=None):
    k = len(estimates)
    est = np.asarray(estimates, dtype=float)
    se = est * np.asarray(cv, dtype=float) if se is None else np.asarray(se, dtype=float)
    frame = pd.DataFrame(
        {
            "variable": "fl",
            "estimate": est,
            "se": se,
            "ci_lower": est - 2 * se,
            "ci_upper": est + 2 * se,
            "level": 0.95,
            "ci_method": "korn-graubard",
            "df": df,
            "deff": 1.5,
            "deff_wr": 1.5,
            "cv": cv,
            "n_unweighted": n,
            "n_weighted": np.asarray(n) * 100.0,
            "n_effective": np.asarray(n) / 1.5,
            "flags": "",
        }
    )
    if by_values is not None:
        frame.insert(0, by, by_values)
    assert len(frame) == k
    return frame


def make_table(n_cells=(500, 400, 20, 300), cv=(0.1, 0.12, 0.2, 0.11), rules=None, total=True):
    regions = list(range(1, len(n_cells) + 1))
    prev = est_frame(regions, [3.0, 4.0, 5.0, 2.0][: len(n_cells)], n_cells, cv)
    tot = est_frame(regions, [3000, 1600, 100, 600][: len(n_cells)], n_cells, cv)
    pieces = [
        tidy_rows(prev, by=["region"], statistic="prevalence", scale=1000),
        tidy_rows(tot, by=["region"], statistic="total"),
    ]
    if total:
        pieces += [
            tidy_rows(est_frame(None, [3.4], [sum(n_cells)], [0.08]), by=["region"],
                      statistic="prevalence", scale=1000),
            tidy_rows(est_frame(None, [5300], [sum(n_cells)], [0.08]), by=["region"],
                      statistic="total"),
        ]
    return assemble_table(
        pieces, name="by_region", indicator="fl", population="total", by=["region"],
        rules=rules or ReliabilityRules(), has_total=total,
        value_labels={"region": {1: "North", 2: "South", 3: "East", 4: "West"}},
    )


def fake_result(table):
    pub = PublishedTable(
        name="by_region", title="By region", indicator="fl", population="total", by=["region"],
        statistics=["prevalence", "total"], ci_method="korn-graubard", level=0.95, frame=table,
        plot_png=forest_plot_png(table, ["region"], title="By region"),
    )
    nat = make_table()[lambda d: d["region"].isna()].drop(columns=["region", "region_label"])
    nat_pub = PublishedTable(
        name="national", title="National", indicator="fl", population="total", by=[],
        statistics=["prevalence", "total"], ci_method="korn-graubard", level=0.95,
        frame=nat.assign(table="national").reset_index(drop=True),
    )
    stat = {"estimate": 3.4, "se": 0.3, "ci_lower": 2.9, "ci_upper": 4.0, "cv": 0.09}
    return RunResult(
        title="Test survey <script>alert(1)</script>",
        tables=[nat_pub, pub],
        headline={"population": "total", "indicator": "fl", "level": 0.95,
                  "ci_method": "korn-graubard", "scale": 1000.0,
                  "persons": {**stat, "estimate": 5300.0, "ci_lower": 4500.0, "ci_upper": 6100.0},
                  "prevalence": stat, "stock": None},
        sensitivity={"conservative": {"prevalence": stat, "persons": {"estimate": 5300.0}},
                     "upper_bound": {"prevalence": {**stat, "estimate": 4.1},
                                     "persons": {"estimate": 6400.0}},
                     "changed_n": 12, "changed_weighted_share": 0.0007},
        design={"strata": 8, "PSUs": 100}, weighting=[], weight_summary={},
        methods=["Estimates are design-based."],
        warnings=[{"code": "lonely_psu", "message": "stratum 3 has one PSU", "severity": "warning"}],
        settings={"reliability": {"min_n": 30, "cv_flag": 0.3, "cv_suppress": 0.5, "min_df": 8,
                                  "nchs": False, "complementary": True}},
        manifest={"flestimate_version": "0.test", "created": "2026-01-01T00:00:00Z",
                  "input": {"path": "x.sav", "sha256": "ab" * 32}, "config_sha256": "cd" * 32},
    )

"""``flestimate run`` numbers against R survey 4.1.1 (tests/reference/reference_pipeline.json).

The reference script (tests/reference/make_reference_pipeline.R) uses the sample's
true status ``fl_true`` (data/sample/truth_respondents.csv) as the indicator, so the
comparison covers the pipeline's design, reference populations as domains (R's
``subset`` of the full design), Korn-Graubard intervals per 1,000, totals with
t intervals and the stock on any given day, without the classifier.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from flestimate.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
REF = json.loads((ROOT / "tests" / "reference" / "reference_pipeline.json").read_text())
RTOL = 1e-9


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ref")
    frame = pd.read_parquet(SAMPLE / "fl_survey.parquet")
    truth = pd.read_csv(SAMPLE / "truth_respondents.csv")[["pid", "fl_true"]]
    data = frame.merge(truth, on="pid", how="left", validate="one_to_one")
    assert data["fl_true"].notna().all()
    data.to_parquet(tmp / "survey.parquet")
    cfg = {
        "input": {"path": "survey.parquet"},
        "design": {"weight": "w_final", "strata": "stratum", "psu": "psu"},
        "populations": {"adults": "age >= 18", "workers": "worked == 1"},
        "estimation": {"indicator": "fl_true"},
        "duration": {"variable": "dur_months", "period": 12},
        "tables": [
            {"name": "national"},
            {"name": "adults", "population": "adults"},
            {"name": "workers", "population": "workers"},
            {"name": "by_sex", "by": ["sex"]},
            {"name": "by_region_adults", "by": ["region"], "population": "adults"},
        ],
        "reliability": {"min_n": 0, "cv_flag": 100, "cv_suppress": 100, "complementary": False},
    }
    (tmp / "run.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp / "run.yaml"), "--out", str(tmp / "out"), "--quiet"]) == 0
    return tmp / "out"


def check(row: pd.Series, ref: dict):
    for col in ("estimate", "se", "ci_lower", "ci_upper"):
        assert row[col] == pytest.approx(ref[col], rel=RTOL, abs=0), col
    assert row["df"] == ref["df"]
    assert row["n_unweighted"] == ref["n_unweighted"]


@pytest.mark.parametrize("table", ["national", "adults", "workers"])
@pytest.mark.parametrize("statistic", ["prevalence", "total", "stock"])
def test_population_tables_match_r(run_dir, table, statistic):
    got = pd.read_csv(run_dir / f"{table}.csv")
    rows = got[got["statistic"] == statistic]
    assert len(rows) == 1 and not rows["suppressed"].any()
    check(rows.iloc[0], REF[table][statistic])


@pytest.mark.parametrize(("table", "by"), [("by_sex", "sex"), ("by_region_adults", "region")])
@pytest.mark.parametrize("statistic", ["prevalence", "total", "stock"])
def test_domain_tables_match_r(run_dir, table, by, statistic):
    got = pd.read_csv(run_dir / f"{table}.csv")
    rows = got[(got["statistic"] == statistic) & got[by].notna()]
    ref = REF[table]
    assert sorted(rows[by].astype(int).astype(str)) == sorted(ref)
    for _, row in rows.iterrows():
        check(row, ref[str(int(row[by]))][statistic])
    total = got[(got["statistic"] == statistic) & got[by].isna()].iloc[0]
    base = "national" if table == "by_sex" else "adults"
    check(total, REF[base][statistic])

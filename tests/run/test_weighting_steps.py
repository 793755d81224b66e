"""Weighting steps of the config: what the config says is what the design is weighted to."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

import flestimate
from flestimate.run.config import load_config
from flestimate.run.inputs import weighted_design

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def _config(tmp_path: Path, variables: list) -> Path:
    cfg = {
        "input": {"path": str(SAMPLE / "fl_survey.parquet")},
        "design": {"weight": "w_final", "strata": "stratum", "psu": "psu"},
        "weighting": [{"step": "calibrate", "totals": str(SAMPLE / "margins.csv"),
                       "variables": variables}],
        "tables": [{"name": "national"}],
    }
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return p


def test_calibrate_to_a_crossed_margin_reaches_every_cell(tmp_path):
    config = load_config(_config(tmp_path, [["sex", "age_group"], "region"]))
    frame = pd.read_parquet(SAMPLE / "fl_survey.parquet")
    design = weighted_design(frame, config)
    margins = pd.read_csv(SAMPLE / "margins.csv")
    w = design.weights.to_numpy()
    got = pd.Series(w, index=frame.index).groupby([frame["sex"], frame["age_group"]]).sum()
    want = margins.groupby(["sex", "age_group"])["count"].sum()
    np.testing.assert_allclose(got.sort_index().to_numpy(), want.sort_index().to_numpy(),
                               rtol=1e-9)
    by_region = pd.Series(w, index=frame.index).groupby(frame["region"]).sum().sort_index()
    np.testing.assert_allclose(by_region.to_numpy(),
                               margins.groupby("region")["count"].sum().sort_index().to_numpy(),
                               rtol=1e-9)


def test_crossed_margin_equals_the_direct_call(tmp_path):
    config = load_config(_config(tmp_path, [["sex", "age_group"]]))
    frame = pd.read_parquet(SAMPLE / "fl_survey.parquet")
    via_config = weighted_design(frame, config)
    margins = pd.read_csv(SAMPLE / "margins.csv")
    cells = margins.groupby(["sex", "age_group"], as_index=False)["count"].sum()
    direct = flestimate.calibrate(
        flestimate.SurveyDesign(frame, weight="w_final", strata="stratum", psu="psu"),
        totals={"sex+age_group": cells})
    np.testing.assert_allclose(via_config.weights.to_numpy(), direct.weights.to_numpy(),
                               rtol=1e-12)

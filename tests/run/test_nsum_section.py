"""The ``nsum:`` section of a run: scale-up on the bundled hidden-population survey."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate as fl
from flestimate import nsum
from flestimate.errors import ConfigError
from flestimate.io.safe_yaml import read_yaml_file
from flestimate.report.writers import write_outputs
from flestimate.run.config import load_config, parse_config
from flestimate.run.pipeline import run_pipeline

ROOT = Path(__file__).resolve().parents[2]
HIDDEN = ROOT / "data" / "hidden"
CONFIG = Path(__file__).resolve().parent / "configs" / "nsum.yaml"
KNOWN = pd.read_csv(HIDDEN / "known_populations.csv").set_index("population")["size"].to_dict()


def survey() -> pd.DataFrame:
    s = pd.read_csv(HIDDEN / "nsum_survey.csv")
    s["knows_fl"] = (s["fl_known"] > 0).astype(int)  # the indicator of the ordinary table
    return s


@pytest.fixture(scope="module")
def folder(hidden_folder) -> Path:
    return hidden_folder


@pytest.fixture(scope="module")
def run(folder):
    config = load_config(folder / "nsum.yaml")
    return config, run_pipeline(config)


def test_scale_up_is_the_api_call(run):
    _, result = run
    (section,) = result.sections
    design = fl.SurveyDesign(survey(), weight="weight", strata="region")
    expected = nsum.scale_up(design, "fl_known", known=KNOWN, total_population=4000, topcode=30,
                             adjustment={"visibility": 0.8}).to_frame()
    est = section.tables[0].frame
    for col in ("estimate", "se", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(est[col], expected[col], rtol=1e-12)
    assert 100 < est["estimate"].iloc[0] < 250  # the truth is 179
    val = section.tables[1].frame
    ref = nsum.internal_validation(design, known=KNOWN, total_population=4000, topcode=30)
    np.testing.assert_allclose(val["estimate"], ref["estimate"], rtol=1e-12)
    grid = section.tables[2].frame
    assert len(grid) == 6 and {"visibility", "degree_ratio"} <= set(grid)
    basic = nsum.scale_up(design, "fl_known", known=KNOWN, total_population=4000,
                          topcode=30).to_frame()["estimate"].iloc[0]
    row = grid[(grid["visibility"] == 0.6) & (grid["degree_ratio"] == 0.8)]
    assert row["estimate"].iloc[0] == pytest.approx(basic / 0.48, rel=1e-12)
    assert "visibility 0.8" in section.method[1]


def test_outputs(run, tmp_path):
    config, result = run
    out = write_outputs(result, tmp_path / "out", config.outputs)
    for name in ("scale_up", "scale_up_validation", "scale_up_sensitivity"):
        assert (out / f"{name}.csv").is_file()
    from openpyxl import load_workbook

    sheets = load_workbook(out / "tables.xlsx").sheetnames
    assert {"scale_up", "scale_up_data", "scale_up_validation", "scale_up_sensitivity"} <= set(sheets)
    payload = json.loads((out / "results.json").read_text())
    assert [t["name"] for t in payload["sections"][0]["tables"]] == [
        "scale_up", "scale_up_validation", "scale_up_sensitivity"]
    assert "network scale-up" in (out / "report.html").read_text().lower()


def test_by_domain_and_inline_known(folder):
    raw = dict(read_yaml_file(CONFIG, error=ConfigError, what="config"))
    raw["nsum"] = {"hidden": "fl_known", "known": KNOWN, "total_population": 4000, "by": "region"}
    result = run_pipeline(parse_config(raw, base_dir=folder))
    est = result.sections[0].tables[0].frame
    assert list(est["region"]) == [1, 2, 3, 4]
    assert result.sections[0].tables[0].columns["region"] == "region"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"known": "nowhere.csv"}, r"nsum\.known"),
        ({"known": {"teacher": -1}}, r"nsum\.known\.teacher"),
        ({"total_population": 100}, r"nsum\.total_population"),
        ({"total_population": float("inf")}, r"nsum\.total_population"),
        ({"hidden": "teacher"}, r"nsum\.hidden"),
        ({"sensitivity": {"visibility": []}}, r"nsum\.sensitivity\.visibility"),
        ({"adjustment": {"visibility": 0}}, r"nsum\.adjustment\.visibility"),
        # the product underflowed to 0: a division by zero escaped (found by the fuzz)
        ({"adjustment": {"a": 1e-300, "b": 1e-300}}, r"nsum\.adjustment: .*product"),
        ({"sensitivity": {"a": [1e-5, 1], "b": [1e-5]}}, r"nsum\.sensitivity: .*product"),
        ({"topcode": "thirty"}, r"nsum\.topcode"),
        ({"missing_codes": "dk"}, r"nsum\.missing_codes"),
        ({"visibility": 0.8}, r"nsum\.visibility"),
        ({"name": "knows"}, r"nsum\.name"),
    ],
)
def test_invalid_sections_name_their_key(folder, change, where):
    raw = dict(read_yaml_file(CONFIG, error=ConfigError, what="config"))
    raw["nsum"] = {**raw["nsum"], **change}
    with pytest.raises(ConfigError, match=where):
        parse_config(raw, base_dir=folder)


def test_missing_survey_column_is_named(folder):
    raw = dict(read_yaml_file(CONFIG, error=ConfigError, what="config"))
    raw["nsum"] = {**raw["nsum"], "hidden": "fl_heard"}
    with pytest.raises(ConfigError, match=r"nsum\.hidden: 'fl_heard' is not a column"):
        run_pipeline(parse_config(raw, base_dir=folder))

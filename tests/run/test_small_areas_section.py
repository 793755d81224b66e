"""The ``small_areas:`` section of a run: district table on the bundled sample, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate as fl
from flestimate import sae
from flestimate.errors import ConfigError
from flestimate.io.safe_yaml import read_yaml_file
from flestimate.report.writers import write_outputs
from flestimate.run.config import parse_config
from flestimate.run.config_small_areas import formula_variables
from flestimate.run.pipeline import run_pipeline

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
FORMULA = "~ migrant_share + risky_sector_share + urban_share + C(region)"
SECTION = {"name": "by_district", "title": "By district", "area": "district",
           "lookup": "district_of_psu.csv", "covariates": "districts.csv", "formula": FORMULA}


def raw_config(**section) -> dict:
    raw = dict(read_yaml_file(SAMPLE / "example.yaml", error=ConfigError, what="config"))
    raw.pop("weighting")  # the design of the notebooks: w_final, strata, PSUs
    raw["tables"] = [{"name": "national"}]
    raw["sensitivity"] = False
    raw["small_areas"] = {**SECTION, **section}
    return raw


def parse(raw: dict):
    return parse_config(raw, base_dir=SAMPLE)


@pytest.fixture(scope="module")
def run():
    config = parse(raw_config())
    return config, run_pipeline(config)


@pytest.fixture(scope="module")
def direct_design():
    """The notebook route: classify, label the districts, the design, sae.small_area."""
    survey = fl.read_survey(SAMPLE / "fl_survey.sav")
    data = fl.classify(survey, fl.load_mapping(SAMPLE / "mapping.yaml")).frame
    lookup = pd.read_csv(SAMPLE / "district_of_psu.csv").set_index("psu")["district"]
    data["district"] = data["psu"].map(lookup)
    return fl.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")


@pytest.mark.filterwarnings("ignore:.*smoothed sampling variance")
def test_model_based_estimates_are_sae_small_area_of_the_same_design(run, direct_design):
    config, result = run
    (section,) = result.sections
    table = section.tables[0].frame
    fit = sae.small_area(direct_design, "fl", area="district",
                         auxiliary=pd.read_csv(SAMPLE / "districts.csv"), formula=FORMULA,
                         scale=1000, rng=config.seed).to_frame()
    assert len(table) == len(fit) == 133
    np.testing.assert_allclose(table["model_estimate"], fit["estimate"], rtol=1e-12)
    np.testing.assert_allclose(table["model_rmse"], fit["rmse"], rtol=1e-12)
    assert section.details["method"] == "REML"
    assert "Fay-Herriot" in section.method[0] and "REML" in section.method[0]
    assert any("good enough to publish" in p for p in section.method)


def test_direct_estimates_follow_the_table_rules(run, direct_design):
    _, result = run
    table = result.sections[0].tables[0].frame.set_index("district")
    direct = direct_design.prevalence("fl", by=["district"], scale=1000).to_frame()
    direct = direct.set_index("district")
    shown = table.loc[~table["direct_suppressed"] & table["n"].gt(0)]
    np.testing.assert_allclose(shown["direct_estimate"], direct.loc[shown.index, "estimate"],
                               rtol=1e-12)
    np.testing.assert_allclose(shown["direct_se"], direct.loc[shown.index, "se"], rtol=1e-12)
    sup = table.loc[table["direct_suppressed"]]
    assert len(sup) > 10  # most districts are too thin
    assert sup["direct_estimate"].isna().all() and sup["direct_se"].isna().all()
    assert sup["gamma"].isna().all()  # gamma and the coefficients would give it back
    assert (sup["direct_suppression_reason"] != "").all()
    assert sup["model_estimate"].notna().all()  # model-based: published with a grade
    no_sample = table.loc[table["n"] == 0]
    assert len(no_sample) == 3 and (no_sample["model_quality"] == "caution").all()
    assert no_sample["model_notes"].str.contains("synthetic").all()
    high = table["model_cv"] > 0.3
    assert (table.loc[high, "model_quality"] == "caution").all()


def test_outputs_hold_the_table(run, tmp_path):
    config, result = run
    out = write_outputs(result, tmp_path / "out", config.outputs)
    csv = pd.read_csv(out / "by_district.csv")
    assert len(csv) == 133 and {"direct_estimate", "model_estimate", "gamma"} <= set(csv)
    payload = json.loads((out / "results.json").read_text())
    (sec,) = payload["sections"]
    assert sec["name"] == "small_areas" and len(sec["tables"][0]["rows"]) == 133
    assert sec["details"]["coefficients"][0]["term"] == "Intercept"
    from openpyxl import load_workbook

    wb = load_workbook(out / "tables.xlsx")
    assert {"by_district", "by_district_data"} <= set(wb.sheetnames)
    ws = wb["by_district"]
    assert ws["A1"].value == "By district"
    headers = [c.value for c in ws[2]]
    assert "Direct estimate" in headers and "Model-based estimate" in headers
    html = (out / "report.html").read_text()
    assert "Model-based estimate" in html and "Fay-Herriot" in html
    assert "by_district.csv" in json.loads((out / "manifest.json").read_text())["files"]


def test_arcsin_benchmarked_ratio(tmp_path):
    raw = raw_config(transform="arcsin", benchmark="ratio", area_population="population",
                     n_bootstrap=20)
    result = run_pipeline(parse(raw))
    sec = result.sections[0]
    assert sec.details["transform"] == "arcsin" and sec.details["mse_method"] == "bootstrap"
    t = sec.tables[0].frame
    pop = pd.read_csv(SAMPLE / "districts.csv").set_index("district")["population"]
    mean = np.average(t["model_estimate"], weights=pop.loc[t["district"]].to_numpy())
    assert mean == pytest.approx(sec.details["benchmarking"]["target"], rel=1e-9)
    assert "benchmarking: ratio" in sec.method[1]


def test_no_section_no_sections():
    raw = raw_config()
    raw.pop("small_areas")
    config = parse(raw)
    assert config.small_areas is None and config.nsum is None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"formula": "~ migrant_share + no_such_covariate"}, "small_areas.formula"),
        ({"formula": "~ migrant_share +"}, "small_areas.formula"),
        ({"area": "province", "lookup": None}, "small_areas.area"),
        ({"covariates": "nowhere.csv"}, "small_areas.covariates"),
        ({"n_bootstrap": float("nan")}, "small_areas.n_bootstrap"),
        ({"n_bootstrap": 3}, "small_areas.n_bootstrap"),
        ({"transform": "logit"}, "small_areas.transform"),
        ({"benchmark": "ratio"}, "small_areas.area_population"),
        ({"area_population": "people"}, "small_areas.area_population"),
        ({"method": "reml"}, "small_areas.method"),
        ({"shrink": True}, "small_areas.shrink"),
        ({"name": "national"}, "small_areas.name"),
    ],
)
def test_invalid_sections_name_their_key(change, where):
    raw = raw_config(**change)
    raw["small_areas"] = {k: v for k, v in raw["small_areas"].items() if v is not None}
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        parse(raw)


def test_area_column_missing_from_the_survey_is_named():
    raw = raw_config(area="district")
    raw["small_areas"].pop("lookup")
    with pytest.raises(ConfigError, match=r"small_areas\.area: .*'district'.*not a column"):
        run_pipeline(parse(raw))


def test_formula_variables():
    assert formula_variables("~ a + C(region) + np.log1p(x) + a:b - 1") == ["a", "region", "x", "b"]


def test_the_sample_district_files_are_reproduced_by_their_call():
    # data/sample/README.md: sae.study.district_areas of the sample's simulated country
    country = fl.simulate(20_000, rng=20181010, keep_population=True)
    district_of_psu, districts = sae.study.district_areas(country.population)
    lookup = pd.read_csv(SAMPLE / "district_of_psu.csv")
    assert lookup["district"].tolist() == district_of_psu.loc[lookup["psu"]].tolist()
    assert len(lookup) == len(district_of_psu)
    pd.testing.assert_frame_equal(pd.read_csv(SAMPLE / "districts.csv"),
                                  districts.drop(columns="prevalence_true").round(6),
                                  check_dtype=False, atol=1e-9, rtol=0)

"""The ``proxy:`` section of a run: family reports on the bundled hidden-population data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate as fl
from flestimate import proxy
from flestimate.errors import ConfigError
from flestimate.io.safe_yaml import read_yaml_file
from flestimate.report.writers import write_outputs
from flestimate.run.config import load_config, parse_config
from flestimate.run.engine import refuse_unsupported
from flestimate.run.pipeline import run_pipeline

ROOT = Path(__file__).resolve().parents[2]
HIDDEN = ROOT / "data" / "hidden"
CONFIG = Path(__file__).resolve().parent / "configs" / "proxy.yaml"
ARGS = {"respondent": "respondent", "outcome": "fl", "multiplicity": "multiplicity",
        "respondent_id": "id"}
COLUMNS = ("estimate", "se", "ci_lower", "ci_upper", "cv", "n_unweighted")


def design() -> fl.SurveyDesign:
    s = pd.read_csv(HIDDEN / "nsum_survey.csv")
    return fl.SurveyDesign(s, weight="weight", strata="region")


def reports() -> pd.DataFrame:
    return pd.read_csv(HIDDEN / "family_reports.csv")


def raw_config(**change) -> dict:
    raw = dict(read_yaml_file(CONFIG, error=ConfigError, what="config"))
    raw["proxy"] = {**raw["proxy"], **change}
    return raw


@pytest.fixture(scope="module")
def folder(hidden_folder) -> Path:
    return hidden_folder


@pytest.fixture(scope="module")
def run(folder):
    config = load_config(folder / "proxy.yaml")
    return config, run_pipeline(config)


def test_estimates_are_the_api_calls(run):
    _, result = run
    (section,) = result.sections
    prev, total = section.tables
    assert (prev.name, total.name) == ("family_prevalence", "family_total")
    expected_prev = proxy.multiplicity_prevalence(design(), reports(), **ARGS).to_frame()
    expected_total = proxy.multiplicity_total(design(), reports(), **ARGS).to_frame()
    for got, expected in ((prev.frame, expected_prev), (total.frame, expected_total)):
        for col in COLUMNS:
            np.testing.assert_allclose(got[col], expected[col], rtol=1e-12)
    # the bundled truth: 179 people in forced labour among 4,000 (44.75 per 1,000)
    assert 100 < total.frame["estimate"].iloc[0] < 250
    assert 25 < prev.frame["estimate"].iloc[0] < 60
    assert section.details["reports_rows"] == len(reports())


def test_counting_rule_is_stated(run):
    _, result = run
    method = " ".join(result.sections[0].method)
    assert "counts exactly once" in method and "1 / m_j" in method
    assert "every member of the person's family" in method
    assert "family_reports.csv" in method


def test_by_domain_statistic_and_scale(folder):
    raw = raw_config(by="region", statistics=["prevalence"], scale=100)
    del raw["proxy"]["counting_rule"]
    result = run_pipeline(parse_config(raw, base_dir=folder))
    (table,) = result.sections[0].tables
    expected = proxy.multiplicity_prevalence(design(), reports(), **ARGS, by="region",
                                             scale=100).to_frame()
    assert list(table.frame["region"]) == [1, 2, 3, 4]
    for col in COLUMNS:
        np.testing.assert_allclose(table.frame[col], expected[col], rtol=1e-12)
    assert "column multiplicity" in result.sections[0].method[1]


def test_default_scale_is_the_estimation_scale(folder):
    raw = raw_config()
    del raw["proxy"]["scale"]
    assert parse_config(raw, base_dir=folder).proxy.scale == 100


def test_parquet_reports(folder, tmp_path):
    reports().to_parquet(tmp_path / "reports.parquet")
    raw = raw_config(reports=str(tmp_path / "reports.parquet"), statistics="total")
    (table,) = run_pipeline(parse_config(raw, base_dir=folder)).sections[0].tables
    expected = proxy.multiplicity_total(design(), reports(), **ARGS).to_frame()
    np.testing.assert_allclose(table.frame["estimate"], expected["estimate"], rtol=1e-12)


def test_outputs(run, tmp_path):
    config, result = run
    out = write_outputs(result, tmp_path / "out", config.outputs)
    for name in ("family_prevalence", "family_total"):
        assert (out / f"{name}.csv").is_file()
    from openpyxl import load_workbook

    sheets = set(load_workbook(out / "tables.xlsx").sheetnames)
    assert len([s for s in sheets if s.startswith("family_")]) == 4  # publication + data
    payload = json.loads((out / "results.json").read_text())
    (section,) = payload["sections"]
    assert [t["name"] for t in section["tables"]] == ["family_prevalence", "family_total"]
    assert section["details"]["counting_rule"].startswith("every member")
    html = (out / "report.html").read_text()
    assert "Counting rule" in html and "Sirken" in html
    written = pd.read_csv(out / "family_total.csv")
    np.testing.assert_allclose(written["estimate"], result.sections[0].tables[1].frame["estimate"],
                               rtol=1e-9)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"reports": "nowhere.csv"}, r"proxy\.reports: file not found"),
        ({"reports": "proxy.yaml"}, r"proxy\.reports: .*CSV"),
        ({"respondent_id": None}, r"proxy\.respondent_id: required"),
        ({"outcome": 1}, r"proxy\.outcome"),
        ({"outcome": "respondent"}, r"proxy\.outcome: .*three different"),
        ({"statistics": ["share"]}, r"proxy\.statistics\[0\]"),
        ({"statistics": []}, r"proxy\.statistics"),
        ({"scale": 0}, r"proxy\.scale"),
        ({"by": [1]}, r"proxy\.by\[0\]"),
        ({"counting_rule": "x" * 501}, r"proxy\.counting_rule"),
        ({"multiplicty": "m"}, r"proxy\.multiplicty: unknown key; did you mean 'multiplicity'"),
        ({"name": "knows_"}, r"proxy\.name"),
        ({"name": "1x"}, r"proxy\.name"),
    ],
)
def test_invalid_sections_name_their_key(folder, change, where):
    raw = raw_config(**change)
    if change.get("name") == "knows_":  # family_* tables clash with a table of the config
        raw["tables"] = [*raw["tables"], {"name": "knows__total"}]
    with pytest.raises(ConfigError, match=where):
        parse_config(raw, base_dir=folder)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"respondent_id": "person_id"}, r"proxy\.respondent_id: 'person_id' is not a column "
                                         r"of the survey"),
        ({"by": ["district"]}, r"proxy\.by\[0\]: 'district' is not a column of the survey"),
        ({"outcome": "forced"}, r"proxy\.outcome: 'forced' is not a column of "
                                r"'family_reports\.csv'"),
        ({"multiplicity": "self"}, r"proxy: column 'self' has .* values missing or below 1"),
        ({"outcome": "person"}, r"proxy: column 'person' has .* not 0/1"),
        ({"respondent_id": "region"}, r"proxy: column 'region' of the design's data repeats"),
    ],
)
def test_data_errors_name_their_key(folder, change, where):
    with pytest.raises(ConfigError, match=where):
        run_pipeline(parse_config(raw_config(**change), base_dir=folder))


def test_reports_of_unknown_respondents(folder, tmp_path):
    bad = reports()
    bad.loc[0, "respondent"] = 10**6
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ConfigError, match=r"proxy: 1 reports name respondents not in the design"):
        run_pipeline(parse_config(raw_config(reports=str(tmp_path / "bad.csv")),
                                  base_dir=folder))


def test_empty_reports_file(folder, tmp_path):
    (tmp_path / "empty.csv").write_text("respondent,fl,multiplicity\n")
    with pytest.raises(ConfigError, match=r"proxy\.reports: .*no (data )?rows"):
        run_pipeline(parse_config(raw_config(reports=str(tmp_path / "empty.csv")),
                                  base_dir=folder))


@pytest.mark.parametrize("engine", ["duckdb", "dask"])
def test_refused_out_of_core(folder, engine):
    config = parse_config(raw_config(), base_dir=folder)
    with pytest.raises(ConfigError, match=r"^proxy: the model-based section is not available"):
        refuse_unsupported(config, engine)


@pytest.mark.parametrize("section", ["proxy", "nsum"])
def test_domains_by_an_identifier_are_refused(folder, section):
    """A section by respondents' domains publishes one estimate per respondent when the
    domain is an id: refused like a table by an identifier (found by the fuzz)."""
    raw = raw_config(by="id")
    if section == "nsum":
        raw["nsum"] = dict(read_yaml_file(folder / "nsum.yaml", error=ConfigError,
                                          what="config")["nsum"], by=["region", "id"])
        del raw["proxy"]
    with pytest.raises(ConfigError, match=rf"^{section}\.by: by column 'id' identifies "
                                          r"respondents.*400 values"):
        run_pipeline(parse_config(raw, base_dir=folder))


def test_small_domains_are_suppressed(folder):
    raw = raw_config(by="region", statistics=["total"])
    raw["reliability"] = {"min_n": 101}  # every region has 100 respondents
    (table,) = run_pipeline(parse_config(raw, base_dir=folder)).sections[0].tables
    assert table.frame["suppressed"].all()
    assert table.frame[["estimate", "se", "ci_lower", "ci_upper", "cv"]].isna().all().all()
    assert list(table.frame["n_unweighted"]) == [100] * 4
    raw["reliability"] = {"min_n": 100}
    (table,) = run_pipeline(parse_config(raw, base_dir=folder)).sections[0].tables
    assert not table.frame["suppressed"].any() and table.frame["estimate"].notna().all()

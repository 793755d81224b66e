"""The ``models:`` section of a run: design-based regression models in the outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import flestimate as fl
from flestimate.errors import ConfigError
from flestimate.io.safe_yaml import read_yaml_file
from flestimate.report.writers import write_outputs
from flestimate.run.config import check_columns, parse_config
from flestimate.run.models import MODEL_COLUMNS
from flestimate.run.pipeline import run_pipeline

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
MODEL = {"name": "risk", "title": "Risk factors among workers",
         "formula": "fl ~ sex + age_group + migrant + sector", "population": "workers"}


def _raw(folder: Path) -> dict:
    return read_yaml_file(folder / "example.yaml", error=ConfigError, what="config")


def _plain_survey(folder: Path) -> Path:
    """The sample as CSV with the true forced-labour status as ``fl`` (no classification,
    no value labels): the run and a direct call can then be compared on one design."""
    data = pd.read_csv(SAMPLE / "fl_survey.csv").merge(
        pd.read_csv(SAMPLE / "truth_respondents.csv")[["pid", "fl_true"]], on="pid")
    data["fl"] = data.pop("fl_true").astype(int)
    data.to_csv(folder / "plain.csv", index=False)
    return folder / "plain.csv"


def _plain_config(folder: Path, models: list[dict], **extra) -> fl.run.config.Config:
    raw = {"input": {"path": str(_plain_survey(folder))},
           "design": {"weight": "w_final", "strata": "stratum", "psu": "psu"},
           "populations": {"workers": "worked == 1"},
           "estimation": {"indicator": "fl"}, "sensitivity": False,
           "tables": [{"name": "national"}], "models": models, **extra}
    return parse_config(raw, base_dir=folder)


def test_the_runs_table_is_a_direct_glm_call(tmp_path):
    config = _plain_config(tmp_path, [
        {"name": "among_workers", "formula": "fl ~ C(sex) + C(age_group) + C(migrant)",
         "population": "workers"},
        {"name": "everyone", "formula": "fl ~ C(sex) + C(region)", "exponentiate": False}])
    result = run_pipeline(config)
    data = pd.read_csv(tmp_path / "plain.csv")
    workers = data.assign(fl_w=data["fl"].where(data["worked"] == 1))
    design = fl.SurveyDesign(workers, weight="w_final", strata="stratum", psu="psu")
    for section, formula, exp in (
            (result.sections[0], "fl_w ~ C(sex) + C(age_group) + C(migrant)", True),
            (result.sections[1], "fl ~ C(sex) + C(region)", False)):
        direct = design.glm(formula, family="quasibinomial", na_rm=True).table(
            exponentiate=exp)
        got = section.tables[0].frame
        assert list(got["term"]) == list(direct["term"])
        for col in ("estimate", "se", "ci_lower", "ci_upper", "p_value", "deff", "df"):
            np.testing.assert_allclose(got[col], direct[col], rtol=1e-12, atol=0)
    # the population is a domain: the df is the workers' (R's svyglm on a subset), and
    # respondents outside it are not in the fit
    first = result.sections[0].tables[0].frame
    assert first["n_model"].iloc[0] == int(((data["worked"] == 1) & data["fl"].notna()).sum())
    assert first["scale"].iloc[0] == "odds ratio"
    assert result.sections[1].tables[0].frame["scale"].iloc[0] == "coefficient"


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    for name in ("example.yaml", "mapping.yaml", "fl_survey.sav", "margins.csv"):
        (folder / name).write_bytes((SAMPLE / name).read_bytes())
    raw = _raw(folder)
    raw["models"] = [MODEL]
    config = parse_config(raw, base_dir=folder)
    result = run_pipeline(config)
    out = folder / "out"
    write_outputs(result, out, config.outputs)
    return config, result, out


def test_terms_are_labelled_and_small_categories_flagged(example_run):
    config, result, _ = example_run
    (section,) = [s for s in result.sections if s.name == "risk"]
    frame = section.tables[0].frame
    assert list(frame.columns) == list(MODEL_COLUMNS)
    labels = list(frame["label"])
    assert "sex: female" in labels and "migrant: international migrant" in labels
    few = frame["n"] < config.reliability.min_n
    assert few.any()  # the sample has sectors with few workers
    assert frame.loc[few, "flags"].str.contains("few_respondents").all()
    assert (frame.loc[few, "quality"] == "caution").all()
    assert not frame.loc[~few, "flags"].str.contains("few_respondents").any()
    # respondents of a category: workers with that value
    data = fl.read_survey(SAMPLE / "fl_survey.sav").frame
    women = int(((data["worked"] == 1) & (data["sex"] == 2)).sum())
    assert int(frame.loc[frame["label"] == "sex: female", "n"].iloc[0]) == women
    assert section.tables[0].plot_png  # the coefficient plot
    assert any("svyglm" in p and "sandwich" in p for p in section.method)


def test_the_model_is_in_every_output(example_run):
    _, _, out = example_run
    csv = pd.read_csv(out / "risk.csv")
    assert list(csv.columns) == list(MODEL_COLUMNS)
    payload = json.loads((out / "results.json").read_text(encoding="utf-8"))
    (sec,) = [s for s in payload["sections"] if s["name"] == "risk"]
    assert sec["details"]["population"] == "workers" and sec["tables"][0]["rows"]
    assert sec["tables"][0]["rows"][1]["estimate"] == pytest.approx(csv["estimate"].iloc[1])
    sheets = load_workbook(out / "tables.xlsx", read_only=True).sheetnames
    assert sum("risk" in s for s in sheets) == 2  # publication and data sheets
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Coefficient plot: Risk factors among workers" in html
    assert "Odds ratio" in html


@pytest.mark.parametrize(("model", "key", "words"), [
    ({"formula": "fl ~ sexx + migrant"}, "models[0].formula", "did you mean 'sex'"),
    ({"formula": "fll ~ sex"}, "models[0].formula", "the outcome"),
    ({"formula": "fl ~ sex", "family": "logistic"}, "models[0].family", "quasibinomial"),
    ({"formula": "fl ~ sex", "family": "poisson", "link": "logit"}, "models[0].link",
     "not available"),
    ({"formula": "fl ~ sex", "population": "adultz"}, "models[0].population",
     "did you mean 'adults'"),
    ({"formula": "sex + migrant"}, "models[0].formula", "outcome ~ term"),
    ({"formula": "fl ~ sex", "name": "by_sex"}, "models[0].name", "different from every"),
    ({"formula": "fl ~ sex", "colour": "red"}, "models[0].colour", "unknown key"),
    # a config is never code: formulaic would evaluate this term as Python
    ({"formula": "fl ~ I(__import__('os').system('touch pwned'))"}, "models[0].formula",
     "model formula of"),
])
def test_config_errors_name_the_key(tmp_path, model, key, words):
    for name in ("example.yaml", "mapping.yaml", "fl_survey.sav", "margins.csv"):
        (tmp_path / name).write_bytes((SAMPLE / name).read_bytes())
    raw = _raw(tmp_path)
    raw["models"] = [{"name": "m", **model}]
    with pytest.raises(ConfigError) as info:
        config = parse_config(raw, base_dir=tmp_path)
        check_columns(config, list(fl.read_survey(tmp_path / "fl_survey.sav").frame.columns)
                      + ["fl"])
    assert key in str(info.value) and words in str(info.value)


def test_two_models_of_one_name_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"models\[1\].name"):
        _plain_config(tmp_path, [{"name": "m", "formula": "fl ~ sex"},
                                 {"name": "m", "formula": "fl ~ region"}])


def test_missing_predictor_without_na_rm_names_the_column(tmp_path):
    config = _plain_config(tmp_path, [{"name": "m", "formula": "fl ~ C(sex) + sector",
                                       "population": "total"}])
    with pytest.raises(ConfigError, match=r"models\[0\].formula: the column 'sector' has"):
        run_pipeline(config)


def test_default_exponentiate_follows_the_link(tmp_path):
    config = _plain_config(tmp_path, [
        {"name": "a", "formula": "fl ~ sex"},
        {"name": "b", "formula": "fl ~ sex", "family": "gaussian"},
        {"name": "c", "formula": "fl ~ sex", "family": "quasipoisson"}])
    assert [m.exponentiate for m in config.models] == [True, False, True]
    assert [m.link for m in config.models] == ["logit", "identity", "log"]


def test_respondents_by_term_with_a_numeric_term(tmp_path):
    config = _plain_config(tmp_path, [{"name": "m", "formula": "fl ~ age + C(sex)",
                                       "family": "gaussian"}])
    (section,) = run_pipeline(config).sections
    frame = section.tables[0].frame.set_index("term")
    data = pd.read_csv(tmp_path / "plain.csv")
    assert frame.loc["age", "n"] == frame.loc["Intercept", "n"] == len(data)
    assert frame.loc["C(sex)[T.2]", "n"] == int((data["sex"] == 2).sum())
    assert frame["flags"].eq("").all()  # no category below min_n

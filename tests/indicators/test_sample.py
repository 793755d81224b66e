"""The classification of the sample survey reproduces the simulator's truth exactly.

The simulator (``flestimate.simulate``) draws each person's true status under the default
rule (ilo-2012, strength any, penalty any_dimension, conservative); classifying its answers
with ``data/sample/mapping.yaml`` must give that status back for every respondent, in the
committed sample files and in a fresh draw.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate import classify, validate_mapping
from flestimate.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
MAPPING = SAMPLE / "mapping.yaml"
FORMS = {0: "", 1: "exploitation", 2: "sexual_exploitation", 3: "state_imposed"}
CHILD = {0: "", 1: "i_ii", 2: "i_ii", 3: "iii", 4: "iv"}


def _needs(path: Path) -> None:
    assert path.exists(), f"{path.name} is missing from data/sample (the bundled sample ships it)"


def _read(fmt: str) -> pd.DataFrame:
    path = SAMPLE / f"fl_survey.{fmt}"
    _needs(path)
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "parquet":
        return pd.read_parquet(path)
    import pyreadstat
    # user_missing=True keeps the declared user-missing codes 8/9 as codes
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    kwargs = {"user_missing": True} if fmt == "sav" else {}
    df, _ = reader(str(path), **kwargs)
    return df


def _check_against_truth(res: pd.DataFrame, truth: pd.DataFrame) -> None:
    merged = res[["pid", "fl", "fl_form", "fl_child_category"]].merge(
        truth, on="pid", how="outer", validate="one_to_one", indicator=True
    )
    assert (merged["_merge"] == "both").all()
    np.testing.assert_array_equal(merged["fl"].to_numpy(), merged["fl_true"].to_numpy())
    assert merged["fl_true"].sum() > 0
    if "fl_form_true" in merged:
        np.testing.assert_array_equal(
            merged["fl_form"].to_numpy(dtype=object),
            merged["fl_form_true"].map(FORMS).to_numpy(dtype=object),
        )
    if "fl_child_category_true" in merged:
        # the truth keeps the category the simulator drew; classify lists every one that holds
        ours = merged["fl_child_category"].str.split(";")
        theirs = merged["fl_child_category_true"].map(CHILD)
        for got, want in zip(ours, theirs, strict=True):
            assert (got == [""]) == (want == "")
            if want:
                assert want in got


@pytest.mark.parametrize("fmt", ["csv", "parquet", "sav", "dta"])
def test_committed_sample_reproduces_the_truth(fmt):
    _needs(SAMPLE / "truth_respondents.csv")
    truth = pd.read_csv(SAMPLE / "truth_respondents.csv")
    df = _read(fmt)
    res, report = classify(df, MAPPING, return_report=True)
    _check_against_truth(res, truth)
    assert report.counts["fl"] == int(truth["fl_true"].sum())
    assert report.counts["n_uncertain"] > 0  # the sample has don't know / refused answers


def test_fresh_simulation_reproduces_the_truth():
    from flestimate.simulation import simulate

    for seed in (1, 2):
        sim = simulate(3000, rng=seed, prevalence=0.02)
        res = classify(sim.sample, MAPPING)
        _check_against_truth(res, sim.respondent_truth)
        assert res["fl_child"].sum() > 0


def test_sample_mappings_validate_without_problems():
    df = _read("csv")
    for name in ("mapping.yaml", "mapping-icls2018.yaml"):
        check = validate_mapping(df, SAMPLE / name)
        assert check.ok and not check.undeclared
        assert set(check.codes["meaning"]) <= {
            "yes", "no", "dont_know", "refused", "system_missing",
        }  # fmt: skip
    res = classify(df, SAMPLE / "mapping-icls2018.yaml")
    assert res["fl"].sum() > 0


def test_cli_check_mapping_on_the_sample(capsys):
    _needs(SAMPLE / "fl_survey.csv")
    assert main(["check-mapping", str(SAMPLE / "fl_survey.csv"), str(MAPPING)]) == 0
    assert "mapping OK" in capsys.readouterr().out


def test_cli_check_mapping_on_the_spss_sample_shows_labels_and_user_missing(capsys):
    _needs(SAMPLE / "fl_survey.sav")
    assert main(["check-mapping", str(SAMPLE / "fl_survey.sav"), str(MAPPING)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"indicators\.UR-I1\s+ur_i1\s+8\s+don't know\s+dont_know\s+True", out)
    assert re.search(r"indicators\.UR-I1\s+ur_i1\s+1\s+yes\s+yes\s+False", out)


def _survey_data_class():
    from flestimate.io.survey_data import SurveyData

    return SurveyData


def test_survey_data_from_the_spss_sample():
    SurveyData = _survey_data_class()
    import pyreadstat
    _needs(SAMPLE / "fl_survey.sav")
    df, meta = pyreadstat.read_sav(str(SAMPLE / "fl_survey.sav"), user_missing=True)
    sd = SurveyData(
        df,
        variable_labels=dict(zip(meta.column_names, meta.column_labels, strict=True)),
        value_labels={c: meta.value_labels[n] for c, n in meta.variable_to_label.items()},
        missing_values={c: tuple(v) for c, v in meta.missing_ranges.items()},
    )
    out, report = classify(sd, MAPPING, return_report=True)
    assert type(out) is SurveyData and out is not sd
    assert "fl" not in sd.frame.columns
    assert out.value_labels["fl"] == {0: "not in forced labour", 1: "in forced labour"}
    assert out.value_labels["p1"] == sd.value_labels["p1"]
    assert out.missing_values == sd.missing_values
    assert out.variable_labels["fl_ur"].startswith("Dimension positive")
    _check_against_truth(out.frame, pd.read_csv(SAMPLE / "truth_respondents.csv"))
    codes = validate_mapping(sd, MAPPING).codes
    p1 = codes[codes["column"] == "p1"].set_index("code")
    assert bool(p1.loc[8, "user_missing"]) and not bool(p1.loc[1, "user_missing"])
    assert p1.loc[8, "label"] == "don't know"

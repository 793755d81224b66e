"""Empty text cells are missing values in every reader and in the estimators
(issue 15, point 6): a blank sector is "no sector", never a category of its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flestimate as fl


def frame():
    return pd.DataFrame({"w": [1.0, 2.0, 1.0, 3.0, 1.0, 2.0], "psu": [1, 2, 3, 4, 5, 6],
                         "sector": ["A", "", "B", "  ", "A", "B"]})


def write(df, path):
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        df.to_parquet(path)
    else:
        import pyreadstat

        (pyreadstat.write_sav if path.suffix == ".sav" else pyreadstat.write_dta)(df, str(path))


@pytest.mark.parametrize("ext", ["csv", "parquet", "sav", "dta"])
def test_every_reader_loads_blank_text_as_missing(tmp_path, ext):
    path = tmp_path / f"survey.{ext}"
    write(frame(), path)
    got = fl.read_survey(path).frame["sector"]
    assert got.isna().tolist() == [False, True, False, True, False, False]
    assert set(got.dropna()) == {"A", "B"}


def test_proportion_leaves_blank_text_out_with_na_rm():
    design = fl.SurveyDesign(frame(), weight="w", psu="psu")
    out = design.proportion("sector", na_rm=True).to_frame()
    assert out["category"].tolist() == ["A", "B"]
    np.testing.assert_allclose(out["estimate"], [2 / 5, 3 / 5], rtol=1e-12)
    # the same as dropping the blank rows
    kept = frame()[frame()["sector"].str.strip() != ""]
    ref = fl.SurveyDesign(kept, weight="w", psu="psu").proportion("sector").to_frame()
    np.testing.assert_allclose(out["estimate"], ref["estimate"], rtol=1e-12)
    with pytest.raises(fl.errors.EstimationError, match="2 missing values"):
        design.proportion("sector")


def test_blank_category_of_a_categorical_column_is_missing():
    df = frame().assign(sector=lambda d: pd.Categorical(d["sector"]))
    design = fl.SurveyDesign(df, weight="w", psu="psu")
    assert design.proportion("sector", na_rm=True).to_frame()["category"].tolist() == ["A", "B"]

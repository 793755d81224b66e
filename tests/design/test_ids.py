"""Design id columns (strata, PSUs, later-stage units) whose values a hash table would
split silently (issue 14): a PSU stored as both "1" and 1 was two PSUs; a blank id was a
PSU named ""."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flestimate import SurveyDesign
from flestimate.errors import DesignError


@pytest.fixture
def frame():
    rng = np.random.default_rng(5)
    n = 60
    return pd.DataFrame({
        "stratum": np.repeat([1, 2, 3], n // 3).astype(object),
        "psu": (np.arange(n) // 5 + 1).astype(object),  # 12 PSUs of 5 rows
        "ssu": (np.arange(n) % 5 // 2 + 1).astype(object),
        "w": rng.uniform(1, 2, n),
        "y": rng.normal(size=n),
    })


def test_psu_stored_as_text_and_number_is_refused(frame):
    # as from a hand-edited CSV or Excel file: some cells of PSU 1 typed as text
    frame.loc[[1, 3], "psu"] = "1"
    frame.loc[12, "psu"] = " 3.0"
    with pytest.raises(DesignError, match=r"psu column 'psu' holds the same id as text and as a "
                                          r"number: ' 3.0' \(text\) and 3 \(number\); '1' "
                                          r"\(text\) and 1 \(number\).*pd.to_numeric"):
        SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    # once the column has one type, the PSU is one PSU
    design = SurveyDesign(frame.assign(psu=frame["psu"].astype(float)), weight="w",
                          strata="stratum", psu="psu")
    assert design.structure.n_psus == 12


def test_strata_and_later_stage_ids_are_checked_too(frame):
    strata = frame.copy()
    strata.loc[0, "stratum"] = "1"
    with pytest.raises(DesignError, match=r"strata column 'stratum' .*'1' \(text\) and 1"):
        SurveyDesign(strata, weight="w", strata="stratum", psu="psu")
    second = frame.copy()
    second.loc[2, "ssu"] = "2"
    with pytest.raises(DesignError, match=r"psu column 'ssu' .*'2' \(text\) and 2"):
        SurveyDesign(second, weight="w", strata="stratum", psu=["psu", "ssu"])


def test_blank_id_is_a_missing_id(frame):
    f = frame.assign(psu=frame["psu"].astype(str))
    f.loc[[4, 9], "psu"] = ["", "  "]
    with pytest.raises(DesignError, match=r"psu column 'psu' has 2 blank values \(rows 4, 9\)"):
        SurveyDesign(f, weight="w", strata="stratum", psu="psu")


def test_ids_of_one_type_or_not_alike_are_accepted(frame):
    text = frame.assign(psu=("p" + frame["psu"].astype(str)).astype(object))
    text.loc[0, "psu"] = 1  # a number next to text ids that do not read as 1
    design = SurveyDesign(text, weight="w", strata="stratum", psu="psu")
    assert design.structure.n_psus == 13
    numbers = SurveyDesign(frame.astype({"psu": int, "stratum": int}), weight="w",
                           strata="stratum", psu="psu")
    assert numbers.structure.n_psus == 12

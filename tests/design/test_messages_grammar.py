"""Messages about strata agree in number (issue 15, point 9): "1 stratum has"."""

import pandas as pd
import pytest

import flestimate as fl
from flestimate.errors import DesignError, strata_have


def test_strata_have():
    assert strata_have(1) == "1 stratum has"
    assert strata_have(3) == "3 strata have"
    assert strata_have(1200) == "1,200 strata have"


def test_one_lonely_stratum_is_singular():
    frame = pd.DataFrame({"y": [1.0, 2, 3, 4, 5], "w": 1.0, "h": [1, 1, 1, 1, 2],
                          "psu": [1, 1, 2, 2, 3]})
    with pytest.raises(DesignError) as err:
        fl.SurveyDesign(frame, weight="w", strata="h", psu="psu")
    assert "1 stratum has a single PSU" in str(err.value)
    assert "strata have" not in str(err.value)

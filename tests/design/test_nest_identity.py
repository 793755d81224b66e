"""nest=False (R's default) and nest=True give the same design when PSU ids do not
repeat across strata, and nest=False still refuses ids that do (issue 18)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flestimate import SurveyDesign
from flestimate.errors import DesignError


@st.composite
def unnested_frames(draw):
    """Frames whose PSU ids are unique across strata, rows in any order."""
    n_strata = draw(st.integers(1, 5))
    sizes = draw(st.lists(st.integers(2, 4), min_size=n_strata, max_size=n_strata))
    n_psu = sum(sizes)
    ids = draw(st.permutations(list(range(n_psu))))
    ids = [i * 7 + 3 for i in ids]  # arbitrary, unsorted labels
    text = draw(st.booleans())
    rows = []
    pos = 0
    for h, size in enumerate(sizes):
        for _ in range(size):
            per = draw(st.integers(1, 3))
            rows += [(f"s{h}", ids[pos])] * per
            pos += 1
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rows, columns=["stratum", "psu"]).sample(frac=1.0, random_state=seed)
    frame = frame.reset_index(drop=True)
    if text:
        frame["psu"] = "p" + frame["psu"].astype(str)
    frame["w"] = rng.uniform(1.0, 5.0, len(frame))
    frame["y"] = rng.integers(0, 2, len(frame))
    frame["g"] = rng.integers(0, 2, len(frame))
    return frame


@settings(max_examples=60, deadline=None)
@given(unnested_frames())
def test_nest_false_equals_nest_true_when_ids_do_not_repeat(frame):
    a = SurveyDesign(frame, weight="w", strata="stratum", psu="psu", nest=False)
    b = SurveyDesign(frame, weight="w", strata="stratum", psu="psu", nest=True)
    sa, sb = a.structure, b.structure
    np.testing.assert_array_equal(sa.psu, sb.psu)
    np.testing.assert_array_equal(sa.psu_stratum, sb.psu_stratum)
    np.testing.assert_array_equal(sa.n_psu, sb.n_psu)
    # the PSU codes follow (stratum, id) order, and each code's label is its id
    pairs = frame[["stratum", "psu"]].drop_duplicates().sort_values(["stratum", "psu"])
    assert list(sa.psu_labels) == pairs["psu"].tolist()
    np.testing.assert_array_equal(sa.psu_labels[sa.psu], frame["psu"].to_numpy())
    ta = a.mean("y", by="g").to_frame()
    tb = b.mean("y", by="g").to_frame()
    np.testing.assert_allclose(ta["se"], tb["se"], rtol=0, atol=0)
    np.testing.assert_allclose(ta["estimate"], tb["estimate"], rtol=0, atol=0)


@settings(max_examples=40, deadline=None)
@given(unnested_frames(), st.data())
def test_nest_false_refuses_every_repeated_id(frame, data):
    strata = sorted(frame["stratum"].unique())
    if len(strata) < 2:
        return
    ids = sorted(frame["psu"].unique())
    moved = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True))
    frame = frame.copy()
    for pid in moved:  # one more row of the id in another stratum
        row = frame.loc[frame["psu"] == pid].iloc[[0]].copy()
        row["stratum"] = next(s for s in strata if s != row["stratum"].iloc[0])
        frame = pd.concat([frame, row], ignore_index=True)
    with pytest.raises(DesignError) as info:
        SurveyDesign(frame, weight="w", strata="stratum", psu="psu", nest=False)
    message = str(info.value)
    assert f"has {len(moved)} PSU ids that appear in more than one stratum" in message
    assert "pass nest=True" in message
    first = sorted(moved)[0]
    assert repr(first) in message or str(first) in message
    SurveyDesign(frame, weight="w", strata="stratum", psu="psu", nest=True)


def test_nest_false_without_strata_keeps_id_order():
    frame = pd.DataFrame({"psu": [30, 10, 20, 10, 30], "w": 1.0, "y": [1, 0, 1, 1, 0]})
    d = SurveyDesign(frame, weight="w", psu="psu")
    assert list(d.structure.psu_labels) == [10, 20, 30]
    np.testing.assert_array_equal(d.structure.psu, [2, 0, 1, 0, 2])

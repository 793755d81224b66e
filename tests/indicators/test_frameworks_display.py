"""flestimate.frameworks() displays a readable table (issue 15, point 10)."""

import flestimate as fl


def test_frameworks_is_a_mapping_with_a_readable_display():
    fws = fl.frameworks()
    assert sorted(fws) == ["icls-2018", "ilo-2012"]
    text = repr(fws)
    assert not text.startswith("mappingproxy")
    assert "ilo-2012 (version" in text and "UR-I1" in text and "wording" in text
    frame = fws.to_frame()
    assert list(frame.columns) == ["framework", "version", "indicator", "role", "dimension",
                                   "strength", "wording"]
    row = frame[frame["indicator"] == "UR-I1"].iloc[0]
    assert row["framework"] == "ilo-2012" and row["strength"] == "strong"
    assert row["wording"] == fws["ilo-2012"].indicator("UR-I1").label
    assert "<table" in fws._repr_html_()

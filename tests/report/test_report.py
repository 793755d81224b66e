"""Report layer on hand-made estimator results: disclosure control and the writers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from flestimate.errors import ConfigError
from flestimate.report import (
    apply_disclosure_control,
    assemble_table,
    nchs_proportion_standard,
    tidy_rows,
    write_outputs,
)
from flestimate.report.plots import forest_plot_png
from flestimate.report.specs import OutputOptions, ReliabilityRules
from report_fixtures import est_frame, fake_result, make_table


def test_table_layout_and_labels():
    t = make_table()
    assert list(t.columns[:7]) == ["table", "indicator", "population", "statistic", "unit",
                                   "region", "region_label"]
    assert t["region_label"].tolist()[:2] == ["Total", "Total"]
    assert t["statistic"].tolist()[:2] == ["prevalence", "total"]
    assert t["region_label"].tolist()[2:4] == ["North", "North"]
    assert len(t) == 10


def test_small_cell_suppressed_with_reason_and_complement():
    t = make_table()
    east = t[t["region"] == 3]
    assert east["suppressed"].all()
    assert east["estimate"].isna().all() and east["ci_lower"].isna().all()
    # the reason names the rule, never the cell's own n (issue 14)
    assert (east["suppression_reason"] == "fewer than 30 respondents").all()
    # complementary: the next smallest cell (West, n=300) is suppressed too, both statistics
    west = t[t["region"] == 4]
    assert west["suppressed"].all()
    assert (west["suppression_reason"] == "coefficient of variation above 0.5 or complementary "
            "suppression (protects another suppressed cell)").all()
    assert not t[t["region"].isin([1, 2])]["suppressed"].any()
    assert not t[t["region"].isna()]["suppressed"].any()
    # the suppressed total cannot be recovered from the others and the total
    tot = t[t["statistic"] == "total"]
    known = tot["estimate"].notna() & tot["region"].notna()
    assert known.sum() == 2


def test_no_complement_without_total_or_when_two_cells_are_suppressed():
    t = make_table(total=False)
    assert t[t["region"] == 4]["suppressed"].sum() == 0
    t = make_table(n_cells=(500, 10, 20, 300))
    assert set(t[t["suppressed"]]["region"]) == {2, 3}


def test_cv_rules():
    t = make_table(n_cells=(500, 400, 300, 300), cv=(0.1, 0.35, 0.6, 0.1),
                   rules=ReliabilityRules(complementary=False))
    south = t[t["region"] == 2]
    assert (south["quality"] == "caution").all() and not south["suppressed"].any()
    assert south["quality_notes"].str.contains("CV = 0.35 > 0.3").all()
    east = t[t["region"] == 3]
    assert east["suppressed"].all()
    # the rule, not the cell's CV (issue 14)
    assert (east["suppression_reason"] == "coefficient of variation above 0.5").all()


def test_df_flag():
    frame = tidy_rows(est_frame([1], [3.0], [100], [0.1], df=5), by=["region"],
                      statistic="prevalence", scale=1000)
    out = apply_disclosure_control(frame, ["region"], ReliabilityRules(), has_total=False)
    assert out["quality"].tolist() == ["caution"]
    assert "df = 5 < 8" in out["quality_notes"].iloc[0]


def test_nchs_standard_by_hand():
    # p, L, U, n, neff, df -> expected suppress/review
    p = np.array([0.5, 0.5, 0.02, 0.2, 0.5])
    lo = np.array([0.4, 0.3, 0.001, 0.0, 0.1])
    hi = np.array([0.6, 0.7, 0.05, 0.4, 0.45])
    n = np.array([100, 100, 100, 100, 25])
    neff = np.array([80, 80, 80, 80, 80])
    df = np.array([20, 20, 20, 5, 20])
    sup, rev, why = nchs_proportion_standard(p, lo, hi, n, neff, df)
    # 1: width .2 ok; 2: width .4 > .3; 3: width .049 (not > .05) ok despite rel 245%;
    # 4: width .4; 5: n < 30
    assert sup.tolist() == [False, True, False, True, True]
    assert rev.tolist() == [False, False, False, True, False]
    assert why[1] == ["NCHS: CI width > 0.30"]
    p2, lo2, hi2 = np.array([0.05]), np.array([0.01]), np.array([0.12])
    sup2, _, why2 = nchs_proportion_standard(p2, lo2, hi2, [100], [80], [20])
    assert sup2.tolist() == [True] and why2[0] == ["NCHS: relative CI width > 130%"]


def test_disclosure_does_not_mutate_input():
    frame = tidy_rows(est_frame([1, 2], [3.0, 4.0], [10, 100], [0.1, 0.1]), by=["region"],
                      statistic="prevalence", scale=1000)
    before = frame.copy()
    apply_disclosure_control(frame, ["region"], ReliabilityRules(), has_total=False)
    pd.testing.assert_frame_equal(frame, before)


def test_writers_produce_every_file(tmp_path):
    res = fake_result(make_table())
    out = write_outputs(res, tmp_path / "out")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["by_region.csv", "manifest.json", "national.csv", "report.html",
                     "results.json", "tables.xlsx"]
    csv = pd.read_csv(out / "by_region.csv")
    east = csv[csv["region"] == 3]
    assert east["estimate"].isna().all() and east["suppressed"].all()
    assert (east["suppression_reason"] == "fewer than 30 respondents").all()

    wb = load_workbook(out / "tables.xlsx")
    assert wb.sheetnames == ["national", "national_data", "by_region", "by_region_data", "Notes",
                             "Metadata"]
    ws = wb["by_region_data"]
    header = [c.value for c in ws[4]]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=5)]
    est_i, reason_i, reg_i = (header.index(k) for k in ("estimate", "suppression_reason", "region"))
    east_rows = [r for r in rows if r[reg_i] == 3]
    # a suppressed cell is empty: no word in a numeric column
    assert [r[est_i] for r in east_rows] == [None, None]
    assert east_rows[0][reason_i] == "fewer than 30 respondents"
    # exactly the suppressed rows are greyed
    sup_i = header.index("suppressed")
    for r in ws.iter_rows(min_row=5):
        assert bool(r[0].font.italic) == bool(r[sup_i].value), r[0].row

    res_json = json.loads((out / "results.json").read_text())
    rows = res_json["tables"][1]["rows"]
    east_rows = [r for r in rows if r["region"] == 3]
    assert all(r["estimate"] is None and r["suppressed"] for r in east_rows)
    assert east_rows[0]["suppression_reason"] == "fewer than 30 respondents"

    html = (out / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html  # escaped
    assert "fewer than 30 respondents" in html
    assert "data:image/png;base64," in html
    assert "5,300" in html and "3.40" in html
    assert 'src="http' not in html and "<link" not in html  # self-contained

    man = json.loads((out / "manifest.json").read_text())
    assert set(man["files"]) == {"by_region.csv", "national.csv", "tables.xlsx", "results.json",
                                 "report.html"}


def test_failure_leaves_no_output_folder(tmp_path, monkeypatch):
    from flestimate.report import writers

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writers, "render_html", boom)
    with pytest.raises(RuntimeError):
        write_outputs(fake_result(make_table()), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_previous_output(tmp_path, monkeypatch):
    from flestimate.report import writers

    out = write_outputs(fake_result(make_table()), tmp_path / "out")
    before = (out / "manifest.json").read_text()
    monkeypatch.setattr(writers, "write_excel", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_outputs(fake_result(make_table()), tmp_path / "out")
    assert (out / "manifest.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_refuses_to_replace_a_foreign_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.docx").write_text("precious")
    with pytest.raises(ConfigError, match="is not a flestimate output"):
        write_outputs(fake_result(make_table()), tmp_path / "out")
    assert (tmp_path / "out" / "thesis.docx").read_text() == "precious"


def test_output_switches(tmp_path):
    out = write_outputs(fake_result(make_table()), tmp_path / "o",
                        OutputOptions(excel=False, html=False))
    assert sorted(p.name for p in out.iterdir()) == ["by_region.csv", "manifest.json",
                                                     "national.csv", "results.json"]


def test_output_path_that_is_a_file_or_unwritable(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        write_outputs(fake_result(make_table()), f)
    with pytest.raises(ConfigError, match="cannot be created"):
        write_outputs(fake_result(make_table()), f / "sub" / "out")


@settings(max_examples=60, deadline=None)
@given(
    n=st.lists(st.integers(min_value=0, max_value=200), min_size=2, max_size=8),
    cv=st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=8, max_size=8),
)
def test_never_exactly_one_suppressed_cell_in_a_table_with_total(n, cv):
    k = len(n)
    regions = list(range(1, k + 1))
    est = [float(i + 1) for i in range(k)]
    pieces = [
        tidy_rows(est_frame(regions, est, n, cv[:k]), by=["region"], statistic="total"),
        tidy_rows(est_frame(None, [sum(est)], [sum(n)], [0.05]), by=["region"],
                  statistic="total"),
    ]
    t = assemble_table(pieces, name="t", indicator="fl", population="total", by=["region"],
                       rules=ReliabilityRules(), has_total=True)
    cells = t[t["region"].notna()]
    n_sup = int(cells["suppressed"].sum())
    assert n_sup != 1
    primary = (np.asarray(n) < 30) | (np.asarray(cv[:k]) > 0.5)
    assert n_sup >= int(primary.sum())
    # every primary cell is suppressed and every suppressed cell says why
    assert cells["suppressed"].to_numpy()[primary].all()
    assert (cells.loc[cells["suppressed"], "suppression_reason"] != "").all()
    assert cells.loc[cells["suppressed"], "estimate"].isna().all()


def test_no_forest_plot_for_hundreds_of_domains():
    """A district table (hundreds of lines) gets no chart; the table itself stays."""
    from flestimate.report.plots import MAX_FOREST_ROWS

    table = make_table()
    cells = table[table["region"].notna() & (table["statistic"] == "prevalence")]
    many = pd.concat([cells] * (MAX_FOREST_ROWS // len(cells) + 1), ignore_index=True)
    assert forest_plot_png(many.iloc[:MAX_FOREST_ROWS], ["region"]) is not None
    assert forest_plot_png(many.iloc[: MAX_FOREST_ROWS + 1], ["region"]) is None

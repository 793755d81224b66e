"""The publication sheet of tables.xlsx (issue 15, point 4), read back with openpyxl.

On the example run: one row per domain with its value label under the variable
label, prevalence and persons with their bounds as rounded numbers carrying number
formats, suppressed cells empty but for a footnote marker explained under the
table, a merged title row, notes and source under the table, a frozen header; and
the tidy data sheet beside it at full precision.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from flestimate.cli import main
from flestimate.report import PublishedTable, RunResult, assemble_table, tidy_rows, write_outputs
from flestimate.report.plots import forest_plot
from flestimate.report.publication import publication_table
from flestimate.report.specs import ReliabilityRules


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    out = tmp_path_factory.mktemp("pub") / "out"
    assert main(["run", "--example", "--out", str(out), "--quiet"]) == 0
    wb = load_workbook(out / "tables.xlsx")
    results = json.loads((out / "results.json").read_text())
    return wb, results, out


def tidy(results, name):
    t = next(t for t in results["tables"] if t["name"] == name)
    return pd.DataFrame(t["rows"])


def body(ws):
    """Rows 4.. up to the first empty row: the table's body."""
    rows = []
    for row in ws.iter_rows(min_row=4):
        if all(c.value is None for c in row):
            break
        rows.append(row)
    return rows


def test_title_merged_headers_labelled_and_header_frozen(example):
    wb, _, _ = example
    ws = wb["by_sector"]
    merged = {str(r) for r in ws.merged_cells.ranges}
    width = ws.max_column
    assert ws["A1"].value == "Workers by economic activity (ISIC section)"
    assert f"A1:{get_column_letter(width)}1" in merged
    # the variable label, not 'sector'; a statistic's title spans estimate and bounds
    assert ws["A2"].value == "Economic activity (ISIC Rev.4 section)" and "A2:A3" in merged
    assert ws["B2"].value == "Prevalence (per 1,000 workers)" and "B2:D2" in merged
    assert [ws.cell(row=3, column=c).value for c in (2, 3, 4)] == [
        "Estimate", "95% CI lower", "95% CI upper"]
    assert ws["E2"].value == "Persons in forced labour" and "E2:G2" in merged
    heads = [ws.cell(row=2, column=c).value for c in range(1, width + 1)]
    assert {"n", "Quality"} <= set(heads)
    assert ws.freeze_panes == "B4"
    data_ws = wb["by_sector_data"]
    head = [c.value for c in data_ws[4]]
    units = {r[head.index("unit")].value for r in data_ws.iter_rows(min_row=5)}
    assert units == {"per 1,000 workers", "persons", "persons on any given day"}
    assert "of the workers population" not in json.dumps(
        [[c.value for c in r] for r in ws.iter_rows()])


def test_one_row_per_domain_with_value_labels_and_rounded_numbers(example):
    wb, results, _ = example
    ws = wb["by_sector"]
    rows = body(ws)
    data = tidy(results, "by_sector")
    labels = list(pd.unique(data["sector_label"]))
    assert [r[0].value for r in rows] == labels  # Total first, then the sections
    assert rows[0][0].font.b  # the total row is bold
    agri = next(r for r in rows if r[0].value == "Agriculture, forestry and fishing")
    full = data[data["sector_label"] == "Agriculture, forestry and fishing"].set_index("statistic")
    # numbers, rounded to the column's decimals, with a number format (not General, not text)
    for c, col in ((1, "estimate"), (2, "ci_lower"), (3, "ci_upper")):
        assert agri[c].data_type == "n" and agri[c].number_format == "#,##0.00"
        assert agri[c].value == round(full.loc["prevalence", col], 2)
    for c, col in ((4, "estimate"), (5, "ci_lower"), (6, "ci_upper")):
        assert agri[c].number_format == "#,##0"
        assert agri[c].value == round(full.loc["total", col])
    heads = [ws.cell(row=2, column=c).value for c in range(1, ws.max_column + 1)]
    n_col = heads.index("n")
    assert agri[n_col].value == full.loc["prevalence", "n_unweighted"]
    assert agri[n_col].number_format == "#,##0"
    # the data sheet keeps full precision
    data_ws = wb["by_sector_data"]
    head = [c.value for c in data_ws[4]]
    est = [r[head.index("estimate")].value for r in data_ws.iter_rows(min_row=5)
           if r[head.index("sector_label")].value == "Agriculture, forestry and fishing"]
    assert est[0] == pytest.approx(full.loc["prevalence", "estimate"], rel=1e-12)
    assert est[0] != round(est[0], 2)


def test_suppressed_cells_empty_with_a_footnote_marker(example):
    wb, results, _ = example
    ws = wb["by_sector"]
    rows = body(ws)
    heads = [ws.cell(row=2, column=c).value for c in range(1, ws.max_column + 1)]
    q = heads.index("Quality")
    suppressed = [r for r in rows if r[q].value == "suppressed"]
    data = tidy(results, "by_sector")
    assert len(suppressed) == data.loc[data["suppressed"], "sector_label"].nunique() > 0
    below = [r[0].value for r in ws.iter_rows(min_row=4 + len(rows) + 1) if r[0].value]
    footnotes = {t.split(" ", 1)[0]: t for t in below if t.startswith("[")}
    for r in suppressed:
        values = [c.value for c in r[1:q - 1]]
        markers = {v for v in values if v is not None}
        # nothing but the marker: no number, no word 'suppressed' in a numeric column
        assert markers and all(isinstance(v, str) and v in footnotes for v in markers)
        reason = data.loc[(data["sector_label"] == r[0].value), "suppression_reason"].iloc[0]
        assert footnotes[values[0]] == f"{values[0]} Suppressed: {reason}."
    # the notes and the source are under the table
    text = " ".join(below)
    assert "Population: workers" in text and "per 1,000 workers" in text
    assert "korn-graubard" in text and "Source: Forced labour in the synthetic sample" in text
    assert "fl_survey.sav" in text


def test_national_table_without_domains(example):
    wb, results, _ = example
    ws = wb["national"]
    rows = body(ws)
    assert [r[0].value for r in rows] == ["Total"] and ws["A2"].value == "Domain"
    head = results["headline"]["prevalence"]
    assert rows[0][1].value == round(head["estimate"], 2)


def test_user_text_in_headers_is_text_not_formula(tmp_path):
    frame = pd.DataFrame({"region": [1, 2], "variable": "fl", "estimate": [3.0, 4.0],
                          "se": [0.3, 0.4], "ci_lower": [2.4, 3.2], "ci_upper": [3.6, 4.8],
                          "level": 0.95, "ci_method": "korn-graubard", "df": 40, "deff": 1.5,
                          "cv": 0.1, "n_unweighted": [500, 400], "n_weighted": [5e4, 4e4],
                          "n_effective": [333.0, 266.0], "flags": ""})
    tab = assemble_table([tidy_rows(frame, by=["region"], statistic="prevalence", scale=1000)],
                         name="t", indicator="fl", population="adults", by=["region"],
                         rules=ReliabilityRules(), has_total=False,
                         value_labels={"region": {1: "=HYPERLINK(1)", 2: "South"}})
    pub = PublishedTable(name="t", title="+title", indicator="fl", population="adults",
                         by=["region"], statistics=["prevalence"], ci_method="korn-graubard",
                         level=0.95, frame=tab, by_labels={"region": "=1+1"})
    layout = publication_table(pub, scale=1000)
    assert layout.columns[1].group == "Prevalence (per 1,000 adults)"
    res = RunResult(title="=2*3", tables=[pub], headline={"scale": 1000.0}, sensitivity=None,
                    design={}, weighting=[], weight_summary={}, methods=[], warnings=[],
                    settings={}, manifest={})
    from flestimate.report.specs import OutputOptions

    out = write_outputs(res, tmp_path / "out", OutputOptions(csv=False, json=False, html=False))
    ws = load_workbook(out / "tables.xlsx")["t"]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert all(c.data_type == "s" for c in cells)
    for value in ("=1+1", "=HYPERLINK(1)", "+title"):
        cell = next(c for c in cells if c.value == value)
        assert cell.quotePrefix


def test_forest_plot_legend_does_not_cover_the_bars():
    frame = pd.DataFrame({"region": [1, 2, None], "variable": "fl",
                          "estimate": [3.0, 9.0, 5.0], "se": 0.5, "ci_lower": [2.0, 8.0, 4.0],
                          "ci_upper": [4.0, 9.9, 6.0], "level": 0.95, "ci_method": "kg",
                          "df": 40, "deff": 1.5, "cv": 0.1, "n_unweighted": 500,
                          "n_weighted": 5e4, "n_effective": 333.0, "flags": ""})
    tab = assemble_table([tidy_rows(frame, by=["region"], statistic="prevalence", scale=1000)],
                         name="t", indicator="fl", population="total", by=["region"],
                         rules=ReliabilityRules(), has_total=True)
    fig = forest_plot(tab, ["region"], title="t")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [*fig.legends, *(a.get_legend() for a in fig.axes if a.get_legend())]
    assert legends
    axes_box = fig.axes[0].get_window_extent(renderer)
    for legend in legends:
        box = legend.get_window_extent(renderer)
        overlap = (min(box.x1, axes_box.x1) - max(box.x0, axes_box.x0) > 0
                   and min(box.y1, axes_box.y1) - max(box.y0, axes_box.y0) > 0)
        assert not overlap, (box, axes_box)
    assert np.isfinite(axes_box.width)

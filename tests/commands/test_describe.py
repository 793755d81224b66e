"""`flestimate describe FILE [--json]`."""

from __future__ import annotations

import json

from flestimate.cli import main
from io_fixtures.survey_files import VARIABLE_LABELS, survey_frame, write


def test_describe_prints_the_codebook(tmp_path, capsys):
    path = write("sav", tmp_path)
    assert main(["describe", str(path)]) == 0
    out = capsys.readouterr().out
    assert "format: sav; rows: 40; columns: 6; sha256: " in out
    assert VARIABLE_LABELS["p1"] in out
    assert "1=yes; 2=no; 8=don't know; 9=refused" in out
    assert "97..99" in out


def test_describe_json(tmp_path, capsys):
    path = write("csv", tmp_path)
    assert main(["describe", str(path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["source"]["format"] == "csv" and payload["source"]["rows"] == 40
    rows = {r["name"]: r for r in payload["variables"]}
    assert list(rows) == list(survey_frame().columns)
    p1 = rows["p1"]
    raw = survey_frame()["p1"]
    assert p1["missing_codes"] == "8, 9"
    assert p1["n_user_missing"] == int(raw.isin([8, 9]).sum())
    assert p1["n_missing"] == int(raw.isin([8, 9]).sum() + raw.isna().sum())


def test_describe_with_format_and_codebook_options(tmp_path, capsys):
    path = write("csv", tmp_path)
    odd = tmp_path / "survey.txt"
    odd.write_bytes(path.read_bytes())
    book = tmp_path / "book.yaml"
    book.write_text("variables:\n  sex: {label: Sex of respondent}\n", encoding="utf-8")
    assert main(["describe", str(odd), "--format", "csv", "--codebook", str(book), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["variables"]}
    assert rows["sex"]["label"] == "Sex of respondent"


def test_describe_bad_file_exits_2_with_one_line(tmp_path, capsys):
    assert main(["describe", str(tmp_path / "missing.sav")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("flestimate describe: error: survey file ")
    assert "missing.sav' does not exist" in err and "Traceback" not in err
    bad = tmp_path / "survey.rds"
    bad.write_bytes(b"x")
    assert main(["describe", str(bad)]) == 2
    assert ".sav (SPSS)" in capsys.readouterr().err

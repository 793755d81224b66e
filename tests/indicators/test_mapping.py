"""Mapping loading and validation: every bad input gives a MappingError naming file, key, value."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from flestimate import MappingError, classify, frameworks, load_mapping, validate_mapping
from flestimate.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"

GOOD = """\
framework: ilo-2012
codes: {yes: [1], no: [2], dont_know: [8], refused: [9]}
columns:
  age: age
  worked: worked
  person: pid
  parent: parent_pid
  employer: employer_type
indicators:
  UR-I4: q21
  WD-I1: q30
  P1: q40
settings: {strength_rule: any, penalty_scope: any_dimension, missing_policy: conservative}
"""


def write(tmp_path, text, name="mapping.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def data(**over):
    df = pd.DataFrame(
        {
            "pid": [1, 2, 3],
            "age": [40, 10, 25],
            "worked": [1, 1, 2],
            "parent_pid": [np.nan, 1, np.nan],
            "employer_type": ["", "parents", ""],
            "q21": [1, 2, np.nan],
            "q30": [2, 2, np.nan],
            "q40": [1, 2, np.nan],
        }
    )
    for k, v in over.items():
        df[k] = v
    return df


def raw(**over):
    m = yaml.safe_load(GOOD)
    m["codes"] = {"yes": [1], "no": [2], "dont_know": [8], "refused": [9]}
    for k, v in over.items():
        m[k] = v
    return m


def test_good_mapping_file_loads_and_classifies(tmp_path):
    p = write(tmp_path, GOOD)
    m = load_mapping(p)
    assert m.framework.id == "ilo-2012"
    assert [it.key for it in m.items] == ["UR-I4", "WD-I1", "P1"]
    assert m.codes.yes == (1,) and m.codes.no == (2,)  # YAML yes/no keys are not booleans here
    assert m.source == str(p)
    # the child (row 1) works for its parent (row 0), who is in forced labour: category iii
    assert classify(data(), p)["fl"].tolist() == [1, 1, 0]
    check = validate_mapping(data(), p)
    assert check.ok


def test_frameworks_are_complete():
    ilo = frameworks()["ilo-2012"]
    assert ilo.ids[:6] == tuple(f"UR-I{i}" for i in range(1, 7))
    assert len([i for i in ilo.indicators if i.dimension == "WD"]) == 10
    assert len([i for i in ilo.indicators if i.dimension == "IL"]) == 4
    assert [i.id for i in ilo.indicators if i.role == "penalty"] == [f"P{i}" for i in range(1, 14)]
    strong = {i.id for i in ilo.indicators if i.strength == "strong"}
    assert strong == {
        "UR-I1", "UR-I2", "UR-I3", "WD-I1", "WD-I2", "WD-I3", "WD-I4",
        "IL-I1", "IL-I2", "IL-I3", "IL-I4", "P1", "P2", "P3", "P4", "P5",
    }  # fmt: skip
    icls = frameworks()["icls-2018"]
    assert icls.ids == tuple(
        [f"ICLS-IW{i}" for i in range(1, 10)] + [f"ICLS-C{i}" for i in range(1, 7)]
    )
    assert not icls.graded and not icls.dimensions
    with pytest.raises(TypeError):
        frameworks()["x"] = ilo  # read-only


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (
            "framework: ilo-2021",
            r"mapping\.yaml: framework: unknown framework 'ilo-2021'; valid frameworks: icls-2018, ilo-2012",
        ),
        (
            "  UR-I9: q99",
            r"mapping\.yaml: indicators\.UR-I9: 'UR-I9' is not a ilo-2012 indicator id; valid ids: UR-I1, UR-I2, .*P13\.",
        ),
        ("  ICLS-C1: c1", r"indicators\.ICLS-C1: 'ICLS-C1' is not a ilo-2012 indicator id"),
        ("  UR-I4: q22", r"mapping\.yaml: key 'UR-I4' appears twice \(lines 10 and 13\)"),
        ("  UR-I5: q21", r"indicators: column 'q21' is mapped twice \('UR-I4' and 'UR-I5'\)"),
        (
            "  P1@XX: q41",
            r"indicators\.P1@XX: unknown dimension 'XX'; valid dimensions: UR, WD, IL",
        ),
        (
            "  UR-I1@UR: q41",
            r"indicators\.UR-I1@UR: only ilo-2012 penalty items can carry a dimension suffix",
        ),
        (
            "settings: {strength_rule: strongest}",
            r"settings\.strength_rule: 'strongest' is not allowed; use one of 'any', 'at_least_one_strong', 'both_strong'",
        ),
        (
            "settings: {missing_policy: exclude_case}",
            r"settings\.missing_policy: 'exclude_case' is not allowed",
        ),
        ("settings: {strenght_rule: any}", r"settings: unknown setting 'strenght_rule'"),
        (
            "settings: {penalty_scope: same_dimension}",
            r"indicators\.P1: settings\.penalty_scope 'same_dimension' contradicts a penalty item asked once \('P1' -> 'q40'\); map it per dimension as P1@UR",
        ),
        (
            "settings: {adult_age: 15, child_min_age: 15}",
            r"settings: child_min_age \(15\) must be below adult_age \(15\)",
        ),
        (
            "settings: {strength_overrides: {UR-I4: very}}",
            r"settings\.strength_overrides\.UR-I4: 'very'",
        ),
        (
            "settings: {strength_overrides: {P99: strong}}",
            r"settings\.strength_overrides: 'P99' is not a ilo-2012 indicator id",
        ),
        (
            "settings: {child_categories: [i, iii]}",
            r"settings\.child_categories: 'i' is not a category; valid: i_ii, iii, iv",
        ),
        (
            "unknown_codes: ignore",
            r"unknown_codes: 'ignore' is not allowed; use 'error' or 'missing'",
        ),
        ("colums: {}", r"mapping\.yaml: unknown key 'colums'; valid keys: framework, codes"),
    ],
)
def test_load_errors_name_file_key_and_value(tmp_path, edit, pattern):
    text = GOOD
    if edit.startswith("  "):
        text = text.replace("settings:", edit + "\nsettings:")
    elif edit.startswith("framework:"):
        text = text.replace("framework: ilo-2012", edit)
    elif edit.startswith("settings:"):
        text = re.sub(r"settings: \{.*\}", edit, text)
    else:
        text = text + edit + "\n"
    p = write(tmp_path, text)
    with pytest.raises(MappingError, match=pattern):
        load_mapping(p)


@pytest.mark.parametrize(
    ("over", "pattern"),
    [
        (
            {
                "framework": "icls-2018",
                "indicators": {"ICLS-IW1": "a", "ICLS-C1": "b"},
                "settings": {"strength_rule": "both_strong"},
            },
            r"settings\.strength_rule: 'both_strong' contradicts framework 'icls-2018'",
        ),
        (
            {
                "framework": "icls-2018",
                "indicators": {"ICLS-IW1": "a", "ICLS-C1": "b"},
                "settings": {"penalty_scope": "same_dimension"},
            },
            r"settings\.penalty_scope: 'same_dimension' contradicts framework 'icls-2018'",
        ),
        (
            {
                "columns": {
                    "age": "age",
                    "worked": "worked",
                    "parent": "parent_pid",
                    "employer": "e",
                }
            },
            r"columns\.parent is mapped but columns\.person is not",
        ),
        ({"columns": {"age": "age"}}, r"<dict>: columns\.worked is missing"),
        (
            {"columns": {"age": "age", "worked": "worked", "sex": "sex"}},
            r"columns: unknown key 'sex'",
        ),
        (
            {"columns": {"age": "q21", "worked": "worked"}},
            r"columns\.age: 'q21' is also mapped as indicator 'UR-I4'",
        ),
        (
            {"codes": {"yes": [1], "no": [1, 2]}},
            r"codes: code 1 is declared both as 'yes' and as 'no'",
        ),
        ({"codes": {"yes": [], "no": [2]}}, r"codes\.yes is empty"),
        ({"codes": {"yes": [1], "maybe": [3]}}, r"codes: unknown key 'maybe'"),
        ({"indicators": {}}, r"indicators: map at least one canonical indicator id"),
        ({"framework": None}, r"unknown framework 'None'"),
    ],
)
def test_dict_errors(over, pattern):
    with pytest.raises(MappingError, match=pattern):
        load_mapping(raw(**over))


def test_missing_file_and_bad_types(tmp_path):
    with pytest.raises(MappingError, match="does not exist"):
        load_mapping(tmp_path / "nope.yaml")
    with pytest.raises(MappingError, match="expected a YAML file path or a dict"):
        load_mapping(42)
    p = write(tmp_path, "- a\n- b\n")
    with pytest.raises(MappingError, match="must be a YAML mapping"):
        load_mapping(p)


def test_missing_column_names_key_and_column(tmp_path):
    p = write(tmp_path, GOOD)
    df = data().drop(columns=["q30", "parent_pid"])
    msg = r"mapping\.yaml: 2 mapped column\(s\) not in the data: columns\.parent -> 'parent_pid', indicators\.WD-I1 -> 'q30'"
    with pytest.raises(MappingError, match=msg):
        validate_mapping(df, p)
    with pytest.raises(MappingError, match=msg):
        classify(df, p)


def test_undeclared_codes_listed_with_counts_unless_unknown_codes_missing(tmp_path):
    p = write(tmp_path, GOOD)
    df = pd.concat([data()] * 2, ignore_index=True)
    df["pid"] = range(1, 7)
    df["parent_pid"] = [np.nan, 1, np.nan, np.nan, 4, np.nan]
    df["q40"] = [1, 7, 7, 3, 7, np.nan]
    msg = (
        r"mapping\.yaml: indicators\.P1 -> column 'q40' has 4 value\(s\) with undeclared codes: "
        r"7 x3, 3 x1\. Declare them under 'codes' or set 'unknown_codes: missing'"
    )
    with pytest.raises(MappingError, match=msg):
        classify(df, p)
    check = validate_mapping(df, p, raise_errors=False)
    assert not check.ok and check.undeclared == {"q40": {3: 1, 7: 3}}
    m = raw(unknown_codes="missing")
    assert validate_mapping(df, m).ok
    assert classify(df, m)["fl"].tolist() == [1, 1, 0, 0, 0, 0]


def test_child_linked_to_a_non_existent_parent(tmp_path):
    p = write(tmp_path, GOOD)
    df = data(parent_pid=[np.nan, 99, 1])
    msg = (
        r"mapping\.yaml: columns\.parent -> 'parent_pid': 1 row\(s\) link to a parent id not "
        r"found in columns\.person -> 'pid' \(rows 1; parent ids 99\.0\)"
    )
    with pytest.raises(MappingError, match=msg):
        classify(df, p)
    with pytest.raises(MappingError, match="unknown_parent: not_in_forced_labour"):
        validate_mapping(df, p)


def test_duplicate_person_ids(tmp_path):
    p = write(tmp_path, GOOD)
    with pytest.raises(MappingError, match=r"columns\.person -> 'pid' is not unique: 2 rows share"):
        classify(data(pid=[1, 1, 3]), p)


def test_undeclared_employer_and_perpetrator_values():
    m = raw(columns={"age": "age", "worked": "worked", "perpetrator": "perp"})
    df = data(perp=["state", "army", "army"])
    with pytest.raises(
        MappingError,
        match=r"columns\.perpetrator -> column 'perp' has 2 value\(s\) not declared under values\.state/values\.private: 'army' x2",
    ):
        classify(df, m)
    m["values"] = {"state": ["state", "army"]}
    assert classify(df, m)["fl_form"].tolist() == ["state_imposed", "", ""]


def test_mapped_column_named_like_an_output_column():
    m = raw(indicators={"UR-I4": "fl", "P1": "q40"})
    with pytest.raises(MappingError, match=r"mapped column\(s\) 'fl' have the name of an output"):
        classify(data(fl=[1, 1, 1]), m)


def test_non_numeric_age_and_bad_data_type():
    with pytest.raises(MappingError, match=r"columns\.age -> 'age' is not numeric"):
        classify(data(age=["forty", "ten", "x"]), raw())
    with pytest.raises(MappingError, match="expected a pandas DataFrame or a SurveyData"):
        classify([1, 2], raw())


def test_validate_mapping_codes_table_with_labels():
    class Survey:
        def __init__(self, frame):
            self.frame = frame
            self.value_labels = {"q40": {1: "Yes", 2: "No", 8: "Don't know"}}
            self.missing_values = {"q40": [{"lo": 8.0, "hi": 9.0}], "q21": [8, 9]}

    df = data(q40=[1, 8, np.nan])
    check = validate_mapping(Survey(df), raw())
    t = check.codes[check.codes["column"] == "q40"]
    assert t[["code", "label", "meaning", "count"]].values.tolist() == [
        [1, "Yes", "yes", 1],
        [8, "Don't know", "dont_know", 1],
        [None, "", "system_missing", 1],
    ]
    assert t["user_missing"].tolist() == [False, True, False]
    assert set(check.codes["key"]) == {
        "indicators.UR-I4", "indicators.WD-I1", "indicators.P1", "columns.worked",
    }  # fmt: skip


def test_sample_mappings_load():
    m = load_mapping(SAMPLE / "mapping.yaml")
    assert m.framework.id == "ilo-2012" and len(m.items) == 33
    assert m.settings.strength_rule == "any"
    assert m.settings.penalty_scope == "any_dimension"
    assert m.settings.missing_policy == "conservative"
    assert {it.column for it in m.items} >= {"ur_i4", "p1", "wd_i10"}
    m2 = load_mapping(SAMPLE / "mapping-icls2018.yaml")
    assert m2.framework.id == "icls-2018" and len(m2.items) == 15
    assert dict((it.key, it.column) for it in m2.items)["ICLS-IW1"] == "iw1"


# ---------------------------------------------------------------- command line


def test_cli_check_mapping_ok(tmp_path, capsys):
    p = write(tmp_path, GOOD)
    csv = tmp_path / "survey.csv"
    data().to_csv(csv, index=False)
    assert main(["check-mapping", str(csv), str(p)]) == 0
    out = capsys.readouterr().out
    assert "framework ilo-2012" in out and "mapping OK" in out
    assert re.search(r"indicators\.P1\s+q40\s+1\s+yes\s+1", out)


def test_cli_check_mapping_problems_exit_2(tmp_path, capsys):
    p = write(tmp_path, GOOD)
    csv = tmp_path / "survey.csv"
    data(q40=[1, 5, 5]).to_csv(csv, index=False)
    assert main(["check-mapping", str(csv), str(p)]) == 2
    cap = capsys.readouterr()
    assert "undeclared codes: 5 x2" in cap.out
    assert "error: 1 problem(s) found" in cap.err
    assert "Traceback" not in cap.err
    bad = write(tmp_path, GOOD.replace("UR-I4", "UR-I7"), "bad.yaml")
    assert main(["check-mapping", str(csv), str(bad)]) == 2
    assert "'UR-I7' is not a ilo-2012 indicator id" in capsys.readouterr().err

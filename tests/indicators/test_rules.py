"""Truth tables for the forced-labour classification rules (issue 8).

Each row of a table is one synthetic respondent whose status follows by hand from the
rules in ILO-STANDARDS sections 2.2-2.7 and 3.5 as fixed in docs/classification.md.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from flestimate import classify
from flestimate.indicators import ClassificationReport

YES, NO, DK, REF = 1, 2, 8, 9
NA = np.nan

ILO_ITEMS = {
    "UR-I1": "ur_i1",  # strong
    "UR-I4": "ur_i4",  # medium
    "WD-I1": "wd_i1",  # strong
    "WD-I5": "wd_i5",  # medium
    "IL-I1": "il_i1",  # strong
    "P1": "p1",  # strong
    "P6": "p6",  # medium
}
PER_DIM_ITEMS = {
    "UR-I1": "ur_i1",
    "UR-I4": "ur_i4",
    "WD-I1": "wd_i1",
    "WD-I5": "wd_i5",
    "IL-I1": "il_i1",
    **{f"P{p}@{d}": f"p{p}_{d.lower()}" for p in (1, 6) for d in ("UR", "WD", "IL")},
}
ICLS_ITEMS = {"ICLS-IW1": "iw1", "ICLS-IW2": "iw2", "ICLS-C1": "c1", "ICLS-C4": "c4"}
CONTEXT = {
    "age": "age",
    "worked": "worked",
    "person": "pid",
    "parent": "parent_pid",
    "employer": "employer_type",
    "perpetrator": "perp_type",
    "commercial_sex": "cse",
    "worst_form": "wfcl",
}


def mapping(items=None, framework="ilo-2012", **settings):
    return {
        "framework": framework,
        "codes": {"yes": [YES], "no": [NO], "dont_know": [DK], "refused": [REF]},
        "columns": dict(CONTEXT),
        "indicators": dict(items or ILO_ITEMS),
        "settings": settings,
    }


def frame(rows, items=None):
    """Rows are dicts of overrides; everyone else is a 30-year-old worker answering no."""
    items = items or ILO_ITEMS
    out = []
    for i, r in enumerate(rows):
        base = {
            "pid": i + 1,
            "age": 30,
            "worked": YES,
            "parent_pid": NA,
            "employer_type": "",
            "perp_type": "private",
            "cse": NO,
            "wfcl": NO,
        }
        base.update({c: NO for c in items.values()})
        base.update(r)
        out.append(base)
    return pd.DataFrame(out)


def fl(rows, items=None, framework="ilo-2012", column="fl", **settings):
    items = items or (ICLS_ITEMS if framework == "icls-2018" else ILO_ITEMS)
    res = classify(frame(rows, items), mapping(items, framework, **settings))
    return res[column].tolist()


# ---------------------------------------------------------------- adults, ilo-2012


def test_involuntariness_only_or_coercion_only_is_not_forced_labour():
    rows = [{"ur_i1": YES}, {"wd_i1": YES, "ur_i4": YES}, {"p1": YES}, {"p1": YES, "p6": YES}]
    for rule in ("any", "at_least_one_strong", "both_strong"):
        assert fl(rows, strength_rule=rule) == [0, 0, 0, 0]


def test_both_in_same_dimension_is_forced_labour():
    rows = [{"ur_i1": YES, "p1": YES}, {"wd_i1": YES, "p1": YES}, {"il_i1": YES, "p1": YES}]
    assert fl(rows) == [1, 1, 1]
    assert fl(rows, column="fl_ur") == [1, 0, 0]
    assert fl(rows, column="fl_wd") == [0, 1, 0]
    assert fl(rows, column="fl_il") == [0, 0, 1]


def test_penalty_scope_same_dimension_uses_only_that_dimensions_items():
    rows = [
        {"ur_i4": YES, "p1_ur": YES},  # same dimension
        {"ur_i4": YES, "p1_wd": YES},  # different dimensions
        {"wd_i5": YES, "p6_il": YES},  # different dimensions
        {"il_i1": YES, "p6_il": YES},  # same dimension
        {"p1_ur": YES, "p1_wd": YES, "p1_il": YES},  # penalties only
    ]
    assert fl(rows, PER_DIM_ITEMS, penalty_scope="any_dimension") == [1, 1, 1, 1, 0]
    assert fl(rows, PER_DIM_ITEMS, penalty_scope="same_dimension") == [1, 0, 0, 1, 0]
    assert fl(rows, PER_DIM_ITEMS, penalty_scope="same_dimension", column="fl_ur") == [
        1, 0, 0, 0, 0,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("answers", "expected"),  # expected under any / at_least_one_strong / both_strong
    [
        ({"ur_i4": YES, "p6": YES}, (1, 0, 0)),  # medium + medium
        ({"ur_i1": YES, "p6": YES}, (1, 1, 0)),  # strong + medium
        ({"ur_i4": YES, "p1": YES}, (1, 1, 0)),  # medium + strong
        ({"ur_i1": YES, "p1": YES}, (1, 1, 1)),  # strong + strong
        ({"ur_i4": YES, "ur_i1": YES, "p6": YES, "p1": YES}, (1, 1, 1)),
        # a strong item of another dimension does not rescue a medium pair
        ({"ur_i4": YES, "p6": YES, "wd_i1": NO}, (1, 0, 0)),
        ({"ur_i4": YES, "wd_i1": YES, "p6": YES}, (1, 1, 0)),  # WD: strong + medium
        ({"wd_i5": YES, "p1": YES}, (1, 1, 0)),
    ],
)
def test_strength_rules(answers, expected):
    got = tuple(
        fl([answers], strength_rule=rule)[0]
        for rule in ("any", "at_least_one_strong", "both_strong")
    )
    assert got == expected


def test_both_strong_same_dimension_needs_the_strong_penalty_in_that_dimension():
    rows = [
        {"ur_i1": YES, "p6_ur": YES, "p1_wd": YES},  # strong penalty only in WD
        {"ur_i1": YES, "p1_ur": YES},
    ]
    assert fl(rows, PER_DIM_ITEMS, penalty_scope="same_dimension", strength_rule="both_strong") == [
        0, 1,
    ]  # fmt: skip
    assert fl(rows, PER_DIM_ITEMS, penalty_scope="any_dimension", strength_rule="both_strong") == [
        1, 1,
    ]  # fmt: skip


def test_strength_overrides_regrade_an_indicator():
    rows = [{"ur_i4": YES, "p6": YES}]
    assert fl(rows, strength_rule="at_least_one_strong") == [0]
    assert fl(
        rows, strength_rule="at_least_one_strong", strength_overrides={"UR-I4": "strong"}
    ) == [1]
    assert fl(rows, strength_rule="both_strong", strength_overrides={"P6": "strong"}) == [0]
    assert fl(
        rows, strength_rule="both_strong", strength_overrides={"P6": "strong", "UR-I4": "strong"}
    ) == [1]


# ---------------------------------------------------------------- adults, icls-2018


def test_icls_2018_needs_an_involuntary_element_and_a_coercion_element():
    rows = [
        {"iw1": YES},
        {"c1": YES, "c4": YES},
        {"iw2": YES, "c4": YES},
        {"iw1": YES, "iw2": YES, "c1": YES},
        {},
    ]
    assert fl(rows, framework="icls-2018") == [0, 0, 1, 1, 0]
    assert fl(rows, framework="icls-2018", column="fl_involuntary") == [1, 0, 1, 1, 0]
    assert fl(rows, framework="icls-2018", column="fl_coercion") == [0, 1, 1, 1, 0]
    res = classify(frame(rows, ICLS_ITEMS), mapping(ICLS_ITEMS, "icls-2018"))
    assert not any(c in res for c in ("fl_ur", "fl_wd", "fl_il"))


# ---------------------------------------------------------------- missing policies


MISSING_ROWS = [
    {"ur_i4": YES, "p1": DK},  # 0 / 1 / NaN
    {"ur_i4": YES, "p1": YES, "p6": DK},  # certain 1
    {"ur_i4": DK, "p1": REF},  # 0 / 1 / NaN
    {"ur_i4": YES, "p1": NA},  # system-missing is never yes
    {"ur_i4": REF, "p6": NO},  # certain 0
    {"ur_i4": YES, "p1": YES, "worked": DK},  # worked counts only when yes
]


def test_missing_policies():
    assert fl(MISSING_ROWS, missing_policy="conservative") == [0, 1, 0, 0, 0, 0]
    assert fl(MISSING_ROWS, missing_policy="upper_bound") == [1, 1, 1, 0, 0, 0]
    excl = fl(MISSING_ROWS, missing_policy="exclude")
    assert [None if math.isnan(v) else v for v in excl] == [None, 1, None, 0, 0, 0]
    for policy in ("conservative", "upper_bound", "exclude"):
        assert fl(MISSING_ROWS, missing_policy=policy, column="fl_uncertain") == [1, 0, 1, 0, 0, 0]


def test_exclude_is_missing_exactly_where_conservative_and_upper_bound_differ():
    rng = np.random.default_rng(5)
    n = 400
    rows = [
        {c: rng.choice([YES, NO, NO, NO, DK, REF, NA]) for c in ILO_ITEMS.values()}
        | {"age": int(rng.integers(3, 70)), "worked": int(rng.choice([YES, NO, DK]))}
        for _ in range(n)
    ]
    df = frame(rows)
    res = {
        p: classify(df, mapping(missing_policy=p))
        for p in ("conservative", "upper_bound", "exclude")
    }
    for col in ("fl", "fl_adult", "fl_ur", "fl_wd", "fl_il", "fl_involuntary", "fl_coercion"):
        c, u, e = (
            res[p][col].to_numpy(dtype=float) for p in ("conservative", "upper_bound", "exclude")
        )
        assert (c <= u).all()
        np.testing.assert_array_equal(np.isnan(e), c != u)
        np.testing.assert_array_equal(e[~np.isnan(e)], c[~np.isnan(e)])
    differ = res["conservative"]["fl"] != res["upper_bound"]["fl"]
    assert differ.sum() > 10  # the table exercises the policy
    np.testing.assert_array_equal(res["exclude"]["fl_uncertain"].to_numpy() == 1, differ)


def test_missing_policy_does_not_apply_to_context_items():
    rows = [
        {"age": 12, "wfcl": DK},
        {"age": 12, "wfcl": REF},
        {"age": 12, "wfcl": YES, "worked": REF},
    ]
    for policy in ("conservative", "upper_bound", "exclude"):
        assert fl(rows, missing_policy=policy) == [0, 0, 0]


# ---------------------------------------------------------------- children


def test_children_categories_i_ii_and_iv():
    rows = [
        {"age": 12, "p1": YES},  # i/ii: coercion alone suffices for a child
        {"age": 12, "p6": YES, "employer_type": "parents"},  # ii
        {"age": 12, "ur_i1": YES},  # involuntariness alone: no
        {"age": 12, "wfcl": YES},  # iv
        {"age": 12, "wfcl": YES, "p1": YES},  # i/ii and iv
        {"age": 30, "p1": YES},  # adult with coercion only: no
        {"age": 17, "p1": YES},
        {"age": 18, "p1": YES},  # adult from 18
        {"age": 5, "wfcl": YES},
        {"age": 4, "wfcl": YES, "p1": YES},  # under 5: 0
        {"age": 12, "wfcl": YES, "worked": NO},  # did not work: 0
    ]
    assert fl(rows) == [1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0]
    assert fl(rows, column="fl_child") == [1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0]
    assert fl(rows, column="fl_adult") == [0] * 11
    assert fl(rows, column="fl_child_category") == [
        "i_ii", "i_ii", "", "iv", "i_ii;iv", "", "i_ii", "", "iv", "", "",
    ]  # fmt: skip


def _family(parent_answers, child_employer="parents", parent_age=40, **child):
    parent = {"pid": 1, "age": parent_age, **parent_answers}
    kid = {"pid": 2, "age": 10, "parent_pid": 1, "employer_type": child_employer, **child}
    return [parent, kid]


def test_child_category_iii_inherits_the_parents_status():
    in_fl = {"ur_i1": YES, "p1": YES}
    assert fl(_family(in_fl)) == [1, 1]
    assert fl(_family(in_fl), column="fl_child_category") == ["", "iii"]
    assert fl(_family({"ur_i1": YES})) == [0, 0]  # parent not in forced labour
    assert fl(_family(in_fl, child_employer="third_party")) == [1, 0]
    assert fl(_family(in_fl, worked=NO)) == [1, 0]  # the child did not work
    assert fl(_family(in_fl, parent_age=16)) == [1, 0]  # the parent must be an adult
    assert fl(_family(in_fl), child_categories=["i_ii", "iv"]) == [1, 0]
    # the parent's status is evaluated under the same policy
    uncertain = {"ur_i1": YES, "p1": DK}
    assert fl(_family(uncertain), missing_policy="conservative") == [0, 0]
    assert fl(_family(uncertain), missing_policy="upper_bound") == [1, 1]
    assert fl(_family(uncertain), missing_policy="conservative", column="fl_uncertain") == [1, 1]
    excl = fl(_family(uncertain), missing_policy="exclude")
    assert all(math.isnan(v) for v in excl)


def test_child_linkage_works_in_any_row_order_and_with_missing_parents():
    rows = [
        {"pid": 10, "age": 9, "parent_pid": 30, "employer_type": "parents"},
        {"pid": 20, "age": 11, "parent_pid": NA, "employer_type": "parents"},
        {"pid": 30, "age": 45, "ur_i1": YES, "p1": YES},
        {"pid": 40, "age": 8, "parent_pid": 50, "employer_type": "parents"},
        {"pid": 50, "age": 38},
    ]
    assert fl(rows) == [1, 0, 1, 0, 0]


def test_unknown_parent_setting():
    rows = [{"pid": 1, "age": 9, "parent_pid": 99, "employer_type": "parents", "wfcl": YES}]
    assert fl(rows, unknown_parent="not_in_forced_labour") == [1]


def test_child_commercial_sex_setting():
    rows = [{"age": 14, "cse": YES}, {"age": 30, "cse": YES}]
    assert fl(rows) == [0, 0]
    assert fl(rows, child_commercial_sex=True) == [1, 0]
    assert fl(rows, child_commercial_sex=True, column="fl_child_category") == ["iv", ""]


def test_age_settings():
    rows = [{"age": 17, "ur_i1": YES, "p1": YES}, {"age": 6, "p1": YES}, {"age": 16, "p1": YES}]
    assert fl(rows, column="fl_adult") == [0, 0, 0]
    assert fl(rows, adult_age=16, column="fl_adult") == [1, 0, 0]  # coercion alone: adult 0
    assert fl(rows, adult_age=16) == [1, 1, 0]
    assert fl(rows, child_min_age=7) == [1, 0, 1]


# ---------------------------------------------------------------- forms


def test_forms():
    both = {"ur_i1": YES, "p1": YES}
    rows = [
        {**both, "perp_type": "state", "cse": YES},  # state takes precedence
        {**both, "perp_type": "private", "cse": YES},
        {**both, "perp_type": "private", "cse": DK},  # cse counts only when yes
        {**both, "perp_type": ""},
        {"perp_type": "state", "cse": YES},  # not in forced labour
        {"age": 13, "cse": YES, "wfcl": YES, "perp_type": "private"},
    ]
    assert fl(rows, column="fl_form") == [
        "state_imposed", "sexual_exploitation", "exploitation", "exploitation", "",
        "sexual_exploitation",
    ]  # fmt: skip
    assert fl(rows, column="fl_form", missing_policy="upper_bound")[2] == "exploitation"


# ---------------------------------------------------------------- non-workers, outputs


def test_non_workers_and_under_fives_are_zero_never_missing():
    dk_all = {c: DK for c in ILO_ITEMS.values()}
    rows = [
        {"worked": NO, **dk_all},
        {"worked": NA, "ur_i1": YES, "p1": YES},
        {"age": 4, **dk_all},
        {"age": 3, "ur_i1": YES, "p1": YES},
        {"age": NA, "ur_i1": YES, "p1": YES},
    ]
    for policy in ("conservative", "upper_bound", "exclude"):
        res = classify(frame(rows), mapping(missing_policy=policy))
        for col in ("fl", "fl_adult", "fl_child", "fl_ur", "fl_involuntary", "fl_coercion"):
            assert res[col].tolist() == [0] * 5, (policy, col)
        assert res["fl_indicators"].tolist() == [""] * 5
        assert res["fl_uncertain"].tolist() == [0] * 5


def test_output_columns_indicators_and_input_untouched():
    rows = [{"ur_i4": YES, "p1": YES, "p6": DK}, {"wd_i1": YES}, {}]
    df = frame(rows)
    before = df.copy(deep=True)
    res = classify(df, mapping())
    pd.testing.assert_frame_equal(df, before)
    assert list(res.columns[: df.shape[1]]) == list(df.columns)
    pd.testing.assert_frame_equal(res[df.columns], before)
    assert list(res.columns[df.shape[1] :]) == [
        "fl", "fl_adult", "fl_child", "fl_child_category", "fl_form", "fl_ur", "fl_wd",
        "fl_il", "fl_involuntary", "fl_coercion", "fl_indicators", "fl_uncertain",
    ]  # fmt: skip
    assert res["fl_indicators"].tolist() == ["UR-I4;P1", "WD-I1", ""]
    up = classify(df, mapping(missing_policy="upper_bound"))
    assert up["fl_indicators"].tolist() == ["UR-I4;P1;P6", "WD-I1", ""]
    assert res["fl"].dtype == np.int64
    assert classify(df, mapping(missing_policy="exclude"))["fl"].dtype == np.float64


def test_reclassifying_replaces_the_output_columns():
    df = frame([{"ur_i4": YES, "p1": DK}])
    first = classify(df, mapping())
    second, report = classify(first, mapping(missing_policy="upper_bound"), return_report=True)
    assert second["fl"].tolist() == [1]
    assert list(second.columns) == list(first.columns)
    assert any("replaced" in n for n in report.notes)


def test_settings_argument_overrides_the_mapping():
    df = frame([{"ur_i4": YES, "p1": DK}])
    m = mapping(missing_policy="conservative")
    assert classify(df, m)["fl"].tolist() == [0]
    assert classify(df, m, settings={"missing_policy": "upper_bound"})["fl"].tolist() == [1]


def test_unknown_codes_missing_treats_them_as_not_asked_and_reports_them():
    df = frame([{"ur_i4": YES, "p1": 7}, {"ur_i4": YES, "p1": 7}, {"ur_i4": 7, "p1": YES}])
    m = mapping(missing_policy="upper_bound") | {"unknown_codes": "missing"}
    res, report = classify(df, m, return_report=True)
    assert res["fl"].tolist() == [0, 0, 0]
    assert report.undeclared_codes == {"p1": {7: 2}, "ur_i4": {7: 1}}


def test_report_counts_settings_and_attrs():
    rows = [
        {"ur_i1": YES, "p1": YES},  # adult fl, UR
        {"wd_i1": YES, "p1": DK},  # uncertain
        {"ur_i4": YES},  # involuntary only
        {"p6": YES},  # coercion only
        {"age": 12, "p1": YES},  # child i/ii
        {"age": 12, "wfcl": YES, "perp_type": "state"},  # child iv, state imposed
        {"worked": NO},
        {"age": 3},
        {"age": NA},
    ]
    res, rep = classify(frame(rows), mapping(missing_policy="exclude"), return_report=True)
    assert isinstance(rep, ClassificationReport)
    c = rep.counts
    assert c["n_rows"] == 9
    assert c["n_eligible"] == 6
    assert (c["n_not_worked"], c["n_under_min_age"], c["n_age_missing"]) == (1, 1, 1)
    assert (c["fl"], c["fl_conservative"], c["fl_upper_bound"]) == (3, 3, 4)
    assert (c["n_uncertain"], c["n_excluded"]) == (1, 1)
    assert (c["fl_adult"], c["fl_child"]) == (1, 2)
    assert (c["dimension_UR"], c["dimension_WD"], c["dimension_IL"]) == (1, 0, 0)
    assert (c["involuntary_only"], c["coercion_only"]) == (2, 1)
    assert (c["child_i_ii"], c["child_iii"], c["child_iv"]) == (1, 0, 1)
    assert (c["form_exploitation"], c["form_state_imposed"]) == (2, 1)
    assert rep.dont_know_refused["P1"] == 1
    assert rep.settings["missing_policy"] == "exclude"
    assert rep.settings["framework_version"] == "2012.1"
    assert rep.settings["strength_rule"] == "any"
    assert any("missing age" in n for n in rep.notes)
    assert res.attrs["flestimate_classification"] == rep.as_dict()
    assert "missing_policy=exclude" in str(rep)


@dataclasses.dataclass(frozen=True)
class _Survey:
    """Stand-in with the SurveyData fields classify relies on."""

    frame: pd.DataFrame
    value_labels: dict
    missing_values: dict
    variable_labels: dict


def test_survey_data_in_survey_data_out():
    df = frame([{"ur_i1": YES, "p1": YES}, {}])
    sd = _Survey(df, {"p1": {1: "Yes", 2: "No"}}, {"p1": [8, 9]}, {"p1": "Threats"})
    out = classify(sd, mapping())
    assert isinstance(out, _Survey)
    assert out.frame["fl"].tolist() == [1, 0]
    assert out.value_labels["p1"] == {1: "Yes", 2: "No"}
    assert out.value_labels["fl"][1] == "in forced labour"
    assert "fl_ur" in out.value_labels and "fl" in out.variable_labels
    assert out.missing_values == {"p1": [8, 9]}
    assert "fl" not in sd.frame and "fl" not in sd.value_labels


def test_string_codes():
    df = pd.DataFrame({"age": [30, 30], "worked": ["Y", "Y"], "iw1": ["Y", "Y"], "c1": ["Y", "N"]})
    m = {
        "framework": "icls-2018",
        "codes": {"yes": ["Y"], "no": ["N"]},
        "columns": {"age": "age", "worked": "worked"},
        "indicators": {"ICLS-IW1": "iw1", "ICLS-C1": "c1"},
    }
    assert classify(df, m)["fl"].tolist() == [1, 0]


def test_nullable_and_categorical_dtypes():
    df = frame([{"ur_i4": YES, "p1": YES}, {"ur_i4": YES, "p1": DK}, {"age": NA}])
    df = df.astype({"age": "Int64", "ur_i4": "Float64", "p1": "Int64", "worked": "Int8"})
    assert classify(df, mapping())["fl"].tolist() == [1, 0, 0]
    assert classify(df, mapping(missing_policy="upper_bound"))["fl"].tolist() == [1, 1, 0]
    df["employer_type"] = df["employer_type"].astype("category")
    assert classify(df, mapping())["fl"].tolist() == [1, 0, 0]


def test_fl_indicators_with_more_than_63_items():
    # 20 involuntariness + 13 penalties asked once + 39 asked per dimension = 72 items
    from flestimate import frameworks

    ids = list(frameworks()["ilo-2012"].ids)
    keys = ids + [f"P{p}@{d}" for d in ("UR", "WD", "IL") for p in range(1, 14)]
    items = {k: "x_" + k.lower().replace("-", "_").replace("@", "_") for k in keys}
    rng = np.random.default_rng(3)
    rows = [{c: int(rng.choice([YES, NO, NO, NO])) for c in items.values()} for _ in range(60)]
    rows += [dict.fromkeys(items.values(), YES), {}]
    res = classify(frame(rows, items), mapping(items))
    expected = [";".join(k for k, c in items.items() if r.get(c) == YES) for r in rows]
    assert res["fl_indicators"].tolist() == expected
    assert len(set(expected)) == 62


def test_report_notes_a_dimension_without_penalty_items():
    items = {"UR-I1": "ur_i1", "IL-I1": "il_i1", "P1@UR": "p1_ur"}
    _, rep = classify(
        frame([{"il_i1": YES, "p1_ur": YES}], items),
        mapping(items, penalty_scope="same_dimension"),
        return_report=True,
    )
    assert any("in scope of dimension IL" in n for n in rep.notes)
    assert not any("dimension UR" in n for n in rep.notes)
    _, rep = classify(frame([{}], items), mapping(items), return_report=True)
    assert not any("no penalty" in n for n in rep.notes)


def test_any_index_is_kept():
    df = frame([{"ur_i1": YES, "p1": YES}, {}, {"age": 12, "p1": YES}])
    df.index = pd.Index(["b", "b", "a"])
    res = classify(df, mapping())
    assert list(res.index) == ["b", "b", "a"]
    assert res["fl"].tolist() == [1, 0, 1]
    assert res["fl_indicators"].tolist() == ["UR-I1;P1", "", "P1"]

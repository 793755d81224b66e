"""Population totals in one shape for poststratify, rake and calibrate.

The three read their totals with ``flestimate.weighting.population_totals``: the same
counts in every accepted shape give the same weights, the shapes accepted before stay
accepted with the same numbers, and post-stratifying to one margin is raking to it
alone and linear calibration to it (apiclus1 from tests/reference/, and the bundled
sample survey with its margins.csv).
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate.weighting as weighting
from flestimate import CalibrationError
from flestimate.design import ReplicateDesign, SurveyDesign
from flestimate.weighting import calibrate, population_totals, poststratify, rake

ROOT = Path(__file__).resolve().parents[2]
REF = json.loads((Path(__file__).parents[1] / "reference" / "weighting_apiclus1.json").read_text())
POP = REF["population"]
STYPE = POP["stype"]
SCHWIDE = POP["sch_wide"]
API99 = POP["api99"]
CROSS = pd.DataFrame(
    {
        "stype": POP["cross"]["stype"],
        "sch.wide": POP["cross"]["sch_wide"],
        "count": POP["cross"]["count"],
    }
)
RW = np.asarray(REF["jk1_repweights"], dtype=float)
RW_NAMES = [f"rw{r + 1}" for r in range(RW.shape[1])]


def api_frame() -> pd.DataFrame:
    df = pd.DataFrame(REF["data"]).rename(columns={"sch_wide": "sch.wide"})
    return df.assign(**{name: RW[:, r] for r, name in enumerate(RW_NAMES)})


@pytest.fixture(scope="module")
def dclus1() -> SurveyDesign:
    return SurveyDesign(api_frame(), weight="pw", psu="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def rclus1() -> ReplicateDesign:
    return ReplicateDesign(
        api_frame(),
        weight="pw",
        replicate_weights=RW_NAMES,
        method="jk1",
        scale=REF["meta"]["jk1_scale"],
        rscales=1.0,
    )


def counts(levels: dict, variable: str) -> pd.Series:
    """A Series of counts as ``groupby(variable)["count"].sum()`` leaves it."""
    return pd.Series(levels, name="count").rename_axis(variable)


def frame_of(levels: dict, variable: str) -> pd.DataFrame:
    return counts(levels, variable).reset_index()


# the population counts of stype, in every accepted shape
STYPE_SHAPES = {
    "dict of counts": {"stype": STYPE},
    "dict of Series": {"stype": pd.Series(STYPE)},
    "dict of DataFrame": {"stype": frame_of(STYPE, "stype")},
    "Series (index name)": counts(STYPE, "stype"),
    "Series (Series name)": pd.Series(STYPE, name="stype"),
    "DataFrame": frame_of(STYPE, "stype"),
    "list of Series": [counts(STYPE, "stype")],
    "list of dict": [{"stype": STYPE}],
    "Totals": population_totals({"stype": STYPE}),
    "cross table summed": population_totals(CROSS, margins="stype"),
}

# the crossed counts of stype x sch.wide
CROSS_SHAPES = {
    "DataFrame": CROSS,
    "dict of DataFrame": {"cells": CROSS},
    "Series with a MultiIndex": CROSS.set_index(["stype", "sch.wide"])["count"],
    "list of DataFrame": [CROSS],
    "Totals": population_totals(CROSS),
}

# two margins, stype and sch.wide
TWO_SHAPES = {
    "dict of counts": {"stype": STYPE, "sch.wide": SCHWIDE},
    "dict of Series": {"stype": pd.Series(STYPE), "sch.wide": pd.Series(SCHWIDE)},
    "list of Series": [counts(STYPE, "stype"), counts(SCHWIDE, "sch.wide")],
    "list of DataFrames": [frame_of(STYPE, "stype"), frame_of(SCHWIDE, "sch.wide")],
    "mixed list": [{"stype": STYPE}, frame_of(SCHWIDE, "sch.wide")],
    "cross table summed": population_totals(CROSS, margins=["stype", "sch.wide"]),
}

# stype and the numeric total of api99
CAL_SHAPES = {
    "dict": {"stype": STYPE, "api99": API99},
    "dict of Series and number": {"stype": pd.Series(STYPE), "api99": API99},
    "list of Series and dict": [counts(STYPE, "stype"), {"api99": API99}],
    "list of DataFrame and dict": [frame_of(STYPE, "stype"), {"api99": API99}],
    "Totals": population_totals({"stype": STYPE, "api99": API99}),
}


def se_of(design) -> np.ndarray:
    frame = design.mean("api00", by="sch.wide").to_frame()
    return frame[["estimate", "se"]].to_numpy()


def assert_same(a, b, *, se_rtol: float = 1e-12) -> None:
    np.testing.assert_allclose(a.weights.to_numpy(), b.weights.to_numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(se_of(a), se_of(b), rtol=se_rtol, atol=1e-12)


# ------------------------------------------------------------------ every shape, same weights


@pytest.mark.parametrize("shape", list(STYPE_SHAPES))
def test_one_margin_in_every_shape_gives_the_same_weights(dclus1, shape):
    totals = STYPE_SHAPES[shape]
    assert_same(poststratify(dclus1, totals=totals), poststratify(dclus1, totals={"stype": STYPE}))
    assert_same(rake(dclus1, margins=totals), rake(dclus1, margins={"stype": STYPE}))
    assert_same(calibrate(dclus1, totals=totals), calibrate(dclus1, totals={"stype": STYPE}))


@pytest.mark.parametrize("shape", list(CROSS_SHAPES))
def test_crossed_margin_in_every_shape_gives_the_same_weights(dclus1, shape):
    totals = CROSS_SHAPES[shape]
    assert_same(poststratify(dclus1, totals=totals), poststratify(dclus1, totals=CROSS))
    assert_same(rake(dclus1, margins=totals), rake(dclus1, margins={"cells": CROSS}))
    assert_same(calibrate(dclus1, totals=totals), calibrate(dclus1, totals={"cells": CROSS}))


@pytest.mark.parametrize("shape", list(TWO_SHAPES))
def test_two_margins_in_every_shape_give_the_same_weights(dclus1, shape):
    totals = TWO_SHAPES[shape]
    today = {"stype": STYPE, "sch.wide": SCHWIDE}
    assert_same(rake(dclus1, margins=totals), rake(dclus1, margins=today))
    assert_same(calibrate(dclus1, totals=totals), calibrate(dclus1, totals=today))


@pytest.mark.parametrize("shape", list(CAL_SHAPES))
@pytest.mark.parametrize("method", ["linear", "raking"])
def test_calibration_totals_in_every_shape_give_the_same_weights(dclus1, shape, method):
    got = calibrate(dclus1, totals=CAL_SHAPES[shape], method=method)
    assert_same(got, calibrate(dclus1, totals={"stype": STYPE, "api99": API99}, method=method))


@pytest.mark.parametrize("shape", ["DataFrame", "Series (index name)", "list of Series"])
def test_replicate_design_every_shape_same_replicate_weights(rclus1, shape):
    totals = STYPE_SHAPES[shape]
    for step, today in (
        (lambda t: poststratify(rclus1, totals=t), {"stype": STYPE}),
        (lambda t: rake(rclus1, margins=t), {"stype": STYPE}),
        (lambda t: calibrate(rclus1, totals=t), {"stype": STYPE}),
    ):
        a, b = step(totals), step(today)
        np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12)
        np.testing.assert_allclose(
            a.replicate_weights.to_numpy(), b.replicate_weights.to_numpy(), rtol=1e-12
        )


# ------------------------------------------------------------------ identities across steps


IDENTITY_SHAPES = {
    **{f"stype as {k}": v for k, v in STYPE_SHAPES.items()},
    **{f"stype x sch.wide as {k}": v for k, v in CROSS_SHAPES.items()},
}


@pytest.mark.parametrize("shape", list(IDENTITY_SHAPES))
def test_identity_poststratify_rake_calibrate_one_factor(dclus1, shape):
    # poststratify(totals=T) == rake(margins=[T]) == calibrate(totals=T) for one factor
    # (one column or one cross of columns); with apiclus1's equal weights the SEs agree too
    totals = IDENTITY_SHAPES[shape]
    ps = poststratify(dclus1, totals=totals)
    assert_same(rake(dclus1, margins=[totals]), ps, se_rtol=1e-9)
    assert_same(calibrate(dclus1, totals=totals), ps, se_rtol=1e-9)


@pytest.fixture(scope="module")
def sample():
    data = pd.read_csv(ROOT / "data" / "sample" / "fl_survey.csv")
    cells = pd.read_csv(ROOT / "data" / "sample" / "margins.csv")
    design = SurveyDesign(data, weight="w_final", strata="stratum", psu="psu", nest=True)
    return design, cells


def test_identity_on_the_sample_survey_with_unequal_weights(sample):
    design, cells = sample
    ps = poststratify(design, totals=cells)  # 50 crossed cells
    for other in (
        rake(design, margins=cells),
        rake(design, margins=[cells]),
        calibrate(design, totals=cells),
        poststratify(design, totals=cells.set_index(["region", "sex", "age_group"])["count"]),
    ):
        np.testing.assert_allclose(other.weights, ps.weights, rtol=1e-12)
    by_age = cells.groupby("age_group")["count"].sum()
    ps = poststratify(design, totals=by_age)
    np.testing.assert_allclose(
        ps.weights, poststratify(design, totals={"age_group": by_age.to_dict()}).weights, rtol=0
    )
    np.testing.assert_allclose(rake(design, margins=[by_age]).weights, ps.weights, rtol=1e-12)
    cal = calibrate(design, totals=by_age)
    np.testing.assert_allclose(cal.weights, ps.weights, rtol=1e-12)
    np.testing.assert_allclose(
        cal.mean("age", by="region").to_frame()["se"],
        ps.mean("age", by="region").to_frame()["se"],
        rtol=1e-9,
    )


def test_margins_built_as_the_pipeline_builds_them_give_the_same_weights(sample):
    # the pipeline sums its totals CSV to margins itself (Series renamed to the column,
    # crossed margins as DataFrames under "a+b"; for calibrate {level: float} dicts);
    # population_totals(table, margins=...) gives the same margins
    design, cells = sample
    spec = ["region", "sex", ["sex", "age_group"]]
    built = {}
    for cols in ([c] if isinstance(c, str) else c for c in spec):
        grouped = cells.groupby(cols, sort=True)["count"].sum()
        if len(cols) == 1:
            built[cols[0]] = grouped.rename(cols[0])
        else:
            built["+".join(cols)] = grouped.reset_index()
    read = population_totals(cells, margins=spec)
    assert [m.name for m in read.margins] == ["region", "sex", "sex x age_group"]
    np.testing.assert_allclose(
        rake(design, margins=read).weights, rake(design, margins=built).weights, rtol=0
    )
    singles = ["region", "age_group"]
    as_dicts = {
        c: {
            (lv.item() if hasattr(lv, "item") else lv): float(v)
            for lv, v in cells.groupby(c)["count"].sum().items()
        }
        for c in singles
    }
    np.testing.assert_allclose(
        calibrate(design, totals=population_totals(cells, margins=singles)).weights,
        calibrate(design, totals=as_dicts).weights,
        rtol=0,
    )


def test_history_records_the_same_parameters_in_every_shape(dclus1):
    want = poststratify(dclus1, totals={"stype": STYPE}).history[-1].parameters
    for totals in STYPE_SHAPES.values():
        assert poststratify(dclus1, totals=totals).history[-1].parameters == want
    want = rake(dclus1, margins=TWO_SHAPES["dict of counts"]).history[-1].parameters
    got = rake(dclus1, margins=TWO_SHAPES["list of Series"]).history[-1].parameters
    assert got == want


# ------------------------------------------------------------------ the normalised form


def test_population_totals_reads_levels_counts_and_numeric_totals():
    t = population_totals([counts(STYPE, "stype"), {"api99": API99}])
    (m,) = t.margins
    assert (m.name, m.columns) == ("stype", ("stype",))
    assert m.levels.tolist() == ["E", "H", "M"]
    assert m.counts.dtype == np.float64 and m.counts.tolist() == [4421.0, 755.0, 1018.0]
    assert [(n.column, n.total) for n in t.numeric] == [("api99", float(API99))]
    crossed = population_totals(CROSS).margins[0]
    assert crossed.name == "stype x sch.wide" and crossed.columns == ("stype", "sch.wide")
    assert crossed.levels.tolist()[0] == ("E", "No") and crossed.total == 6194.0
    summed = population_totals(CROSS, margins=["sch.wide", ["stype", "sch.wide"]]).margins
    assert summed[0].levels.tolist() == ["No", "Yes"]
    assert summed[0].counts.tolist() == [1072.0, 5122.0]
    assert summed[1].levels.tolist()[:2] == [("E", "No"), ("E", "Yes")]
    assert summed[1].counts.tolist() == [472.0, 3949.0, 334.0, 421.0, 266.0, 752.0]
    same = population_totals(CROSS)
    assert population_totals(same) is same


# ------------------------------------------------------------------ errors


def test_errors_name_the_variable_the_level_and_the_fix(dclus1):
    missing_m = counts({"E": 4421, "H": 755}, "stype")
    with pytest.raises(CalibrationError, match=r"margin 'stype'.*no population count \('M'\)"):
        poststratify(dclus1, totals=missing_m)
    with pytest.raises(CalibrationError, match=r"margin 'stype'.*no population count \('M'\)"):
        rake(dclus1, margins=[missing_m.reset_index()])
    with pytest.raises(CalibrationError, match=r"margin 'stype'.*no population count \('M'\)"):
        calibrate(dclus1, totals=[missing_m, {"api99": API99}])
    with pytest.raises(CalibrationError, match=r"margin 'stype'.*absent from the sample \('X'\)"):
        rake(dclus1, margins=counts({**STYPE, "X": 5}, "stype"))
    with pytest.raises(CalibrationError, match=r"'stype'.*finite and >= 0.*levels 'H'"):
        poststratify(dclus1, totals=counts({**STYPE, "H": -1}, "stype"))


def test_shape_errors():
    with pytest.raises(CalibrationError, match=r"names no variable.*rename_axis\('sex'\)"):
        population_totals(pd.Series([1.0, 2.0]))
    with pytest.raises(CalibrationError, match=r"MultiIndex.*\['stype', None\]"):
        population_totals(
            CROSS.set_index(["stype", "sch.wide"])["count"].rename_axis(["stype", None])
        )
    with pytest.raises(CalibrationError, match=r"totals= must be population totals.*found int"):
        population_totals(5)
    with pytest.raises(CalibrationError, match="found an empty list"):
        population_totals([])
    with pytest.raises(CalibrationError, match="found an empty dict"):
        population_totals({})
    with pytest.raises(CalibrationError, match=r"given as totals=.*without a 'count' column"):
        population_totals(CROSS.rename(columns={"count": "n"}))
    with pytest.raises(CalibrationError, match=r"totals\['api99'\] must be.*found 'many'"):
        population_totals({"api99": "many"})
    with pytest.raises(CalibrationError, match=r"different grand totals.*'stype': 6194.*6200"):
        population_totals([counts(STYPE, "stype"), {"sch.wide": {"No": 1078, "Yes": 5122}}])


def test_summing_a_cross_table_checks_columns_and_counts():
    with pytest.raises(CalibrationError, match=r"margins\[1\] = 'styp'.*stype, sch.wide"):
        population_totals(CROSS, margins=["sch.wide", "styp"])
    with pytest.raises(CalibrationError, match=r"must be a DataFrame.*found dict"):
        population_totals({"stype": STYPE}, margins=["stype"])
    with pytest.raises(CalibrationError, match=r"margins=\[\] must be a list"):
        population_totals(CROSS, margins=[])
    # a missing count is an error, not a cell silently left out of the margin sums
    bad = CROSS.assign(count=CROSS["count"].astype(float))
    bad.loc[4, "count"] = np.nan
    with pytest.raises(CalibrationError, match=r"finite and >= 0.*\('H', 'Yes'\)"):
        population_totals(bad, margins=["stype"])


def test_step_specific_errors(dclus1):
    with pytest.raises(CalibrationError, match=r"exactly one post-stratum column.*'stype', "):
        poststratify(dclus1, totals=[counts(STYPE, "stype"), counts(SCHWIDE, "sch.wide")])
    with pytest.raises(CalibrationError, match=r"rake: margins\['api99'\] is a number.*calibrate"):
        rake(dclus1, margins={"stype": STYPE, "api99": API99})
    with pytest.raises(CalibrationError, match=r"poststratify: totals\['api99'\] is a number"):
        poststratify(dclus1, totals={"api99": API99})
    with pytest.raises(CalibrationError, match=r"margins= must be population totals.*found str"):
        rake(dclus1, margins="stype")


# ------------------------------------------------------------------ type hints and docs


PUBLIC_FUNCTIONS = [
    getattr(weighting, name)
    for name in weighting.__all__
    if inspect.isfunction(getattr(weighting, name))
]


@pytest.mark.parametrize("fn", PUBLIC_FUNCTIONS, ids=lambda f: f.__name__)
def test_public_weighting_functions_have_resolvable_type_hints(fn):
    hints = typing.get_type_hints(
        fn, localns={"SurveyDesign": SurveyDesign, "ReplicateDesign": ReplicateDesign}
    )
    params = [p for p in inspect.signature(fn).parameters if p != "self"]
    assert set(params) | {"return"} == set(hints), fn.__name__
    assert all(h is not typing.Any for h in hints.values()), fn.__name__


def test_weighting_steps_take_either_design_and_say_so():
    for fn in (poststratify, rake, calibrate, weighting.adjust_nonresponse, weighting.trim_weights):
        hints = typing.get_type_hints(
            fn, localns={"SurveyDesign": SurveyDesign, "ReplicateDesign": ReplicateDesign}
        )
        assert hints["design"] is hints["return"]  # a design of the kind given
        bound = typing.get_args(hints["design"].__bound__)
        assert {getattr(b, "__forward_arg__", b) for b in bound} == {
            "SurveyDesign",
            "ReplicateDesign",
        }


def test_user_guide_weighting_page_runs(monkeypatch):
    # the Python blocks of docs/user-guide/weighting.md run in order on the sample survey
    text = (ROOT / "docs" / "user-guide" / "weighting.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(ROOT)
    ns: dict = {}
    for block in blocks:
        exec(compile(block, "docs/user-guide/weighting.md", "exec"), ns)
    first = ns["weights"]["Series"].to_numpy()
    assert len(ns["weights"]) == 6
    for w in [*ns["weights"].values(), *ns["same"]]:
        np.testing.assert_allclose(w.to_numpy(), first, rtol=1e-12)
    assert [m.name for m in ns["margins"].margins] == ["region", "sex x age_group"]
    assert list(ns["fl"].weight_summary(ns["trimmed"])["step"]) == ["input", "rake", "trim_weights"]

"""Hypothesis property tests: invariances of the estimates."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flestimate.design import SurveyDesign


def survey(seed: int, n_strata: int, psu_per: int, m: int, lonely: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    psu_id = 0
    for h in range(n_strata):
        k = 1 if (lonely and h == 0) else psu_per
        for _ in range(k):
            size = int(rng.integers(1, m + 1))
            rows.append(pd.DataFrame({"stratum": h, "psu": psu_id, "i": np.arange(size)}))
            psu_id += 1
    f = pd.concat(rows, ignore_index=True)
    n = len(f)
    f["w"] = rng.uniform(0.5, 5.0, n)
    f["y"] = rng.normal(10, 3, n)
    f["x"] = rng.uniform(1, 2, n)
    f["flag"] = (rng.random(n) < 0.3).astype(int)
    f["sex"] = pd.Categorical(rng.choice(["f", "m"], n), categories=["f", "m"])
    f["region"] = rng.choice(["a", "b", "c"], n)
    f["fpc"] = f.groupby("stratum")["psu"].transform("nunique") * 4.0
    return f


designs = st.builds(
    dict,
    seed=st.integers(0, 10_000),
    n_strata=st.integers(2, 4),
    psu_per=st.integers(2, 4),
    m=st.integers(1, 5),
    lonely_psu=st.sampled_from(["fail", "remove", "certainty", "adjust", "average"]),
    use_fpc=st.booleans(),
)

COLS = ["estimate", "se", "ci_lower", "ci_upper", "df", "deff", "deff_wr", "n_unweighted"]


def tables(f: pd.DataFrame, spec: dict, **design_kw) -> list[pd.DataFrame]:
    kw = dict(weight="w", strata="stratum", psu="psu", lonely_psu=spec["lonely_psu"])
    if spec["use_fpc"]:
        kw["fpc"] = "fpc"
    kw.update(design_kw)
    d = SurveyDesign(f, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            d.mean(["y", "x"], by=["sex", "region"]).to_frame(),
            d.total("y", by="region").to_frame(),
            d.ratio("y", "x", by="sex").to_frame(),
            d.proportion("flag", by="region", ci_method="korn-graubard").to_frame(),
            d.proportion("region", ci_method="logit").to_frame(),
            # national rows: the segment sums when each PSU's rows are contiguous
            d.mean(["y", "x"]).to_frame(),
            d.total("y").to_frame(),
            d.proportion("flag", ci_method="korn-graubard").to_frame(),
        ]


def build(spec: dict) -> pd.DataFrame:
    lonely = spec["lonely_psu"] != "fail"
    return survey(spec["seed"], spec["n_strata"], spec["psu_per"], spec["m"], lonely=lonely)


def assert_same(a: list[pd.DataFrame], b: list[pd.DataFrame], cols=COLS) -> None:
    for ta, tb in zip(a, b, strict=True):
        for c in cols:
            # a design effect divides by an SRS variance sum w y^2 - Y^2/N, whose
            # cancellation (a category that is almost every row of a tiny design) turns
            # summation-order rounding into ~1e-8 relative: 1e-9 holds everywhere else
            rtol = 1e-7 if c.startswith("deff") else 1e-9
            np.testing.assert_allclose(
                ta[c].to_numpy(float), tb[c].to_numpy(float), rtol=rtol, atol=1e-12, err_msg=c
            )


@settings(max_examples=25, deadline=None)
@given(spec=designs, perm_seed=st.integers(0, 1000))
def test_row_order(spec, perm_seed):
    f = build(spec)
    perm = np.random.default_rng(perm_seed).permutation(len(f))
    assert_same(tables(f, spec), tables(f.iloc[perm], spec))


@settings(max_examples=25, deadline=None)
@given(spec=designs, factor=st.floats(0.01, 1000))
def test_weight_scaling_means_and_proportions(spec, factor):
    f = build(spec)
    g = f.assign(w=f["w"] * factor)
    d1 = SurveyDesign(f, weight="w", strata="stratum", psu="psu", lonely_psu=spec["lonely_psu"])
    d2 = SurveyDesign(g, weight="w", strata="stratum", psu="psu", lonely_psu=spec["lonely_psu"])
    cols = ["estimate", "se", "ci_lower", "ci_upper", "df", "deff_wr"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for meth in ("mean", "proportion"):
            var = "y" if meth == "mean" else "flag"
            a = getattr(d1, meth)(var, by="region").to_frame()
            b = getattr(d2, meth)(var, by="region").to_frame()
            assert_same([a], [b], cols)
        a = d1.ratio("y", "x").to_frame()
        b = d2.ratio("y", "x").to_frame()
        assert_same([a], [b], cols)


@settings(max_examples=25, deadline=None)
@given(spec=designs, seed=st.integers(0, 1000))
def test_relabel_psus_and_strata(spec, seed):
    f = build(spec)
    rng = np.random.default_rng(seed)
    psu_map = dict(
        zip(np.unique(f["psu"]), rng.permutation(np.unique(f["psu"]) * 7 + 3), strict=True)
    )
    str_labels = np.array([f"s{v}" for v in rng.permutation(f["stratum"].nunique())])
    g = f.assign(psu=f["psu"].map(psu_map), stratum=str_labels[f["stratum"]])
    assert_same(tables(f, spec), tables(g, spec))


@settings(max_examples=25, deadline=None)
@given(spec=designs)
def test_adding_an_empty_domain_level(spec):
    f = build(spec)
    g = f.assign(sex=f["sex"].cat.add_categories(["x"]))
    a = tables(f, spec)[0]
    d = SurveyDesign(
        g,
        weight="w",
        strata="stratum",
        psu="psu",
        lonely_psu=spec["lonely_psu"],
        **({"fpc": "fpc"} if spec["use_fpc"] else {}),
    )
    with pytest.warns(Warning, match="no respondents"):
        b = d.mean(["y", "x"], by=["sex", "region"]).to_frame()
    empty = b["sex"] == "x"
    assert empty.sum() == f["region"].nunique() * 2  # x by each region, 2 variables
    assert b.loc[empty, "estimate"].isna().all()
    assert (b.loc[empty, "flags"] == "empty_domain").all()
    assert_same([a], [b.loc[~empty].reset_index(drop=True)])


@settings(max_examples=60, deadline=None)
@given(
    dtypes=st.lists(st.sampled_from(["int8", "uint16", "int64", "float64", "object"]),
                    min_size=1, max_size=3),
    seed=st.integers(0, 10_000),
    low=st.integers(-50, 50),
    wide=st.booleans(),
)
def test_domain_codes_equal_a_groupby(dtypes, seed, low, wide):
    """Domain codes and keys (offset coding of small integer columns, hashing of the
    others) equal the groups of pandas' sorted groupby, and the data are untouched."""
    from flestimate.estimation.domains import encode_domains

    rng = np.random.default_rng(seed)
    n = 200
    frame = pd.DataFrame(index=pd.RangeIndex(n))
    for j, dt in enumerate(dtypes):
        span = 70_000 if (wide and j == 0 and dt in ("int64", "float64")) else 6
        base = 0 if dt == "uint16" else low
        frame[f"c{j}"] = (base + rng.integers(0, span, n) * (2 if j else 1)).astype(dt)
    before = frame.copy()
    cols = list(frame.columns)
    got = encode_domains(frame, cols)
    groups = frame.groupby(cols, sort=True).ngroup().to_numpy()
    keys = frame.groupby(cols, sort=True).size().index.to_frame(index=False)
    assert np.array_equal(got.codes, groups)
    pd.testing.assert_frame_equal(got.keys.reset_index(drop=True), keys, check_dtype=False)
    for c in cols:
        assert got.keys[c].dtype == frame[c].dtype, c
    pd.testing.assert_frame_equal(frame, before)


def test_psu_runs_only_for_contiguous_psus():
    """Segment sums are used only when every PSU's rows are one run; a PSU split in
    two runs goes through bincount, with the same totals."""
    from flestimate.design.totals import domain_totals

    f = survey(3, 4, 3, 6)
    d = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    assert d.structure.psu_runs is not None
    moved = pd.concat([f.iloc[1:], f.iloc[:1]])  # the first PSU's first row goes last
    d2 = SurveyDesign(moved, weight="w", strata="stratum", psu="psu")
    assert d2.structure.psu_runs is None
    codes = np.zeros(len(f), dtype=np.int64)
    a = domain_totals(d.structure, [f["y"].to_numpy()], [None], codes, 1)
    b = domain_totals(d2.structure, [moved["y"].to_numpy()], [None], codes, 1)
    order = np.argsort(d2.structure.psu_labels.to_numpy())
    np.testing.assert_allclose(a.psu_y[:, 0, 0], b.psu_y[order, 0, 0], rtol=1e-12)
    np.testing.assert_array_equal(a.psu_rows[:, 0, 0], b.psu_rows[order, 0, 0])
    np.testing.assert_allclose(a.psu_x[:, 0, 0], b.psu_x[order, 0, 0], rtol=1e-12)

"""Replicate-weight designs against R survey 4.1.1 (tests/reference/replicate.json).

The reference values come from tests/reference/make_reference_replicate.R:
``as.svrepdesign`` (JK1, JKn with lonely PSUs, BRR, Fay, bootstrap, subbootstrap) and
``svrepdesign`` with replicate weight columns. Tolerance: relative 1e-9.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate
from flestimate import ReplicateDesign, SurveyDesign

HERE = Path(__file__).parents[2] / "reference"
REF = json.loads((HERE / "replicate.json").read_text())
CASES = REF["cases"]
RTOL = 1e-9

# R svyciprop method -> flestimate ci_method
CI = {"mean": "wald", "beta": "korn-graubard", "xlogit": "logit", "asin": "asin"}


def close(actual, expected, rtol=RTOL, atol=0.0):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    tol = rtol * np.abs(expected) + 1e-12 * np.maximum(1.0, np.abs(expected)) + atol
    same_nan = np.isnan(actual) & np.isnan(expected)
    ok = same_nan | (np.abs(actual - expected) <= tol)
    assert ok.all(), f"not close: {actual[~ok]} vs {expected[~ok]} (rtol {rtol})"


def load(name: str) -> pd.DataFrame:
    data = pd.read_csv(HERE / "data" / name)
    # analysis columns R derives on the fly
    extra = {}
    if "sch.wide" in data:
        extra["schwide_yes"] = (data["sch.wide"] == "Yes").astype(float)
    if "stype" in data:
        for lev in ("E", "H", "M"):
            extra[f"stype_{lev}"] = (data["stype"] == lev).astype(float)
    return pd.concat([data, pd.DataFrame(extra, index=data.index)], axis=1) if extra else data


def survey_design(spec: dict) -> SurveyDesign:
    return SurveyDesign(
        load(spec["data"]),
        weight=spec.get("weight"),
        strata=spec.get("strata"),
        psu=spec.get("psu"),
        fpc=spec.get("fpc"),
        nest=spec.get("nest", False),
        lonely_psu=spec.get("lonely_psu", "fail"),
    )


def replicate_of(name: str):
    case = CASES[name]
    rep = case["replicate"]
    spec = case["design"]
    random = rep["method"] in ("bootstrap", "subbootstrap")
    if rep["call"] == "as.svrepdesign" and not random:
        design = survey_design(spec)
        return design.replicate(rep["method"], mse=rep["mse"], rho=rep.get("rho"))
    if rep["call"] == "as.svrepdesign":
        # bootstrap draws differ from numpy's: use R's replicate weights and scale
        data = load(spec["data"])
        rw = pd.read_csv(HERE / "data" / case["repweights_file"])
        data = pd.concat([data, rw], axis=1)
        return ReplicateDesign(
            data,
            weight=spec["weight"],
            replicate_weights=list(rw.columns),
            method=rep["method"],
            scale=case["scale"],
            mse=rep["mse"],
        )
    kwargs = {k: rep[k] for k in ("scale", "rscales", "rho") if k in rep}
    return ReplicateDesign(
        load(spec["data"]),
        weight=spec["weight"],
        replicate_weights=spec["replicate_weights"],
        method=rep["method"],
        mse=rep["mse"],
        **kwargs,
    )


API = [
    k for k, c in CASES.items() if "mean_api00" in c["stats"] and "deff" in c["stats"]["mean_api00"]
]
LONELY = [k for k in CASES if k.startswith("lonely_")]
SCD = [k for k in CASES if k.startswith("scd_")]
BRR10 = [k for k in CASES if "total_y" in CASES[k]["stats"]]


# ----------------------------------------------------------------------------- design info


@pytest.mark.parametrize("name", list(CASES))
def test_scale_rscales_degf(name):
    case = CASES[name]
    rep = replicate_of(name)
    assert rep.n_replicates == case["n_replicates"]
    close(rep.scale, case["scale"])
    close(np.sort(rep.rscales), np.sort(case["rscales"]))
    assert rep.degf == case["degf"]
    assert rep.mse == case["mse"]


@pytest.mark.parametrize("name", [k for k in CASES if "repweights" in CASES[k]])
def test_replicate_weights_equal_r(name):
    """The replicate analysis weights equal R's (columns in R's order for BRR/Fay; the
    jackknife orders replicates by PSU code, so columns are compared as a set)."""
    rep = replicate_of(name)
    W = rep.replicate_weights.to_numpy()
    R = np.asarray(CASES[name]["repweights"], dtype=float)
    assert W.shape == R.shape
    if CASES[name]["replicate"]["method"] in ("brr", "fay"):
        close(W, R)
    else:
        close(W[:, np.lexsort(W[::-1])], R[:, np.lexsort(R[::-1])])


def test_jkn_weights_equal_r_columns():
    """JKn of apistrat: R's exported analysis weights (replicate_given_jkn.csv)."""
    rep = replicate_of("apistrat_jkn")
    W = rep.replicate_weights.to_numpy()
    given = pd.read_csv(HERE / "data" / "replicate_given_jkn.csv")
    R = given.filter(regex="^rw[0-9]+$").to_numpy()
    close(W[:, np.lexsort(W[::-1])], R[:, np.lexsort(R[::-1])])


# ----------------------------------------------------------------------------- statistics


def _row(table):
    f = table.to_frame()
    assert len(f) == 1
    return f.iloc[0]


@pytest.mark.parametrize("name", API)
def test_api_statistics(name):
    st = CASES[name]["stats"]
    rep = replicate_of(name)
    t = _row(rep.total("enroll"))
    close(t["estimate"], st["total_enroll"]["estimate"])
    close(t["se"], st["total_enroll"]["se"])
    close(t["deff"], st["total_enroll"]["deff"])
    m = _row(rep.mean("api00"))
    close(m["estimate"], st["mean_api00"]["estimate"])
    close(m["se"], st["mean_api00"]["se"])
    close(m["deff"], st["mean_api00"]["deff"])
    r = _row(rep.ratio("api00", "api99"))
    close(r["estimate"], st["ratio_api00_api99"]["estimate"])
    close(r["se"], st["ratio_api00_api99"]["se"])
    p = rep.proportion("stype").to_frame()
    assert list(p["category"]) == st["prop_stype"]["levels"]
    close(p["estimate"], st["prop_stype"]["estimate"])
    # under JKn of apistrat (strata = stype) these SEs are 0 up to rounding
    close(p["se"], st["prop_stype"]["se"], atol=1e-9)
    tt = rep.total(["stype_E", "stype_H", "stype_M"]).to_frame()
    close(tt["estimate"], st["total_stype"]["estimate"])
    close(tt["se"], st["total_stype"]["se"], atol=1e-9 * np.max(tt["estimate"]))


@pytest.mark.parametrize("name", API)
def test_api_domains(name):
    st = CASES[name]["stats"]
    rep = replicate_of(name)
    by = rep.mean("api00", by="comp.imp").to_frame()
    ref = st["by_comp_imp_mean_api00"]
    assert list(by["comp.imp"]) == ref["levels"]
    close(by["estimate"], ref["estimate"])
    close(by["se"], ref["se"])
    close(by["deff"], ref["deff"])
    pr = rep.proportion("schwide_yes", by="comp.imp").to_frame()
    close(pr["estimate"], st["by_comp_imp_prop_schwide"]["estimate"])
    close(pr["se"], st["by_comp_imp_prop_schwide"]["se"])


@pytest.mark.parametrize("name", API)
def test_api_confidence_intervals(name):
    """svyciprop with R's default df = degf(design) (rank of the replicate weights - 1)."""
    st = CASES[name]["stats"]
    rep = replicate_of(name)
    for ci in st["ciprop_schwide"]:
        row = _row(rep.proportion("schwide_yes", ci_method=CI[ci["method"]]))
        close(row["estimate"], ci["estimate"])
        assert row["df"] == CASES[name]["degf"]
        close([row["ci_lower"], row["ci_upper"]], ci["ci"], rtol=1e-8)
    row = _row(rep.proportion("schwide_yes", ci_method="korn-graubard", level=0.9))
    close([row["ci_lower"], row["ci_upper"]], st["ciprop_schwide_beta_90"]["ci"], rtol=1e-8)


@pytest.mark.parametrize("name", API)
def test_api_domain_df_and_intervals(name):
    """Domain df is the rank of the domain's replicate weights minus one (R recomputes
    degf on the subset design), and the Korn-Graubard interval uses it."""
    ref = CASES[name]["stats"]["by_comp_imp_ciprop_beta"]
    rep = replicate_of(name)
    f = rep.proportion("schwide_yes", by="comp.imp", ci_method="korn-graubard").to_frame()
    close(f["df"], ref["degf"])
    close(f["estimate"], ref["estimate"])
    ok = ~np.isnan(np.asarray(ref["ci_lower"], dtype=float))
    close(f["ci_lower"][ok], np.asarray(ref["ci_lower"])[ok], rtol=1e-8)
    close(f["ci_upper"][ok], np.asarray(ref["ci_upper"])[ok], rtol=1e-8)


@pytest.mark.parametrize("name", LONELY)
def test_lonely_psu_jackknife(name):
    """R's lonely-PSU treatment in jknweights: remove/certainty/average drop the lone
    stratum's replicate (average rescales), adjust adds a replicate zeroing it."""
    st = CASES[name]["stats"]
    rep = replicate_of(name)
    assert rep.degf == st["degf"]
    for stat, table in (
        ("total_enroll", rep.total("enroll")),
        ("mean_api00", rep.mean("api00")),
        ("ratio_api00_api99", rep.ratio("api00", "api99")),
    ):
        row = _row(table)
        close(row["estimate"], st[stat]["estimate"])
        close(row["se"], st[stat]["se"])
    by = rep.mean("api00", by="comp.imp").to_frame()
    close(by["estimate"], st["by_comp_imp_mean_api00"]["estimate"])
    close(by["se"], st["by_comp_imp_mean_api00"]["se"])


@pytest.mark.parametrize("name", SCD)
def test_scd_brr_fay_jkn(name):
    st = CASES[name]["stats"]
    rep = replicate_of(name)
    for stat, table in (
        ("mean_alive", rep.mean("alive")),
        ("total_alive", rep.total("alive")),
        ("ratio_alive_arrests", rep.ratio("alive", "arrests")),
    ):
        row = _row(table)
        close(row["estimate"], st[stat]["estimate"])
        close(row["se"], st[stat]["se"])


@pytest.mark.parametrize("name", BRR10)
def test_ten_strata_statistics(name):
    st = CASES[name]["stats"]
    rep = replicate_of(name)
    assert rep.degf == st["degf"]
    for stat, table in (
        ("total_y", rep.total("y")),
        ("mean_y", rep.mean("y")),
        ("ratio_y_x", rep.ratio("y", "x")),
        ("mean_z", rep.mean("z")),
    ):
        row = _row(table)
        close(row["estimate"], st[stat]["estimate"])
        close(row["se"], st[stat]["se"])
    by = rep.mean("y", by="dom").to_frame()
    close(by["estimate"], st["by_dom_mean_y"]["estimate"])
    close(by["se"], st["by_dom_mean_y"]["se"])
    bt = rep.total("z", by="dom").to_frame()
    close(bt["estimate"], st["by_dom_total_z"]["estimate"])
    close(bt["se"], st["by_dom_total_z"]["se"])


# ----------------------------------------------------------------------------- identities


def _clus1(fpc: bool = True) -> SurveyDesign:
    return SurveyDesign(load("apiclus1.csv"), weight="pw", psu="dnum", fpc="fpc" if fpc else None)


@pytest.mark.parametrize("fpc", [True, False])
def test_jk1_equals_hand_formula(fpc):
    """JK1 on a one-stage design: v = (1 - f)(n - 1)/n sum_i (t_(i) - mean)^2 by hand."""
    design = _clus1(fpc)
    data = design.data
    psus = data["dnum"].unique()
    n = psus.size
    f = n / data["fpc"].iloc[0] if fpc else 0.0
    w = data["pw"].to_numpy()
    y = data["enroll"].to_numpy()
    x = data["api99"].to_numpy()
    ya = data["api00"].to_numpy()
    tot, rat = [], []
    for p in psus:  # the hand formula, one replicate at a time
        wr = np.where(data["dnum"] == p, 0.0, w * n / (n - 1))
        tot.append(np.sum(wr * y))
        rat.append(np.sum(wr * ya) / np.sum(wr * x))
    c = (1 - f) * (n - 1) / n
    v_tot = c * np.sum((np.array(tot) - np.mean(tot)) ** 2)
    v_rat = c * np.sum((np.array(rat) - np.mean(rat)) ** 2)
    rep = design.replicate("jk1")
    close(_row(rep.total("enroll"))["se"] ** 2, v_tot)
    close(_row(rep.ratio("api00", "api99"))["se"] ** 2, v_rat)


@pytest.mark.parametrize("name", ["apiclus1_jk1", "apiclus1_nofpc_jk1"])
def test_jk1_total_equals_taylor(name):
    """For a total on an unstratified one-stage design the JK1 and Taylor SEs agree,
    as R shows (svytotal on dclus1 and on as.svrepdesign(dclus1))."""
    design = survey_design(CASES[name]["design"])
    taylor = _row(design.total("enroll"))
    jk = _row(design.replicate("jk1").total("enroll"))
    close(jk["se"], taylor["se"])
    close(taylor["se"], CASES[name]["taylor_total_enroll"]["se"])


def test_jkn_total_equals_taylor_without_fpc():
    """JKn with rscales (n_h - 1)/n_h reproduces the stratified Taylor variance of a total."""
    design = survey_design(CASES["apistrat_nofpc_jkn"]["design"])
    close(_row(design.replicate("jkn").total("enroll"))["se"], _row(design.total("enroll"))["se"])


def test_sdr_total_equals_successive_differences():
    """With at most R - 1 PSUs the SDR variance of a total is half the sum of squared
    circular successive differences of the PSU totals within strata (Fay & Train)."""
    design = survey_design(CASES["brr10_brr"]["design"])
    rep = design.replicate("sdr", n_replicates=24)
    data = design.data
    z = (data["w"] * data["y"]).groupby(data["psu"], sort=False).sum()
    strata = data.groupby("psu", sort=False)["stratum"].first()
    v = 0.0
    for _, zs in z.groupby(strata, sort=True):  # PSUs in order of appearance
        d = zs.to_numpy() - np.roll(zs.to_numpy(), 1)
        v += 0.5 * np.sum(d**2)
    close(_row(rep.total("y"))["se"] ** 2, v)
    assert rep.scale == 4 / 24


def test_brr_total_equals_paired_difference():
    """Full orthogonal balance: the BRR variance of a total is sum_h (z_h1 - z_h2)^2."""
    design = survey_design(CASES["brr10_brr"]["design"])
    data = design.data
    z = (data["w"] * data["y"]).groupby(data["psu"]).sum()
    pairs = z.groupby(data.groupby("psu")["stratum"].first())
    v = sum((g.iloc[0] - g.iloc[1]) ** 2 for _, g in pairs)
    close(_row(design.replicate("brr").total("y"))["se"] ** 2, v)
    close(_row(design.replicate("fay", rho=0.5).total("y"))["se"] ** 2, v)


def test_mse_equals_mean_centring_for_linear_jackknife():
    st = CASES["apiclus1_jk1_mse"]["stats"]
    rep = _clus1().replicate("jk1", mse=True)
    close(_row(rep.total("enroll"))["se"], st["total_enroll"]["se"])


# ----------------------------------------------------------------------------- bootstrap


def test_bootstrap_scale_formula_matches_r():
    """Our draws differ from R's; the scale n/((n - 1)(B - 1)) with n the harmonic mean of
    the PSUs per stratum is R's."""
    for name, B in (("apiclus1_bootstrap", 50), ("apistrat_bootstrap", 40)):
        design = survey_design(CASES[name]["design"])
        rep = design.replicate("bootstrap", n_replicates=B, rng=1)
        close(rep.scale, CASES[name]["scale"])
    rep = survey_design(CASES["apistrat_subbootstrap"]["design"]).replicate(
        "subbootstrap", n_replicates=40, rng=1
    )
    close(rep.scale, CASES["apistrat_subbootstrap"]["scale"])


def test_bootstrap_counts():
    design = survey_design(CASES["brr10_brr"]["design"])
    s = design.structure
    rep = design.replicate("bootstrap", n_replicates=30, rng=np.random.default_rng(3))
    F = rep.factors
    per_stratum = np.stack([np.bincount(s.psu_stratum, weights=row) for row in F])
    assert np.all(per_stratum == s.n_psu)  # n_h draws with replacement
    assert np.all(F == np.round(F)) and F.min() >= 0
    sub = design.replicate("subbootstrap", n_replicates=30, rng=3)
    per_stratum = np.stack([np.bincount(s.psu_stratum, weights=row) for row in sub.factors])
    close(per_stratum, np.broadcast_to(s.n_psu, per_stratum.shape).astype(float))
    # the same seed gives the same replicates; another seed other ones
    again = design.replicate("bootstrap", n_replicates=30, rng=np.random.default_rng(3))
    assert np.array_equal(again.factors, F)
    assert not np.array_equal(design.replicate("bootstrap", n_replicates=30, rng=4).factors, F)


def test_bootstrap_without_replacement_from_pseudo_population():
    """With an fpc, n_h PSUs are drawn without replacement from N_h copies of the
    stratum's PSUs: each count is at most the PSU's copies, and counts sum to n_h."""
    design = survey_design(CASES["apistrat_bootstrap"]["design"])
    s = design.structure
    rep = design.replicate("bootstrap", n_replicates=200, rng=5)
    F = rep.factors
    per_stratum = np.stack([np.bincount(s.psu_stratum, weights=row) for row in F])
    assert np.all(per_stratum == s.n_psu)
    N = np.floor(s.n_psu / s.fpc1 + 1e-9)
    copies_max = np.ceil(N / s.n_psu)[s.psu_stratum]
    assert np.all(F <= copies_max[None, :])
    # sampling fractions of a few percent: the variance of a count is close to
    # (1 - f)(n - 1)/n times the with-replacement one (1 - 1/n)
    f = s.fpc1[s.psu_stratum]
    nh = s.n_psu[s.psu_stratum]
    expected = (N[s.psu_stratum] - nh) / (N[s.psu_stratum] - 1) * (1 - 1 / nh)
    assert abs(F.var(axis=0).mean() / expected.mean() - 1) < 0.05
    assert np.all(f < 0.1)


def test_rank_analytic_equals_numeric():
    """The jackknife rank computed from the design equals the numerical rank of the
    replicate weights, for the full sample and for domains."""
    from flestimate.design.kernel import grouped_sums
    from flestimate.design.replicate.rank import dense_rank

    rng = np.random.default_rng(11)
    for name in ("apistrat_jkn", "lonely_jkn_adjust", "lonely_jkn_remove_fpc", "brr10_jkn"):
        rep = replicate_of(name)
        s = rep.structure
        present = rng.random((s.n_psus, 12)) < np.linspace(0.05, 1.0, 12)
        present[:, -1] = True
        rw = grouped_sums(s.psu, s.n_psus, s.weights**2)
        analytic = rep.unit_rank(present)
        numeric = dense_rank(rep.factors, present, rw)
        assert np.array_equal(analytic, numeric), name


def test_batched_rank_equals_one_at_a_time():
    """The stacked elimination takes R's qr decisions as the one-matrix rank does, on
    full-rank, deficient and nearly deficient Gram matrices."""
    from flestimate.design.replicate.rank import rank_gram, rank_grams

    rng = np.random.default_rng(5)
    grams = []
    for rank in (0, 1, 3, 7, 12, 12):
        X = rng.standard_normal((40, rank)) @ rng.standard_normal((rank, 12))
        X[:, 4] = X[:, 2] + 1e-7 * rng.standard_normal(40)  # below R's tolerance
        grams.append(X.T @ X)
    G = np.stack(grams)
    assert np.array_equal(rank_grams(G), [rank_gram(g) for g in G])
    assert rank_grams(G)[-1] == 11


def test_domain_ranks_equal_per_domain_rank():
    """Ranks of many domains at once (distinct patterns, the full-rank screen, buckets)
    equal the rank of each domain's own replicate weights."""
    from flestimate.design.replicate.rank import dense_rank, rank_gram

    rng = np.random.default_rng(8)
    R, P = 10, 400
    F = rng.gamma(2.0, 0.5, size=(R, P))
    F[:, :50] = F[:1, :50]  # units that carry one replicate direction only
    row_weight = rng.uniform(1.0, 9.0, P)
    share = np.concatenate([np.linspace(0.002, 1.0, 30), [1.0, 0.0]])
    present = rng.random((P, share.size)) < share
    present[:, -3] = present[:, 0]  # a repeated pattern
    present[:50, 5] = True
    present[50:, 5] = False  # only the one-direction units: rank 1
    got = dense_rank(F, present, row_weight)
    A = F * np.sqrt(row_weight)
    want = [rank_gram(A[:, m] @ A[:, m].T) if m.any() else 0 for m in present.T]
    assert np.array_equal(got, want)
    assert got[5] == 1 and got[-1] == 0 and got[-2] == R


# ----------------------------------------------------------------------------- shipping


def test_to_frame_round_trip():
    design = survey_design(CASES["apistrat_jkn"]["design"])
    rep = design.replicate("jkn")
    out = rep.to_frame(include_data=True)
    assert list(out.columns[-rep.n_replicates :]) == rep.replicate_names
    spec = out.attrs["flestimate_replicates"]
    again = ReplicateDesign(
        out,
        weight="pw",
        replicate_weights=r"^repw[0-9]+$",
        method=spec["method"],
        scale=spec["scale"],
        rscales=spec["rscales"],
    )
    a = rep.mean("api00", by="comp.imp").to_frame()
    b = again.mean("api00", by="comp.imp").to_frame()
    close(b["se"], a["se"])
    close(b["df"], a["df"])
    only = rep.to_frame()
    assert list(only.columns) == ["pw", *rep.replicate_names]
    assert only.index.equals(design.data.index)


@pytest.mark.parametrize("order", ["sorted", "shuffled", "split"])
def test_delivered_weights_grouping_any_row_order(order):
    """Rows sharing replicate factors are grouped by runs (file sorted by PSU) or by
    hashing (any order); a PSU split in two runs is two groups. Estimates, SEs and
    df are the same whichever way, and the groups are the PSUs when sorted."""
    rep = _clus1().replicate("jk1")
    out = rep.to_frame(include_data=True)
    spec = out.attrs["flestimate_replicates"]
    if order == "shuffled":
        out = out.sample(frac=1.0, random_state=4)
    elif order == "split":
        out = pd.concat([out.iloc[1:], out.iloc[:1]])
    again = ReplicateDesign(
        out,
        weight="pw",
        replicate_weights=r"^repw[0-9]+$",
        method=spec["method"],
        scale=spec["scale"],
        rscales=spec["rscales"],
    )
    groups = again.structure.n_psus
    n_psus = rep.structure.n_psus
    assert groups == {"sorted": n_psus, "shuffled": n_psus, "split": n_psus + 1}[order]
    a = rep.mean("api00", by="stype").to_frame()
    b = again.mean("api00", by="stype").to_frame()
    close(b["estimate"], a["estimate"])
    close(b["se"], a["se"])
    close(b["df"], a["df"])


def test_blocks_and_with_weights():
    rep = replicate_of("brr10_fay")
    W = rep.replicate_weights.to_numpy()
    parts = np.zeros_like(W)
    for start, block in rep.replicate_weight_blocks(5):
        assert block.shape[1] <= 5
        parts[:, start : start + block.shape[1]] = block
    close(parts, W)
    same = rep.with_weights(rep.weights.to_numpy(), W, step="identity")
    assert same.history == ("identity",)
    close(_row(same.ratio("y", "x"))["se"], _row(rep.ratio("y", "x"))["se"])
    doubled = rep.with_weights(2 * rep.weights.to_numpy(), 2 * W)
    close(_row(doubled.total("y"))["se"], 2 * _row(rep.total("y"))["se"])


def test_public_name_and_repr():
    assert flestimate.ReplicateDesign is ReplicateDesign
    rep = replicate_of("scd_fay")
    assert "fay" in repr(rep) and "ReplicateDesign" in rep.summary()
    assert "<table>" in rep._repr_html_()
    with pytest.raises(AttributeError, match="frozen"):
        rep.scale = 2


def test_data_not_mutated():
    data = load("apiclus1.csv")
    before = data.copy()
    design = SurveyDesign(data, weight="pw", psu="dnum", fpc="fpc")
    rep = design.replicate("bootstrap", n_replicates=10, rng=1)
    rep.mean("api00", by="stype")
    pd.testing.assert_frame_equal(data, before)
    given = pd.concat([data, rep.replicate_weights], axis=1)
    snapshot = given.copy()
    ReplicateDesign(given, weight="pw", replicate_weights="^repw", method="bootstrap").total(
        "enroll"
    )
    pd.testing.assert_frame_equal(given, snapshot)


# ----------------------------------------------------------------------------- properties


def test_replicate_with_empty_domain_is_left_out():
    """A JK1 replicate that deletes the only PSU of a domain has no estimate for it; that
    replicate is left out of the domain's variance (R's svrVar drops NA replicates)."""
    design = _clus1()
    data = design.data
    one = data["dnum"].iloc[0]
    data_dom = data.assign(dom=np.where(data["dnum"] == one, "one", "rest"))
    design = SurveyDesign(data_dom, weight="pw", psu="dnum", fpc="fpc")
    rep = design.replicate("jk1")
    got = rep.mean("api00", by="dom").to_frame().set_index("dom")
    psus = data["dnum"].unique()
    n = psus.size
    w = data["pw"].to_numpy()
    y = data["api00"].to_numpy()
    inside = (data["dnum"] == one).to_numpy()
    reps = []
    for p in psus:
        wr = np.where(data["dnum"] == p, 0.0, w * n / (n - 1)) * inside
        if wr.sum() > 0:
            reps.append(np.sum(wr * y) / wr.sum())
    c = (1 - n / data["fpc"].iloc[0]) * (n - 1) / n
    reps = np.array(reps)
    assert reps.size == n - 1
    close(got.loc["one", "se"] ** 2, c * np.sum((reps - reps.mean()) ** 2))
    assert got.loc["one", "df"] == 0  # one PSU: rank 1


@pytest.mark.parametrize("method", ["jk1", "bootstrap"])
def test_invariant_to_row_order(method):
    design = _clus1()
    shuffled = design.data.sample(frac=1.0, random_state=3)
    other = SurveyDesign(shuffled, weight="pw", psu="dnum", fpc="fpc")
    a = design.replicate(method, rng=1) if method == "bootstrap" else design.replicate(method)
    b = other.replicate(method, rng=1) if method == "bootstrap" else other.replicate(method)
    ta = a.ratio("api00", "api99", by="stype").to_frame()
    tb = b.ratio("api00", "api99", by="stype").to_frame()
    close(tb["estimate"], ta["estimate"])
    close(tb["se"], ta["se"])
    close(tb["df"], ta["df"])


def test_weight_scale():
    """Multiplying every weight by c multiplies totals and their SEs by c; means keep theirs."""
    data = load("apistrat.csv")
    scaled = data.assign(pw=data["pw"] * 3.0)
    a = SurveyDesign(data, weight="pw", strata="stype").replicate("jkn")
    b = SurveyDesign(scaled, weight="pw", strata="stype").replicate("jkn")
    close(_row(b.total("enroll"))["se"], 3 * _row(a.total("enroll"))["se"])
    close(_row(b.mean("api00"))["se"], _row(a.mean("api00"))["se"])


def test_df_given_and_design_rule():
    rep = replicate_of("given_jk1_scale")
    assert rep.degf == 14
    f = rep.mean("api00", by="comp.imp", df="design").to_frame()
    assert list(f["df"]) == [14, 14]
    spec = CASES["given_jk1_scale"]["design"]
    fixed = ReplicateDesign(
        load(spec["data"]),
        weight="pw",
        replicate_weights=spec["replicate_weights"],
        method="jk1",
        df=30,
    )
    assert fixed.degf == 30
    assert list(fixed.mean("api00", by="comp.imp").to_frame()["df"]) == [30, 30]


def test_same_table_columns_and_every_ci_method():
    from flestimate.estimation.cimethods import CI_METHODS

    design = survey_design(CASES["apistrat_jkn"]["design"])
    rep = design.replicate("jkn")
    for method in CI_METHODS:
        a = design.proportion("schwide_yes", by="comp.imp", ci_method=method).to_frame()
        b = rep.proportion("schwide_yes", by="comp.imp", ci_method=method).to_frame()
        assert list(b.columns) == list(a.columns)
        assert (b["ci_method"] == method).all()
        assert np.all(b["ci_lower"] <= b["estimate"]) and np.all(b["estimate"] <= b["ci_upper"])
    prev = rep.prevalence("schwide_yes", by=["comp.imp", "stype"]).to_frame()
    assert list(prev.columns) == list(
        design.prevalence("schwide_yes", by=["comp.imp", "stype"]).to_frame().columns
    )
    close(
        prev["estimate"],
        1000 * rep.proportion("schwide_yes", by=["comp.imp", "stype"]).to_frame()["estimate"],
    )


def test_covariance_and_difference():
    """The table's covariance is the replicate covariance (its diagonal the variances)."""
    rep = replicate_of("brr10_fay")
    table = rep.mean("y", by="dom")
    cov = table.covariance().to_numpy()
    se = table.to_frame()["se"].to_numpy()
    close(np.sqrt(np.diag(cov)), se)
    diff = table.difference(0, 1).to_frame().iloc[0]
    close(diff["se"] ** 2, cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])


def test_replicate_totals_without_factors():
    for name in ("apistrat_jkn", "lonely_jkn_adjust", "scd_fay", "given_bootstrap"):
        rep = replicate_of(name)
        T = np.random.default_rng(2).random((rep.structure.n_psus, 3))
        close(rep.replicate_totals(T), rep.factors @ T)

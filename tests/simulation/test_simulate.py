"""The synthetic forced-labour survey: determinism, truth, weights, answers, files, errors.

The references here are independent re-computations in plain numpy/pandas: the true
values are recomputed from the population frame, the classification rule is
re-implemented from ILO-STANDARDS section 3.5, and the design-based variance is the
stratified ultimate-cluster formula (SURVEY-METHODS E1) written out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from flestimate.cli import main
from flestimate.errors import ValidationError
from flestimate.simulation import (
    ICLS_C_ITEMS,
    ICLS_IW_ITEMS,
    INDICATOR_ITEMS,
    INVOLUNTARINESS_ITEMS,
    PENALTY_ITEMS,
    SECTORS,
    SimulatedSurvey,
    simulate,
)

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"
REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"

CONTRACT_COLUMNS = [
    "pid", "hhid", "psu", "stratum", "region", "urban", "sex", "age", "age_group",
    "migrant", "worked", "sector", "status_emp", "w_base", "w_final", "n_psu_stratum",
    *[f"ur_i{k}" for k in range(1, 7)], *[f"wd_i{k}" for k in range(1, 11)],
    *[f"il_i{k}" for k in range(1, 5)], *[f"p{k}" for k in range(1, 14)],
    *[f"iw{k}" for k in range(1, 10)], *[f"c{k}" for k in range(1, 7)],
    "employer_type", "parent_pid", "perp_type", "cse", "wfcl", "dur_months",
]  # fmt: skip


@pytest.fixture(scope="module")
def small() -> SimulatedSurvey:
    return simulate(4_000, rng=11, keep_population=True)


# --------------------------------------------------------------------------------------------
# independent references
# --------------------------------------------------------------------------------------------
def classify_default(df: pd.DataFrame, positive=(1,)) -> np.ndarray:
    """ILO 2012, any strength, penalty in any dimension; children by ICLS categories i-iv.

    ``positive=(1,)`` is the conservative missing policy, ``(1, 8, 9)`` the upper bound.
    """
    worked = df["worked"].to_numpy() == 1
    child = df["age"].to_numpy() < 18
    inv = df[list(INVOLUNTARINESS_ITEMS)].isin(positive).to_numpy().any(axis=1)
    pen = df[list(PENALTY_ITEMS)].isin(positive).to_numpy().any(axis=1)
    adult_fl = worked & ~child & inv & pen
    child_direct = worked & child & (pen | (df["wfcl"].to_numpy() == 1))
    direct = pd.Series(adult_fl | child_direct, index=df["pid"].to_numpy())
    parent_fl = df["parent_pid"].map(direct).fillna(False).to_numpy(dtype=bool)
    cat_iii = worked & child & (df["employer_type"].to_numpy() == "parents") & parent_fl
    return (adult_fl | child_direct | cat_iii).astype(int)


def ultimate_cluster_variance(
    y: np.ndarray, w: np.ndarray, stratum: np.ndarray, psu: np.ndarray, *, ratio: bool
) -> tuple[float, float]:
    """Estimate and stratified with-replacement variance of a total or a ratio (mean)."""
    total_w = w.sum()
    est = (w * y).sum() / total_w if ratio else (w * y).sum()
    score = w * (y - est) / total_w if ratio else w * y
    z = pd.DataFrame({"h": stratum, "i": psu, "z": score}).groupby(["h", "i"])["z"].sum()
    h = z.index.get_level_values("h")
    centred = z - z.groupby(h).transform("mean")
    n_h = z.groupby(h).transform("size")
    return float(est), float((n_h / (n_h - 1) * centred**2).sum())


# --------------------------------------------------------------------------------------------
# shape, determinism
# --------------------------------------------------------------------------------------------
def test_sample_columns_follow_the_contract(small):
    assert list(small.sample.columns) == CONTRACT_COLUMNS
    df = small.sample
    assert df["pid"].is_unique
    assert (df["age"] >= 5).all()
    for col in ("sector", "employer_type", "perp_type"):
        assert pd.api.types.is_string_dtype(df[col])
    assert set(df["sector"]) <= {"", *SECTORS}
    assert list(small.respondent_truth["pid"]) == list(df["pid"])
    assert list(small.margins.columns) == ["region", "sex", "age_group", "count"]
    assert abs(len(df) / 4_000 - 1) < 0.1


def test_same_seed_gives_identical_frames_and_other_seeds_differ():
    a = simulate(2_000, rng=7, keep_population=True)
    b = simulate(2_000, rng=np.random.default_rng(7), keep_population=True)
    c = simulate(2_000, rng=8)
    pd.testing.assert_frame_equal(a.sample, b.sample)
    pd.testing.assert_frame_equal(a.population, b.population)
    pd.testing.assert_frame_equal(a.margins, b.margins)
    pd.testing.assert_frame_equal(a.respondent_truth, b.respondent_truth)
    assert a.truth["populations"] == b.truth["populations"]
    assert a.parameters["seed"] == 7 and b.parameters["seed"] is None
    assert not a.sample.equals(c.sample.iloc[: len(a.sample)])
    assert a.truth["populations"] != c.truth["populations"]


def test_no_seed_records_a_seed_that_reproduces_the_draw():
    a = simulate(2_000)
    b = simulate(2_000, rng=a.parameters["seed"])
    pd.testing.assert_frame_equal(a.sample, b.sample)


def test_package_level_name_is_callable_even_after_importing_the_module():
    import flestimate.simulation  # noqa: F401  (importing the module must not hide the function)

    out = flestimate.simulate(2_000, rng=1)
    assert isinstance(out, flestimate.SimulatedSurvey)


# --------------------------------------------------------------------------------------------
# truth
# --------------------------------------------------------------------------------------------
def _check_cell(cell, pop, fl):
    assert cell["population"] == pop
    assert cell["fl"] == fl
    assert cell["prevalence_per_1000"] == 1000.0 * fl / pop


def test_truth_is_recomputed_exactly_from_the_population(small):
    pop = small.population
    t = small.truth
    assert t["population_size"] == len(pop)
    assert t["households"] == pop["hhid"].nunique()
    groups = {
        "all": pop,
        "adults": pop[pop["age"] >= 18],
        "children": pop[pop["age"] < 18],
    }
    form_codes = {"exploitation": 1, "sexual_exploitation": 2, "state_imposed": 3}
    for key, g in groups.items():
        entry = t["populations"][key]
        _check_cell(entry["national"], len(g), int(g["fl"].sum()))
        for dim in ("sex", "age_group", "region", "migrant", "urban"):
            counts = g.groupby(dim)["fl"].agg(["size", "sum"])
            present = {k: v for k, v in entry["by"][dim].items() if v["population"] > 0}
            assert sorted(present) == sorted(str(c) for c in counts.index)
            for code, row in counts.iterrows():
                _check_cell(entry["by"][dim][str(code)], int(row["size"]), int(row["sum"]))
        workers = g[g["worked"] == 1]
        counts = workers.groupby("sector", observed=True)["fl"].agg(["size", "sum"])
        assert sorted(entry["by"]["sector"]) == sorted(counts.index)
        for letter, row in counts.iterrows():
            _check_cell(entry["by"]["sector"][letter], int(row["size"]), int(row["sum"]))
        for name, code in form_codes.items():
            k = int(((g["fl"] == 1) & (g["form"] == code)).sum())
            assert entry["forms"][name]["fl"] == k
            assert entry["forms"][name]["prevalence_per_1000"] == 1000.0 * k / len(g)
        assert sum(f["fl"] for f in entry["forms"].values()) == entry["national"]["fl"]
        stock = g.loc[g["fl"] == 1, "dur_months"].astype(int).sum() / 12.0
        assert entry["stock"]["persons_on_any_given_day"] == pytest.approx(stock, rel=1e-12)
    cats = groups["children"].query("fl == 1")["child_category"].value_counts()
    got = t["populations"]["children"]["child_categories"]
    assert got == {
        n: int(cats.get(c, 0)) for c, n in zip((1, 2, 3, 4), ("i", "ii", "iii", "iv"), strict=True)
    }
    json.dumps(t)  # serialisable


def test_population_is_consistent_with_the_latent_model(small):
    pop = small.population
    fl = pop["fl"] == 1
    assert (pop.loc[fl, "worked"] == 1).all()  # forced labour needs work
    assert pop.loc[fl, "form"].between(1, 3).all() and (pop.loc[~fl, "form"] == 0).all()
    assert pop.loc[fl, "dur_months"].between(1, 12).all()
    # category iii: children working for a parent in forced labour are in forced labour
    parent_fl = pop.set_index("pid")["fl"]
    ch = pop[(pop["age"] < 18) & (pop["employer_type"] == 1)]
    assert (ch["parent_pid"] > 0).all()
    inherited = ch["parent_pid"].map(parent_fl).to_numpy() == 1
    assert (ch.loc[inherited, "fl"] == 1).all()
    # hot spots carry much higher risk
    adults = pop[(pop["age"] >= 18) & (pop["worked"] == 1)]
    rates = adults.groupby("hotspot")["fl"].mean()
    assert rates[1] > 5 * rates[0]


def test_margins_are_population_counts(small):
    pop = small.population
    counts = pop.groupby(["region", "sex", "age_group"]).size()
    m = small.margins.set_index(["region", "sex", "age_group"])["count"]
    assert m.sum() == len(pop)
    assert (m.loc[counts.index].to_numpy() == counts.to_numpy()).all()


def test_prevalence_parameter_sets_the_expected_adult_prevalence():
    # the scale is solved so that E[fl adults] = prevalence * adults given the frame; the
    # realised count is a sum of independent Bernoullis, SD <= sqrt(E): 5 SD tolerance
    s = simulate(5_000, prevalence=0.02, rng=3)
    adults = s.truth["populations"]["adults"]["national"]
    expected = 0.02 * adults["population"]
    assert abs(adults["fl"] - expected) < 5 * np.sqrt(expected)


def test_prevalence_above_the_share_of_workers_puts_every_adult_worker_in_forced_labour():
    s = simulate(2_000, prevalence=0.99, rng=4, keep_population=True)
    pop = s.population
    adult_workers = (pop["age"] >= 18) & (pop["worked"] == 1)
    assert (pop.loc[adult_workers, "fl"] == 1).all()


# --------------------------------------------------------------------------------------------
# weights and design
# --------------------------------------------------------------------------------------------
def test_base_weights_of_all_selected_households_estimate_the_population(small):
    pop = small.population
    sel = pop[pop["selected"] >= 1]
    n_pop = len(pop)
    # households: PPS on the household count and a fixed take per EA make the HT estimate
    # of the number of households exact in every stratum
    hh = sel.drop_duplicates("hhid")
    est_hh = hh.groupby("stratum")["w_base"].sum()
    frame_hh = pop.groupby("stratum")["hhid"].nunique()
    np.testing.assert_allclose(est_hh.to_numpy(), frame_hh.loc[est_hh.index].to_numpy(), rtol=1e-9)
    # persons: unbiased, within 4 design standard errors (with-replacement variance, which
    # overstates the variance of a without-replacement PPS sample: conservative)
    est, var = ultimate_cluster_variance(
        np.ones(len(sel)), sel["w_base"].to_numpy(), sel["stratum"].to_numpy(),
        sel["psu"].to_numpy(), ratio=False,
    )  # fmt: skip
    assert abs(est - n_pop) < 4 * np.sqrt(var)
    assert abs(est / n_pop - 1) < 0.03


def test_final_weights_adjust_for_household_nonresponse_within_strata(small):
    df = small.sample
    pop = small.population
    # w_final / w_base is one constant >= 1 per stratum
    ratio = df["w_final"] / df["w_base"]
    spread = ratio.groupby(df["stratum"]).agg(["min", "max"])
    np.testing.assert_allclose(spread["min"], spread["max"], rtol=1e-12)
    assert (spread["min"] >= 1).all()
    # responding households carry the base-weight total of all selected households
    resp_hh = df.drop_duplicates("hhid").groupby("stratum")["w_final"].sum()
    sel_hh = pop[pop["selected"] >= 1].drop_duplicates("hhid").groupby("stratum")["w_base"].sum()
    np.testing.assert_allclose(resp_hh.to_numpy(), sel_hh.loc[resp_hh.index].to_numpy(), rtol=1e-9)
    # respondents' final weights estimate the population size: the household total is
    # exact, persons per household vary, so the error is sampling error (4 SE) plus the
    # nonresponse adjustment being at random within strata (same 4 SE bound)
    est, var = ultimate_cluster_variance(
        np.ones(len(df)), df["w_final"].to_numpy(), df["stratum"].to_numpy(),
        df["psu"].to_numpy(), ratio=False,
    )  # fmt: skip
    assert abs(est - len(pop)) < 4 * np.sqrt(var)
    # nonresponse varies by stratum
    rates = pop[pop["selected"] >= 1].drop_duplicates("hhid").groupby("stratum")["selected"]
    response = rates.apply(lambda s: (s == 2).mean())
    assert response.max() - response.min() > 0.03


def test_design_columns_match_the_frame(small):
    df = small.sample
    pop = small.population
    n_ea = pop.groupby("stratum")["psu"].nunique()
    assert (df["n_psu_stratum"].to_numpy() == n_ea.loc[df["stratum"]].to_numpy()).all()
    # each PSU lies in one stratum; pi_EA = M_EA * m / ... <= 1 (certainty EAs capped)
    assert (df.groupby("psu")["stratum"].nunique() == 1).all()
    m = small.parameters["households_per_psu"]
    households = pop.groupby("psu")["hhid"].nunique()
    pi_ea = households.loc[df["psu"]].to_numpy() / (df["w_base"].to_numpy() * m)
    assert (pi_ea <= 1 + 1e-12).all()
    assert np.isclose(pi_ea, 1).any()  # the default design has certainty EAs
    per_psu = df.groupby("psu")["hhid"].nunique()
    assert per_psu.max() <= m


# --------------------------------------------------------------------------------------------
# answers
# --------------------------------------------------------------------------------------------
def test_default_rule_reproduces_the_true_status_exactly(small):
    truth = small.respondent_truth["fl_true"].to_numpy()
    got = classify_default(small.sample)
    assert truth.sum() > 0
    assert (got == truth).all()


def test_icls_elements_agree_for_adults(small):
    df = small.sample
    iw = (df[list(ICLS_IW_ITEMS)] == 1).any(axis=1)
    c = (df[list(ICLS_C_ITEMS)] == 1).any(axis=1)
    adult = df["age"] >= 18
    truth = small.respondent_truth["fl_true"] == 1
    assert ((iw & c & adult) == (truth & adult)).all()


def test_wrong_rules_give_visibly_wrong_answers(small):
    df = small.sample
    truth = small.respondent_truth["fl_true"].to_numpy()
    any_indicator = (df[list(INVOLUNTARINESS_ITEMS + PENALTY_ITEMS)] == 1).any(axis=1)
    assert any_indicator.sum() > 4 * truth.sum()
    workers = df["worked"] == 1
    inv_only = (df[list(INVOLUNTARINESS_ITEMS)] == 1).any(axis=1) & ~(
        df[list(PENALTY_ITEMS)] == 1
    ).any(axis=1)
    assert 0.03 < inv_only[workers].mean() < 0.08
    upper = classify_default(df, positive=(1, 8, 9))
    assert upper.sum() > 1.2 * truth.sum()
    assert (upper >= truth).all()


def test_item_codes_and_skips(small):
    df = small.sample
    items = df[list(INDICATOR_ITEMS)]
    workers = df["worked"] == 1
    assert items[~workers].isna().all().all()
    assert set(np.unique(items[workers].to_numpy())) == {1.0, 2.0, 8.0, 9.0}
    dk = items[workers].isin([8, 9]).any(axis=1).mean()
    assert 0.01 < dk < 0.2
    assert set(small.missing_ranges) == set(INDICATOR_ITEMS)


def test_children_and_companion_questions_are_consistent(small):
    df = small.sample
    t = small.respondent_truth
    child = df["age"] < 18
    worked = df["worked"] == 1
    pen = (df[list(PENALTY_ITEMS)] == 1).any(axis=1) | (df[list(ICLS_C_ITEMS)] == 1).any(axis=1)
    fl = t["fl_true"] == 1
    # non-FL working children: no penalty, wfcl = 2, never working for a parent in FL
    nf = child & worked & ~fl
    assert not pen[nf].any()
    assert (df.loc[nf, "wfcl"] == 2).all()
    assert set(df.loc[child & worked, "employer_type"]) == {"parents", "third_party"}
    assert (df.loc[~(child & worked), "employer_type"] == "").all()
    assert df.loc[~child, "wfcl"].isna().all()
    # categories i/ii have a penalty; iv has wfcl = 1
    cat = t["fl_child_category_true"]
    assert pen[cat.isin([1, 2])].all()
    assert (df.loc[cat == 4, "wfcl"] == 1).all()
    # parent links point to an adult of the same household
    linked = df[df["parent_pid"].notna()]
    parents = df.set_index("pid").loc[linked["parent_pid"].astype(int)]
    assert (parents["hhid"].to_numpy() == linked["hhid"].to_numpy()).all()
    assert (parents["age"] >= 18).all() and (linked["age"] < 18).all()
    # perp_type, cse, dur_months: asked when any item is yes, consistent with the form
    any_yes = (df[list(INDICATOR_ITEMS)] == 1).any(axis=1)
    assert (df.loc[any_yes, "perp_type"].isin(["private", "state"])).all()
    assert (df.loc[~any_yes, "perp_type"] == "").all()
    assert df.loc[~any_yes, ["cse", "dur_months"]].isna().all().all()
    assert df.loc[any_yes, "dur_months"].between(1, 12).all()
    form = t["fl_form_true"]
    assert (df.loc[fl & (form == 3), "perp_type"] == "state").all()
    assert (df.loc[fl & (form != 3), "perp_type"] == "private").all()
    assert ((df.loc[fl, "cse"] == 1) == (form[fl] == 2)).all()
    assert fl.sum() and any_yes[fl].all()


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------
def _same_values(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(x):
            np.testing.assert_allclose(
                x.to_numpy(dtype=float), y.to_numpy(dtype=float), rtol=1e-12, equal_nan=True,
                err_msg=col,
            )  # fmt: skip
        else:
            assert list(x.fillna("").astype(str)) == list(y.fillna("").astype(str)), col


@pytest.fixture(scope="module")
def written(small, tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    files = small.write(out)
    return out, files


def test_write_produces_every_file(written):
    out, files = written
    names = sorted(p.name for p in files)
    assert names == sorted(
        [f"fl_survey.{e}" for e in ("sav", "dta", "csv", "parquet")]
        + ["fl_survey.codebook.yaml", "margins.csv", "truth.json", "truth_respondents.csv"]
        + ["README.md"]
    )
    assert all(p.exists() for p in files)


def test_sav_reads_back_with_labels_and_user_missing(small, written):
    out, _ = written
    df, meta = pyreadstat.read_sav(out / "fl_survey.sav", user_missing=True)
    _same_values(small.sample, df)
    assert meta.column_names_to_labels == small.variable_labels
    assert meta.variable_value_labels["stratum"] == {
        float(k): v for k, v in small.value_labels["stratum"].items()
    }
    assert meta.variable_value_labels["p4"] == {1.0: "yes", 2.0: "no", 8.0: "don't know",
                                                9.0: "refused"}  # fmt: skip
    for item in INDICATOR_ITEMS:
        declared = {(r["lo"], r["hi"]) for r in meta.missing_ranges[item]}
        assert declared == {(8.0, 8.0), (9.0, 9.0)}
    assert "sector" not in meta.missing_ranges
    # without user_missing, 8/9 become system-missing on the items only
    plain, _ = pyreadstat.read_sav(out / "fl_survey.sav")
    coded = small.sample[list(INDICATOR_ITEMS)].isin([8, 9])
    assert coded.to_numpy().any()
    for item in INDICATOR_ITEMS:
        assert plain.loc[coded[item], item].isna().all(), item
    assert plain["age"].notna().all()


def test_dta_reads_back_with_labels(small, written):
    out, _ = written
    df, meta = pyreadstat.read_dta(out / "fl_survey.dta")
    _same_values(small.sample, df)
    assert meta.column_names_to_labels == small.variable_labels
    for col in ("region", "sex", "age_group", "migrant", "worked", "status_emp", "p1", "wfcl"):
        assert meta.variable_value_labels[col] == small.value_labels[col], col


def test_csv_and_parquet_read_back(small, written):
    out, _ = written
    csv = pd.read_csv(out / "fl_survey.csv", keep_default_na=False, na_values=[""])
    _same_values(small.sample, csv)
    pq = pd.read_parquet(out / "fl_survey.parquet")
    pd.testing.assert_frame_equal(pq, small.sample, check_dtype=False)
    margins = pd.read_csv(out / "margins.csv")
    pd.testing.assert_frame_equal(margins, small.margins, check_dtype=False)
    assert json.loads((out / "truth.json").read_text()) == small.truth
    rt = pd.read_csv(out / "truth_respondents.csv")
    pd.testing.assert_frame_equal(rt, small.respondent_truth, check_dtype=False)
    readme = (out / "README.md").read_text()
    for col in CONTRACT_COLUMNS:
        assert f"`{col}`" in readme
    assert "flestimate simulate --respondents 4000 --seed 11" in readme


def test_write_leaves_other_files_alone(small, tmp_path):
    keep = tmp_path / "mapping.yaml"
    keep.write_text("mine")
    small.write(tmp_path, formats="csv")
    assert keep.read_text() == "mine"
    assert not (tmp_path / "fl_survey.sav").exists()


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"respondents": 0}, r"respondents=0 is outside the allowed range \[2,000, 5,000,000\]"),
        ({"respondents": -5}, r"respondents=-5 is outside"),
        ({"respondents": 1_999}, r"respondents=1,999 is outside"),
        ({"respondents": 5_000_001}, r"respondents=5,000,001 is outside"),
        ({"respondents": 2_000.5}, r"respondents=2000.5 must be an integer"),
        ({"prevalence": 0}, r"prevalence=0 is outside the allowed range \(0, 1\)"),
        ({"prevalence": 1}, r"prevalence=1 is outside the allowed range \(0, 1\)"),
        ({"prevalence": -0.1}, r"prevalence=-0.1 is outside"),
        ({"prevalence": float("nan")}, r"prevalence=nan must be a number in \(0, 1\)"),
        ({"prevalence": "0.01"}, r"prevalence='0.01' must be a number"),
        ({"n_regions": 0}, r"n_regions=0 is outside the allowed range \[1, 8\]"),
        ({"households_per_psu": 1}, r"households_per_psu=1 is outside"),
        ({"psu_fraction": 0}, r"psu_fraction=0 is outside the allowed range \(0, 1\]"),
        ({"hotspot_share": 1}, r"hotspot_share=1 is outside the allowed range \[0, 1\)"),
        ({"hotspot_risk": 0.5}, r"hotspot_risk=0.5 is outside"),
        ({"false_involuntary": 0.6}, r"false_involuntary=0.6 is outside"),
        ({"rng": -1}, r"rng=-1 must be a non-negative integer seed"),
        ({"rng": "abc"}, r"rng='abc' must be"),
        ({"keep_population": "yes"}, r"keep_population='yes' must be True or False"),
    ],
)
def test_bad_parameters_raise_validation_error(kwargs, match):
    args = {"respondents": 2_000, **kwargs}
    with pytest.raises(ValidationError, match=match):
        simulate(args.pop("respondents"), **args)


def test_unknown_format_is_rejected(small, tmp_path):
    with pytest.raises(ValidationError, match=r"unknown output format 'xlsx'.*sav, dta, csv"):
        small.write(tmp_path, formats=("csv", "xlsx"))
    with pytest.raises(ValidationError, match="unknown output format nothing"):
        small.write(tmp_path, formats="")
    assert not any(tmp_path.iterdir())


def test_validation_error_is_a_value_error():
    with pytest.raises(ValueError):
        simulate(10)


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
def test_cli_writes_the_requested_formats(tmp_path, capsys):
    out = tmp_path / "s"
    code = main(["simulate", "--respondents", "2000", "--seed", "5", "--out", str(out),
                 "--format", "csv,parquet"])  # fmt: skip
    assert code == 0
    assert "respondents" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["fl_survey.csv", "fl_survey.codebook.yaml", "fl_survey.parquet", "margins.csv", "truth.json",
         "truth_respondents.csv", "README.md"]
    )  # fmt: skip
    again = simulate(2_000, rng=5)
    pq = pd.read_parquet(out / "fl_survey.parquet")
    pd.testing.assert_frame_equal(pq, again.sample, check_dtype=False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--respondents", "10"], "respondents=10 is outside the allowed range"),
        (["--prevalence", "1.5"], "prevalence=1.5 is outside the allowed range (0, 1)"),
        (["--format", "sav,xls"], "unknown output format 'xls'"),
        (["--seed", "-3"], "rng=-3 must be a non-negative integer seed"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    code = main(["simulate", "--out", str(tmp_path / "x"), *argv])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------------------------
# the committed sample
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def committed():
    df = pd.read_parquet(SAMPLE_DIR / "fl_survey.parquet")
    truth = pd.read_csv(SAMPLE_DIR / "truth_respondents.csv")
    return df, truth


def test_committed_sample_follows_the_contract_and_the_rule(committed):
    df, truth = committed
    assert list(df.columns) == CONTRACT_COLUMNS
    assert 18_000 < len(df) < 22_000
    assert (truth["pid"].to_numpy() == df["pid"].to_numpy()).all()
    assert (classify_default(df) == truth["fl_true"].to_numpy()).all()
    meta = json.loads((SAMPLE_DIR / "truth.json").read_text())
    assert meta["parameters"]["seed"] == 20181010
    assert meta["sample"]["respondents"] == len(df)
    for p in ("fl_survey.sav", "fl_survey.dta", "fl_survey.csv", "fl_survey.parquet"):
        assert (SAMPLE_DIR / p).stat().st_size < 5_000_000, p


def test_committed_sample_design_effect_is_well_above_one(committed):
    # hand-written stratified ultimate-cluster variance, checked against R survey
    # (tests/reference/make_reference_simulate.R: svymean(~fl_true, deff = TRUE / "replace"))
    df, truth = committed
    ref = json.loads((REFERENCE_DIR / "simulate_sample.json").read_text())
    y = truth["fl_true"].to_numpy(dtype=float)
    w = df["w_final"].to_numpy()
    p, var = ultimate_cluster_variance(
        y, w, df["stratum"].to_numpy(), df["psu"].to_numpy(), ratio=True
    )
    n = len(y)
    s2 = n / (n - 1) * (w * (y - p) ** 2).sum() / w.sum()  # weighted element variance
    deff_replace = var / (s2 / n)
    deff = deff_replace / (1 - n / w.sum())
    assert ref["n"] == n
    assert p == pytest.approx(ref["prevalence"], rel=1e-9)
    assert np.sqrt(var) == pytest.approx(ref["se"], rel=1e-9)
    assert deff_replace == pytest.approx(ref["deff_replace"], rel=1e-9)
    assert deff == pytest.approx(ref["deff"], rel=1e-9)
    assert deff_replace > 1.5
    # the weights estimate the population size (truth.json) within 3 design SEs
    size = json.loads((SAMPLE_DIR / "truth.json").read_text())["population_size"]
    total, var_total = ultimate_cluster_variance(
        np.ones(n), w, df["stratum"].to_numpy(), df["psu"].to_numpy(), ratio=False
    )
    assert total == pytest.approx(ref["total_w_final"], rel=1e-9)
    assert np.sqrt(var_total) == pytest.approx(ref["se_total_w_final"], rel=1e-9)
    assert abs(total - size) < 3 * np.sqrt(var_total)


def test_committed_sav_declares_user_missing(committed):
    df, _ = committed
    sav, meta = pyreadstat.read_sav(SAMPLE_DIR / "fl_survey.sav", user_missing=True)
    _same_values(df, sav)
    assert {(r["lo"], r["hi"]) for r in meta.missing_ranges["wd_i1"]} == {(8.0, 8.0), (9.0, 9.0)}


def test_committed_sample_is_reproduced_by_its_command(committed, tmp_path, monkeypatch):
    # data/sample/README.md: flestimate simulate --respondents 20000 --seed 20181010
    # --out data/sample; the text files come back byte for byte, the binary ones (which
    # carry a creation time) value for value with the same labels
    monkeypatch.chdir(tmp_path)
    survey = simulate(20_000, rng=20181010)
    survey.write("data/sample")
    fresh = tmp_path / "data" / "sample"
    for name in ("README.md", "fl_survey.codebook.yaml", "fl_survey.csv", "margins.csv",
                 "truth.json", "truth_respondents.csv"):  # fmt: skip
        assert (fresh / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name
    for read, name in ((pd.read_parquet, "fl_survey.parquet"), (pd.read_stata, "fl_survey.dta")):
        pd.testing.assert_frame_equal(read(fresh / name), read(SAMPLE_DIR / name))
    new, new_meta = pyreadstat.read_sav(fresh / "fl_survey.sav", user_missing=True)
    old, old_meta = pyreadstat.read_sav(SAMPLE_DIR / "fl_survey.sav", user_missing=True)
    pd.testing.assert_frame_equal(new, old)
    assert new_meta.column_labels == old_meta.column_labels
    assert new_meta.variable_value_labels == old_meta.variable_value_labels
    assert new_meta.missing_ranges == old_meta.missing_ranges


def test_the_package_never_hides_the_function_behind_a_module():
    # flestimate.simulation is a package of modules; none of them may be named like a
    # public function, or importing it would replace the function on the package
    import importlib
    import pkgutil

    import flestimate
    import flestimate.simulation as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"flestimate.simulation.{info.name}")
        assert info.name not in package.__all__, info.name
    assert package.simulate is simulate and callable(flestimate.simulate)
    assert flestimate.simulate is simulate
    assert flestimate.SimulatedSurvey is SimulatedSurvey is package.SimulatedSurvey

"""Domains (``by=``) that used to give silent wrong numbers (issue 14).

* The combined code of several ``by`` columns overflowed int64 (five columns of about
  60,000 values each: half the domains got another key's estimate; four: a ValueError).
  Each domain's estimate must equal the estimate computed for its key alone.
* Rows with a missing ``by`` value were silently outside every domain: a typed warning
  and a ``missing_by`` diagnostic now count them; blank text is missing, never a domain.
* A value stored both as text and as a number (``"1"`` and ``1``) was two domains.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import flestimate
from flestimate import SurveyDesign
from flestimate._keys import cross_codes
from flestimate.cli import main
from flestimate.errors import DomainWarning, EstimationError
from flestimate.estimation.domains import encode_domains

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
COLS = ["estimate", "se", "df", "n_unweighted", "n_weighted"]


# --------------------------------------------------------------------------- overflow
def wide_keys(n_by: int, n: int = 20_000, seed: int = 14) -> pd.DataFrame:
    """``n_by`` key columns of about 60,000 distinct values each over ``n`` rows, in a
    stratified cluster design."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"k{j}": rng.integers(0, 60_000, n) for j in range(n_by)})
    frame["stratum"] = np.repeat(np.arange(50), n // 50)
    frame["psu"] = np.arange(n) // 10
    frame["w"] = rng.uniform(1.0, 3.0, n)
    frame["y"] = rng.normal(5.0, 2.0, n)
    return frame


@pytest.mark.parametrize("n_by", [4, 5])
def test_each_domain_of_wide_keys_gets_its_own_estimate(n_by):
    frame = wide_keys(n_by)
    by = [f"k{j}" for j in range(n_by)]
    # the same keys as one text column: one factorised column, no combined code at all
    frame["key"] = frame[by].astype(str).agg("|".join, axis=1)
    design = SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    crossed = design.total("y", by=by).to_frame()
    alone = design.total("y", by="key").to_frame().set_index("key")
    assert len(crossed) == frame.groupby(by).ngroups == len(alone)
    keys = crossed[by].astype(str).agg("|".join, axis=1)
    got = crossed.set_index(keys)[COLS]
    pd.testing.assert_frame_equal(got.sort_index(), alone[COLS].sort_index(),
                                  check_names=False, rtol=1e-12)
    # and against the definition: the weighted sum of y over the key's rows
    direct = (frame["w"] * frame["y"]).groupby([frame[c] for c in by]).sum()
    mine = crossed.set_index(by)["estimate"]
    np.testing.assert_allclose(mine.loc[direct.index].to_numpy(), direct.to_numpy(), rtol=1e-12)


def test_one_wide_domain_equals_the_total_of_its_masked_variable():
    frame = wide_keys(5, n=4_000)
    by = [f"k{j}" for j in range(5)]
    design = SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    table = design.total("y", by=by).to_frame()
    for row in table.sample(5, random_state=1).itertuples():  # a few domains by hand
        mask = np.logical_and.reduce([frame[c].to_numpy() == getattr(row, c) for c in by])
        masked = SurveyDesign(frame.assign(ym=frame["y"] * mask), weight="w",
                              strata="stratum", psu="psu").total("ym").to_frame()
        assert row.estimate == pytest.approx(masked["estimate"].iloc[0], rel=1e-12)
        assert row.se == pytest.approx(masked["se"].iloc[0], rel=1e-9)


def test_wide_strata_columns_are_crossed_without_collisions():
    # four columns of exactly 2**16 distinct values: their mixed-radix product is 2**64,
    # so the old int64 code wrapped around and merged stratum (0, x) with (1, x)
    rng = np.random.default_rng(3)
    block = pd.DataFrame({f"k{j}": rng.permutation(1 << 16) for j in range(1, 5)})
    once = pd.concat([block.assign(k0=0), block.assign(k0=1)], ignore_index=True)
    frame = pd.concat([once, once], ignore_index=True).assign(w=1.0)  # 2 PSUs per stratum
    strata = ["k0", "k1", "k2", "k3", "k4"]
    design = SurveyDesign(frame, weight="w", strata=strata)
    assert design.structure.n_strata == len(once) == frame.groupby(strata).ngroups
    assert (design.structure.n_psu == 2).all()
    labels = design.structure.strata_labels.to_frame(index=False)
    pd.testing.assert_frame_equal(labels, once.sort_values(strata, ignore_index=True)[strata],
                                  check_dtype=False)


def test_a_grid_of_categories_too_large_for_a_table_is_a_clear_error():
    cats = [pd.Categorical([0, 1], categories=range(10_000)) for _ in range(5)]
    frame = pd.DataFrame({f"c{j}": c for j, c in enumerate(cats)}).assign(w=1.0, y=1.0)
    design = SurveyDesign(frame, weight="w")
    with pytest.raises(EstimationError, match=r"crosses into 100,000,000,000,000,000,000 "
                                              r"domains .*remove_unused_categories"):
        design.total("y", by=list(frame.columns[:5]))


@settings(max_examples=60, deadline=None)
@given(
    columns=st.lists(
        st.lists(st.integers(0, 6), min_size=12, max_size=12), min_size=1, max_size=4
    ),
    categorical=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_pairwise_coding_gives_the_same_domains_as_the_mixed_radix_code(columns, categorical):
    frame = pd.DataFrame({
        f"b{j}": (pd.Categorical(v, categories=range(8)) if categorical[j]
                  else pd.Series(v).astype(str))
        for j, v in enumerate(columns)
    })
    by = list(frame.columns)
    fast = encode_domains(frame, by)
    with mock.patch("flestimate._keys.MAX_SPAN", 1):  # every product "overflows"
        slow = encode_domains(frame, by)
    np.testing.assert_array_equal(fast.codes, slow.codes)
    pd.testing.assert_frame_equal(fast.keys, slow.keys)
    # the partition is the one of the rows' keys
    groups = frame.groupby(by, observed=True).ngroup().to_numpy()
    assert pd.crosstab(fast.codes, groups).astype(bool).sum(axis=1).eq(1).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), min_size=20, max_size=20), min_size=1,
                max_size=5))
def test_cross_codes_routes_agree(columns):
    codes = [np.asarray(c, dtype=np.int64) for c in columns]
    sizes = [31] * len(codes)
    joint, combos = cross_codes(codes, sizes)
    with mock.patch("flestimate._keys.MAX_SPAN", 1):
        joint2, combos2 = cross_codes(codes, sizes)
    np.testing.assert_array_equal(joint, joint2)
    np.testing.assert_array_equal(combos, combos2)
    np.testing.assert_array_equal(combos[joint], np.stack(codes, axis=1))  # decodes the rows
    assert (np.diff(joint[np.lexsort(codes[::-1])]) >= 0).all()  # lexicographic order


# --------------------------------------------------------------------------- missing by
@pytest.fixture
def survey():
    rng = np.random.default_rng(7)
    n = 400
    return pd.DataFrame({
        "stratum": np.repeat([1, 2, 3, 4], n // 4),
        "psu": np.arange(n) // 10,
        "w": rng.uniform(1, 4, n),
        "y": rng.normal(3, 1, n),
        "fl": (rng.random(n) < 0.2).astype(int),
        "region": rng.choice(["north", "south", "east"], n).astype(object),
        "sex": pd.Categorical(rng.choice(["f", "m"], n)),
    })


def test_missing_by_values_are_warned_counted_and_stored(survey):
    f = survey.copy()
    f.loc[[3, 50, 51], "region"] = np.nan
    f.loc[[4, 60], "region"] = ["", "   "]  # blank text is missing, not a domain ""
    f.loc[[3, 70], "sex"] = np.nan
    design = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    with pytest.warns(DomainWarning, match=r"6 rows have a missing value in by=\['region', "
                                           r"'sex'\] \('region': 5, 'sex': 2\)"):
        table = design.total("y", by=["region", "sex"])
    frame = table.to_frame()
    assert "" not in set(frame["region"]) and frame["region"].notna().all()
    diag = [d for d in table.diagnostics if d.code == "missing_by"]
    assert len(diag) == 1
    assert diag[0].as_dict()["rows"] == 6 and diag[0].as_dict()["columns"] == ("region", "sex")
    assert diag[0].as_dict()["rows_per_column"] == (5, 2)
    # the domains and the missing rows add up to the total
    outside = f["region"].isna() | f["region"].str.strip().eq("") | f["sex"].isna()
    missing_total = float((f["w"] * f["y"])[outside].sum())
    total = design.total("y").to_frame()["estimate"].iloc[0]
    assert frame["estimate"].sum() + missing_total == pytest.approx(total, rel=1e-12)


@pytest.mark.filterwarnings("error::flestimate.errors.FlestimateWarning")
def test_no_warning_without_missing_by_values(survey):
    design = SurveyDesign(survey, weight="w", strata="stratum", psu="psu")
    table = design.prevalence("fl", by=["region", "sex"])
    assert not [d for d in table.diagnostics if d.code == "missing_by"]


def test_blank_category_is_no_domain(survey):
    f = survey.assign(region=pd.Categorical(survey["region"], categories=["", "east", "north",
                                                                          "south"]))
    f.loc[[0, 1], "region"] = ""
    design = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    with pytest.warns(DomainWarning, match="2 rows have a missing value"):
        frame = design.total("y", by="region").to_frame()
    assert frame["region"].tolist() == ["east", "north", "south"]
    direct = (f["w"] * f["y"]).groupby(f["region"], observed=True).sum()
    assert frame["estimate"].tolist() == pytest.approx(direct.loc[frame["region"]].tolist())


def test_text_and_number_alike_in_a_by_column_is_an_error(survey):
    f = survey.assign(district=np.where(np.arange(len(survey)) % 2, 1, 2).astype(object))
    f.loc[5, "district"] = "1"
    design = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    with pytest.raises(EstimationError, match=r"by= column 'district' holds the same value as "
                                              r"text and as a number: '1' \(text\) and 1 "
                                              r"\(number\).*pd.to_numeric"):
        design.total("y", by="district")
    # text and numbers that do not look alike stay different domains
    f.loc[5, "district"] = "1b"
    assert len(SurveyDesign(f, weight="w").total("y", by="district").to_frame()) == 3


# --------------------------------------------------------------------------- pipeline
def _run(tmp_path, data: pd.DataFrame) -> list[dict]:
    tmp_path.mkdir()
    path = tmp_path / "survey.parquet"
    data.to_parquet(path, index=False)
    cfg = {
        "title": "missing by",
        "input": {"path": str(path)},
        "mapping": str(SAMPLE / "mapping.yaml"),
        "design": {"weight": "w_final", "strata": "stratum", "psu": "psu"},
        "populations": {"workers": "worked == 1"},
        "tables": [{"name": "by_sector", "by": ["sector"], "population": "workers"}],
    }
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    return json.loads((out / "results.json").read_text())["warnings"]


def test_pipeline_counts_only_the_population_rows_with_a_missing_by_value(tmp_path):
    data = flestimate.read_survey(SAMPLE / "fl_survey.parquet").frame
    workers = data.index[data["worked"] == 1]
    assert data.loc[data["worked"] != 1, "sector"].isna().all()  # not asked of non-workers
    # as shipped: every worker has a sector; the non-workers' missing sector is no news
    assert not [w for w in _run(tmp_path / "a", data) if "no domain" in w["message"]]
    data.loc[workers[:7], "sector"] = np.nan
    found = [w for w in _run(tmp_path / "b", data) if "no domain" in w["message"]]
    assert found and all(w["message"].startswith("7 rows have a missing value in "
                                                 "by=['sector']") for w in found)

"""RDS estimators against independent formulas on a small synthetic recruitment tree.

The RDS package's fauxmadrona check (LGPL data, not shipped) is run locally by
tests/reference/check_rds_fauxmadrona.py; the published values are in
tests/reference/rds_fauxmadrona.json and the result in docs/user-guide/hidden-populations.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import flestimate as fl
from flestimate import rds


def synthetic(seed: int = 5, n_seeds: int = 6, waves: int = 5) -> pd.DataFrame:
    """A recruitment tree: each respondent recruits 0-3 others; the trait is homophilous
    and the trait's members have larger networks."""
    rng = np.random.default_rng(seed)
    rows = [{"id": f"s{i}", "rec": "seed", "y": int(rng.random() < 0.3)} for i in range(n_seeds)]
    frontier = list(range(n_seeds))
    for _ in range(waves):
        new = []
        for p in frontier:
            for _k in range(rng.integers(0, 4)):
                same = rng.random() < 0.7
                y = rows[p]["y"] if same else 1 - rows[p]["y"]
                rows.append({"id": f"r{len(rows)}", "rec": rows[p]["id"], "y": y})
                new.append(len(rows) - 1)
        frontier = new
    frame = pd.DataFrame(rows)
    frame["deg"] = rng.poisson(np.where(frame["y"] == 1, 12, 6)) + 1
    return frame.sample(frac=1.0, random_state=1)  # row order must not matter


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return synthetic()


def run(data, method, **kw):
    return rds.estimate(data, "y", id="id", recruiter="rec", degree="deg", method=method,
                        n_bootstrap=kw.pop("n_bootstrap", 200), rng=1, **kw)  # fmt: skip


def test_rds2_is_volz_heckathorn(data):
    d, y = data["deg"].to_numpy(float), data["y"].to_numpy(float)
    got = run(data, "rds2")
    assert got.estimate == pytest.approx((y / d).sum() / (1 / d).sum(), rel=1e-12)


def test_rds1_is_salganik_heckathorn(data):
    ids = dict(zip(data["id"], data["y"], strict=True))
    rec = data[data["rec"] != "seed"]
    ry = rec["rec"].map(ids).to_numpy()
    y = rec["y"].to_numpy()
    s_ab = ((ry == 0) & (y == 1)).sum() / (ry == 0).sum()  # non-members recruiting members
    s_ba = ((ry == 1) & (y == 0)).sum() / (ry == 1).sum()
    deg = data["deg"].to_numpy(float)
    yy = data["y"].to_numpy()
    d_a = (yy == 0).sum() / (1 / deg[yy == 0]).sum()  # harmonic means
    d_b = (yy == 1).sum() / (1 / deg[yy == 1]).sum()
    # reciprocity: N_A d_A S_AB = N_B d_B S_BA
    p_b = d_a * s_ab / (d_a * s_ab + d_b * s_ba)
    assert run(data, "rds1").estimate == pytest.approx(p_b, rel=1e-12)


def test_ss_limits(data):
    n = len(data)
    d, y = data["deg"].to_numpy(float), data["y"].to_numpy(float)
    # a census: every unit sampled, SS is the sample mean
    assert run(data, "ss", population_size=n).estimate == pytest.approx(y.mean(), abs=1e-6)
    # a tiny sampling fraction: SS tends to RDS-II
    big = run(data, "ss", population_size=1e7).estimate
    assert big == pytest.approx((y / d).sum() / (1 / d).sum(), rel=1e-4)


def test_weights_sum_to_n_and_feed_a_design(data):
    res = run(data, "ss", population_size=5000)
    assert res.weights.sum() == pytest.approx(5000)
    assert res.weights.index.equals(data.index)
    table = res.design(data).prevalence("y", scale=1).to_frame()
    assert table["estimate"].iloc[0] == pytest.approx(res.estimate, rel=1e-12)


def test_tree_bootstrap_interval(data):
    res = run(data, "rds2", n_bootstrap=400)
    lo, hi = res.ci
    assert lo < res.estimate < hi
    assert len(res.bootstrap) == 400
    assert res.se == pytest.approx(np.std(res.bootstrap, ddof=1))
    # the tree bootstrap is wider than the SRS bootstrap of the same sample
    y = data["y"].to_numpy(float)
    assert res.se > 0.8 * np.sqrt(y.mean() * (1 - y.mean()) / len(y))
    again = run(data, "rds2", n_bootstrap=400)
    assert again.se == res.se  # seeded


def test_diagnostics(data):
    res = run(data, "rds2")
    waves = rds.by_wave(res)
    assert waves["n"].iloc[-1] == len(data)
    assert waves["estimate"].iloc[-1] == pytest.approx(res.estimate)
    seeds = rds.by_seed(res)
    assert seeds["n"].sum() == len(data) and len(seeds) == 6
    assert rds.homophily(res) > 1.0  # recruits share the trait 70% of the time
    fig = Figure()
    ax = fig.subplots()
    assert rds.convergence_plot(res, ax=ax) is fig
    assert len(ax.lines[0].get_xdata()) == len(waves)  # one point a wave
    import matplotlib.pyplot as plt  # the default: a new pyplot figure

    made = rds.bottleneck_plot(res)
    assert made.axes[0].get_title().startswith("Bottlenecks")
    plt.close(made)


def test_bad_input(data):
    with pytest.raises(fl.ValidationError, match="needs population_size"):
        run(data, "ss")
    with pytest.raises(fl.ValidationError, match="method="):
        run(data, "rds3")
    bad = data.copy()
    bad.loc[bad.index[3], "rec"] = "nobody"
    with pytest.raises(fl.EstimationError, match="not respondents"):
        run(bad, "rds2")
    dup = data.copy()
    dup.loc[dup.index[3], "id"] = dup["id"].iloc[4]
    with pytest.raises(fl.EstimationError, match="repeated ids"):
        run(dup, "rds2")
    cyc = pd.DataFrame({"id": ["a", "b", "c"], "rec": ["seed", "c", "b"], "y": [0, 1, 0],
                        "deg": [3, 4, 5]})  # fmt: skip
    with pytest.raises(fl.EstimationError, match="cycle"):
        run(cyc, "rds2")
    two = data.assign(y=data["y"] * 2)
    with pytest.raises(fl.EstimationError, match="not 0/1"):
        run(two, "rds2")
    zero = data.assign(deg=data["deg"].where(data.index != data.index[0], 0))
    with pytest.warns(fl.FlestimateWarning, match="missing or zero"):
        res = run(zero, "rds2")
    assert res.diagnostics[0].code == "degree_imputed"

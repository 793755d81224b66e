"""RDS recruitment on a networkx network with known truth (small and seeded).

A stochastic-block network of 2,000 people, 20% with the trait, with homophily (ties
0.03 within the trait group, 0.01 among the others, 0.006 between); 20 respondent-driven
samples of 300 from 6 seeds with 2 coupons each.

Tolerances, from the Monte Carlo error: with R = 20 replications the mean estimate has
a Monte Carlo SE of sd / sqrt(R) (about 0.008 here); an unbiased estimator lands within
3.5 of them with probability 0.9995. A 200-replication run of this set-up measured a
bias of -0.004 (MC SE 0.0025) for RDS-II and -0.002 for SS, and 99.5% coverage of the
tree-bootstrap interval (it is conservative). With a true coverage of 95%, 16 or more
of 20 intervals hold the truth with probability 0.98; 0.995 makes it near certain.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from flestimate import rds
from flestimate.simulation import rds_recruitment

SIZES = (400, 1600)
TRUTH = SIZES[0] / sum(SIZES)
REPLICATIONS = 20


@pytest.fixture(scope="module")
def network() -> nx.Graph:
    return nx.stochastic_block_model(list(SIZES), [[0.03, 0.006], [0.006, 0.01]], seed=3, sparse=True)


@pytest.fixture(scope="module")
def trait() -> np.ndarray:
    return np.repeat([1, 0], SIZES)


@pytest.fixture(scope="module")
def runs(network, trait) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    out: dict[str, list] = {"rds2": [], "ss": []}
    for r in range(REPLICATIONS):
        sample = rds_recruitment(network, trait, size=300, seeds=6, coupons=2, rng=rng)
        for method, rows in out.items():
            res = rds.estimate(sample, "fl", id="id", recruiter="recruiter", degree="network_size",
                               method=method, population_size=sum(SIZES), n_bootstrap=100, rng=r)  # fmt: skip
            rows.append((res.estimate, *res.ci))
    return {m: np.array(v) for m, v in out.items()}


def test_the_recruitment_follows_the_network(network, trait):
    sample = rds_recruitment(network, trait, size=300, seeds=6, coupons=2, rng=np.random.default_rng(1))
    assert len(sample) == 300 and sample["id"].is_unique
    assert (sample["recruiter"] == "seed").sum() == 6
    recruits = sample[sample["recruiter"] != "seed"]
    rec = recruits["recruiter"].astype(int).to_numpy()
    # each recruit is a contact of its recruiter, who was recruited one wave earlier
    assert all(network.has_edge(a, b) for a, b in zip(rec, recruits["id"], strict=True))
    wave = sample.set_index("id")["wave"]
    assert (wave.loc[rec].to_numpy() == recruits["wave"].to_numpy() - 1).all()
    assert np.bincount(rec).max() <= 2  # coupons
    degree = dict(network.degree())
    assert (sample["network_size"] == sample["id"].map(degree)).all()
    assert (sample["fl"] == trait[sample["id"]]).all()


def test_same_sample_from_the_graph_and_its_adjacency_matrix(network, trait):
    adj = nx.to_scipy_sparse_array(network, format="csr")
    a = rds_recruitment(network, trait, size=200, seeds=4, coupons=3, rng=np.random.default_rng(2))
    b = rds_recruitment(adj, trait, size=200, seeds=4, coupons=3, rng=np.random.default_rng(2))
    assert a.equals(b)


@pytest.mark.parametrize("method", ["rds2", "ss"])
def test_bias_within_the_monte_carlo_error(runs, method):
    est = runs[method][:, 0]
    mc_se = est.std(ddof=1) / np.sqrt(REPLICATIONS)
    assert 0.003 < mc_se < 0.02  # the samples really vary (and not absurdly)
    assert abs(est.mean() - TRUTH) < 3.5 * mc_se


@pytest.mark.parametrize("method", ["rds2", "ss"])
def test_tree_bootstrap_interval_coverage(runs, method):
    _, lo, hi = runs[method].T
    assert ((lo <= TRUTH) & (TRUTH <= hi)).sum() >= 16
    assert np.mean(hi - lo) < 0.4  # an interval, not the whole range

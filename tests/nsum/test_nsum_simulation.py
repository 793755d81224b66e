"""Scale-up on a synthetic networkx population with known truth (small and seeded)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

import flestimate as fl
from flestimate import nsum


def estimate(visibility: float, seed: int = 7) -> tuple[float, float, float, int]:
    rng = np.random.default_rng(seed)
    n = 3000
    graph = nx.fast_gnp_random_graph(n, 0.03, seed=seed)  # random mixing: no barrier effect
    adj = nx.to_scipy_sparse_array(graph, format="csr")
    hidden = rng.random(n) < 0.04
    known = {f"k{j}": rng.random(n) < s for j, s in enumerate((0.01, 0.02, 0.05))}
    resp = rng.choice(n, 500, replace=False)
    frame = pd.DataFrame({k: adj[resp] @ v.astype(float) for k, v in known.items()})
    frame["h"] = rng.binomial((adj[resp] @ hidden.astype(float)).astype(int), visibility)
    design = fl.SurveyDesign(frame.assign(w=n / 500), weight="w")
    row = nsum.scale_up(design, "h", known={k: int(v.sum()) for k, v in known.items()},
                        total_population=n).to_frame().iloc[0]  # fmt: skip
    return row["estimate"], row["ci_lower"], row["ci_upper"], int(hidden.sum())


def test_unbiased_without_transmission_error_and_halved_with_it():
    est, lo, hi, truth = estimate(1.0)
    assert lo <= truth <= hi and abs(est / truth - 1) < 0.15
    est_half, *_ = estimate(0.5)
    assert 0.35 < est_half / truth < 0.65  # transmission error biases down by the visibility

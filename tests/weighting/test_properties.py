"""Property tests of the weighting cores: margins are met, invariances hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from flestimate.design import SurveyDesign
from flestimate.weighting import calibrate, poststratify, rake
from flestimate.weighting._solver import calibration_g, ipf


@st.composite
def samples(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    n = draw(st.integers(30, 200))
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    b = rng.integers(0, 2, n)
    # every level present
    a[:3] = [0, 1, 2]
    b[:2] = [0, 1]
    w = rng.uniform(0.5, 5.0, n)
    frame = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "w": w,
            "y": rng.normal(size=n),
            "psu": np.arange(n) // 3,
            "x": rng.uniform(1, 10, n),
        }
    )
    # margins that some positive weights meet (random Dirichlet margins can be
    # impossible when a level of a sits mostly in one level of b): the margins of
    # w * u for random factors u in [0.2, 5], scaled to the drawn total
    total = float(draw(st.floats(50, 5000)))
    target = w * np.exp(rng.uniform(np.log(0.2), np.log(5.0), n))
    target *= total / target.sum()
    pa = np.bincount(a, weights=target, minlength=3)
    pb = np.bincount(b, weights=target, minlength=2)
    return frame, {"a": dict(enumerate(pa)), "b": dict(enumerate(pb))}


def sums(frame, w, col):
    return pd.Series(w).groupby(frame[col].to_numpy()).sum().sort_index().to_numpy()


@settings(max_examples=25, deadline=None)
@given(samples())
def test_rake_meets_margins_and_is_invariant(case):
    frame, margins = case
    d = SurveyDesign(frame, weight="w", psu="psu")
    out = rake(d, margins=margins, max_iter=500, tolerance=1e-11)
    w = out.weights.to_numpy()
    for col in ("a", "b"):
        np.testing.assert_allclose(sums(frame, w, col), list(margins[col].values()), rtol=1e-9)
    # scaling the input weights does not change the raked weights
    f2 = frame.assign(w=frame["w"] * 7.0)
    out2 = rake(
        SurveyDesign(f2, weight="w", psu="psu"), margins=margins, max_iter=500, tolerance=1e-11
    )
    np.testing.assert_allclose(out2.weights.to_numpy(), w, rtol=1e-8)
    # raking with method="raking" calibration gives the same weights (same fixed point)
    cal = calibrate(d, totals=margins, method="raking", max_iter=100)
    # (Newton stops at R's |misfit| / (1 + |T|) < 1e-7, loose for small totals)
    np.testing.assert_allclose(cal.weights.to_numpy(), w, rtol=1e-4)


@settings(max_examples=25, deadline=None)
@given(samples())
def test_linear_calibration_meets_totals(case):
    frame, margins = case
    d = SurveyDesign(frame, weight="w", psu="psu")
    xt = float(frame["x"].mean() * sum(margins["a"].values()))
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = calibrate(d, totals={**margins, "x": xt})
    w = out.weights.to_numpy()
    for col in ("a", "b"):
        np.testing.assert_allclose(sums(frame, w, col), list(margins[col].values()), rtol=1e-9)
    np.testing.assert_allclose(w @ frame["x"].to_numpy(), xt, rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(samples())
def test_poststratify_row_order(case):
    frame, margins = case
    d = SurveyDesign(frame, weight="w", psu="psu")
    out = poststratify(d, totals={"a": margins["a"]})
    shuffled = frame.sample(frac=1.0, random_state=1)
    out2 = poststratify(SurveyDesign(shuffled, weight="w", psu="psu"), totals={"a": margins["a"]})
    np.testing.assert_allclose(
        out2.weights.sort_index().to_numpy(), out.weights.to_numpy(), rtol=1e-12
    )
    se1 = out.mean("y").to_frame()["se"].iloc[0]
    se2 = out2.mean("y").to_frame()["se"].iloc[0]
    np.testing.assert_allclose(se1, se2, rtol=1e-9)


def test_batched_solvers_equal_one_at_a_time():
    rng = np.random.default_rng(5)
    C, q, B = 12, 3, 6
    X = np.column_stack([np.ones(C), rng.integers(0, 2, C), rng.uniform(1, 3, C)])
    W = rng.uniform(1, 4, (B, C))
    T = np.array([40.0, 18.0, 80.0])
    for method, bounds in (("linear", None), ("raking", None), ("logit", (0.2, 4.0))):
        both = calibration_g(X, W, T, method=method, bounds=bounds)
        for b in range(B):
            one = calibration_g(X, W[b : b + 1], T, method=method, bounds=bounds)
            np.testing.assert_allclose(both.g[b], one.g[0], rtol=1e-12)
            np.testing.assert_allclose((W[b] * one.g[0]) @ X, T, rtol=1e-7)
    maps = [np.arange(C) % 3, np.arange(C) % 2]
    counts = [np.array([30.0, 30.0, 40.0]), np.array([55.0, 45.0])]
    both = ipf(W, maps, counts, tolerance=1e-12, max_iter=200)
    for b in range(B):
        one = ipf(W[b : b + 1], maps, counts, tolerance=1e-12, max_iter=200)
        np.testing.assert_allclose(both.factor[b], one.factor[0], rtol=1e-12)
    assert q == X.shape[1]

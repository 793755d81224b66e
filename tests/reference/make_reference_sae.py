"""Independent reference values for flestimate.sae on the milk data (tests/sae/test_reference.py).

Run from the repository root:  python tests/reference/make_reference_sae.py
Writes tests/reference/sae_milk.json.

R's sae package (the usual reference) is not installable on the machine that built
flestimate.sae, so the ML, REML and FH-moment fits are reproduced here by a second,
deliberately plain implementation that shares no code with flestimate: dense m x m
matrices, the likelihoods written out term by term, and scipy's root finders and
optimisers in place of Fisher scoring.

- REML and ML: the variance A solves the score equation (the derivative of the
  restricted or full log-likelihood, from dense P and V), found by brentq to 1e-15
  relative; a bounded Brent maximisation of the log-likelihood itself must agree.
- FH: A solves sum_d (y_d - x_d'beta(A))^2 / (A + D_d) = m - p (brentq).
- beta, its covariance, the EBLUP, g1, g2, g3, the bias of A and the MSEs of
  Prasad-Rao and Datta-Lahiri follow Rao & Molina (2015), section 6.2, formula by formula.

The published REML values (R sae's eblupFH/mseFH, as printed in samplics' tests and
quoted in issue 21) and the ML and FH values of the same source are stored beside them:
they stop at R's relative tolerance 1e-4 on A, so they agree with the converged values
to about 1e-6 only.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
from scipy import optimize

HERE = Path(__file__).resolve().parent


def design(milk: pd.DataFrame) -> np.ndarray:
    ma = milk["MajorArea"].to_numpy()
    return np.column_stack([np.ones(len(milk)), ma == 2, ma == 3, ma == 4]).astype(float)


def pieces(a: float, y: np.ndarray, x: np.ndarray, d: np.ndarray):
    v = np.diag(a + d)
    vi = np.linalg.inv(v)
    xtvix = x.T @ vi @ x
    cov_beta = np.linalg.inv(xtvix)
    beta = cov_beta @ x.T @ vi @ y
    p = vi - vi @ x @ cov_beta @ x.T @ vi
    return v, vi, cov_beta, beta, p


def loglik_ml(a, y, x, d):
    v, vi, _, beta, _ = pieces(a, y, x, d)
    r = y - x @ beta
    return -0.5 * (np.linalg.slogdet(2 * np.pi * v)[1] + r @ vi @ r)


def loglik_reml(a, y, x, d):
    v, vi, cov_beta, _, p = pieces(a, y, x, d)
    return -0.5 * (np.linalg.slogdet(v)[1] - np.linalg.slogdet(cov_beta)[1] + y @ p @ y)


def score(method, a, y, x, d):
    v, vi, cov_beta, beta, p = pieces(a, y, x, d)
    if method == "REML":  # d l_R / dA, dV/dA = I
        return -0.5 * np.trace(p) + 0.5 * y @ p @ p @ y
    if method == "ML":
        return -0.5 * np.trace(vi) + 0.5 * y @ p @ p @ y
    r = y - x @ beta
    return r @ vi @ r - (len(y) - x.shape[1])


def solve(method, y, x, d):
    a = optimize.brentq(lambda s: score(method, s, y, x, d), 1e-8, 1.0, xtol=1e-18, rtol=1e-15)
    if method in ("REML", "ML"):
        f = loglik_reml if method == "REML" else loglik_ml
        opt = optimize.minimize_scalar(lambda s: -f(s, y, x, d), bounds=(1e-8, 1.0),
                                       method="bounded", options={"xatol": 1e-12})
        assert abs(opt.x / a - 1) < 1e-5, (method, opt.x, a)
    return a


def reference(method, y, x, d):
    m, k = x.shape
    a = solve(method, y, x, d)
    v, vi, cov_beta, beta, _ = pieces(a, y, x, d)
    gamma = a / (a + d)
    eblup = x @ beta + gamma * (y - x @ beta)
    vi2 = vi @ vi
    if method == "FH":
        s1 = np.trace(vi)
        var_a = 2 * m / s1**2
        bias = 2 * (m * np.trace(vi2) - s1**2) / s1**3
    else:
        var_a = 2 / np.trace(vi2)
        bias = 0.0 if method == "REML" else -np.trace(cov_beta @ x.T @ vi2 @ x) * var_a / 2
    g1 = gamma * d
    g2 = np.array([(1 - gamma[i]) ** 2 * x[i] @ cov_beta @ x[i] for i in range(m)])
    g3 = (1 - gamma) ** 2 * var_a / (a + d)
    pr = g1 + g2 + 2 * g3
    dl = pr - bias * (1 - gamma) ** 2
    ll = loglik_ml(a, y, x, d)
    return {
        "sigma2_u": a,
        "beta": beta.tolist(),
        "beta_se": np.sqrt(np.diag(cov_beta)).tolist(),
        "eblup": eblup.tolist(),
        "gamma": gamma.tolist(),
        "mse_prasad_rao": pr.tolist(),
        "mse_datta_lahiri": dl.tolist(),
        "bias_sigma2_u": bias,
        "var_sigma2_u": var_a,
        "loglike": ll,
        "aic": -2 * ll + 2 * (k + 1),
        "bic": -2 * ll + (k + 1) * np.log(m),
    }


PUBLISHED = {
    "source": (
        "R sae 1.x eblupFH/mseFH on milk with formula yi ~ as.factor(MajorArea), vardir = SD^2 "
        "(PRECISION 1e-4), as printed in samplics' tests/sae/test_eblup_area_model.py "
        "(https://github.com/samplics-org/samplics) and quoted in issue 21 (REML)"
    ),
    "REML": {
        "beta": [0.9681890, 0.1327801, 0.2269462, -0.2413011],
        "beta_se": [0.06936208, 0.10300072, 0.09232981, 0.08161707],
        "eblup": [1.0219703, 1.0476018, 1.0679513, 0.7608170, 0.8461574, 0.9743727, 1.0584523,
                  1.0977762, 1.2215449, 1.1951455, 0.7852155, 1.2139456, 1.2096593, 0.9834967,
                  1.1864247, 1.1556982, 1.2263411, 1.2856486, 1.2363247, 1.2349600, 1.0903019,
                  1.1923057, 1.1216470, 1.2230296, 1.1938054, 0.7627195, 0.7649550, 0.7338443,
                  0.7699294, 0.6134418, 0.7695558, 0.7958250, 0.7723187, 0.6102302, 0.7001782,
                  0.7592787, 0.5298867, 0.7434466, 0.7548996, 0.7701918, 0.7481164, 0.8040773,
                  0.6810870],
        "mse": [0.013460220, 0.005372876, 0.005701990, 0.008541740, 0.009579594, 0.011670632,
                0.015926137, 0.010586518, 0.014184043, 0.014901472, 0.007694262, 0.016336469,
                0.012562726, 0.012117378, 0.012031229, 0.011709147, 0.010859780, 0.013690860,
                0.011034674, 0.013079686, 0.009948636, 0.017243977, 0.011292325, 0.013625297,
                0.008065787, 0.009205133, 0.009205133, 0.016476912, 0.007800626, 0.006098668,
                0.015441564, 0.014657866, 0.009024699, 0.003870786, 0.007800626, 0.009646139,
                0.006404335, 0.010155645, 0.007209937, 0.008470277, 0.005484860, 0.009205133,
                0.009903626],
    },
    "ML": {
        "beta": [0.9677986, 0.1278756, 0.2266909, -0.2425804],
        "beta_se": [0.06590747, 0.09840939, 0.08813973, 0.07753875],
        "eblup_area1": 1.0161733,
        "mse_area1": 0.013579953,
    },
    "FH": {"eblup_area1": 1.017975, "mse_area1": 0.012757016},
}


def main() -> None:
    milk = pd.read_csv(HERE / "data" / "milk.csv")
    x = design(milk)
    y = milk["yi"].to_numpy(dtype=float)
    d = milk["SD"].to_numpy(dtype=float) ** 2
    out = {
        "description": __doc__.split("\n\n")[0],
        "script": "tests/reference/make_reference_sae.py",
        "data": "tests/reference/data/milk.csv (see tests/reference/data/README.md)",
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scipy": scipy.__version__, "pandas": pd.__version__},
        "terms": ["Intercept", "C(MajorArea)[T.2]", "C(MajorArea)[T.3]", "C(MajorArea)[T.4]"],
        "independent": {meth: reference(meth, y, x, d) for meth in ("REML", "ML", "FH")},
        "published": PUBLISHED,
    }
    (HERE / "sae_milk.json").write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", HERE / "sae_milk.json")


if __name__ == "__main__":
    main()

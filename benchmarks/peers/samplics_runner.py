"""samplics workloads for the flestimate benchmark (runs in benchmarks/.peers-venv).

Usage: python samplics_runner.py <workload> <data folder> <output.json> <seed>

samplics has no design object: every estimate receives the weight, stratum and PSU arrays.
Its proportion CI is logit only (no Korn-Graubard), it reports no deff for proportions, and it
cannot read SPSS files (workload 7 is "unsupported").
"""

from __future__ import annotations

import sys
import warnings
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.simplefilter("ignore")  # samplics' deprecation notice on import

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from runner_common import (  # noqa: E402
    DISTRICT_PSUS,
    DOMAINS_W2,
    DOMAINS_W4,
    DOMAINS_W8,
    INDICATORS,
    N_REPLICATES,
    RAKE_MARGINS,
    REPW,
    Run,
    Unsupported,
    domain_key,
    main,
)
from samplics import ReplicateEstimator, TaylorEstimator  # noqa: E402
from samplics.utils.types import PopParam, RepMethod  # noqa: E402
from samplics.weighting import ReplicateWeight, SampleWeight  # noqa: E402


def _load(run: Run, folder: Path, name: str = "base.parquet") -> pd.DataFrame:
    # samplics 0.6.1's __version__ still says 0.6.0: report the installed distribution
    run.versions.update(samplics=metadata.version("samplics"), pandas=pd.__version__)
    data = pd.read_parquet(folder / name)
    # samplics' replicate builder returns rows sorted by stratum: sort once, stably
    data = data.sort_values(["stratum", "psu"], kind="mergesort", ignore_index=True)
    run.mark("load")
    return data


def _domain(data: pd.DataFrame, columns: list[str]) -> pd.Series:
    key = data[columns[0]].astype(str)
    for col in columns[1:]:
        key = key + "|" + data[col].astype(str)
    return key


def _taylor(data: pd.DataFrame, y: str, param, weight=None, **kw):
    est = TaylorEstimator(param)
    est.estimate(data[y], data["w_final"] if weight is None else weight,
                 stratum=data["stratum"], psu=data["psu"], **kw)
    return est


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict):
            return d
        d = d.get(k, d.get(np.int64(k), None)) if not isinstance(k, str) else d.get(k)
    return d


def _national(run: Run, data: pd.DataFrame, weight=None) -> None:
    # logit CI: samplics has no Korn-Graubard; deff is requested but not produced for prop
    est = _taylor(data, "fl", PopParam.prop, weight=weight, deff=True)
    run.put("fl", _get(est.point_est, 1), _get(est.stderror, 1), _get(est.lower_ci, 1),
            _get(est.upper_ci, 1), _get(est.deff, 1) if est.deff else None)


def w1_national(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder)
    run.mark("design")  # no design object: nothing to build
    _national(run, data)
    run.mark("estimate")


def w2_domains(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder)
    domain = _domain(data, DOMAINS_W2)
    run.mark("design")
    for ind in INDICATORS:
        est = _taylor(data, ind, PopParam.prop, domain=domain, deff=True)
        for dom, levels in est.point_est.items():
            parts = [int(v) for v in str(dom).split("|")]
            run.put(domain_key(ind, *parts), _get(levels, 1), _get(est.stderror, dom, 1),
                    _get(est.lower_ci, dom, 1), _get(est.upper_ci, dom, 1))
    run.mark("estimate")


def w3_total(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder)
    run.mark("design")
    est = _taylor(data, "fl", PopParam.total, deff=True)
    run.put("fl_total", est.point_est, est.stderror, est.lower_ci, est.upper_ci,
            est.deff if not isinstance(est.deff, dict) else None)
    run.mark("estimate")


def _replicate_tables(run: Run, data: pd.DataFrame, rep_weights: np.ndarray, method,
                      rep_coefs) -> None:
    w = data["w_final"].to_numpy()
    est = ReplicateEstimator(method, PopParam.mean).estimate(
        data["fl"].to_numpy(), w, rep_weights, rep_coefs=rep_coefs)
    run.put("fl", est.point_est, est.stderror, est.lower_ci, est.upper_ci)
    domain = _domain(data, DOMAINS_W4).to_numpy()
    try:
        est = ReplicateEstimator(method, PopParam.mean).estimate(
            data["fl"].to_numpy(), w, rep_weights, rep_coefs=rep_coefs, domain=domain)
    except ZeroDivisionError as exc:
        raise RuntimeError("samplics fails when a domain's estimate is 0 (its coefficient of "
                           "variation divides by the estimate)") from exc
    for dom in est.point_est:
        parts = [int(v) for v in str(dom).split("|")]
        run.put(domain_key("fl", *parts), est.point_est[dom], est.stderror[dom],
                est.lower_ci[dom], est.upper_ci[dom])


def _created_replicates(run: Run, folder: Path, seed: int, method) -> None:
    data = _load(run, folder)
    run.mark("design")
    builder = ReplicateWeight(method, strat=True, nb_reps=N_REPLICATES, rand_seed=seed)
    reps = builder.replicate(data["w_final"], data["psu"], data["stratum"])
    same_rows = np.array_equal(reps["_psu"].to_numpy(), data["psu"].to_numpy())
    if not same_rows:
        raise RuntimeError("samplics returned the replicate weights in another row order")
    cols = [c for c in reps.columns if c not in ("_stratum", "_psu", "_samp_weight")]
    coefs = np.asarray(builder.rep_coefs, dtype=float)
    if coefs.size == 0:  # samplics leaves the bootstrap coefficients empty: its default is 1/R
        coefs = np.full(len(cols), 1.0 / len(cols))
    _replicate_tables(run, data, reps[cols].to_numpy(), method, coefs)
    run.mark("estimate")


def w4_bootstrap(run: Run, folder: Path, seed: int) -> None:
    _created_replicates(run, folder, seed, RepMethod.bootstrap)


def w4_jackknife(run: Run, folder: Path, seed: int) -> None:
    _created_replicates(run, folder, seed, RepMethod.jackknife)


def w5_repweights(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder, "repw.parquet")
    rep_weights = data[REPW].to_numpy()
    run.mark("design")
    coefs = np.full(N_REPLICATES, 1.0 / N_REPLICATES)
    _replicate_tables(run, data, rep_weights, RepMethod.bootstrap, coefs)
    run.mark("estimate")


def w6_rake(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder)
    margins = pd.read_csv(folder / "margins.csv")
    run.mark("design")
    control = {
        var: {int(c): float(n) for c, n in
              margins.loc[margins["variable"] == var, ["category", "count"]].to_numpy()}
        for var in RAKE_MARGINS
    }
    raked = SampleWeight().rake(
        samp_weight=data["w_final"].to_numpy(),
        margins={var: data[var].to_numpy() for var in RAKE_MARGINS},
        control=control, tol=1e-10, max_iter=1000,
    )
    raked = np.asarray(raked, dtype=float)
    _national(run, data, weight=raked)  # raked weights treated as fixed in the variance
    est = _taylor(data, "fl", PopParam.total, weight=raked)
    run.put("fl_total", est.point_est, est.stderror, est.lower_ci, est.upper_ci)
    run.mark("estimate")


def w7_read_sav(run: Run, folder: Path, seed: int) -> None:
    raise Unsupported("samplics has no file reader")



def w8_districts(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder)
    data["district"] = data["psu"] // DISTRICT_PSUS
    domain = _domain(data, DOMAINS_W8)
    run.mark("design")
    est = _taylor(data, "fl", PopParam.prop, domain=domain, deff=True)
    for dom, levels in est.point_est.items():
        parts = [int(v) for v in str(dom).split("|")]
        run.put(domain_key("fl", *parts), _get(levels, 1), _get(est.stderror, dom, 1),
                _get(est.lower_ci, dom, 1), _get(est.upper_ci, dom, 1))
    run.mark("estimate")


WORKLOADS = {f.__name__: f for f in (w1_national, w2_domains, w3_total, w4_bootstrap,
                                     w4_jackknife, w5_repweights, w6_rake, w7_read_sav,
                                     w8_districts)}

if __name__ == "__main__":
    sys.exit(main(WORKLOADS))

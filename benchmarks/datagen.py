"""Benchmark data: one synthetic survey per size, written once in every format the peers read.

The survey comes from ``flestimate.simulate(respondents, rng=seed)`` (seeded). Until
that module exists a throwaway numpy survey with the same columns stands in; ``meta.json``
records which source made the files, so the cache is rebuilt when the simulator lands.

Files written under ``benchmarks/_data/n<size>/`` (git-ignored):

``base.parquet`` / ``base.csv``
    the sample columns of docs/internals.md section 1 used by the workloads, plus the
    analysis variables defined below;
``repw.parquet`` / ``repw.csv``
    the same rows and columns plus 80 replicate-weight columns ``rw1``..``rw80``;
``sample.sav``
    the full sample as SPSS, with value labels and 8/9 declared user-missing;
``margins.csv``
    population counts for raking, columns ``variable, category, count``;
``meta.json``
    size, seed, source, strata and PSU counts, bytes of the analysed columns.

Analysis variables (identical for every system):

``fl``
    1 if the respondent is in forced labour under the default rule, else 0 (``fl_true`` of the
    simulator's respondent truth, merged on ``pid``; the classifier is benchmarked separately).
``b_<item>`` for the 20 ILO 2012 involuntariness items ``ur_i1..ur_i6, wd_i1..wd_i10,
il_i1..il_i4``
    1 if the item was answered 1 (yes), else 0 (no, don't know, refused, or not asked).

Replicate weights ``rw1..rw80``: Rao-Wu-Yue rescaled bootstrap (within each stratum draw
``n_h - 1`` of the ``n_h`` PSUs with replacement; a unit's factor is
``count * n_h / (n_h - 1)``), variance ``(1/80) * sum_r (theta_r - mean_r theta_r)^2``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from runner_common import INDICATORS, ITEMS, N_REPLICATES, REPW

DESIGN_COLUMNS = ["pid", "stratum", "psu", "w_final", "region", "sex", "age_group"]
DATA_VERSION = 7  # bump when the layout of the files changes
# The simulator's design closest to flestimate issue 5's benchmark setting (50 strata, about
# 1,300 PSUs for 1M) that it allows: 8 regions x urban/rural = 16 strata, 30 households per
# PSU (about 100 respondents per PSU: 100 PSUs at 10k, 1,000 at 100k, 10,000 at 1M).
SIMULATE_OPTIONS = {"n_regions": 8, "households_per_psu": 30}


def parse_size(text: str) -> int:
    """``"10k"`` -> 10000, ``"1M"`` -> 1000000, ``"2500"`` -> 2500."""
    text = text.strip().lower()
    factor = 1
    if text.endswith("k"):
        factor, text = 1_000, text[:-1]
    elif text.endswith("m"):
        factor, text = 1_000_000, text[:-1]
    return int(float(text) * factor)


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def simulator_available() -> bool:
    try:
        from flestimate.simulation import simulate  # noqa: F401
    except (ImportError, AttributeError):
        return False
    return True


def _simulator_fingerprint() -> str:
    """Hash of the simulator's source, so the cached files follow changes of the simulator.

    Every module of the package ``flestimate.simulation`` that draws or writes the data
    (the coverage study does neither).
    """
    import hashlib

    import flestimate.simulation as package

    folder = Path(package.__file__).parent
    modules = sorted(p for p in folder.glob("*.py") if p.name != "coverage.py")
    source = b"".join(p.read_bytes() for p in modules)
    source += repr(sorted(SIMULATE_OPTIONS.items())).encode()
    return hashlib.sha1(source).hexdigest()[:12]


def _throwaway(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A stand-in survey with the columns of docs/internals.md section 1 that the workloads use.

    Stratified (10 regions x urban/rural), clustered (about 770 respondents per PSU, at least
    4 PSUs per stratum), with unequal weights and items correlated within PSUs.
    """
    rng = np.random.default_rng(seed)
    n_strata = 20  # 10 regions x urban/rural
    n_psu = max(4 * n_strata, n // 770)
    psu_stratum = np.concatenate([np.arange(n_strata), np.arange(n_strata),
                                  rng.integers(0, n_strata, n_psu - 2 * n_strata)])
    psu_stratum.sort()
    psu = np.sort(rng.integers(0, n_psu, n))
    psu[:n_psu] = np.arange(n_psu)  # every PSU has a respondent
    psu.sort()
    stratum = psu_stratum[psu] + 1
    region = (stratum - 1) // 2 + 1
    urban = (stratum - 1) % 2 + 1
    sex = rng.integers(1, 3, n)
    age = rng.integers(5, 90, n)
    age_group = np.digitize(age, [18, 25, 35, 55]) + 1
    psu_weight = rng.uniform(50, 400, n_psu)
    w_base = psu_weight[psu]
    w_final = w_base * rng.uniform(1.0, 1.3, n)
    worked = np.where(rng.random(n) < 0.6, 1, 2)
    psu_effect = rng.normal(0, 0.6, n_psu)[psu]
    frame = {
        "pid": np.arange(1, n + 1),
        "hhid": np.arange(1, n + 1) // 3 + 1,
        "psu": psu + 1,
        "stratum": stratum,
        "region": region,
        "urban": urban,
        "sex": sex,
        "age": age,
        "age_group": age_group,
        "worked": worked,
        "sector": np.where(worked == 1, rng.choice(list("ACFGT"), n), None),
        "w_base": w_base,
        "w_final": w_final,
        "n_psu_stratum": np.bincount(psu_stratum, minlength=n_strata)[stratum - 1] * 20,
    }
    latent = psu_effect + rng.normal(0, 1, n)
    for k, item in enumerate(ITEMS):
        p = 1 / (1 + np.exp(-(-3.2 + 0.08 * k + latent)))
        code = np.where(rng.random(n) < p, 1.0, 2.0)
        code[rng.random(n) < 0.01] = 8.0
        code[worked == 2] = np.nan
        frame[item] = code
    sample = pd.DataFrame(frame)
    fl = (latent > 2.2) & (worked == 1)
    truth = pd.DataFrame({"pid": sample["pid"], "fl_true": fl.astype(bool)})
    cells = sample.groupby(["region", "sex", "age_group"], as_index=False)["w_final"].sum()
    cells["count"] = np.round(cells["w_final"] * rng.uniform(0.9, 1.1, len(cells)))
    return sample, truth, cells[["region", "sex", "age_group", "count"]]


def _from_simulator(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from flestimate.simulation import simulate

    sim = simulate(n, rng=seed, **SIMULATE_OPTIONS)
    sample = sim.sample
    truth = None
    for name in ("respondent_truth", "truth_respondents"):
        truth = getattr(sim, name, None)
        if truth is not None:
            break
    if truth is None:
        raise RuntimeError("flestimate.simulate result has no respondent_truth table")
    margins = getattr(sim, "margins", None)
    if margins is None:
        rng = np.random.default_rng(seed + 1)
        margins = sample.groupby(["region", "sex", "age_group"], as_index=False)["w_final"].sum()
        margins["count"] = np.round(margins["w_final"] * rng.uniform(0.9, 1.1, len(margins)))
    return sample, pd.DataFrame(truth), pd.DataFrame(margins)


def rao_wu_factors(psu_stratum: np.ndarray, n_reps: int, rng: np.random.Generator) -> np.ndarray:
    """PSU-level Rao-Wu-Yue rescaled bootstrap factors, shape (P, n_reps)."""
    n_psu = len(psu_stratum)
    n_h = np.bincount(psu_stratum)
    order = np.argsort(psu_stratum, kind="stable")
    offset = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    draws_stratum = np.repeat(np.arange(len(n_h)), n_h - 1)
    # a stratum with one PSU (none in the benchmark data) keeps its weight in every replicate
    single = (n_h == 1)[psu_stratum]
    rescale = n_h / np.maximum(n_h - 1, 1)
    factors = np.empty((n_psu, n_reps))
    for r in range(n_reps):  # data preparation, not a measured path
        pick = offset[draws_stratum] + rng.integers(0, n_h[draws_stratum])
        counts = np.bincount(order[pick], minlength=n_psu)
        factors[:, r] = np.where(single, 1.0, counts * rescale[psu_stratum])
    return factors


def _margins_long(cells: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for var in ("region", "sex", "age_group"):
        m = cells.groupby(var, as_index=False)["count"].sum()
        parts.append(pd.DataFrame({"variable": var, "category": m[var].astype(int),
                                   "count": m["count"].astype(float)}))
    return pd.concat(parts, ignore_index=True)


def prepare(n: int, seed: int, root: Path, log=print, reuse: bool = False) -> Path:
    """Write (or reuse) the benchmark files for ``n`` respondents; return their folder.

    The files are rebuilt when the simulator's source changed, unless ``reuse`` (then any
    cached files of the same seed and layout are kept: runs merged into one report must see
    the same data).
    """
    simulated = simulator_available()
    source = "flestimate.simulate" if simulated else "throwaway-numpy"
    fingerprint = _simulator_fingerprint() if simulated else "numpy"
    folder = root / f"n{size_label(n)}"
    meta_path = folder / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        same = (meta.get("source"), meta.get("seed"), meta.get("version")) == (
            source, seed, DATA_VERSION)
        if same and (reuse or meta.get("fingerprint") == fingerprint):
            return folder
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    make = _from_simulator if simulated else _throwaway
    sample, truth, cells = make(n, seed)
    sample = sample.merge(truth[["pid", "fl_true"]], on="pid", how="left", validate="1:1")
    analysis = sample[DESIGN_COLUMNS].copy()
    for col in ("stratum", "psu", "region", "sex", "age_group"):
        analysis[col] = analysis[col].astype(np.int64)
    analysis["w_final"] = analysis["w_final"].astype(np.float64)
    analysis["fl"] = sample["fl_true"].fillna(False).astype(bool).astype(np.int64)
    analysis["age"] = sample["age"].astype(np.float64)  # w9: median age by domain
    # w_glm's predictors: migrant status and sector of work as an integer code 1.. (0: not
    # working; the model is fitted among workers), where the survey has them
    analysis["migrant"] = (sample["migrant"].fillna(0).astype(np.int64) if "migrant" in sample
                           else np.zeros(len(sample), dtype=np.int64))
    sector = (sample["sector"].astype(object) if "sector" in sample
              else pd.Series([None] * len(sample), dtype=object))
    # the simulator leaves the sector of people not working empty ("")
    working = (sector.notna() & (sector.astype(str).str.strip() != "")).to_numpy()
    letters = np.unique(sector[working].astype(str))
    codes = np.zeros(len(sample), dtype=np.int64)
    codes[working] = np.searchsorted(letters, sector[working].astype(str).to_numpy()) + 1
    analysis["sector"] = codes
    for item, ind in zip(ITEMS, INDICATORS, strict=True):
        analysis[ind] = (sample[item] == 1).astype(np.int64)
    analysis.to_parquet(folder / "base.parquet", index=False)
    analysis.to_csv(folder / "base.csv", index=False)

    strata_psu = analysis[["stratum", "psu"]].drop_duplicates()
    psu_codes, psu_index = np.unique(analysis["psu"].to_numpy(), return_inverse=True)
    stratum_of_psu = (
        strata_psu.set_index("psu").loc[psu_codes, "stratum"].to_numpy()
    )
    _, stratum_code = np.unique(stratum_of_psu, return_inverse=True)
    factors = rao_wu_factors(stratum_code, N_REPLICATES, np.random.default_rng(seed + 80))
    repw = pd.DataFrame(analysis["w_final"].to_numpy()[:, None] * factors[psu_index],
                        columns=REPW)
    with_reps = pd.concat([analysis, repw], axis=1)
    with_reps.to_parquet(folder / "repw.parquet", index=False)
    with_reps.to_csv(folder / "repw.csv", index=False)

    _write_sav(sample, folder / "sample.sav")
    _margins_long(cells).to_csv(folder / "margins.csv", index=False)
    analysed = ["w_final", "stratum", "psu", "sex", "region", "age_group", *INDICATORS]
    meta = {
        "version": DATA_VERSION,
        "n": int(n),
        "rows": int(len(analysis)),
        "seed": int(seed),
        "source": source,
        "fingerprint": fingerprint,
        "simulate_options": SIMULATE_OPTIONS if simulated else {},
        "n_strata": int(analysis["stratum"].nunique()),
        "n_psu": int(analysis["psu"].nunique()),
        "fl_prevalence_unweighted": float(analysis["fl"].mean()),
        "analysed_bytes_w2": int(len(analysis) * 8 * len(analysed)),
        "seconds_to_make": round(time.perf_counter() - t0, 2),
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    log(f"data n={size_label(n)}: {source}, {meta['n_strata']} strata, {meta['n_psu']} PSUs "
        f"({meta['seconds_to_make']} s)")
    return folder


def _write_sav(sample: pd.DataFrame, path: Path) -> None:
    import pyreadstat

    frame = sample.copy()
    for col in frame.columns:
        if frame[col].dtype == bool:
            frame[col] = frame[col].astype(np.int64)
        elif not pd.api.types.is_numeric_dtype(frame[col]):
            frame[col] = frame[col].astype("string").fillna("").astype(object)
    yes_no = {1.0: "yes", 2.0: "no", 8.0: "don't know", 9.0: "refused"}
    items = [c for c in ITEMS if c in frame.columns]
    labels = {c: yes_no for c in items}
    labels["sex"] = {1: "male", 2: "female"}
    missing = {c: [8.0, 9.0] for c in items}
    pyreadstat.write_sav(frame, str(path), variable_value_labels=labels,
                         missing_ranges=missing)

"""Time ``flestimate.classify`` on 1,000,000 respondents with 30 indicator items.

Run: ``python benchmarks/bench_classify.py [--n 1000000] [--repeat 3]``. Prints the best
wall-clock time of ``--repeat`` runs (target: under 2 seconds on 2 cores). The data are
synthetic: 10 involuntariness items, 13 penalty items and 7 more involuntariness items,
answers 1 yes (2%), 2 no, 8/9 don't know/refused (1%), system-missing for non-workers,
plus children linked to parents.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from flestimate import classify

ITEMS = (
    [f"UR-I{i}" for i in range(1, 7)]
    + [f"WD-I{i}" for i in range(1, 8)]
    + [f"IL-I{i}" for i in range(1, 5)]
    + [f"P{i}" for i in range(1, 14)]
)  # 30 items


def make_data(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    age = rng.integers(5, 80, n)
    worked = np.where(rng.random(n) < 0.7, 1, 2)
    cols = {"pid": np.arange(1, n + 1), "age": age, "worked": worked}
    for item in ITEMS:
        u = rng.random(n)
        v = np.where(u < 0.02, 1.0, np.where(u < 0.03, 8.0, np.where(u < 0.035, 9.0, 2.0)))
        v[worked != 1] = np.nan
        cols[item.lower().replace("-", "_")] = v
    parent = np.where(age < 18, rng.integers(1, n + 1, n), -1).astype(np.float64)
    parent[parent < 0] = np.nan
    cols["parent_pid"] = parent
    cols["employer_type"] = np.where(rng.random(n) < 0.5, "parents", "third_party")
    cols["perp_type"] = np.where(rng.random(n) < 0.1, "state", "private")
    cols["cse"] = np.where(rng.random(n) < 0.05, 1.0, 2.0)
    cols["wfcl"] = np.where(rng.random(n) < 0.01, 1.0, 2.0)
    mapping = {
        "framework": "ilo-2012",
        "codes": {"yes": [1], "no": [2], "dont_know": [8], "refused": [9]},
        "columns": {
            "age": "age",
            "worked": "worked",
            "person": "pid",
            "parent": "parent_pid",
            "employer": "employer_type",
            "perpetrator": "perp_type",
            "commercial_sex": "cse",
            "worst_form": "wfcl",
        },
        "indicators": {item: item.lower().replace("-", "_") for item in ITEMS},
        "settings": {"strength_rule": "at_least_one_strong", "missing_policy": "exclude"},
    }
    return pd.DataFrame(cols), mapping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    df, mapping = make_data(args.n, np.random.default_rng(20261128))
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = classify(df, mapping)
        times.append(time.perf_counter() - t0)
    print(
        f"classify: {args.n:,} respondents x {len(ITEMS)} indicator items: "
        f"best {min(times):.3f} s of {args.repeat} (runs: "
        + ", ".join(f"{t:.3f}" for t in times)
        + f"); fl = {int((out['fl'] == 1).sum()):,}, uncertain = {int(out['fl_uncertain'].sum()):,}"
    )


if __name__ == "__main__":
    main()

"""A large Parquet survey with 80 replicate weights, and the out-of-core benchmark.

Not run in CI. Usage::

    python benchmarks/large_data.py generate --rows 20M --out benchmarks/_data/large
    python benchmarks/large_data.py run --data benchmarks/_data/large --engine duckdb
    python benchmarks/large_data.py run --data benchmarks/_data/large --engine dask
    python benchmarks/large_data.py floor --data benchmarks/_data/large
    python benchmarks/large_data.py compare --data benchmarks/_data/n1M/base.parquet

``generate`` writes one Parquet file per million rows (PSUs of 100 rows, contiguous;
50 strata; sex, region (8), age_group (5), ``fl`` (0/1); ``w_final``; ``rw1..rw80``
Rao-Wu rescaled bootstrap weights, factors drawn per PSU), in chunks, so memory stays
small whatever ``--rows``. ``run`` measures, in this process, the national prevalence
of ``fl`` and the sex x region x age_group table with replicate SEs
(``ReplicateDesign.from_parquet``), and prints the seconds and the peak resident
memory (``ru_maxrss``). ``floor`` is DuckDB's bare GROUP BY of the same columns with
the 81 weight sums (the time flestimate's engine cannot beat).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datagen import parse_size  # noqa: E402

R = 80
CHUNK = 1_000_000
PSU_SIZE = 100
STRATA = 50
KEYS = ["sex", "region", "age_group"]


def generate(rows: int, out: Path, seed: int = 20261207) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for part, first in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - first)
        psu = (first + np.arange(n)) // PSU_SIZE
        n_psu = int(psu[-1] - psu[0] + 1)
        local = psu - psu[0]
        stratum = psu % STRATA
        w = rng.uniform(50.0, 150.0, n_psu)[local] * rng.uniform(0.8, 1.2, n)
        region = rng.integers(1, 9, n)
        sex = rng.integers(1, 3, n)
        age = rng.integers(1, 6, n)
        fl = (rng.random(n) < 0.004 + 0.002 * (sex == 1) + 0.001 * region / 8).astype(np.int8)
        # Rao-Wu rescaled bootstrap factors per PSU (n_h large: factor ~ 2 * Poisson-like count)
        counts = rng.binomial(2 * PSU_SIZE, 0.5, (n_psu, R)) / PSU_SIZE
        columns = {"stratum": stratum.astype(np.int32), "psu": psu.astype(np.int64),
                   "w_final": w, "sex": sex.astype(np.int8), "region": region.astype(np.int8),
                   "age_group": age.astype(np.int8), "fl": fl}
        for r in range(R):  # a loop over the 80 replicate columns
            columns[f"rw{r + 1}"] = w * counts[local, r]
        pq.write_table(pa.table(columns), out / f"part{part:04d}.parquet")
        print(f"part {part}: {first + n:,} rows, {time.perf_counter() - start:.1f} s", flush=True)
    (out / "meta.json").write_text(json.dumps({"rows": rows, "replicates": R, "seed": seed}))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(data: Path, engine: str) -> dict:
    import flestimate

    client = None
    if engine == "dask":
        import distributed

        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
    reps = [f"rw{r + 1}" for r in range(R)]
    times = {}
    t0 = time.perf_counter()
    # df given (R - 1, the rank of R bootstrap columns less one, as R's degf): without it
    # the engine ranks each domain's replicate weights through R(R+1)/2 Gram sums per row,
    # about 10x the time of the estimate (docs/user-guide/large-data.md)
    design = flestimate.ReplicateDesign.from_parquet(
        data, weight="w_final", replicate_weights=reps, method="bootstrap", scale=1.0 / R,
        df=R - 1, engine=engine, client=client)
    times["design"] = time.perf_counter() - t0
    t = time.perf_counter()
    national = design.prevalence("fl").to_frame()
    times["national"] = time.perf_counter() - t
    t = time.perf_counter()
    table = design.prevalence("fl", by=KEYS).to_frame()
    times["table"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    result = {"engine": engine, "seconds": times, "peak_mb_this_process": _peak_mb(),
              "national": national[["estimate", "se"]].iloc[0].tolist(), "cells": len(table)}
    if client is not None:
        client.close()
    print(json.dumps(result, indent=1))
    return result


def floor(data: Path) -> dict:
    import duckdb

    sums = ", ".join(["SUM(w_final)"] + [f"SUM(rw{r + 1})" for r in range(R)])
    files = f"read_parquet('{data}/*.parquet')"
    con = duckdb.connect()
    times = {}
    for name, keys in (("national", ["fl"]), ("table", [*KEYS, "fl"])):
        k = ", ".join(keys)
        t = time.perf_counter()
        con.execute(f"SELECT {k}, {sums}, COUNT(*) FROM {files} GROUP BY {k}").df()
        times[name] = time.perf_counter() - t
    result = {"engine": "bare duckdb GROUP BY", "seconds": times,
              "peak_mb_this_process": _peak_mb()}
    print(json.dumps(result, indent=1))
    return result


def compare(path: Path) -> dict:
    """The 1M benchmark survey through memory, DuckDB and Dask (a 2-process LocalCluster):
    largest relative differences of estimate, SE, CI and deff of the w2 table."""
    import distributed

    import flestimate

    args = {"weight": "w_final", "strata": "stratum", "psu": "psu"}
    items = [f"b_{c}" for c in ("ur_i1", "ur_i2", "wd_i1", "wd_i2", "il_i1")]
    by = ["sex", "region", "age_group"]
    frame = pd.read_parquet(path)
    t = time.perf_counter()
    memory = flestimate.SurveyDesign(frame, **args).prevalence(items, by=by).to_frame()
    times = {"memory": time.perf_counter() - t}
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    out = {}
    for engine in ("duckdb", "dask"):
        t = time.perf_counter()
        large = flestimate.SurveyDesign.from_parquet(path, engine=engine, client=client, **args)
        table = large.prevalence(items, by=by).to_frame()
        times[engine] = time.perf_counter() - t
        out[engine] = {c: float(np.nanmax(np.abs(table[c] - memory[c]) / np.abs(memory[c])))
                       for c in ("estimate", "se", "ci_lower", "ci_upper", "deff")}
    client.close()
    cluster.close()
    result = {"cells": len(memory), "max_relative_difference": out, "seconds": times}
    print(json.dumps(result, indent=1))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["generate", "run", "floor", "compare"])
    parser.add_argument("--rows", default="20M")
    parser.add_argument("--out", "--data", dest="data", default="benchmarks/_data/large")
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "dask"])
    args = parser.parse_args(argv)
    data = Path(args.data)
    if args.command == "generate":
        generate(parse_size(args.rows), data)
    elif args.command == "run":
        run(data, args.engine)
    elif args.command == "compare":
        compare(data)
    else:
        floor(data)
    return 0


if __name__ == "__main__":
    pd.set_option("display.width", 120)
    sys.exit(main())

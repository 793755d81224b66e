"""svy workloads for the flestimate benchmark (runs in benchmarks/.peers-venv).

Usage: python svy_runner.py <workload> <data folder> <output.json> <seed>
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402
import svy  # noqa: E402
from runner_common import (  # noqa: E402
    CHISQ_COLUMNS,
    DISTRICT_PSUS,
    DOMAINS_W2,
    DOMAINS_W4,
    DOMAINS_W8,
    GLM_FACTORS,
    INDICATORS,
    MEDIAN_VARIABLE,
    N_REPLICATES,
    RAKE_MARGINS,
    Run,
    domain_key,
    glm_key,
    main,
)

warnings.simplefilter("ignore")


def _load(run: Run, folder: Path, name: str = "base.parquet") -> pl.DataFrame:
    run.versions.update(svy=svy.__version__, polars=pl.__version__)
    data = svy.read_parquet(str(folder / name))
    run.mark("load")
    return data


def _design(run: Run, data: pl.DataFrame):
    sample = svy.Sample(data, svy.Design(stratum="stratum", psu="psu", wgt="w_final"))
    run.mark("design")
    return sample


def _level_one(frame: pl.DataFrame, y: str) -> pl.DataFrame:
    return frame.filter(pl.col(y) == 1)


def _national(run: Run, sample, method: str = "taylor") -> None:
    # Korn-Graubard CI from prop (svy's variant: NCHS, n* truncated at n), SE and deff
    frame = _level_one(
        sample.estimation.prop("fl", ci_method="korn-graubard", deff="wor").to_polars(), "fl")
    row = frame.row(0, named=True)
    run.put("fl", row["est"], row["se"], row["lci"], row["uci"], row.get("deff"))


def w1_national(run: Run, folder: Path, seed: int) -> None:
    sample = _design(run, _load(run, folder))
    _national(run, sample)
    run.mark("estimate")


def w2_domains(run: Run, folder: Path, seed: int) -> None:
    sample = _design(run, _load(run, folder))
    results = sample.estimation.prop(INDICATORS, by=tuple(DOMAINS_W2),
                                     ci_method="korn-graubard", deff="wor")
    run.mark("estimate")
    for ind, res in zip(INDICATORS, results, strict=True):
        for row in _level_one(res.to_polars(), ind).iter_rows(named=True):
            key = domain_key(ind, *(row[d] for d in DOMAINS_W2))
            run.put(key, row["est"], row["se"], row["lci"], row["uci"], row.get("deff"))


def w3_total(run: Run, folder: Path, seed: int) -> None:
    sample = _design(run, _load(run, folder))
    row = sample.estimation.total("fl", deff="wor").to_polars().row(0, named=True)
    run.mark("estimate")
    run.put("fl_total", row["est"], row["se"], row["lci"], row["uci"], row.get("deff"))


def _replicate_tables(run: Run, sample) -> None:
    row = sample.estimation.mean("fl", method="replication").to_polars().row(0, named=True)
    run.put("fl", row["est"], row["se"], row["lci"], row["uci"])
    table = sample.estimation.mean("fl", by=tuple(DOMAINS_W4), method="replication").to_polars()
    for row in table.iter_rows(named=True):
        run.put(domain_key("fl", *(row[d] for d in DOMAINS_W4)), row["est"], row["se"],
                row["lci"], row["uci"])


def w4_bootstrap(run: Run, folder: Path, seed: int) -> None:
    sample = _design(run, _load(run, folder))
    sample = sample.weighting.create_bs_wgts(n_reps=N_REPLICATES, rstate=seed)
    _replicate_tables(run, sample)
    run.mark("estimate")


def w4_jackknife(run: Run, folder: Path, seed: int) -> None:
    sample = _design(run, _load(run, folder))
    sample = sample.weighting.create_jk_wgts()  # delete-one-PSU within strata (JKn)
    _replicate_tables(run, sample)
    run.mark("estimate")


def w5_repweights(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder, "repw.parquet")
    reps = svy.BootstrapWgts(prefix="rw", n_reps=N_REPLICATES)  # coefficient 1/80
    sample = svy.Sample(data, svy.Design(wgt="w_final", rep_wgts=reps))
    run.mark("design")
    _replicate_tables(run, sample)
    run.mark("estimate")


def w6_rake(run: Run, folder: Path, seed: int) -> None:
    sample = _design(run, _load(run, folder))
    margins = pl.read_csv(folder / "margins.csv")
    controls = {
        var: {int(r["category"]): float(r["count"])
              for r in margins.filter(pl.col("variable") == var).iter_rows(named=True)}
        for var in RAKE_MARGINS
    }
    raked = sample.weighting.rake(controls=controls, tol=1e-10, max_iter=1000)
    _national(run, raked)
    row = raked.estimation.total("fl").to_polars().row(0, named=True)
    run.put("fl_total", row["est"], row["se"], row["lci"], row["uci"])
    run.mark("estimate")


def w7_read_sav(run: Run, folder: Path, seed: int) -> None:
    run.versions.update(svy=svy.__version__)
    data = svy.read_sav(str(folder / "sample.sav"))
    run.mark("load")
    run.put("n_rows", data.height)
    run.put("n_columns", data.width)
    run.put("sum_w_final", data["w_final"].sum())



def w8_districts(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder)
    data = data.with_columns((pl.col("psu") // DISTRICT_PSUS).alias("district"))
    sample = _design(run, data)
    res = sample.estimation.prop("fl", by=tuple(DOMAINS_W8), ci_method="korn-graubard",
                                 deff="wor")
    run.mark("estimate")
    for row in _level_one(res.to_polars(), "fl").iter_rows(named=True):
        key = domain_key("fl", *(row[d] for d in DOMAINS_W8))
        run.put(key, row["est"], row["se"], row["lci"], row["uci"], row.get("deff"))


def w9_median(run: Run, folder: Path, seed: int) -> None:
    sample = _design(run, _load(run, folder))
    # q_method "higher" is R's qrule "math"; Woodruff interval
    res = sample.estimation.quantile(MEDIAN_VARIABLE, p=0.5, by=tuple(DOMAINS_W2),
                                     q_method="higher")
    run.mark("estimate")
    for row in res.to_polars().iter_rows(named=True):
        key = domain_key(f"median_{MEDIAN_VARIABLE}", *(row[d] for d in DOMAINS_W2))
        run.put(key, row["est"], row["se"], row["lci"], row["uci"])


def w10_chisq(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder)
    # 0: not working, not a sector
    data = data.with_columns(pl.when(pl.col("sector") > 0).then(pl.col("sector")).alias("sector"))
    sample = _design(run, data)
    table = sample.categorical.tabulate(*CHISQ_COLUMNS, drop_nulls=True)
    f = table.stats.f  # Rao-Scott F
    run.mark("estimate")
    run.put("chisq_F", f.value)
    run.put("chisq_ndf", f.df_num)
    run.put("chisq_ddf", f.df_den)
    run.put("chisq_p", f.p_value)


def w_glm(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder)
    # not working: out of the fit (drop_nulls zeroes their weights, keeping the design)
    data = data.with_columns(pl.when(pl.col("sector") > 0).then(pl.col("sector")).alias("sector"))
    sample = _design(run, data)
    fit = sample.glm.fit(y="fl", x=[svy.Cat(c) for c in GLM_FACTORS], family="binomial",
                         tol=1e-10)  # flestimate's default stopping rule
    table = fit.fitted.to_polars() if hasattr(fit, "fitted") else fit.to_polars()
    run.mark("estimate")
    for rec in table.iter_rows(named=True):
        run.put(_glm_term_key(rec["term"]), rec["estimate"], rec["std_err"], rec["conf_low"],
                rec["conf_high"])


def _glm_term_key(term: str) -> str:
    if term.lower().strip("_") in ("(intercept)", "intercept"):
        return glm_key()
    for column in GLM_FACTORS:
        for sep in ("_", "=", ":", "[", "."):
            if term.startswith(column + sep):
                return glm_key(column, term[len(column) + 1:].strip("]").strip())
    return "glm|" + term


WORKLOADS = {f.__name__: f for f in (w1_national, w2_domains, w3_total, w4_bootstrap,
                                     w4_jackknife, w5_repweights, w6_rake, w7_read_sav,
                                     w8_districts, w9_median, w10_chisq, w_glm)}

if __name__ == "__main__":
    sys.exit(main(WORKLOADS))

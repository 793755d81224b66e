"""flestimate workloads for the benchmark (runs in the project's own Python).

Usage: python flestimate_runner.py <workload> <data folder> <output.json> <seed>

A workload whose flestimate feature does not exist yet (ImportError, AttributeError,
NotImplementedError) is reported as "pending" and joins the table when the feature lands.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
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
    REPW,
    Run,
    domain_key,
    glm_key,
    main,
)

import flestimate  # noqa: E402

PENDING = (ImportError, AttributeError, NotImplementedError)

# Import the layers before the clock starts, as `import svy` and `library(survey)` do for the
# peers: flestimate imports them lazily, and the first call would otherwise book the import
# (scipy included) under "design" or "estimate". The process time still includes it.
for _layer in ("io", "design", "design.replicate", "estimation", "estimation.estimators",
               "estimation.quantiles", "estimation.svytests", "estimation.regression",
               "weighting"):
    try:
        __import__(f"flestimate.{_layer}")
    except ImportError:  # the workload that needs it reports "pending"
        pass


def _load(run: Run, folder: Path, name: str = "base.parquet") -> pd.DataFrame:
    run.versions.update(flestimate=flestimate.__version__, pandas=pd.__version__)
    data = pd.read_parquet(folder / name)
    run.mark("load")
    return data


def _design(run: Run, data: pd.DataFrame):
    # the default nest=False (R's default, what users type): PSU ids unique across strata
    design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
    run.mark("design")
    return design


def _accepts(fn, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _prevalence(design, y, by=None):
    """Prevalence with Korn-Graubard CI on the 0-1 scale (flestimate reports per 1,000)."""
    kwargs = {"ci_method": "korn-graubard"}
    if by:
        kwargs["by"] = list(by)
    if _accepts(design.prevalence, "scale"):
        kwargs["scale"] = 1
    table = design.prevalence(y, **kwargs)
    scale = 1.0 if "scale" in kwargs else float(getattr(table, "scale", 1000) or 1000)
    frame = table.to_frame()
    for col in ("estimate", "se", "ci_lower", "ci_upper"):
        frame[col] = frame[col] / scale
    return frame


def _put_rows(run: Run, frame: pd.DataFrame, by: list[str], name: str | None = None) -> None:
    names = frame["variable"] if name is None and "variable" in frame else None
    for i, row in enumerate(frame.itertuples(index=False)):
        rec = row._asdict()
        var = name if names is None else names.iloc[i]
        key = domain_key(var, *(rec[d] for d in by)) if by else var
        run.put(key, rec["estimate"], rec["se"], rec["ci_lower"], rec["ci_upper"],
                rec.get("deff"))


def w1_national(run: Run, folder: Path, seed: int) -> None:
    design = _design(run, _load(run, folder))
    frame = _prevalence(design, "fl")
    run.mark("estimate")
    _put_rows(run, frame, [], name="fl")


def w2_domains(run: Run, folder: Path, seed: int) -> None:
    design = _design(run, _load(run, folder))
    frame = _prevalence(design, INDICATORS, by=DOMAINS_W2)
    run.mark("estimate")
    _put_rows(run, frame, DOMAINS_W2)


def w3_total(run: Run, folder: Path, seed: int) -> None:
    design = _design(run, _load(run, folder))
    frame = design.total("fl").to_frame()
    run.mark("estimate")
    _put_rows(run, frame, [], name="fl_total")


def _replicate_tables(run: Run, design) -> None:
    _put_rows(run, design.mean("fl").to_frame(), [], name="fl")
    _put_rows(run, design.mean("fl", by=DOMAINS_W4).to_frame(), DOMAINS_W4, name="fl")


def w4_bootstrap(run: Run, folder: Path, seed: int) -> None:
    design = _design(run, _load(run, folder))
    replicated = design.replicate("bootstrap", n_replicates=N_REPLICATES, rng=seed)
    _replicate_tables(run, replicated)
    run.mark("estimate")


def w4_jackknife(run: Run, folder: Path, seed: int) -> None:
    design = _design(run, _load(run, folder))
    replicated = design.replicate("jkn")  # delete-one-PSU within strata, as R's JKn
    _replicate_tables(run, replicated)
    run.mark("estimate")


def w5_repweights(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder, "repw.parquet")
    kwargs = {"weight": "w_final", "replicate_weights": REPW, "method": "bootstrap"}
    if _accepts(flestimate.ReplicateDesign, "scale"):
        kwargs["scale"] = 1.0 / N_REPLICATES  # Rao-Wu rescaled bootstrap: 1/B
    design = flestimate.ReplicateDesign(data, **kwargs)
    run.mark("design")
    _replicate_tables(run, design)
    run.mark("estimate")


def w6_rake(run: Run, folder: Path, seed: int) -> None:
    design = _design(run, _load(run, folder))
    margins = pd.read_csv(folder / "margins.csv")
    population = {
        var: {int(c): float(n) for c, n in
              margins.loc[margins["variable"] == var, ["category", "count"]].to_numpy()}
        for var in RAKE_MARGINS
    }
    # the peers rake to a relative tolerance of about 1e-10 (R: epsilon 1e-12 of the total)
    options = {"tolerance": 1e-10} if _accepts(flestimate.rake, "tolerance") else {}
    raked = flestimate.rake(design, margins=population, max_iter=1000, **options)
    _put_rows(run, _prevalence(raked, "fl"), [], name="fl")
    _put_rows(run, raked.total("fl").to_frame(), [], name="fl_total")
    run.mark("estimate")


def w7_read_sav(run: Run, folder: Path, seed: int) -> None:
    run.versions.update(flestimate=flestimate.__version__)
    survey = flestimate.read_survey(folder / "sample.sav")
    run.mark("load")
    frame = next((getattr(survey, a) for a in ("frame", "data", "df") if hasattr(survey, a)),
                 survey)
    run.put("n_rows", len(frame))
    run.put("n_columns", frame.shape[1])
    run.put("sum_w_final", frame["w_final"].sum())


def w8_districts(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder)
    data["district"] = data["psu"] // DISTRICT_PSUS
    design = _design(run, data)
    frame = _prevalence(design, "fl", by=DOMAINS_W8)
    run.mark("estimate")
    _put_rows(run, frame, DOMAINS_W8, name="fl")


def w9_median(run: Run, folder: Path, seed: int) -> None:
    design = _design(run, _load(run, folder))
    frame = design.quantile(MEDIAN_VARIABLE, 0.5, by=DOMAINS_W2).to_frame()
    run.mark("estimate")
    _put_rows(run, frame, DOMAINS_W2, name=f"median_{MEDIAN_VARIABLE}")


def w10_chisq(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder)
    data["sector"] = data["sector"].where(data["sector"] > 0)  # 0: not working, not a sector
    design = _design(run, data)
    test = design.chisq(*CHISQ_COLUMNS)  # Rao-Scott second-order F, R's default
    run.mark("estimate")
    run.put("chisq_F", test.statistic)
    run.put("chisq_ndf", test.df[0])
    run.put("chisq_ddf", test.df[1])
    run.put("chisq_p", test.p_value)


def w_glm(run: Run, folder: Path, seed: int) -> None:
    data = _load(run, folder)
    data["sector"] = data["sector"].where(data["sector"] > 0)  # not working: out of the fit
    design = _design(run, data)
    formula = "fl ~ " + " + ".join(f"C({c})" for c in GLM_FACTORS)
    table = design.glm(formula, family="quasibinomial", na_rm=True).table()
    run.mark("estimate")
    for rec in table.itertuples(index=False):
        column, _, level = rec.term.partition(")[T.")
        key = glm_key() if rec.term == "Intercept" else glm_key(column[2:], level.rstrip("]"))
        run.put(key, rec.estimate, rec.se, rec.ci_lower, rec.ci_upper, rec.deff)


WORKLOADS = {f.__name__: f for f in (w1_national, w2_domains, w3_total, w4_bootstrap,
                                     w4_jackknife, w5_repweights, w6_rake, w7_read_sav,
                                     w8_districts, w9_median, w10_chisq, w_glm)}

if __name__ == "__main__":
    sys.exit(main(WORKLOADS, pending=PENDING))

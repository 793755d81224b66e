"""End-to-end: ``flestimate run`` on the bundled sample, compared with direct library calls."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

import flestimate
from flestimate.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
MAPPING = SAMPLE / "mapping.yaml"
FORMATS = ["sav", "dta", "csv", "parquet"]
COMPARED = ["estimate", "se", "ci_lower", "ci_upper", "df", "n_unweighted"]


def small_config(data_path: Path, **extra) -> dict:
    cfg = {
        "title": "Pipeline test",
        "input": {"path": str(data_path)},
        "mapping": str(MAPPING),
        "design": {"weight": "w_final", "strata": "stratum", "psu": "psu"},
        "populations": {"adults": "age >= 18", "workers": "worked == 1"},
        "duration": {"variable": "dur_months", "period": 12},
        "sensitivity": True,
        "tables": [
            {"name": "national"},
            {"name": "adults", "population": "adults"},
            {"name": "by_sex", "by": ["sex"]},
            {"name": "by_region_adults", "by": ["region"], "population": "adults"},
            {"name": "by_sector", "by": ["sector"], "population": "workers"},
        ],
    }
    cfg.update(extra)
    return cfg


def write_config(tmp_path: Path, cfg: dict, name: str = "run.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return p


def direct_design(path: Path):
    """The same chain of public calls a notebook user makes."""
    data = flestimate.read_survey(path)
    data = flestimate.classify(data, MAPPING)
    frame = data.frame
    d = pd.to_numeric(frame["dur_months"], errors="coerce").to_numpy(dtype=float)
    share = np.where(np.isfinite(d), np.clip(d, 0, 12) / 12, 1.0)
    frame = frame.assign(
        adult=(frame["age"] >= 18).astype(int),
        worker=(frame["worked"] == 1).astype(int),
        fl_stock=frame["fl"].to_numpy(dtype=float) * share,
    )
    return flestimate.SurveyDesign(frame, weight="w_final", strata="stratum", psu="psu")


def expected(design, y, statistic, by, pop=None):
    full = ([pop] if pop else []) + by
    if statistic == "prevalence":
        est = design.prevalence(y, by=full or None, ci_method="korn-graubard", level=0.95,
                                scale=1000)
    else:
        est = design.total(y, by=full or None, ci_method="korn-graubard", level=0.95)
    f = est.to_frame()
    if pop:
        f = f[f[pop] == 1].drop(columns=[pop])
    return f.reset_index(drop=True)


def norm_key(value) -> str:
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return str(value)


def compare(csv: pd.DataFrame, exp: pd.DataFrame, statistic: str, by: list[str]):
    got = csv[csv["statistic"] == statistic]
    if by:
        got = got[got[by].notna().all(axis=1)]
        key = by[0]
        got = got.set_index(got[key].map(norm_key)).sort_index()
        exp = exp.set_index(exp[key].map(norm_key)).sort_index()
        assert list(got.index) == list(exp.index)
    else:
        got = got[got.filter(regex="_label$").eq("Total").all(axis=1)] if len(got) > 1 else got
    assert len(got) == len(exp) > 0
    ok = ~got["suppressed"].to_numpy(dtype=bool)
    for col in COMPARED:
        g = got[col].to_numpy(dtype=float)
        e = exp[col].to_numpy(dtype=float)
        np.testing.assert_allclose(g[ok], e[ok], rtol=1e-12, atol=0, err_msg=f"{statistic} {col}")
        assert np.isnan(got["estimate"].to_numpy(dtype=float)[~ok]).all()


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("example") / "out"
    assert main(["run", "--example", "--out", str(out), "--quiet"]) == 0
    return out


def test_example_writes_every_output(example_run):
    names = {p.name for p in example_run.iterdir()}
    assert {"report.html", "tables.xlsx", "results.json", "manifest.json", "national.csv",
            "by_sex.csv", "by_age_group.csv", "by_region.csv", "by_migrant.csv",
            "by_sector.csv"} <= names
    wb = load_workbook(example_run / "tables.xlsx", read_only=True)
    tables = ["national", "adults", "children", "by_sex", "by_age_group", "by_region",
              "by_migrant", "by_sector"]
    assert wb.sheetnames == [*(s for t in tables for s in (t, f"{t}_data")), "Notes", "Metadata"]
    man = json.loads((example_run / "manifest.json").read_text())
    assert man["input"]["path"] == "fl_survey.sav"
    assert len(man["input"]["sha256"]) == 64
    assert man["seed"] == 20181010
    assert man["packages"]["numpy"] == np.__version__
    for name, digest in man["files"].items():
        import hashlib

        assert hashlib.sha256((example_run / name).read_bytes()).hexdigest() == digest


def test_example_national_ci_covers_the_truth(example_run):
    truth = json.loads((SAMPLE / "truth.json").read_text())
    true_prev = truth["populations"]["all"]["national"]["prevalence_per_1000"]
    res = json.loads((example_run / "results.json").read_text())
    prev = res["headline"]["prevalence"]
    assert prev["ci_lower"] < true_prev < prev["ci_upper"]
    nat = pd.read_csv(example_run / "national.csv")
    row = nat[nat["statistic"] == "prevalence"].iloc[0]
    assert row["ci_lower"] < true_prev < row["ci_upper"]
    persons = res["headline"]["persons"]
    assert persons["ci_lower"] < truth["populations"]["all"]["national"]["fl"] < persons["ci_upper"]


def test_example_report_sections(example_run):
    html = (example_run / "report.html").read_text()
    for anchor in ('id="headline"', 'id="sensitivity"', 'id="tables"', 'id="design"',
                   'id="methods"', "On any given day", "data:image/png;base64,"):
        assert anchor in html
    res = json.loads((example_run / "results.json").read_text())
    s = res["sensitivity"]
    assert s["upper_bound"]["prevalence"]["estimate"] >= s["conservative"]["prevalence"]["estimate"]
    assert res["headline"]["stock"]["estimate"] < res["headline"]["persons"]["estimate"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_numbers_equal_direct_library_calls(tmp_path, fmt):
    data_path = SAMPLE / f"fl_survey.{fmt}"
    cfg = write_config(tmp_path, small_config(data_path))
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    design = direct_design(data_path)
    nat = pd.read_csv(out / "national.csv")
    compare(nat, expected(design, "fl", "prevalence", []), "prevalence", [])
    compare(nat, expected(design, "fl", "total", []), "total", [])
    compare(nat, expected(design, "fl_stock", "total", []), "stock", [])
    adults = pd.read_csv(out / "adults.csv")
    compare(adults, expected(design, "fl", "prevalence", [], "adult"), "prevalence", [])
    by_sex = pd.read_csv(out / "by_sex.csv")
    compare(by_sex, expected(design, "fl", "prevalence", ["sex"]), "prevalence", ["sex"])
    compare(by_sex, expected(design, "fl", "total", ["sex"]), "total", ["sex"])
    reg = pd.read_csv(out / "by_region_adults.csv")
    compare(reg, expected(design, "fl", "prevalence", ["region"], "adult"), "prevalence",
            ["region"])
    sec = pd.read_csv(out / "by_sector.csv", keep_default_na=False, na_values=[""])
    exp = expected(design, "fl", "prevalence", ["sector"], "worker")
    compare(sec, exp, "prevalence", ["sector"])


def test_population_is_a_domain_not_a_subset(tmp_path):
    """Adults' prevalence = ratio of totals over the full design (identity)."""
    design = direct_design(SAMPLE / "fl_survey.parquet")
    frame = design.data
    frame = frame.assign(fl_adult_pop=frame["fl"] * frame["adult"])
    d2 = flestimate.SurveyDesign(frame, weight="w_final", strata="stratum", psu="psu")
    num = d2.total("fl_adult_pop").to_frame()["estimate"].iloc[0]
    den = d2.total("adult").to_frame()["estimate"].iloc[0]
    got = expected(design, "fl", "prevalence", [], "adult")["estimate"].iloc[0]
    assert got == pytest.approx(1000 * num / den, rel=1e-12)


def test_outputs_hold_no_microdata(tmp_path):
    frame = pd.read_parquet(SAMPLE / "fl_survey.parquet")
    # distinctive ids: any leak of a row would show one of them
    frame = frame.assign(pid=frame["pid"] + 7_770_000_000,
                         parent_pid=frame["parent_pid"] + 7_770_000_000,
                         hhid=frame["hhid"] + 5_550_000_000)
    data_path = tmp_path / "survey.parquet"
    frame.to_parquet(data_path)
    cfg = write_config(tmp_path, small_config(data_path))
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    n_input = len(frame)
    for path in out.iterdir():
        if path.suffix == ".xlsx":
            wb = load_workbook(path, read_only=True)
            text = "\n".join(
                "\t".join(str(c) for c in row)
                for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
            )
            rows = sum(ws.max_row for ws in wb.worksheets)
            assert rows < n_input
        else:
            text = path.read_text(encoding="utf-8")
        # an id is never glued to a letter; a hex digest (sha256 in the manifest) may hold "555..."
        assert not re.search(r"(?<![\w.])(777|555)\d{7}(?!\d)", text), path.name
        assert text.count("\n") < n_input, path.name
        if path.suffix == ".csv":
            cols = pd.read_csv(path, nrows=0).columns
            assert not {"pid", "hhid", "w_final"} & set(cols)


def test_bad_table_column_and_indicator_exit_2(tmp_path, capsys):
    data_path = SAMPLE / "fl_survey.parquet"
    cfg = small_config(data_path)
    cfg["tables"][2]["by"] = ["sexx"]
    p = write_config(tmp_path, cfg)
    assert main(["run", str(p), "--out", str(tmp_path / "o1")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert "tables[2].by[0]: column 'sexx' is not a column of the data; did you mean 'sex'?" in err
    assert not (tmp_path / "o1").exists()

    cfg = small_config(data_path)
    cfg["tables"][0]["indicator"] = "fl_adlt"
    p = write_config(tmp_path, cfg)
    assert main(["run", str(p), "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err.strip()
    assert "tables[0].indicator: unknown indicator 'fl_adlt'; did you mean 'fl_adult'?" in err
    assert not (tmp_path / "o2").exists()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c.update(desing=c.pop("design")), "desing: unknown key; did you mean 'design'?"),
        (lambda c: c["design"].update(weight=["w_final"]), "design.weight: found ['w_final'] (list)"),
        (lambda c: c["input"].update(path="missing.sav"), "input.path: file not found: 'missing.sav'"),
        (lambda c: c["populations"].update(adults="age >== 18"), "populations.adults: filter"),
        (lambda c: c["populations"].update(adults="__import__('os').system('touch pwned')"),
         "names starting with '__' are not allowed"),
        (lambda c: c["design"].update(weight="w_finale"),
         "design.weight: column 'w_finale' is not a column of the data; did you mean 'w_final'?"),
    ],
)
def test_bad_config_exit_2_one_line(tmp_path, capsys, monkeypatch, mutate, message):
    monkeypatch.chdir(tmp_path)
    cfg = small_config(SAMPLE / "fl_survey.parquet")
    mutate(cfg)
    p = write_config(tmp_path, cfg)
    # --quiet: a progress line (a step slower than 1 s on a loaded machine) is not the error
    assert main(["run", str(p), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("flestimate run: error: ")
    assert message in err
    assert "\n" not in err
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "pwned").exists()


def test_unexpected_failure_exit_1_and_no_output(tmp_path, capsys, monkeypatch):
    from flestimate.report import writers

    def boom(result):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(writers, "render_html", boom)
    p = write_config(tmp_path, small_config(SAMPLE / "fl_survey.parquet"))
    assert main(["run", str(p), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "unexpected error: RuntimeError: renderer exploded" in err
    assert list(tmp_path.glob("out*")) == [] and list(tmp_path.glob(".out*")) == []


def test_run_needs_config_or_example(capsys):
    assert main(["run"]) == 2
    assert "give a CONFIG file" in capsys.readouterr().err


def test_progress_lines_and_quiet(tmp_path, capsys):
    import io

    from flestimate.run.progress import Progress

    buf = io.StringIO()
    prog = Progress(2, stream=buf, delay=0.0)
    import time

    with prog.step("slow step"):
        time.sleep(0.2)
    with prog.step("another"):
        time.sleep(0.2)
    text = buf.getvalue()
    assert "] 1/2 slow step ..." in text and "slow step: done in" in text
    buf = io.StringIO()
    prog = Progress(1, stream=buf, delay=0.0, quiet=True)
    with prog.step("slow step"):
        time.sleep(0.1)
    assert buf.getvalue() == ""
    buf = io.StringIO()
    prog = Progress(1, stream=buf, delay=5.0)
    with prog.step("quick step"):
        pass
    assert buf.getvalue() == ""


def test_init_writes_a_config_that_runs(tmp_path, capsys):
    cfg = tmp_path / "survey.yaml"
    assert main(["init", str(SAMPLE / "fl_survey.sav"), "--out", str(cfg),
                 "--mapping", str(MAPPING)]) == 0
    text = cfg.read_text()
    assert "weight: w_final" in text and "strata: stratum" in text and "psu: psu" in text
    assert "#   ur_i1" in text
    assert main(["init", str(SAMPLE / "fl_survey.sav"), "--out", str(cfg)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert (tmp_path / "out" / "report.html").is_file()


@pytest.mark.parametrize(
    ("step", "direct"),
    [
        ({"step": "poststratify", "totals": str(SAMPLE / "margins.csv")},
         lambda d, m: flestimate.poststratify(d, totals=m)),
        ({"step": "rake", "totals": str(SAMPLE / "margins.csv"),
          "margins": ["region", ["sex", "age_group"]]},
         lambda d, m: flestimate.rake(d, margins={
             "region": m.groupby("region")["count"].sum().rename("region"),
             "sex+age_group": m.groupby(["sex", "age_group"])["count"].sum().reset_index()})),
    ],
)
def test_weighting_steps_equal_direct_calls(tmp_path, step, direct):
    data_path = SAMPLE / "fl_survey.parquet"
    cfg = small_config(data_path, weighting=[step])
    out = tmp_path / "out"
    assert main(["run", str(write_config(tmp_path, cfg)), "--out", str(out), "--quiet"]) == 0
    design = direct(direct_design(data_path), pd.read_csv(SAMPLE / "margins.csv"))
    by_sex = pd.read_csv(out / "by_sex.csv")
    compare(by_sex, expected(design, "fl", "prevalence", ["sex"]), "prevalence", ["sex"])
    compare(by_sex, expected(design, "fl", "total", ["sex"]), "total", ["sex"])
    adults = pd.read_csv(out / "adults.csv")
    compare(adults, expected(design, "fl", "prevalence", [], "adult"), "prevalence", [])
    res = json.loads((out / "results.json").read_text())
    assert res["weight_summary"]["rows"][-1][0] == step["step"]


def test_unknown_weighting_option_suggests(tmp_path, capsys):
    cfg = small_config(SAMPLE / "fl_survey.parquet",
                       weighting=[{"step": "trim", "uper": 30}])
    assert main(["run", str(write_config(tmp_path, cfg)), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "weighting[0].uper: unknown option of flestimate.trim_weights; did you mean 'upper'?" in err


def test_replicate_design_equals_direct_call(tmp_path):
    frame = pd.read_parquet(SAMPLE / "fl_survey.parquet")
    rng = np.random.default_rng(20181010)
    psu_codes, psu_idx = np.unique(frame["psu"].to_numpy(), return_inverse=True)
    # 40 bootstrap-like replicates: PSU multipliers from a Poisson(1), as columns repw1..repw40
    factors = rng.poisson(1.0, size=(40, len(psu_codes))).astype(float)
    reps = {f"repw{r + 1}": frame["w_final"].to_numpy() * factors[r, psu_idx] for r in range(40)}
    frame = pd.concat([frame, pd.DataFrame(reps)], axis=1)
    data_path = tmp_path / "rep.parquet"
    frame.to_parquet(data_path)
    cfg = small_config(data_path)
    cfg["design"] = {"weight": "w_final", "replicate": {"weights": "repw", "method": "bootstrap"}}
    out = tmp_path / "out"
    assert main(["run", str(write_config(tmp_path, cfg)), "--out", str(out), "--quiet"]) == 0
    data = flestimate.classify(flestimate.read_survey(data_path), MAPPING)
    f = data.frame
    design = flestimate.ReplicateDesign(f, weight="w_final", replicate_weights=list(reps),
                                        method="bootstrap")
    by_sex = pd.read_csv(out / "by_sex.csv")
    compare(by_sex, expected(design, "fl", "prevalence", ["sex"]), "prevalence", ["sex"])
    nat = pd.read_csv(out / "national.csv")
    compare(nat, expected(design, "fl", "total", []), "total", [])
    html = (out / "report.html").read_text()
    assert "replicate weights (bootstrap)" in html


def test_share_equals_direct_proportion(tmp_path):
    data_path = SAMPLE / "fl_survey.parquet"
    cfg = small_config(data_path, tables=[
        {"name": "share_sex", "statistics": ["share"], "by": ["sex"]},
        {"name": "share_age_adults", "statistics": ["share"], "by": ["age_group"],
         "population": "adults"},
    ])
    out = tmp_path / "out"
    assert main(["run", str(write_config(tmp_path, cfg)), "--out", str(out), "--quiet"]) == 0
    design = direct_design(data_path)
    f = design.data.assign(sex_cat=design.data["sex"].astype("category"),
                           age_cat=design.data["age_group"].astype("category"))
    d2 = flestimate.SurveyDesign(f, weight="w_final", strata="stratum", psu="psu")

    def share(var, by, pop=None):
        groups = ([pop] if pop else []) + ["fl"]
        e = d2.proportion(var, by=groups, ci_method="korn-graubard", level=0.95).to_frame()
        e = e[e["fl"] == 1]
        if pop:
            e = e[e[pop] == 1]
        e = e.rename(columns={"category": by}).reset_index(drop=True)
        for c in ("estimate", "se", "ci_lower", "ci_upper"):
            e[c] = e[c] * 100
        return e

    got = pd.read_csv(out / "share_sex.csv")
    compare(got, share("sex_cat", "sex"), "share", ["sex"])
    assert got["estimate"].sum() == pytest.approx(100, rel=1e-12)
    got = pd.read_csv(out / "share_age_adults.csv")
    compare(got, share("age_cat", "age_group", "adult"), "share", ["age_group"])
    assert got.loc[got["age_group"] == 1, "estimate"].fillna(0).sum() == 0  # no child is an adult


def test_exclude_policy_needs_na_rm(tmp_path, capsys):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING.read_text().replace("missing_policy: conservative",
                                                   "missing_policy: exclude"))
    data_path = SAMPLE / "fl_survey.parquet"
    cfg = small_config(data_path, mapping=str(mapping))
    assert main(["run", str(write_config(tmp_path, cfg)), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "analysis variable 'fl' has" in err and "'estimation: {na_rm: true}'" in err
    cfg["estimation"] = {"na_rm": True}
    out = tmp_path / "o"
    assert main(["run", str(write_config(tmp_path, cfg)), "--out", str(out), "--quiet"]) == 0
    data = flestimate.classify(flestimate.read_survey(data_path), mapping)
    design = flestimate.SurveyDesign(data.frame, weight="w_final", strata="stratum", psu="psu")
    exp = design.prevalence("fl", ci_method="korn-graubard", level=0.95, scale=1000,
                            na_rm=True).to_frame()
    compare(pd.read_csv(out / "national.csv"), exp, "prevalence", [])


def test_input_options(tmp_path, capsys):
    data_path = SAMPLE / "fl_survey.csv"
    cfg = small_config(data_path)
    cfg["input"]["options"] = {"encodng": "utf-8"}
    assert main(["run", str(write_config(tmp_path, cfg)), "--out", str(tmp_path / "o")]) == 2
    assert ("input.options.encodng: unknown option of flestimate.read_survey; did you mean "
            "'encoding'?") in capsys.readouterr().err
    cfg["input"]["options"] = {"encoding": "utf-8"}
    assert main(["run", str(write_config(tmp_path, cfg)), "--out", str(tmp_path / "o"),
                 "--quiet"]) == 0

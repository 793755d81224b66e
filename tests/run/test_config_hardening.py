"""Config and command-line hardening (issue 14, defects 7, 10 and 11)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate.cli import main
from flestimate.errors import ConfigError
from flestimate.run.config import load_config, parse_config
from flestimate.run.pipeline import run_pipeline

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def edit(cfg: Path, old: str, new: str) -> Path:
    text = cfg.read_text(encoding="utf-8")
    assert old in text, old
    cfg.write_text(text.replace(old, new, 1), encoding="utf-8")
    return cfg


# ------------------------------------------------------------------ defect 7: NaN and inf


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("cv_suppress: 0.5", "cv_suppress: .nan", r"reliability\.cv_suppress: found nan"),
        ("cv_flag: 0.3", "cv_flag: .NaN", r"reliability\.cv_flag: found nan"),
        ("period: 12", "period: .inf", r"duration\.period: found inf"),
        ("level: 0.95", "level: -.inf", r"estimation\.level: found -inf"),
        ("scale: 1000", "scale: 1.0e+400", r"estimation\.scale: found inf"),
        ("  - step: poststratify\n", "  - step: poststratify\n    bounds: [0.5, .nan]\n",
         r"weighting\[0\]\.bounds\[1\]: found nan"),
        ("period: 12", "period: " + "9" * 400, r"duration\.period: found <an integer of about"),
    ],
)
def test_non_finite_numbers_refused_with_key_path(sample, capsys, old, new, key):
    edit(sample, old, new)
    with pytest.raises(ConfigError, match=key):
        load_config(sample)
    assert main(["run", str(sample), "--out", str(sample.parent / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "finite" in err or "1e300" in err
    assert "Traceback" not in err


def test_finite_walk_on_a_dict_config(sample):
    with pytest.raises(ConfigError, match=r"input\.options\.x\[0\]\.y: found nan"):
        parse_config({"input": {"path": str(sample.parent / "fl_survey.sav"),
                                "options": {"x": [{"y": float("nan")}]}},
                      "design": {"weight": "w_final"}})


def _stock_run(cfg: Path, data: pd.DataFrame, name: str):
    data.to_csv(cfg.parent / name, index=False)
    text = re.sub(r"(?m)^  path: .*$", f"  path: {name}", cfg.read_text(encoding="utf-8"))
    cfg.write_text(text, encoding="utf-8")
    return run_pipeline(load_config(cfg))


def test_durations_outside_the_period_are_missing_with_a_count(sample):
    edit(sample, "sensitivity: true", "sensitivity: false")
    edit(sample, "tables:\n", "tables:\n  - name: only\nx_unused:\n")
    text = sample.read_text(encoding="utf-8")
    sample.write_text(text[: text.index("x_unused:")] + text[text.index("reliability:"):],
                      encoding="utf-8")
    data = pd.read_csv(sample.parent / "fl_survey.csv")
    known = data.index[data["dur_months"].notna()]
    coded = data.copy()
    coded.loc[known[:7], "dur_months"] = 99  # "don't know"
    coded.loc[known[7:10], "dur_months"] = -1
    as_missing = data.copy()
    as_missing.loc[known[:10], "dur_months"] = np.nan

    res = _stock_run(sample, coded, "coded.csv")
    ref = _stock_run(sample, as_missing, "missing.csv")
    found = [w for w in res.warnings if w.get("code") == "duration_out_of_range"]
    assert len(found) == 1
    assert found[0]["message"].startswith("10 values of 'dur_months' are outside [0, 12]")
    assert "-1, 99" in found[0]["message"] and "treated as missing" in found[0]["message"]
    # a 99 counts exactly as a missing duration (the full period), never clipped to 12
    # silently, and a -1 never becomes 0
    assert res.headline["stock"]["estimate"] == pytest.approx(ref.headline["stock"]["estimate"],
                                                              rel=1e-12)
    assert not [w for w in ref.warnings if w.get("code") == "duration_out_of_range"]


# ------------------------------------------------------------------ defect 10: named errors


def run_cli(cfg: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["run", str(cfg), "--out", str(cfg.parent / "out"), "-q", *extra])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize(
    ("filter_text", "match"),
    [
        ("(" * 300 + "age >= 18" + ")" * 300, r"populations\.adults: filter .* nested more than 50"),
        ("not " * 400 + "worked", r"populations\.adults: filter .* nested more than 50"),
        (" or ".join(["age == 18"] * 20_000), r"populations\.adults: filter .* is 259,996 characters"),
    ],
)
def test_deep_or_long_filters_are_config_errors(sample, capsys, filter_text, match):
    edit(sample, "adults: age >= 18", f"adults: '{filter_text}'")
    with pytest.raises(ConfigError, match=match) as exc:
        load_config(sample)
    assert len(str(exc.value)) < 400
    assert run_cli(sample, capsys)[0] == 2


def test_filter_at_the_depth_limit_still_parses(sample):
    edit(sample, "adults: age >= 18", "adults: '" + "(" * 49 + "age >= 18" + ")" * 49 + "'")
    assert load_config(sample).populations["adults"].columns == ("age",)


def test_nonresponse_step_without_options(sample, capsys):
    edit(sample, "  - step: poststratify\n    totals: margins.csv\n", "  - step: nonresponse\n")
    code, err = run_cli(sample, capsys)
    assert code == 2
    assert "weighting[0]: the nonresponse step needs the options responded, cells" in err


def test_weighting_option_of_the_wrong_kind(sample, capsys):
    edit(sample, "    totals: margins.csv\n",
         "    totals: margins.csv\n  - step: trim\n    upper: [1]\n")
    code, err = run_cli(sample, capsys)
    assert code == 2
    assert "weighting[1]: flestimate.trim_weights cannot use these options" in err


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", r"weighting\[0\]\.totals: margins\.csv is empty"),
        (b"\n\n", r"weighting\[0\]\.totals: margins\.csv is empty"),
        ("region,sex,count\nNord-\xe9st,1,10\n".encode("latin-1"),
         r"margins\.csv is not a UTF-8 text file"),
        (b"region,count,count\nA,1,2\n", r"margins\.csv: column 'count' appears more than once"),
    ],
)
def test_bad_totals_csv(sample, capsys, content, match):
    (sample.parent / "margins.csv").write_bytes(content)
    code, err = run_cli(sample, capsys)
    assert code == 2
    assert re.search(match, err), err


def test_output_move_failure_is_a_named_error(sample, capsys, monkeypatch):
    """--out at a mount point, or a file that cannot be renamed into place (EBUSY)."""
    import errno
    import os

    from flestimate.report import folder

    real = os.replace

    def busy(src, dst, *args, **kwargs):
        if folder.STAGING_PREFIX in str(src):
            raise OSError(errno.EBUSY, "Device or resource busy", str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(folder.os, "replace", busy)
    code, err = run_cli(sample, capsys)
    assert code == 2
    assert "cannot be written (Device or resource busy" in err
    out = sample.parent / "out"
    assert not any(p.name.startswith(folder.STAGING_PREFIX) for p in out.iterdir()) \
        if out.exists() else True


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--margin", "1e-300"], r"--margin: found 1e-300 .* an infinite number of respondents"),
        (["--margin", "1e-9"], r"--margin: found 1e-09 .* more than 10,000,000,000 respondents"),
        (["--margin", "0.001", "--deff", "1e308"], r"--deff: found 1e\+308; .* at most 1000"),
        (["--margin", "0.001", "--deff", "nan"], r"--deff: found nan"),
        (["--margin", "nan"], r"--margin: found nan"),
    ],
)
def test_plan_refuses_out_of_range_options(capsys, args, match):
    assert main(["plan", "--prevalence", "0.0035", *args]) == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err
    assert "Traceback" not in err


# ------------------------------------------------------------------ defect 11


def _replicate_config(tmp_path: Path, weights) -> dict:
    frame = pd.read_parquet(SAMPLE / "fl_survey.parquet")
    path = tmp_path / "rep.parquet"
    if not path.exists():
        rng = np.random.default_rng(7)
        codes, idx = np.unique(frame["psu"].to_numpy(), return_inverse=True)
        factors = rng.poisson(1.0, size=(10, len(codes))).astype(float)
        reps = {f"rw_{r + 1}": frame["w_final"].to_numpy() * factors[r, idx] for r in range(10)}
        # a column whose name holds "rw_" but not at the start: the anchored pattern skips it
        reps["brw_flag"] = np.ones(len(frame))
        pd.concat([frame, pd.DataFrame(reps)], axis=1).to_parquet(path)
    return {
        "input": {"path": str(path)}, "mapping": str(SAMPLE / "mapping.yaml"),
        "design": {"weight": "w_final", "replicate": {"weights": weights, "method": "bootstrap"}},
        "sensitivity": False, "tables": [{"name": "national"}],
    }


def test_replicate_weights_are_a_regular_expression(tmp_path):
    listed = run_pipeline(parse_config(_replicate_config(
        tmp_path, [f"rw_{r}" for r in range(1, 11)]), base_dir=tmp_path))
    by_regex = run_pipeline(parse_config(_replicate_config(tmp_path, r"^rw_\d+$"),
                                         base_dir=tmp_path))
    assert by_regex.headline["prevalence"] == listed.headline["prevalence"]
    assert listed.headline["prevalence"]["se"] > 0


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ("w", r"design\.replicate\.weights: the pattern 'w' also matches the weight column"),
        ("^zz", r"design\.replicate\.weights: the regular expression '\^zz' matches no column"),
    ],
)
def test_replicate_pattern_refused_with_data(tmp_path, weights, match):
    cfg = parse_config(_replicate_config(tmp_path, weights), base_dir=tmp_path)
    with pytest.raises(ConfigError, match=match):
        run_pipeline(cfg)


def test_replicate_pattern_checked_at_load(tmp_path):
    with pytest.raises(ConfigError, match=r"design\.replicate\.weights: .*regular expression"):
        parse_config(_replicate_config(tmp_path, "rw_[0-9"), base_dir=tmp_path)


def test_any_positive_scale_works_end_to_end(sample, capsys):
    edit(sample, "scale: 1000", "scale: 100000")
    edit(sample, "sensitivity: true", "sensitivity: false")
    out = sample.parent / "out"
    assert main(["run", str(sample), "--out", str(out), "-q"]) == 0
    nat = pd.read_csv(out / "national.csv")
    row = nat[nat["statistic"] == "prevalence"].iloc[0]
    assert row["unit"] == "per 100,000 persons"
    persons = nat[nat["statistic"] == "total"].iloc[0]
    # prevalence per 100,000 = 100,000 x persons / population
    assert row["estimate"] == pytest.approx(1e5 * persons["estimate"] / persons["n_weighted"],
                                            rel=1e-9)
    assert "per 100,000" in (out / "report.html").read_text(encoding="utf-8")


def _region_config(tmp_path: Path, missing_domain: bool | None) -> dict:
    path = tmp_path / "holes.csv"
    if not path.exists():
        data = pd.read_csv(SAMPLE / "fl_survey.csv")
        fl_rows = data.index[data["dur_months"].notna()]  # respondents in forced labour
        data.loc[fl_rows[:40], "region"] = np.nan
        data.loc[data.index[:500], "region"] = np.nan
        data.to_csv(path, index=False)
    table = {"name": "by_region", "by": ["region"], "statistics": ["total", "prevalence"]}
    if missing_domain is not None:
        table["missing_domain"] = missing_domain
    return {"input": {"path": str(path)}, "mapping": str(SAMPLE / "mapping.yaml"),
            "design": {"weight": "w_final", "strata": "stratum", "psu": "psu"},
            "sensitivity": False, "tables": [table],
            # nothing suppressed: the test adds the domains up
            "reliability": {"min_n": 0, "cv_flag": 50, "cv_suppress": 100,
                            "complementary": False}}


def test_missing_by_values_as_their_own_domain(tmp_path):
    res = run_pipeline(parse_config(_region_config(tmp_path, True), base_dir=tmp_path))
    t = res.tables[0].frame
    totals = t[t["statistic"] == "total"]
    domains = totals[totals["region"].notna()]
    total = totals.loc[totals["region"].isna(), "estimate"].iloc[0]
    assert list(domains["region"].astype(str))[-1] == "Missing"
    # with the missing domain, the domains add up to the Total
    assert domains["estimate"].sum() == pytest.approx(total, rel=1e-9)
    assert not [w for w in res.warnings if "belong to no domain" in str(w.get("message"))]

    without = run_pipeline(parse_config(_region_config(tmp_path, None), base_dir=tmp_path))
    t0 = without.tables[0].frame
    tot0 = t0[t0["statistic"] == "total"]
    dom0 = tot0[tot0["region"].notna()]
    assert "Missing" not in set(dom0["region"].astype(str))
    # the known regions are the same estimates either way; without the option they fall
    # short of the Total by the missing domain
    assert domains["estimate"].to_numpy()[:-1] == pytest.approx(dom0["estimate"].to_numpy(),
                                                                rel=1e-9)
    assert dom0["estimate"].sum() == pytest.approx(total - domains["estimate"].iloc[-1], rel=1e-9)


def test_missing_domain_refused_for_a_share(tmp_path):
    cfg = _region_config(tmp_path, True)
    cfg["tables"][0]["statistics"] = ["share"]
    with pytest.raises(ConfigError, match=r"tables\[0\]\.missing_domain: found True"):
        parse_config(cfg, base_dir=tmp_path)


def test_missing_domain_on_arrow_backed_columns(tmp_path):
    """Columns read from Parquet can hand out read-only arrays: the Missing domain of a
    text column (blank sector of non-workers) is built without writing into them."""
    cfg = {"input": {"path": str(SAMPLE / "fl_survey.parquet")},
           "mapping": str(SAMPLE / "mapping.yaml"),
           "design": {"weight": "w_final", "strata": "stratum", "psu": "psu"},
           "sensitivity": False,
           "tables": [{"name": "by_sector", "by": ["sector"], "statistics": ["total"],
                       "missing_domain": True}],
           "reliability": {"min_n": 0, "cv_flag": 50, "cv_suppress": 100,
                           "complementary": False}}
    res = run_pipeline(parse_config(cfg, base_dir=tmp_path))
    t = res.tables[0].frame
    domains = t[t["sector"].notna()]
    total = t.loc[t["sector"].isna(), "estimate"].iloc[0]
    assert "Missing" in set(domains["sector"].astype(str))
    assert domains["estimate"].sum() == pytest.approx(total, rel=1e-9)

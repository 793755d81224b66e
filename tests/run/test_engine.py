"""``flestimate run`` on the out-of-core engines (issue 18): the bundled sample config
run with ``input.engine: duckdb`` and on a 2-process Dask LocalCluster gives the tables
of ``engine: memory`` to relative 1e-12; bad input exits 2 naming the file or the key,
with no output folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from flestimate.cli import main
from flestimate.io import read_survey, write_parquet
from flestimate.io.frames import as_frame
from flestimate.run.config import load_config
from flestimate.run.engine import STAGING_PREFIX, choose_engine, total_memory
from flestimate.run.pipeline import run_pipeline
from flestimate.run.progress import Progress

from .conftest import copy_sample_to

RTOL = 1e-12


# raked to the margins, then calibrated to the region x sex cells and age groups
RAKE_CALIBRATE = [{"step": "rake", "totals": "margins.csv"},
                  {"step": "calibrate", "totals": "margins.csv",
                   "variables": [["region", "sex"], "age_group"]}]


def _config(folder: Path, name: str, *, path: str = "fl_survey.parquet",
            weighting: list | None = None, **inp) -> Path:
    """The sample config over ``path`` with the ``input:`` keys ``inp`` (and the
    ``weighting:`` steps, default the sample's)."""
    raw = yaml.safe_load((folder / "example.yaml").read_text(encoding="utf-8"))
    raw["input"] = {"path": path, **inp}
    if weighting is not None:
        raw["weighting"] = weighting
    out = folder / f"{name}.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("engine")
    copy_sample_to(folder)
    data = read_survey(folder / "fl_survey.parquet")
    frame = as_frame(data)
    parts = folder / "parts"
    parts.mkdir()
    # two files, each with whole households (the PSUs of odd and even numbers), with
    # the labels in their schema metadata
    for k in (0, 1):
        write_parquet(frame[frame["psu"] % 2 == k], parts / f"part{k}.parquet",
                      variable_labels=data.variable_labels, value_labels=data.value_labels)
    return folder


@pytest.fixture(scope="module")
def memory_result(sample_dir):
    return run_pipeline(load_config(_config(sample_dir, "memory", engine="memory")))


def _assert_same_tables(a, b) -> None:
    assert [t.name for t in a.tables] == [t.name for t in b.tables]
    for ta, tb in zip(a.tables, b.tables, strict=True):
        fa, fb = ta.frame, tb.frame
        assert list(fa.columns) == list(fb.columns), ta.name
        assert len(fa) == len(fb), ta.name
        for col in fa.columns:
            x, y = fa[col], fb[col]
            if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
                np.testing.assert_allclose(y.to_numpy(float), x.to_numpy(float), rtol=RTOL,
                                           atol=0, equal_nan=True, err_msg=f"{ta.name}.{col}")
            else:
                assert x.isna().tolist() == y.isna().tolist(), f"{ta.name}.{col}"
                assert x[x.notna()].astype(str).tolist() == y[y.notna()].astype(str).tolist()
    for block in ("prevalence", "persons", "stock"):
        for key, value in a.headline[block].items():
            if value is not None:
                assert b.headline[block][key] == pytest.approx(value, rel=RTOL, abs=0), key
    for policy in ("conservative", "upper_bound"):
        x, y = a.sensitivity[policy]["prevalence"], b.sensitivity[policy]["prevalence"]
        assert y["estimate"] == pytest.approx(x["estimate"], rel=RTOL, abs=0)
        assert y["se"] == pytest.approx(x["se"], rel=RTOL, abs=0)
    assert b.sensitivity["changed_n"] == a.sensitivity["changed_n"]
    assert b.sensitivity["changed_weighted"] == pytest.approx(a.sensitivity["changed_weighted"],
                                                              rel=RTOL, abs=0)
    assert b.design["Respondents (rows)"] == a.design["Respondents (rows)"]
    assert b.design["PSUs"] == a.design["PSUs"] and b.design["Strata"] == a.design["Strata"]


def test_duckdb_run_equals_memory_run(sample_dir, memory_result, tmp_path):
    out = tmp_path / "out"
    progress = Progress(15, quiet=True)
    result = run_pipeline(load_config(_config(sample_dir, "duck", engine="duckdb")),
                          progress=progress, work_dir=out)
    _assert_same_tables(memory_result, result)
    assert "population columns and the design (duckdb)" in progress.timings
    assert "classifying 1 Parquet file(s), one at a time" in progress.timings
    assert result.design["Engine"].startswith("duckdb")
    assert out.is_dir() and not any(out.iterdir())  # the staging folder is gone
    # the tables are not empty: the comparison compared numbers
    assert memory_result.tables[0].frame["estimate"].notna().any()


def test_dask_cluster_run_on_a_folder_equals_memory_run(sample_dir, memory_result,
                                                        dask_client, tmp_path):
    address = dask_client.scheduler.address
    cfg = _config(sample_dir, "dask", path="parts", engine="dask", scheduler=address)
    result = run_pipeline(load_config(cfg), work_dir=tmp_path / "out")
    _assert_same_tables(memory_result, result)
    assert result.design["Engine"].startswith("dask (out-of-core, 2 Parquet")


@pytest.fixture(scope="module")
def raked_memory_result(sample_dir):
    cfg = _config(sample_dir, "raked-memory", engine="memory", weighting=RAKE_CALIBRATE)
    return run_pipeline(load_config(cfg))


def test_duckdb_run_raked_and_calibrated_equals_memory_run(sample_dir, raked_memory_result,
                                                           memory_result, tmp_path):
    cfg = _config(sample_dir, "raked-duck", engine="duckdb", weighting=RAKE_CALIBRATE)
    result = run_pipeline(load_config(cfg), work_dir=tmp_path / "out")
    _assert_same_tables(raked_memory_result, result)
    # the weights after each step, summarised on the engine
    assert result.weight_summary == raked_memory_result.weight_summary
    assert [r[0] for r in result.weight_summary["rows"]] == ["input", "rake", "calibrate"]
    # the steps changed the numbers: the comparison is not the poststratified run's
    a = raked_memory_result.tables[0].frame["se"].iloc[0]
    assert a != pytest.approx(memory_result.tables[0].frame["se"].iloc[0], rel=1e-6)


def test_dask_cluster_run_raked_and_calibrated_equals_memory_run(sample_dir, dask_client,
                                                                 raked_memory_result, tmp_path):
    cfg = _config(sample_dir, "raked-dask", path="parts", engine="dask",
                  scheduler=dask_client.scheduler.address, weighting=RAKE_CALIBRATE)
    result = run_pipeline(load_config(cfg), work_dir=tmp_path / "out")
    _assert_same_tables(raked_memory_result, result)
    assert result.weight_summary == raked_memory_result.weight_summary


def test_cli_duckdb_writes_the_outputs_and_no_staging(sample_dir, tmp_path, capsys):
    cfg = _config(sample_dir, "cli", path="parts/*.parquet", engine="duckdb")
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"national.csv", "manifest.json", "report.html"} <= names
    assert not any(n.startswith(STAGING_PREFIX) for n in names)
    assert "persons in forced labour" in capsys.readouterr().out


def _spoilt_parts(sample_dir: Path, folder: Path, spoil) -> Path:
    """The two sample parts in ``folder``, ``part1.parquet`` changed by ``spoil``."""
    folder.mkdir()
    for f in sorted((sample_dir / "parts").iterdir()):
        frame = pd.read_parquet(f)
        (spoil(frame) if f.name == "part1.parquet" else frame).to_parquet(folder / f.name,
                                                                           index=False)
    return folder


def test_missing_column_in_one_file_exits_2_naming_it(sample_dir, tmp_path, capsys):
    parts = _spoilt_parts(sample_dir, tmp_path / "bad", lambda f: f.drop(columns=["age"]))
    cfg = _config(sample_dir, "bad", path=str(parts), engine="duckdb")
    out = tmp_path / "out" / "deeper"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "'age'" in err and "part1.parquet" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_missing_weight_is_reported_in_the_users_file(sample_dir, tmp_path, capsys):
    parts = _spoilt_parts(sample_dir, tmp_path / "bad",
                          lambda f: f.assign(w_final=f["w_final"].where(f.index != 14)))
    cfg = _config(sample_dir, "badw", path=str(parts), engine="duckdb")
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "'w_final'" in err and "part1.parquet' row 15" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("edit", "key"), [
    (lambda raw: raw["tables"][3].update(missing_domain=True), "tables[3].missing_domain"),
    (lambda raw: raw["weighting"].append({"step": "trim", "upper": 30}), "weighting[1].step"),
    (lambda raw: raw["input"].update(options={"row_limit": 10}), "input.options.row_limit"),
    (lambda raw: raw.update(weighting=[{"step": "trim", "upper": 30}]), "weighting[0].step"),
    (lambda raw: raw.update(tests=[{"row": "fl", "col": "region"}]), "tests:"),
    (lambda raw: raw.update(models=[{"name": "m", "formula": "fl ~ sex"}]), "models:"),
])
def test_what_the_large_path_lacks_is_refused_by_key(sample_dir, tmp_path, capsys, edit, key):
    raw = yaml.safe_load(_config(sample_dir, "x", engine="duckdb").read_text(encoding="utf-8"))
    edit(raw)
    cfg = sample_dir / f"refused-{key.replace('.', '_')}.yaml"
    cfg.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert key in err and "engine: memory" in err
    assert not out.exists()


@pytest.mark.parametrize(("inp", "message"), [
    ({"engine": "spark"}, "input.engine"),
    ({"engine": "duckdb", "scheduler": "tcp://h:8786"}, "engine: dask"),
    ({"engine": "dask", "scheduler": "localhost"}, "tcp://"),
    ({"engine": "duckdb", "memory_share": 0.5}, "engine: auto"),
    ({"engine": "auto", "memory_share": 1.5}, "input.memory_share"),
    ({"engine": "duckdb", "path": "nothing/*.parquet"}, "no Parquet data"),
    ({"engine": "duckdb", "path": "fl_survey.sav"}, "expected Parquet data"),
])
def test_engine_keys_are_checked(sample_dir, tmp_path, capsys, inp, message):
    inp = dict(inp)
    cfg = _config(sample_dir, "keys", path=inp.pop("path", "fl_survey.parquet"), **inp)
    assert main(["run", str(cfg), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_auto_takes_duckdb_above_the_share_of_memory(sample_dir):
    size = (sample_dir / "fl_survey.parquet").stat().st_size
    assert total_memory() > 100 * 2**20
    tiny = size / total_memory() / 100  # a share far below the file's (uncompressed) size
    small = load_config(_config(sample_dir, "auto1", engine="auto", memory_share=tiny))
    assert choose_engine(small) == "duckdb"
    large = load_config(_config(sample_dir, "auto2", engine="auto", memory_share=0.9))
    assert choose_engine(large) == "memory"
    folder = load_config(_config(sample_dir, "auto3", path="parts", engine="auto"))
    assert choose_engine(folder) == "duckdb"
    sav = load_config(_config(sample_dir, "auto4", path="fl_survey.sav", engine="auto"))
    assert choose_engine(sav) == "memory"

"""``flestimate mse``: the command, its outputs and its errors."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from flestimate import mse
from flestimate.cli import main

ROOT = Path(__file__).resolve().parents[2]
UK = ROOT / "data" / "mse" / "uk_2013.csv"
LISTS = "LA,NG,PF,GO,GP,NCA"


def test_prints_the_estimate_and_writes_every_output(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["mse", str(UK), "--lists", LISTS, "--interactions", "PF:NCA,LA:NG",
                 "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "14,218" in text and "12,627 – 16,127" in text
    names = {p.name for p in out.iterdir()}
    assert names == {"estimates.csv", "models.csv", "coefficients.csv", "intervals.csv",
                     "tables.xlsx", "results.json", "report.html", "manifest.json"}
    manifest = json.loads((out / "manifest.json").read_text())
    for name, sha in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == sha
    assert manifest["input"]["sha256"] == hashlib.sha256(UK.read_bytes()).hexdigest()
    assert manifest["settings"]["interactions"] == ["PF:NCA", "LA:NG"]
    est = pd.read_csv(out / "estimates.csv")
    assert round(est["total"].iloc[0]) == 14218
    results = json.loads((out / "results.json").read_text())
    assert results["observed"] == 2744 and round(results["total"]) == 14218
    html = (out / "report.html").read_text()
    assert "14,218" in html and "data:image/png;base64," in html and "closed" in html
    sheets = pd.read_excel(out / "tables.xlsx", sheet_name=None)
    assert {"Estimates", "Models", "Coefficients", "Intervals", "Notes", "Metadata"} <= set(sheets)


def test_selection_bootstrap_and_strata_from_the_command_line(tmp_path, capsys):
    data = pd.concat([mse.uk_2013().assign(region="N"), mse.uk_2013().assign(region="S")])
    path = tmp_path / "two.csv"
    data.to_csv(path, index=False)
    code = main(["mse", str(path), "--lists", LISTS, "--select", "stepwise", "--strata",
                 "region", "--ci", "percentile", "--bootstrap", "50", "--seed", "3"])
    assert code == 0
    text = capsys.readouterr().out
    assert "By stratum (region)" in text and "95% CI, percentile" in text
    assert "22,836" in text  # 2 x 11,418


def test_a_rerun_replaces_its_own_files_and_refuses_a_foreign_folder(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["mse", str(UK), "--lists", LISTS, "--out", str(out)]) == 0
    assert main(["mse", str(UK), "--lists", LISTS, "--select", "stepwise", "--out", str(out)]) == 0
    assert round(pd.read_csv(out / "estimates.csv")["total"].iloc[0]) == 11418
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["mse", str(UK), "--lists", LISTS, "--out", str(mine)]) == 2
    assert "notes.txt" in capsys.readouterr().err
    assert main(["mse", str(UK), "--lists", LISTS, "--out", str(mine), "--force"]) == 0
    assert (mine / "notes.txt").read_text() == "keep me"


def test_text_cells_cannot_become_formulas(tmp_path):
    data = mse.uk_2013().rename(columns={"LA": "=HYPERLINK(1)"})
    path = tmp_path / "lists.csv"
    data.to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["mse", str(path), "--lists", "=HYPERLINK(1),NG,PF,GO,GP,NCA",
                 "--interactions", "=HYPERLINK(1):NG", "--out", str(out)]) == 0
    coefs = (out / "coefficients.csv").read_text()
    assert "'=HYPERLINK(1)" in coefs and "\n=HYPERLINK" not in coefs
    from openpyxl import load_workbook

    ws = load_workbook(out / "tables.xlsx")["Coefficients"]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)
             and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" for c in cells)


@pytest.mark.parametrize(("args", "message"), [
    (["--lists", "LA,NG,XX"], "list column(s) 'XX' not found"),
    (["--lists", ","], "--lists: give the list columns"),
    (["--lists", LISTS, "--interactions", "PFNCA"], "'PFNCA' is not a pair"),
    (["--lists", LISTS, "--interactions", "PF:XX"], "not one of the lists"),
    (["--lists", LISTS, "--level", "95"], "level=95.0"),
    (["--lists", LISTS, "--ci", "bca", "--bootstrap", "3"], "bootstrap=3"),
    (["--lists", LISTS, "--count", "n"], "count column 'n' not found"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    done = subprocess.run([sys.executable, "-m", "flestimate", "mse", str(UK), *args],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_file_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "flestimate", "mse", str(tmp_path / "no.csv"),
                           "--lists", "A,B"], capture_output=True, text=True)
    assert done.returncode == 2 and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_study_command_runs_and_rejects_bad_input(tmp_path):
    from flestimate.mse.study import main as study_main

    assert study_main(["--quick", "--out", str(tmp_path)]) == 0
    table = (tmp_path / "mse-study-table.md").read_text()
    assert table.count("\n") == 8 and "stepwise" in table
    assert study_main(["--replications", "0"]) == 2


def test_the_benchmark_script_runs(capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("_bench_mse", ROOT / "benchmarks" / "bench_mse.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--replicates", "20", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("\nmse ") == 2 and "93 models considered" in out

"""The benchmark harness (benchmarks/run.py) must keep running: its --quick mode and its parts.

--quick runs every workload once on 10,000 simulated respondents with flestimate only (no
peers, no R), so it needs nothing beyond the project's own dependencies.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def _module(name: str):
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    doc = tmp / "performance.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--strict", "--write-doc",
         "--doc", str(doc), "--data-dir", str(tmp / "data"), "--results-dir",
         str(tmp / "results")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    raw = sorted((tmp / "results").glob("run-*.json"))
    return proc, doc, raw


@pytest.mark.slow  # about 10 s: eight processes that each import pandas and flestimate
def test_quick_mode_runs_every_workload(quick_run):
    proc, doc, raw = quick_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runner = _module("runner_common")
    records = json.loads(raw[-1].read_text())["records"]
    assert [r["workload"] for r in records] == runner.WORKLOADS
    assert {r["system"] for r in records} == {"flestimate"}
    for rec in records:
        # a feature that exists must produce numbers; one that does not is "pending"
        assert rec["status"] in ("ok", "pending"), rec
        if rec["status"] == "ok":
            assert rec["n_results"] > 0
            assert rec["wall"] > 0 and rec["peak_mb"] > 0
            assert "estimate" in rec["steps"] or "load" in rec["steps"]


@pytest.mark.slow
def test_quick_mode_writes_the_report_when_asked(quick_run):
    proc, doc, _ = quick_run
    text = doc.read_text()
    assert "python benchmarks/run.py --quick" in text
    assert "| w1_national | 10k | flestimate |" in text
    assert "## Issue targets" in text


def test_quick_mode_writes_no_doc_unless_asked():
    run = _module("run")
    assert run.parse_args(["--quick"]).write is False
    assert run.parse_args(["--quick", "--write-doc"]).write is True
    full = run.parse_args([])
    assert full.write is True and full.size_list == [10_000, 100_000, 1_000_000]
    assert full.system_list == ["flestimate", "r", "svy", "samplics"] and full.repeats == 3
    quick = run.parse_args(["--quick"])
    assert (quick.size_list, quick.system_list, quick.repeats) == ([10_000], ["flestimate"], 1)


def test_agreement_measures_the_largest_relative_difference():
    run = _module("run")
    ref = {"a": {"estimate": 0.02, "se": 0.004, "ci_lower": 0.01, "ci_upper": 0.03, "deff": 2.0},
           "b": {"estimate": 0.5, "se": 0.1, "ci_lower": 0.3, "ci_upper": 0.7, "deff": None}}
    other = json.loads(json.dumps(ref))
    other["b"]["ci_upper"] = 0.7 * (1 + 1e-6)
    other["c"] = dict(ref["a"])
    agree = run.agreement(other, ref)
    assert agree["estimate"] == 0 and agree["se"] == 0
    assert agree["ci"] == pytest.approx(1e-6, rel=1e-6)
    assert agree["deff"] == 0  # None on one side is skipped, not counted as agreement failure
    assert agree["keys"] == 2 and agree["missing"] == 1


def test_sizes_parse_and_print():
    datagen = _module("datagen")
    assert [datagen.parse_size(s) for s in ("10k", "100K", "1M", "2500")] == [
        10_000, 100_000, 1_000_000, 2500]
    assert [datagen.size_label(n) for n in (10_000, 1_000_000, 2500)] == ["10k", "1M", "2500"]


def test_rao_wu_factors_resample_n_minus_one_psus_per_stratum():
    datagen = _module("datagen")
    psu_stratum = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    factors = datagen.rao_wu_factors(psu_stratum, 50, np.random.default_rng(1))
    n_h = np.bincount(psu_stratum)
    counts = factors / (n_h / (n_h - 1))[psu_stratum][:, None]
    np.testing.assert_allclose(counts, np.round(counts))
    for h, size in enumerate(n_h):
        # n_h - 1 draws per stratum and replicate, rescaled by n_h / (n_h - 1): factors sum to n_h
        np.testing.assert_allclose(factors[psu_stratum == h].sum(axis=0), size)

"""The bundled sample survey (data/sample/) read in every format it ships in.

* All four files give the same frame of codes.
* The .sav file agrees with an independent SPSS reader, R's foreign::read.spss
  (tests/reference/make_reference_io.R -> io_sample_sav_foreign.json): values, system
  missing counts, code counts, variable labels, value labels and user-missing codes.
* Stata holds the same variable labels and numeric value labels as SPSS (Stata cannot
  label text variables, so ``sector``'s labels exist only in the .sav file).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate import read_survey
from flestimate.io import write_codebook, write_parquet

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "io_sample_sav_foreign.json"
FORMATS = ("sav", "dta", "csv", "parquet")


@pytest.fixture(scope="module")
def sample():
    return {fmt: read_survey(SAMPLE / f"fl_survey.{fmt}") for fmt in FORMATS}


@pytest.fixture(scope="module")
def foreign():
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("fmt", FORMATS[1:])
def test_every_sample_format_reads_the_same_codes(sample, fmt):
    # SPSS stores every number as a double; the other files keep integer columns as int64
    pd.testing.assert_frame_equal(sample[fmt].frame, sample["sav"].frame, check_dtype=False)
    assert sample[fmt].source.rows == sample["sav"].source.rows == 19_846
    assert sample[fmt].source.columns == 70


def test_sav_values_match_foreign_read_spss(sample, foreign):
    frame = sample["sav"].frame
    assert len(frame) == foreign["rows"]
    assert list(frame.columns) == list(foreign["columns"])
    for name, ref in foreign["columns"].items():
        s = frame[name]
        if ref["type"] == "numeric":
            v = s.to_numpy(dtype=float)
            assert np.isnan(v).sum() == ref["n_na"], name
            assert np.nansum(v) == pytest.approx(ref["sum"], rel=1e-9, abs=0), name
            assert np.nansum(v * v) == pytest.approx(ref["sum_sq"], rel=1e-9, abs=0), name
            if ref.get("counts"):
                got = s.value_counts(dropna=True)
                assert {str(int(k)): int(c) for k, c in got.items()} == ref["counts"], name
        else:
            assert s.isna().sum() == ref["n_empty"], name  # blank text cells are missing
            got = s.dropna().value_counts()
            assert {str(k): int(c) for k, c in got.items()} == ref["counts"], name


def test_sav_labels_and_missing_codes_match_foreign(sample, foreign):
    data = sample["sav"]
    for name, ref in foreign["columns"].items():
        assert data.variable_labels.get(name) == ref["label"], name
        labels = {str(k): v for k, v in data.value_labels.get(name, {}).items()}
        assert labels == ref.get("value_labels", {}), name
        if ref["missing_type"] == "none":
            assert name not in data.missing_values
        else:  # foreign: "two" = two discrete user-missing values
            assert ref["missing_type"] == "two", name
            assert list(data.missing_values[name]) == ref["missing_values"], name


def test_sav_keeps_dont_know_and_refused_as_codes(sample, foreign):
    data = sample["sav"]
    items = [c for c, r in foreign["columns"].items() if r.get("missing_values") == [8, 9]]
    assert len(items) >= 40
    for col in items:
        s = data.frame[col]
        n89 = int(s.isin([8, 9]).sum())
        assert n89 == sum(foreign["columns"][col]["counts"].get(k, 0) for k in ("8", "9"))
        assert data.user_missing_mask(col).sum() == n89


def test_stata_and_spss_labels_agree(sample):
    sav, dta = sample["sav"], sample["dta"]
    assert dta.variable_labels == sav.variable_labels
    assert set(sav.value_labels) - set(dta.value_labels) == {"sector"}
    for col, labels in dta.value_labels.items():
        assert labels == sav.value_labels[col], col
    assert dta.missing_values == {}  # Stata has no user-missing codes: 8/9 are plain codes


def test_labels_travel_to_csv_and_parquet_through_the_codebook_conventions(sample, tmp_path):
    sav = sample["sav"]
    sav.frame.to_csv(tmp_path / "s.csv", index=False)
    write_codebook(sav, tmp_path / "s.codebook.yaml")
    (tmp_path / "pq").mkdir()
    write_parquet(sav, tmp_path / "pq" / "s.parquet")  # labels in the schema metadata only
    for name in ("s.csv", "pq/s.parquet"):
        got = read_survey(tmp_path / name)
        pd.testing.assert_frame_equal(got.frame, sav.frame, check_dtype=False)
        assert got.variable_labels == sav.variable_labels
        assert got.value_labels == sav.value_labels
        assert got.missing_values == sav.missing_values


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_committed_csv_and_parquet_carry_the_sav_labels(sample, fmt):
    # the simulator writes fl_survey.codebook.yaml beside the CSV and the labels into the
    # Parquet schema, so every sample format reads with the same labels and missing codes
    sav, other = sample["sav"], sample[fmt]
    assert other.variable_labels == sav.variable_labels
    assert other.value_labels == sav.value_labels
    assert other.missing_values == sav.missing_values

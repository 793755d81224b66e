"""Bad large input: clear errors naming the file, column and row, and no result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate
from flestimate import SurveyDesign
from flestimate.errors import DesignError
from flestimate.large import EngineError


def _frame(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "stratum": rng.integers(0, 3, n),
        "psu": np.arange(n) // 10,
        "w": rng.uniform(1.0, 3.0, n),
        "y": rng.integers(0, 2, n),
    }).assign(stratum=lambda f: f["psu"] % 3)


def test_weight_nan_deep_in_a_file_is_named_with_file_and_row(tmp_path):
    folder = tmp_path / "survey"
    folder.mkdir()
    _frame(2_000).to_parquet(folder / "part0.parquet")
    second = _frame(3_000, seed=2)
    second.loc[2_500, "w"] = np.nan  # row 2,501 of the second file
    second.to_parquet(folder / "part1.parquet")
    with pytest.raises(DesignError) as info:
        SurveyDesign.from_parquet(folder, weight="w", strata="stratum", psu="psu")
    message = str(info.value)
    assert "weight column 'w' has 1 values" in message
    assert "part1.parquet" in message and "row 2,501" in message


def test_weight_zero_and_null_counted(tmp_path):
    frame = _frame(100)
    frame.loc[3, "w"] = 0.0
    frame["w"] = pd.array(frame["w"], dtype="Float64")
    frame.loc[50, "w"] = pd.NA  # a Parquet null
    frame.to_parquet(tmp_path / "a.parquet")
    with pytest.raises(DesignError, match=r"has 2 values .*row 4\b.*row 51\b"):
        SurveyDesign.from_parquet(tmp_path / "a.parquet", weight="w", psu="psu")


def test_missing_column_is_named(tmp_path):
    _frame(50).to_parquet(tmp_path / "a.parquet")
    with pytest.raises(DesignError, match=r"column 'strata_x' is not in the data"):
        SurveyDesign.from_parquet(tmp_path / "a.parquet", weight="w", strata="strata_x")
    large = SurveyDesign.from_parquet(tmp_path / "a.parquet", weight="w", psu="psu")
    with pytest.raises(DesignError, match=r"column 'income' is not in the data"):
        large.mean("income")


def test_files_disagreeing_on_a_type_are_named(tmp_path):
    folder = tmp_path / "survey"
    folder.mkdir()
    _frame(50).to_parquet(folder / "a.parquet")
    odd = _frame(50, seed=3)
    odd["psu"] = odd["psu"].astype(str)
    odd.to_parquet(folder / "b.parquet")
    with pytest.raises(DesignError, match=r"column 'psu' has type int64 in .*a\.parquet.* but "
                       r"(large_)?string in .*b\.parquet"):
        SurveyDesign.from_parquet(folder, weight="w", psu="psu")


def test_a_file_missing_a_column_is_named(tmp_path):
    folder = tmp_path / "survey"
    folder.mkdir()
    _frame(50).to_parquet(folder / "a.parquet")
    _frame(50).drop(columns="y").to_parquet(folder / "b.parquet")
    large = SurveyDesign.from_parquet(folder, weight="w", psu="psu")
    with pytest.raises(DesignError, match=r"column 'y' is not in the Parquet file .*b\.parquet"):
        large.mean("y")


def test_no_file_found(tmp_path):
    with pytest.raises(DesignError, match=r"no Parquet file found"):
        SurveyDesign.from_parquet(tmp_path / "none*.parquet", weight="w")


def test_unknown_engine(tmp_path):
    _frame(20).to_parquet(tmp_path / "a.parquet")
    with pytest.raises(DesignError, match=r"engine='spark' is not known"):
        SurveyDesign.from_parquet(tmp_path / "a.parquet", weight="w", engine="spark")


def test_dask_cluster_gone_raises_engine_error_and_no_result(tmp_path):
    distributed = pytest.importorskip("distributed")
    import dask.dataframe as dd

    frame = _frame(200)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        large = flestimate.LargeDesign.over(dd.from_pandas(frame, npartitions=2), weight="w",
                                            strata="stratum", psu="psu", client=client)
        assert large.mean("y").to_frame()["estimate"].notna().all()
        cluster.close()  # the cluster goes away
        with pytest.raises(EngineError, match=r"Dask could not compute the grouped sums"):
            large.mean("y")
    finally:
        client.close()
        cluster.close()


def test_classify_parquet_file_by_file_equals_classify(tmp_path):
    from flestimate.large.classify import classify_parquet

    root = Path(__file__).resolve().parents[2] / "data" / "sample"
    data = pd.read_csv(root / "fl_survey.csv")
    mapping = root / "mapping.yaml"
    folder = tmp_path / "in"
    folder.mkdir()
    for part, (_, households) in enumerate(data.groupby(data["stratum"] % 3)):
        households.to_parquet(folder / f"p{part}.parquet", index=False)
    files = classify_parquet(folder, mapping, tmp_path / "out")
    assert len(files) == 3
    streamed = pd.concat([pd.read_parquet(f) for f in files]).set_index("pid").sort_index()
    whole = flestimate.classify(data, mapping).set_index("pid").sort_index()
    for col in ("fl", "fl_adult", "fl_child", "fl_form"):
        assert streamed[col].tolist() == whole[col].tolist(), col
    # estimates through DuckDB from the classified files equal the in-memory ones
    large = SurveyDesign.from_parquet(tmp_path / "out", weight="w_final", strata="stratum",
                                      psu="psu")
    memory = SurveyDesign(whole.reset_index(), weight="w_final", strata="stratum", psu="psu")
    a = memory.prevalence("fl", by="sex").to_frame()
    b = large.prevalence("fl", by="sex").to_frame()
    np.testing.assert_allclose(b["se"], a["se"], rtol=1e-12)


def test_classify_parquet_failure_leaves_no_output(tmp_path):
    from flestimate.large.classify import classify_parquet

    root = Path(__file__).resolve().parents[2] / "data" / "sample"
    data = pd.read_csv(root / "fl_survey.csv")
    folder = tmp_path / "in"
    folder.mkdir()
    data.iloc[:500].to_parquet(folder / "a.parquet", index=False)
    data.iloc[500:].drop(columns="ur_i1").to_parquet(folder / "b.parquet", index=False)
    with pytest.raises(Exception) as info:
        classify_parquet(folder, root / "mapping.yaml", tmp_path / "out")
    assert "b.parquet" in "".join(getattr(info.value, "__notes__", []))
    assert list((tmp_path / "out").glob("*.parquet")) == []

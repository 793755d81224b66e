"""Bad input to read_survey: each case raises LoaderError naming the file and the reason."""

from __future__ import annotations

import os
import signal

import pandas as pd
import pyreadstat
import pytest

import flestimate
from flestimate import read_survey
from flestimate.errors import FlestimateError, LoaderError, ValidationError
from io_fixtures.survey_files import ALL_FORMATS, survey_frame, write


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    return {fmt: write(fmt, folder) for fmt in ALL_FORMATS}


def _copy(src, dst, data=None):
    dst.write_bytes(src.read_bytes() if data is None else data)
    return dst


def test_loader_error_is_os_and_value_error():
    assert issubclass(LoaderError, OSError) and issubclass(LoaderError, ValueError)
    assert issubclass(LoaderError, FlestimateError)


def test_missing_file_suggests_close_names(tmp_path):
    (tmp_path / "survey_2024.sav").write_bytes(b"x")
    with pytest.raises(LoaderError, match=r"survey_2023\.sav' does not exist.*survey_2024\.sav"):
        read_survey(tmp_path / "survey_2023.sav")
    with pytest.raises(FileNotFoundError if False else OSError):  # catchable as OSError
        read_survey(tmp_path / "nothing.csv")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(LoaderError, match="is a directory, not a file"):
        read_survey(tmp_path)


def test_empty_file(tmp_path):
    for ext in ("sav", "csv", "parquet"):
        path = tmp_path / f"empty.{ext}"
        path.write_bytes(b"")
        with pytest.raises(LoaderError, match=rf"empty\.{ext}' is empty \(0 bytes\)"):
            read_survey(path)


def test_header_only_csv_has_no_rows(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("a,b\n")
    with pytest.raises(LoaderError, match="header.csv' contains no data rows"):
        read_survey(path)
    with pytest.raises(LoaderError, match="contains no data rows"):
        list(read_survey(path, chunksize=5))


def test_unknown_extension_lists_supported_formats(tmp_path):
    path = tmp_path / "survey.rds"
    path.write_bytes(b"data")
    with pytest.raises(LoaderError) as exc:
        read_survey(path)
    msg = str(exc.value)
    assert "survey.rds" in msg and "'.rds'" in msg
    for ext in (".sav", ".zsav", ".por", ".dta", ".sas7bdat", ".xpt", ".csv", ".tsv",
                ".parquet", ".xlsx"):
        assert ext in msg
    assert "format=" in msg
    with pytest.raises(LoaderError, match="format='rds' is not supported"):
        read_survey(path, format="rds")


@pytest.mark.parametrize("fmt", ["sav", "zsav", "dta", "xpt", "por", "parquet", "xlsx"])
def test_truncated_file(files, tmp_path, fmt):
    data = files[fmt].read_bytes()
    path = _copy(files[fmt], tmp_path / f"cut.{fmt}", data[: int(len(data) * 0.7)])
    with pytest.raises(LoaderError, match=rf"cut\.{fmt}'.*(truncated|corrupted)"):
        read_survey(path)


def test_stata_file_cut_in_its_trailer(files, tmp_path):
    data = files["dta"].read_bytes()
    path = _copy(files["dta"], tmp_path / "cut.dta", data[:-5])
    # ReadStat itself reads this file (without its value labels); we refuse it
    pyreadstat.read_dta(str(path))
    with pytest.raises(LoaderError, match="does not end with the </stata_dta> trailer"):
        read_survey(path)


def test_xpt_cut_between_rows(files, tmp_path):
    data = files["xpt"].read_bytes()
    path = _copy(files["xpt"], tmp_path / "cut.xpt", data[: len(data) - 100])
    frame, _ = pyreadstat.read_xport(str(path))  # ReadStat silently returns fewer rows
    assert len(frame) < 40
    with pytest.raises(LoaderError, match="80-byte records"):
        read_survey(path)


def test_csv_last_line_cut(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_text("a,b,c\n1,2,3\n4,5")
    with pytest.raises(LoaderError, match="last line has 2 of 3 fields"):
        read_survey(path)
    path.write_text("a,b,c\n1,2,3\n4,5,6")  # complete, but no line end: warned
    with pytest.warns(flestimate.FlestimateWarning, match="does not end with a line end"):
        assert len(read_survey(path)) == 2


@pytest.mark.parametrize("fmt", ["sav", "dta", "parquet", "xlsx", "sas7bdat", "xpt", "por"])
def test_garbage_with_a_known_extension(tmp_path, fmt):
    path = tmp_path / f"garbage.{fmt}"
    path.write_bytes(b"this is not a survey file at all\n" * 100)
    with pytest.raises(LoaderError, match=rf"garbage\.{fmt}'"):
        read_survey(path)


def test_file_of_another_format(files, tmp_path):
    path = _copy(files["dta"], tmp_path / "really_stata.sav")
    with pytest.raises(LoaderError, match="really_stata.sav.*format="):
        read_survey(path)


def test_wrong_encoding_csv(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("region,name\n1,Sào Tomé\n2,Zürich\n".encode("latin-1"))
    with pytest.raises(LoaderError, match=r"latin\.csv' cannot be decoded as utf-8.*encoding="):
        read_survey(path)
    data = read_survey(path, encoding="latin-1")
    assert data.frame["name"].tolist() == ["Sào Tomé", "Zürich"]
    with pytest.raises(LoaderError, match="unknown encoding 'klingon'"):
        read_survey(path, encoding="klingon")


def test_wrong_encoding_spss(tmp_path):
    df = pd.DataFrame({"name": ["Sào Tomé", "Zürich"], "x": [1.0, 2.0]})
    path = tmp_path / "utf8.sav"
    pyreadstat.write_sav(df, str(path))
    with pytest.raises(LoaderError, match=r"utf8\.sav' cannot be decoded with encoding 'ascii'"):
        read_survey(path, encoding="ascii")


@pytest.mark.parametrize("fmt", ["sav", "dta", "csv", "parquet", "xlsx", "xpt"])
def test_unknown_column_suggests_closest(files, fmt):
    with pytest.raises(LoaderError) as exc:
        read_survey(files[fmt], columns=["sex", "agee", "wieght"])
    msg = str(exc.value)
    assert "2 requested column(s) not in the file (6 columns)" in msg
    assert "'agee' (closest: 'age')" in msg and "'wieght' (closest: 'w')" not in msg
    assert f"survey.{fmt}" in msg
    with pytest.raises(LoaderError, match="'p11' \\(closest: 'p1'\\)"):
        list(read_survey(files[fmt], columns=["p11"], chunksize=10))


def test_case_only_column_difference_suggested(files):
    with pytest.raises(LoaderError, match="'p1' \\(closest: 'P1'\\)"):
        read_survey(files["por"], columns=["p1"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"columns": []}, "selects nothing"),
        ({"columns": ["a", "a"]}, "'a' more than once"),
        ({"columns": [1]}, "list of column names"),
        ({"row_limit": 0}, "row_limit=0 must be a positive integer"),
        ({"row_limit": 2.5}, "row_limit=2.5"),
        ({"chunksize": -1}, "chunksize=-1"),
        ({"encoding": 5}, "encoding must be a string"),
        ({"codebook": 3}, "codebook must be a path"),
    ],
)
def test_bad_parameters(files, kwargs, match):
    with pytest.raises(ValidationError, match=match):
        read_survey(files["csv"], **kwargs)


def test_bad_path_type():
    with pytest.raises(ValidationError, match="path must be a file path"):
        read_survey(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[1, 2]", "expected a mapping with a 'variables' key"),
        ("variables: {sex: {lable: Sex}}", r"variables\.sex: unknown key\(s\) \['lable'\]"),
        ("variables: {sex: {values: {one: male}}}", "code 'one' is not a number"),
        ("variables: {sex: {missing_ranges: [[9, 8]]}}", "has lo > hi"),
        ("variables: {sex: {missing_ranges: [9]}}", r"list of \[lo, hi\] pairs"),
        ("variables: {sex: [1]}", "expected a mapping"),
        ("variables: {sex: {label: Sex}}\nextra: 1", "unknown top-level key"),
        ("variables: [unclosed", "is not valid YAML"),
    ],
)
def test_bad_codebook(files, tmp_path, text, match):
    book = tmp_path / "book.yaml"
    book.write_text(text, encoding="utf-8")
    with pytest.raises(LoaderError, match=match):
        read_survey(files["csv"], codebook=book)


def test_codebook_missing_or_of_wrong_kind(files, tmp_path):
    with pytest.raises(LoaderError, match="codebook .*nope.yaml' does not exist"):
        read_survey(files["csv"], codebook=tmp_path / "nope.yaml")
    cat = tmp_path / "formats.sas7bcat"
    cat.write_bytes(b"x")
    with pytest.raises(LoaderError, match="applies only to .sas7bdat files"):
        read_survey(files["csv"], codebook=cat)
    txt = tmp_path / "book.txt"
    txt.write_text("x")
    with pytest.raises(LoaderError, match="expected a .yaml, .yml or .json codebook"):
        read_survey(files["csv"], codebook=txt)


def test_damaged_parquet_label_metadata(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(survey_frame(), preserve_index=False)
    table = table.replace_schema_metadata({b"flestimate.labels": b"{not json"})
    path = tmp_path / "damaged.parquet"
    pq.write_table(table, path)
    with pytest.raises(LoaderError, match="'flestimate.labels' is damaged"):
        read_survey(path)


def test_reader_crash_is_contained_in_a_child_process(files, monkeypatch):
    """A header that crashes the C reader gives a LoaderError; this interpreter survives."""

    def crash(path, **kw):
        if kw.get("metadataonly"):
            os.kill(os.getpid(), signal.SIGSEGV)
        raise AssertionError("the real read must not run after a crash in the pre-check")

    monkeypatch.setattr(pyreadstat, "read_sav", crash)
    with pytest.raises(LoaderError, match=r"corrupted: its header crashed the ReadStat reader"):
        read_survey(files["sav"])


def test_file_changed_while_read(files, tmp_path, monkeypatch):
    path = _copy(files["csv"], tmp_path / "moving.csv")
    import flestimate.io.reader as reader

    real = reader.read_tabular

    def and_touch(*args, **kw):
        out = real(*args, **kw)
        with open(path, "a") as fh:
            fh.write("1,2,3,4,A,5\n")
        return out

    monkeypatch.setattr(reader, "read_tabular", and_touch)
    with pytest.raises(LoaderError, match="changed while it was being read"):
        read_survey(path)


def test_no_partial_frame_from_a_truncated_sav(files, tmp_path):
    data = files["sav"].read_bytes()
    for cut in (len(data) - 8, len(data) - 200):  # inside the last rows
        path = _copy(files["sav"], tmp_path / "rows.sav", data[:cut])
        with pytest.raises(LoaderError, match="truncated"):
            read_survey(path)


def test_spawned_pre_check_where_fork_is_not_used(files, tmp_path):
    from flestimate.io import statistical

    assert statistical._preflight_spawn("read_sav", str(files["sav"])) == 0
    garbage = _copy(files["sav"], tmp_path / "g.sav", b"not spss" * 50)
    assert statistical._preflight_spawn("read_sav", str(garbage)) == 0  # an error, no crash


def test_header_declaring_more_rows_than_the_file_can_hold(tmp_path):
    from flestimate.io.statistical import check_dimensions

    with pytest.raises(LoaderError, match="declares 16,449,576 rows x 6 columns, more values"):
        check_dimensions(tmp_path / "x.zsav", "zsav", 1732, 16_449_576, 6, selected=None,
                         row_limit=None)
    check_dimensions(tmp_path / "x.zsav", "zsav", 1732, 300, 6, selected=None, row_limit=None)


def test_file_too_large_for_memory_suggests_columns(tmp_path, monkeypatch):
    from flestimate.io import statistical

    monkeypatch.setattr(statistical, "_available_memory", lambda: 2**20)
    with pytest.raises(LoaderError, match="needs about .* GiB to read .* columns=.*chunksize="):
        statistical.check_dimensions(tmp_path / "x.sav", "sav", 10**9, 10**6, 70,
                                     selected=None, row_limit=None)
    statistical.check_dimensions(tmp_path / "x.sav", "sav", 10**9, 10**6, 70, selected=None,
                                 row_limit=1000)


def test_real_read_checks_dimensions(files, monkeypatch):
    from flestimate.io import statistical

    monkeypatch.setattr(statistical, "_available_memory", lambda: 100)
    with pytest.raises(LoaderError, match=r"survey\.sav' needs about"):
        read_survey(files["sav"])


def test_reads_without_fork_check_header_in_a_new_process(files, monkeypatch):
    import hashlib

    from flestimate.io import filecheck

    monkeypatch.setattr(filecheck, "_use_fork", lambda: False)
    for fmt in ("sav", "csv"):
        data = read_survey(files[fmt])
        assert data.source.sha256 == hashlib.sha256(files[fmt].read_bytes()).hexdigest()
    chunks = list(read_survey(files["dta"], chunksize=15))
    assert chunks[0].source.sha256 == hashlib.sha256(files["dta"].read_bytes()).hexdigest()

"""Inputs that used to give silent wrong numbers (issue 14): duplicated column names,
UTF-16 text files, blank text cells.

* A header that names a column twice is a LoaderError in every format (pandas renames
  the second copy ``w.1``, pyreadstat ``w_duplicated1``; the first copy was used).
* CSV/TSV files with a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32) read correctly; a
  file that is not in the declared or detected encoding is a clear LoaderError.
* An empty or whitespace-only text cell is missing (NaN) in every format.
"""

from __future__ import annotations

import codecs

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest

from flestimate import SurveyDesign, read_survey
from flestimate.errors import DomainWarning, LoaderError

pytestmark = pytest.mark.filterwarnings("error::flestimate.errors.FlestimateWarning")


def _read_all(path, **kw):
    """The whole file, read at once and in chunks of 2 rows (both must agree)."""
    whole = read_survey(path, **kw).frame
    chunks = pd.concat([c.frame for c in read_survey(path, chunksize=2, **kw)])
    pd.testing.assert_frame_equal(chunks, whole)
    return whole


# --------------------------------------------------------------------------- duplicated names
def test_duplicated_csv_weight_is_refused_not_silently_the_first_copy(tmp_path):
    # the case: two weight columns, the first one a stale weight; pandas read the
    # second as 'w_final.1' and the design used the first
    path = tmp_path / "survey.csv"
    path.write_text(
        "id,w_final,sex,w_final\n" + "".join(f"{i},1,{1 + i % 2},{i + 1}\n" for i in range(6))
    )
    for kw in ({}, {"chunksize": 2}, {"columns": ["id", "sex"]}, {"row_limit": 2}):
        with pytest.raises(LoaderError) as err:
            data = read_survey(path, **kw)
            if "chunksize" in kw:
                list(data)
        msg = str(err.value)
        assert "'w_final' (columns 2 and 4)" in msg and "survey.csv" in msg
        assert "Rename one of the columns in the file" in msg


def test_duplicated_tsv_names_every_duplicate(tmp_path):
    path = tmp_path / "survey.tsv"
    path.write_text("\n\na\tw\tb\tw\ta\tw\n1\t2\t3\t4\t5\t6\n")  # after blank lines
    with pytest.raises(LoaderError, match=r"2 duplicated column name\(s\): 'a' \(columns 1 and "
                                          r"5\); 'w' \(columns 2, 4 and 6\)"):
        read_survey(path)


def test_names_that_pandas_would_mangle_alike_are_not_duplicates(tmp_path):
    # 'w.1' written in the file is a name of its own; blank header cells are not compared
    path = tmp_path / "survey.csv"
    path.write_text(",w,w.1,\n1,2,3,4\n")
    frame = read_survey(path).frame
    assert list(frame.columns)[1:3] == ["w", "w.1"] and frame["w.1"].tolist() == [3]


def test_duplicated_parquet_column_is_a_loader_error(tmp_path):
    path = tmp_path / "survey.parquet"
    table = pa.table([pa.array([1, 2]), pa.array([1.0, 2.0]), pa.array([3.0, 4.0])],
                     names=["id", "w", "w"])
    pq.write_table(table, path)
    for kw in ({}, {"chunksize": 1}):
        with pytest.raises(LoaderError, match=r"parquet file .*'w' \(columns 2 and 3\)"):
            data = read_survey(path, **kw)
            if kw:
                list(data)


def test_duplicated_excel_header_is_a_loader_error(tmp_path):
    path = tmp_path / "survey.xlsx"
    pd.DataFrame([[1, 2.0, 3.0]], columns=["id", "w", "w"]).to_excel(path, index=False)
    with pytest.raises(LoaderError, match=r"xlsx file .*'w' \(columns 2 and 3\)"):
        read_survey(path)
    # a number and a text header cell that read as the same column name
    other = tmp_path / "numbers.xlsx"
    pd.DataFrame([[1, 2.0, 3.0]], columns=["id", 2020, "2020"]).to_excel(other, index=False)
    with pytest.raises(LoaderError, match=r"'2020' \(columns 2 and 3\)"):
        read_survey(other)


@pytest.mark.parametrize("fmt", ["dta", "xpt", "por"])
def test_duplicated_variable_in_a_statistical_file_is_a_loader_error(tmp_path, fmt):
    # pyreadstat cannot write duplicated names: write 'wq' and 'wz', then rename 'wz' in
    # the bytes of the file (pyreadstat reads it back as 'wq' and 'wq_duplicated1')
    writer = {"dta": pyreadstat.write_dta, "xpt": pyreadstat.write_xport,
              "por": pyreadstat.write_por}[fmt]
    path = tmp_path / f"survey.{fmt}"
    writer(pd.DataFrame({"id": [1.0, 2.0], "wq": [2.0, 3.0], "wz": [3.0, 4.0]}), str(path))
    path.write_bytes(path.read_bytes().replace(b"wz", b"wq").replace(b"WZ", b"WQ"))
    name = "WQ" if fmt == "por" else "wq"
    for kw in ({}, {"chunksize": 1}, {"columns": ["WQ" if fmt == "por" else "wq"]}):
        with pytest.raises(LoaderError, match=rf"{fmt} file .*'{name}' \(columns 2 and 3\)"):
            data = read_survey(path, **kw)
            if "chunksize" in kw:
                list(data)


# --------------------------------------------------------------------------- encodings
FRAME = pd.DataFrame({"id": [1, 2, 3, 4], "place": ["São Tomé", "Zürich", "", "Łódź"],
                      "w": [1.5, 2.0, 3.0, 4.0]})


@pytest.mark.parametrize("bom,codec", [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
])
@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_byte_order_mark_decides_the_encoding(tmp_path, bom, codec, fmt):
    path = tmp_path / f"marked.{fmt}"
    text = FRAME.to_csv(index=False, sep="," if fmt == "csv" else "\t")
    path.write_bytes(bom + text.encode(codec))
    frame = _read_all(path)
    assert list(frame.columns) == ["id", "place", "w"]  # no mark glued to the first name
    assert frame["place"].tolist()[:2] == ["São Tomé", "Zürich"]
    assert frame["w"].sum() == 10.5 and frame["place"].isna().tolist() == [0, 0, 1, 0]
    family = codec[:6]  # utf-8, utf-16, utf-32
    assert read_survey(path).source.encoding == family
    # the same with the encoding given
    assert read_survey(path, encoding=family).frame.equals(frame)


def test_utf16_file_without_a_final_line_end_is_not_called_truncated(tmp_path):
    path = tmp_path / "no_end.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "id,w\n1,2\n3,4".encode("utf-16-le"))
    with pytest.warns(Warning, match="does not end with a line end"):
        frame = read_survey(path).frame
    assert frame["w"].tolist() == [2, 4]


def test_truncated_utf16_file_is_still_reported(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_bytes(codecs.BOM_UTF16_BE + "id,x,w\n1,2,3\n4".encode("utf-16-be"))
    with pytest.raises(LoaderError, match="is truncated: its last line has 1 of 3 fields"):
        read_survey(path)


def test_utf16_without_a_mark_needs_the_encoding(tmp_path):
    path = tmp_path / "bare.csv"
    path.write_bytes(FRAME.to_csv(index=False).encode("utf-16-le"))
    with pytest.raises(LoaderError, match=r"NUL bytes .* looks like UTF-16 without a byte-order "
                                          r"mark\. Pass encoding='utf-16-le'"):
        read_survey(path)
    for encoding in ("utf-16-le", "utf-16"):  # the byte order from the NUL bytes
        frame = read_survey(path, encoding=encoding).frame
        assert frame["place"].tolist()[:2] == ["São Tomé", "Zürich"]


def test_file_not_in_the_declared_encoding_is_a_clear_error(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_bytes(FRAME.to_csv(index=False).encode("utf-8"))
    with pytest.raises(LoaderError, match=r"cannot be utf-16 text.*no NUL byte.*leave encoding"):
        read_survey(path, encoding="utf-16")
    marked = tmp_path / "marked.csv"
    marked.write_bytes(codecs.BOM_UTF16_LE + FRAME.to_csv(index=False).encode("utf-16-le"))
    with pytest.raises(LoaderError, match=r"starts with a UTF-16 byte-order mark but "
                                          r"encoding='latin-1' was given"):
        read_survey(marked, encoding="latin-1")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(FRAME.to_csv(index=False).encode("latin-1", errors="replace"))
    with pytest.raises(LoaderError, match=r"cannot be decoded as utf-8"):
        read_survey(latin)


# --------------------------------------------------------------------------- blank text
BLANKS = pd.DataFrame({
    "sector": ["A", "", "   ", "B", "\t", "C"],
    "w": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
})
BLANK_ROWS = [False, True, True, False, True, False]


def _write(frame: pd.DataFrame, path):
    fmt = path.suffix[1:]
    if fmt in ("csv", "tsv"):
        frame.to_csv(path, index=False, sep="," if fmt == "csv" else "\t")
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "xlsx":
        frame.to_excel(path, index=False)
    elif fmt in ("sav", "zsav"):
        pyreadstat.write_sav(frame, str(path), compress=fmt == "zsav")
    elif fmt == "por":
        pyreadstat.write_por(frame, str(path))
    elif fmt == "dta":
        pyreadstat.write_dta(frame, str(path))
    elif fmt == "xpt":
        pyreadstat.write_xport(frame, str(path))
    return path


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "xlsx", "sav", "zsav", "por", "dta",
                                 "xpt"])
def test_blank_text_cells_are_missing_in_every_format(tmp_path, fmt):
    # SAS transport and SPSS portable files hold no tab character
    frame = BLANKS.replace({"\t": ""}) if fmt in ("xpt", "por") else BLANKS
    path = _write(frame, tmp_path / f"blanks.{fmt}")
    got = _read_all(path).rename(columns=str.lower)  # SPSS portable: upper-case names
    assert got["sector"].isna().tolist() == BLANK_ROWS
    assert got["sector"].dropna().tolist() == ["A", "B", "C"]
    assert got["w"].tolist() == BLANKS["w"].tolist()


def test_blank_category_of_a_parquet_dictionary_column_is_missing(tmp_path):
    path = tmp_path / "dict.parquet"
    table = pa.table({"sector": pa.array(["A", "", "B", " "]).dictionary_encode(),
                      "w": pa.array([1.0, 2.0, 3.0, 4.0])})
    pq.write_table(table, path)
    got = read_survey(path).frame["sector"]
    assert list(got.cat.categories) == ["A", "B"]
    assert got.isna().tolist() == [False, True, False, True]


def test_blank_by_value_from_a_file_is_no_domain(tmp_path):
    path = _write(BLANKS.assign(y=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), tmp_path / "by.csv")
    data = read_survey(path)
    design = SurveyDesign(data.frame, weight="w")
    with pytest.warns(DomainWarning, match="3 rows have a missing value"):
        table = design.total("y", by="sector").to_frame()
    assert table["sector"].tolist() == ["A", "B", "C"]
    assert np.allclose(table["estimate"], [1.0, 16.0, 36.0])

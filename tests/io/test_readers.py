"""read_survey and SurveyData: every format reads the same codes, labels and missing codes."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import flestimate
from flestimate import SurveyData, read_survey
from flestimate.errors import ValidationError
from flestimate.io import PARQUET_METADATA_KEY, SourceInfo, load_codebook, write_parquet
from io_fixtures.survey_files import (
    ALL_FORMATS,
    MISSING_VALUES,
    SAS_FIXTURE,
    VALUE_LABELS,
    VARIABLE_LABELS,
    expected_frame,
    expected_labels,
    survey_frame,
    write,
)

pytestmark = pytest.mark.filterwarnings("error::flestimate.errors.FlestimateWarning")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    return {fmt: write(fmt, folder) for fmt in ALL_FORMATS}


# --------------------------------------------------------------------------- every format
@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_every_format_reads_the_codes_written(files, fmt):
    data = read_survey(files[fmt])
    pd.testing.assert_frame_equal(data.frame, expected_frame(fmt), check_dtype=False)
    # codes, never label strings; 8/9 kept as codes
    col = "P1" if fmt == "por" else "p1"
    assert pd.api.types.is_float_dtype(data.frame[col].dtype)
    assert (data.frame[col] == 8).sum() == (survey_frame()["p1"] == 8).sum() > 0


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_every_format_reads_its_labels(files, fmt):
    data = read_survey(files[fmt])
    variable_labels, value_labels, missing_values = expected_labels(fmt)
    assert data.variable_labels == variable_labels
    assert data.value_labels == value_labels
    assert data.missing_values == missing_values
    for labels in data.value_labels.values():  # integral codes are ints, not 1.0
        assert all(not isinstance(k, float) for k in labels)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_source_records_file_hash_and_dimensions(files, fmt):
    path = files[fmt]
    data = read_survey(path)
    src = data.source
    assert src.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (src.format, src.rows, src.columns) == (fmt, 40, 6)
    assert src.size_bytes == path.stat().st_size
    assert src.path == str(path.resolve())
    json.dumps(src.as_dict())
    if fmt in ("csv", "tsv", "xlsx", "parquet"):  # NAME.codebook.* beside the file
        assert src.codebook is not None and "survey.codebook" in src.codebook
    else:
        assert src.codebook is None


def test_format_argument_overrides_the_extension(files, tmp_path):
    odd = tmp_path / "survey.data"
    odd.write_bytes(files["sav"].read_bytes())
    data = read_survey(odd, format="SAV")
    assert data.source.format == "sav"
    assert data.missing_values == MISSING_VALUES


def test_zsav_and_sav_agree(files):
    a, b = read_survey(files["sav"]), read_survey(files["zsav"])
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.value_labels == b.value_labels and a.missing_values == b.missing_values


# --------------------------------------------------------------------------- SPSS missing
def test_spss_user_missing_values_and_ranges_stay_codes(files):
    data = read_survey(files["sav"])
    raw = survey_frame()
    assert data.missing_values["p1"] == (8, 9)
    assert data.missing_values["score"] == ({"lo": 97, "hi": 99},)
    np.testing.assert_array_equal(data.user_missing_mask("p1"), raw["p1"].isin([8, 9]))
    np.testing.assert_array_equal(
        data.user_missing_mask("score"), raw["score"].between(97, 99).to_numpy()
    )
    # system missing is not user missing
    assert not data.user_missing_mask("p1")[raw["p1"].isna().to_numpy()].any()
    # pyreadstat's default would have turned them into NaN: we did not
    plain, _ = pyreadstat.read_sav(str(files["sav"]))
    assert plain["p1"].isna().sum() > data.frame["p1"].isna().sum()


# --------------------------------------------------------------------------- Stata/SAS missing
def _stata_with_extended(tmp_path):
    p1 = pd.Series([1.0, 2.0, "a", "b", np.nan, 2.0, "a"], dtype=object)
    df = pd.DataFrame({"p1": p1, "x": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]})
    path = tmp_path / "ext.dta"
    pyreadstat.write_dta(df, str(path), missing_user_values={"p1": ["a", "b"]},
                         variable_value_labels={"p1": {1: "yes", 2: "no"}})
    return path


def test_stata_extended_missing_kept_distinguishable(tmp_path):
    data = read_survey(_stata_with_extended(tmp_path))
    frame = data.frame
    assert frame["p1"].dtype == np.float64
    assert frame["p1"].isna().tolist() == [False, False, True, True, True, False, True]
    ext = data.extended_missing["p1"]
    assert ext.to_dict() == {2: "a", 3: "b", 6: "a"}
    assert set(data.missing_values["p1"]) == {".a", ".b"}
    # row 4 is system missing: NaN, not extended, not user-missing
    assert data.user_missing_mask("p1").tolist() == [False, False, True, True, False, False, True]
    assert data.labelled("p1").tolist() == ["yes", "no", ".a", ".b", np.nan, "no", ".a"]
    book = data.describe().set_index("name")
    assert book.loc["p1", "n_missing"] == 4 and book.loc["p1", "n_user_missing"] == 3


def test_stata_integer_columns_with_missing_become_float(tmp_path):
    df = pd.DataFrame({"code": pd.array([1, 2, None, 4], dtype="Int64"), "y": [1.0, 2, 3, 4]})
    path = tmp_path / "ints.dta"
    df.astype({"code": "float64"}).to_stata(path, write_index=False, version=118,
                                            convert_dates={})
    data = read_survey(path)
    assert data.frame["code"].dtype == np.float64
    assert data.frame["code"].isna().tolist() == [False, False, True, False]


def test_sas7bdat_fixture_reads_codes_labels_and_special_missing(tmp_path):
    data = read_survey(SAS_FIXTURE)
    assert data.source.format == "sas7bdat" and data.source.rows == 12
    assert data.variable_labels == {"sex": "Sex", "p1": "P1: Threats or violence",
                                    "sector": "Economic activity", "w": "Final weight"}
    assert data.frame["p1"].tolist()[:4] == [1.0, 2.0, 8.0, 9.0]
    assert np.isnan(data.frame["p1"].iloc[4]) and np.isnan(data.frame["p1"].iloc[10])
    assert data.extended_missing["p1"].to_dict() == {10: "A"}
    assert data.missing_values["p1"] == (".A",)
    assert data.frame["sector"].iloc[0] == "A" and pd.isna(data.frame["sector"].iloc[1])
    assert data.frame["w"].sum() == pytest.approx(80.875, rel=1e-12)


def test_sas_catalog_supplies_value_labels_without_replacing_codes(tmp_path, monkeypatch):
    path = tmp_path / "survey.sas7bdat"
    path.write_bytes(SAS_FIXTURE.read_bytes())
    catalog = tmp_path / "formats.sas7bcat"
    catalog.write_bytes(b"stand-in catalog")
    seen = {}

    class Meta:
        value_labels = {"SEXFMT": {1.0: "male", 2.0: "female"}}

    def fake_catalog(file, encoding=None, **kw):
        seen["file"] = file
        return pd.DataFrame(), Meta()

    real = pyreadstat.read_sas7bdat

    def fake_sas(file, **kw):
        frame, meta = real(file, **kw)
        meta.variable_to_label = {"sex": "sexfmt"}
        return frame, meta

    monkeypatch.setattr(pyreadstat, "read_sas7bcat", fake_catalog)
    monkeypatch.setattr(pyreadstat, "read_sas7bdat", fake_sas)
    monkeypatch.setattr("flestimate.io.statistical.preflight", lambda p, f: None)
    data = read_survey(path)  # formats.sas7bcat beside the file is found
    assert seen["file"] == str(catalog)
    assert data.value_labels["sex"] == {1: "male", 2: "female"}
    assert data.frame["sex"].tolist()[:2] == [1.0, 2.0]
    assert data.source.catalog == str(catalog)
    assert read_survey(path, codebook=False).value_labels == {}


# --------------------------------------------------------------------------- columns, rows
@pytest.mark.parametrize("fmt", ["sav", "dta", "xpt", "csv", "parquet", "xlsx"])
def test_columns_selects_in_the_order_asked(files, fmt):
    data = read_survey(files[fmt], columns=["w", "p1"])
    assert list(data.frame.columns) == ["w", "p1"]
    pd.testing.assert_frame_equal(data.frame, survey_frame()[["w", "p1"]], check_dtype=False)
    assert set(data.variable_labels) == {"w", "p1"}
    assert data.source.columns == 6 and data.source.rows == 40


@pytest.mark.parametrize("fmt", ["sav", "dta", "por", "csv", "parquet", "xlsx"])
def test_row_limit_reads_the_first_rows(files, fmt):
    data = read_survey(files[fmt], row_limit=7)
    pd.testing.assert_frame_equal(data.frame, expected_frame(fmt).iloc[:7], check_dtype=False)
    if fmt in ("csv", "xlsx"):
        assert data.source.rows is None
    elif fmt != "por":
        assert data.source.rows == 40


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("chunksize", [1, 7, 40, 100])
def test_chunks_concatenate_to_the_whole_file(files, fmt, chunksize):
    whole = read_survey(files[fmt])
    chunks = list(read_survey(files[fmt], chunksize=chunksize))
    assert all(len(c) <= chunksize for c in chunks)
    assert len(chunks) == -(-40 // chunksize)
    pd.testing.assert_frame_equal(pd.concat([c.frame for c in chunks]), whole.frame)
    first = chunks[0]
    for c in chunks[1:]:  # one metadata object shared by every chunk
        assert c.source is first.source and c.value_labels is first.value_labels
        assert c.variable_labels is first.variable_labels
    assert first.value_labels == whole.value_labels
    assert first.missing_values == whole.missing_values
    assert first.source.sha256 == whole.source.sha256


@pytest.mark.parametrize("fmt", ["sav", "csv", "parquet", "dta"])
def test_chunks_with_columns_and_row_limit(files, fmt):
    chunks = list(read_survey(files[fmt], chunksize=4, row_limit=10, columns=["p1", "sex"]))
    assert [len(c) for c in chunks] == [4, 4, 2]
    got = pd.concat([c.frame for c in chunks])
    pd.testing.assert_frame_equal(got, survey_frame()[["p1", "sex"]].iloc[:10],
                                  check_dtype=False)


def test_stata_extended_missing_in_chunks_indexed_by_file_row(tmp_path):
    chunks = list(read_survey(_stata_with_extended(tmp_path), chunksize=3))
    rows = {}
    for c in chunks:
        if "p1" in c.extended_missing:
            rows.update(c.extended_missing["p1"].to_dict())
            assert c.user_missing_mask("p1").sum() == len(c.extended_missing["p1"])
    assert rows == {2: "a", 3: "b", 6: "a"}


# --------------------------------------------------------------------------- codebooks
def test_codebook_schema_json_and_yaml_agree(tmp_path):
    df = survey_frame()
    yaml_path = tmp_path / "a.yaml"
    yaml_path.write_text(
        "flestimate_codebook: 1\nvariables:\n"
        "  sex: Sex\n"
        "  p1:\n    label: P1\n    values: {1: 'yes', 2: 'no', 8: dk}\n    missing: [8, 9]\n"
        "  score:\n    missing_ranges: [[97, 99]]\n"
        "  sector:\n    values: {A: Agriculture}\n",
        encoding="utf-8",
    )
    json_path = tmp_path / "a.json"
    json_path.write_text(json.dumps({
        "variables": {
            "sex": "Sex",
            "p1": {"label": "P1", "values": {"1": "yes", "2": "no", "8": "dk"},
                   "missing": [8, 9]},
            "score": {"missing_ranges": [[97, 99]]},
            "sector": {"values": {"A": "Agriculture"}},
        }
    }))
    numeric = [c for c in df if c != "sector"]
    a, b = load_codebook(yaml_path, numeric), load_codebook(json_path, numeric)
    for attr in ("variable_labels", "value_labels", "missing_values"):
        assert getattr(a, attr) == getattr(b, attr)
    assert a.value_labels["p1"] == {1: "yes", 2: "no", 8: "dk"}
    assert list(b.value_labels["p1"]) == [1, 2, 8]  # JSON text keys became numbers
    assert a.missing_values == {"p1": (8, 9), "score": ({"lo": 97, "hi": 99},)}


def test_explicit_codebook_applies_to_any_format_and_false_disables(files, tmp_path):
    book = tmp_path / "extra.yaml"
    book.write_text("variables:\n  sex:\n    label: Sex of respondent\n", encoding="utf-8")
    data = read_survey(files["sav"], codebook=book)
    assert data.variable_labels["sex"] == "Sex of respondent"
    assert data.value_labels["sex"] == {1: "male", 2: "female"}  # the file's labels stay
    assert read_survey(files["csv"], codebook=False).value_labels == {}


def test_codebook_naming_unknown_variables_warns(files, tmp_path):
    book = tmp_path / "extra.yaml"
    book.write_text("variables:\n  nope: A variable that is not there\n", encoding="utf-8")
    with pytest.warns(flestimate.FlestimateWarning, match="'nope'"):
        read_survey(files["csv"], codebook=book)


def test_parquet_metadata_convention_round_trip(tmp_path):
    data = read_survey(write("sav", tmp_path))
    out = write_parquet(data, tmp_path / "copy.parquet")
    back = read_survey(out)
    pd.testing.assert_frame_equal(back.frame, data.frame)
    for attr in ("variable_labels", "value_labels", "missing_values"):
        assert getattr(back, attr) == getattr(data, attr)
    import pyarrow.parquet as pq

    meta = json.loads(pq.read_schema(out).metadata[PARQUET_METADATA_KEY])
    assert meta["version"] == 1
    assert meta["value_labels"]["sex"] == [[1, "male"], [2, "female"]]
    assert meta["missing_values"]["score"] == [{"lo": 97, "hi": 99}]


def test_plain_parquet_without_labels_reads(tmp_path):
    path = tmp_path / "plain.parquet"
    survey_frame().to_parquet(path, index=False)
    data = read_survey(path)
    assert data.value_labels == {} and data.variable_labels == {}
    pd.testing.assert_frame_equal(data.frame, expected_frame("parquet"))


# --------------------------------------------------------------------------- SurveyData
def test_survey_data_is_frozen_and_replace_copies(files):
    data = read_survey(files["sav"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.frame = pd.DataFrame()  # type: ignore[misc]
    new = dataclasses.replace(data, frame=data.frame.assign(fl=1),
                              value_labels={**data.value_labels, "fl": {1: "yes"}})
    assert "fl" in new.frame and "fl" not in data.frame
    assert "fl" not in data.value_labels and new.source is data.source
    assert new.missing_values == data.missing_values


def test_survey_data_behaves_like_its_frame(files):
    data = read_survey(files["sav"])
    assert len(data) == 40 and data.shape == (40, 6) and "p1" in data
    pd.testing.assert_series_equal(data["w"], data.frame["w"])
    assert list(data.columns) == list(survey_frame().columns)
    assert "rows=40" in repr(data)


def test_survey_data_accepted_by_the_design(files):
    data = read_survey(files["sav"])
    design = flestimate.SurveyDesign(data, weight="w")
    assert design is not None


def test_labelled_returns_categorical_of_labels(files):
    data = read_survey(files["sav"])
    cat = data.labelled("p1")
    assert isinstance(cat, pd.Categorical)
    assert list(cat.categories[:4]) == ["yes", "no", "don't know", "refused"]
    raw = survey_frame()["p1"]
    expected = raw.map({1: "yes", 2: "no", 8: "don't know", 9: "refused"})
    assert cat.astype(object).tolist()[:10] == [
        (np.nan if pd.isna(v) else v) for v in expected.tolist()[:10]
    ] or pd.isna(cat[4])
    assert pd.Series(cat).isna().sum() == raw.isna().sum()
    assert data.frame["p1"].dtype == np.float64  # the frame is unchanged
    # unlabelled codes keep their code as text
    age = data.labelled("age")
    assert age[0] == str(int(survey_frame()["age"].iloc[0]))
    with pytest.raises(ValidationError, match="'p11' is not in the data.*'p1'"):
        data.labelled("p11")


def test_describe_is_a_codebook(files):
    data = read_survey(files["sav"])
    book = data.describe()
    assert list(book.columns) == ["name", "label", "type", "value_labels", "missing_codes",
                                  "n_missing", "n_user_missing", "n_distinct"]
    row = book.set_index("name").loc["p1"]
    raw = survey_frame()["p1"]
    assert row["label"] == VARIABLE_LABELS["p1"]
    assert row["value_labels"] == "1=yes; 2=no; 8=don't know; 9=refused"
    assert row["missing_codes"] == "8, 9"
    assert row["n_user_missing"] == raw.isin([8, 9]).sum()
    assert row["n_missing"] == raw.isin([8, 9]).sum() + raw.isna().sum()
    assert row["n_distinct"] == raw[raw.isin([1, 2])].nunique()
    score = book.set_index("name").loc["score"]
    assert score["missing_codes"] == "97..99"
    assert score["n_user_missing"] == 3


def test_survey_data_built_in_memory(tmp_path):
    frame = survey_frame()
    data = SurveyData(frame, value_labels=VALUE_LABELS, missing_values={"p1": [8, 9]})
    assert data.missing_values["p1"] == (8, 9) and data.source is None
    with pytest.raises(ValidationError, match="frame must be a pandas DataFrame"):
        SurveyData([1, 2])  # type: ignore[arg-type]
    assert isinstance(SourceInfo("p", "csv", "0" * 64, 1, 1, 1).as_dict(), dict)


def test_read_does_not_touch_the_file(files):
    before = files["sav"].read_bytes()
    read_survey(files["sav"])
    assert files["sav"].read_bytes() == before


def test_blank_text_is_missing_in_labelled_and_describe(files):
    data = read_survey(files["sav"])
    raw = survey_frame()["sector"]
    cat = data.labelled("sector")
    assert list(cat.categories) == ["Agriculture", "Mining", "Manufacturing"]
    assert pd.Series(cat).isna().sum() == (raw == "").sum() > 0
    row = data.describe().set_index("name").loc["sector"]
    assert row["n_missing"] == (raw == "").sum() and row["n_distinct"] == 3

"""One unwrap of the data argument (flestimate.io.frames) and one hashing helper
(flestimate.io.hashing), used by every layer."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from flestimate import DesignError, MappingError, SurveyDesign, ValidationError, read_survey
from flestimate.io.frames import as_frame, frame_and_labels
from flestimate.io.hashing import sha256_bytes, sha256_file


def test_as_frame_returns_the_callers_frame():
    df = pd.DataFrame({"a": [1, 2]})
    assert as_frame(df) is df


def test_as_frame_of_a_survey_data_and_its_labels(tmp_path):
    df = pd.DataFrame({"sex": [1, 2, 1], "w": [1.0, 2.0, 3.0]})
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    data = read_survey(path)
    assert as_frame(data) is data.frame
    frame, labels = frame_and_labels(pd.DataFrame({"x": [1]}))
    assert labels == {}


@pytest.mark.parametrize("error", [ValidationError, DesignError, MappingError])
def test_anything_else_is_the_callers_error(error):
    with pytest.raises(error, match=r"data: expected a pandas DataFrame or a SurveyData; "
                                    r"found list"):
        as_frame([1, 2], error=error)


def test_a_design_of_something_else_is_a_design_error():
    with pytest.raises(DesignError, match="expected a pandas DataFrame or a SurveyData"):
        SurveyDesign([1, 2, 3], weight="w")


def test_one_hashing_helper(tmp_path):
    path = tmp_path / "f.bin"
    blob = bytes(range(256)) * 9000  # more than one 1 MiB block
    path.write_bytes(blob)
    assert sha256_file(path) == hashlib.sha256(blob).hexdigest() == sha256_bytes(blob)
    data_path = tmp_path / "s.csv"
    pd.DataFrame({"a": [1, 2]}).to_csv(data_path, index=False)
    assert read_survey(data_path).source.sha256 == sha256_file(data_path)

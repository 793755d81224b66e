"""Survey file readers: SPSS, Stata, SAS, CSV/TSV, Parquet and Excel, with labels.

:func:`read_survey` returns a :class:`SurveyData`: the frame of codes, the variable and
value labels, the declared user-missing codes and the file's provenance (path, format,
SHA-256, rows, columns). The representation of missing values is documented in
:mod:`flestimate.io.survey_data`; the codebook schema (labels of CSV, TSV and Excel
files) and the Parquet label convention in :mod:`flestimate.io.codebook`.
"""

from __future__ import annotations

from flestimate.io.codebook import (
    PARQUET_METADATA_KEY,
    codebook_dict,
    load_codebook,
    write_codebook,
    write_parquet,
)
from flestimate.io.reader import EXTENSIONS, FORMATS, read_survey, supported_formats
from flestimate.io.survey_data import SourceInfo, SurveyData

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "PARQUET_METADATA_KEY",
    "SourceInfo",
    "SurveyData",
    "codebook_dict",
    "load_codebook",
    "read_survey",
    "supported_formats",
    "write_codebook",
    "write_parquet",
]

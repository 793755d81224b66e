"""Small survey files in every format, written in a temporary folder for the io tests.

The same frame of codes is written to each format with the labels the format can hold;
``expected_labels(fmt)`` says which labels a correct reader must return for it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from flestimate.io import write_codebook, write_parquet

HERE = Path(__file__).resolve().parent
SAS_FIXTURE = HERE / "survey.sas7bdat"

ALL_FORMATS = ("sav", "zsav", "por", "dta", "xpt", "csv", "tsv", "parquet", "xlsx")

VARIABLE_LABELS = {
    "sex": "Sex",
    "age": "Age in completed years",
    "p1": "P1: Threats or violence",
    "score": "Test score (97-99: not scored)",
    "sector": "Economic activity",
    "w": "Final weight",
}
VALUE_LABELS = {
    "sex": {1: "male", 2: "female"},
    "p1": {1: "yes", 2: "no", 8: "don't know", 9: "refused"},
    "sector": {"A": "Agriculture", "B": "Mining", "C": "Manufacturing"},
}
MISSING_VALUES = {"p1": (8, 9), "score": ({"lo": 97, "hi": 99},)}


def survey_frame(n: int = 40, seed: int = 3) -> pd.DataFrame:
    """Codes as SPSS stores them (float64), with every interesting code present."""
    rng = np.random.default_rng(seed)
    p1 = rng.choice([1.0, 2.0, 8.0, 9.0, np.nan], n)
    p1[:5] = [1.0, 2.0, 8.0, 9.0, np.nan]
    score = rng.integers(0, 97, n).astype(float)
    score[5:8] = [97.0, 98.0, 99.0]
    sector = rng.choice(np.array(["A", "B", "C", ""]), n)
    sector[:2] = ["A", ""]
    return pd.DataFrame(
        {
            "sex": rng.integers(1, 3, n).astype(float),
            "age": rng.integers(5, 90, n).astype(float),
            "p1": p1,
            "score": score,
            "sector": pd.array(sector, dtype="str"),
            "w": np.round(rng.uniform(50, 150, n), 6),
        }
    )


def _missing_ranges() -> dict:
    return {"p1": [8.0, 9.0], "score": [{"lo": 97.0, "hi": 99.0}]}


def write(fmt: str, folder: Path, frame: pd.DataFrame | None = None, name: str = "survey") -> Path:
    """Write the fixture survey as ``folder/name.<fmt>`` (and its codebook where needed)."""
    df = survey_frame() if frame is None else frame
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt}"
    numeric_vl = {k: v for k, v in VALUE_LABELS.items() if k in df and k != "sector"}
    if fmt in ("sav", "zsav"):
        pyreadstat.write_sav(
            df, str(path), column_labels=VARIABLE_LABELS,
            variable_value_labels={**numeric_vl, "sector": VALUE_LABELS["sector"]},
            missing_ranges=_missing_ranges(), compress=fmt == "zsav",
        )
    elif fmt == "por":
        pyreadstat.write_por(df, str(path),
                             column_labels=[VARIABLE_LABELS.get(c) for c in df.columns])
    elif fmt == "dta":
        pyreadstat.write_dta(df, str(path), column_labels=VARIABLE_LABELS,
                             variable_value_labels=numeric_vl)
    elif fmt == "xpt":
        pyreadstat.write_xport(df, str(path), column_labels=VARIABLE_LABELS)
    elif fmt in ("csv", "tsv"):
        df.to_csv(path, index=False, sep="," if fmt == "csv" else "\t")
        write_codebook(df, folder / f"{name}.codebook.yaml", variable_labels=VARIABLE_LABELS,
                       value_labels=VALUE_LABELS, missing_values=MISSING_VALUES)
    elif fmt == "parquet":
        write_parquet(df, path, variable_labels=VARIABLE_LABELS, value_labels=VALUE_LABELS,
                      missing_values=MISSING_VALUES)
    elif fmt == "xlsx":
        df.to_excel(path, index=False)
        write_codebook(df, folder / f"{name}.codebook.json", variable_labels=VARIABLE_LABELS,
                       value_labels=VALUE_LABELS, missing_values=MISSING_VALUES)
    elif fmt == "sas7bdat":
        shutil.copy(SAS_FIXTURE, path)
    else:  # pragma: no cover
        raise ValueError(fmt)
    return path


def expected_labels(fmt: str) -> tuple[dict, dict, dict]:
    """``(variable_labels, value_labels, missing_values)`` the reader must return for ``fmt``."""
    if fmt in ("sav", "zsav", "csv", "tsv", "parquet", "xlsx"):
        return VARIABLE_LABELS, VALUE_LABELS, MISSING_VALUES
    if fmt == "dta":  # Stata: no labels on text variables, no user-missing codes
        return VARIABLE_LABELS, {k: v for k, v in VALUE_LABELS.items() if k != "sector"}, {}
    if fmt == "por":
        return {k.upper(): v for k, v in VARIABLE_LABELS.items()}, {}, {}
    return VARIABLE_LABELS, {}, {}  # xpt


def expected_frame(fmt: str, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """The frame a reader must return: the codes written, blank text cells missing."""
    df = survey_frame() if frame is None else frame
    df = df.assign(sector=df["sector"].mask(df["sector"] == ""))
    if fmt == "por":
        df = df.rename(columns=str.upper)
    return df

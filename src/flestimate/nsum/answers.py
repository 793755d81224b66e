"""The answers to "how many ... do you know?": numbers, top-coded, special codes missing.

Aggregated relational data (ARD) come as one column per population. Before estimation
the answers are cleaned once, here: special codes (don't know, refused) become missing
values, as the loaders treat declared user-missing codes; answers above a plausible
maximum are top-coded; negative or non-numeric answers are an error naming the column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import EstimationError, ValidationError, first_values

__all__ = ["Answers", "as_number", "read_answers"]


def as_number(value: Any) -> float:
    """``value`` as a float; NaN when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


@dataclass(frozen=True)
class Answers:
    """Cleaned answers of the respondents (rows in the data's order).

    Attributes
    ----------
    columns : tuple of str
    values : ndarray (n, K)
        Top-coded answers; NaN where the answer is missing or a special code.
    n_topcoded : dict
        Column -> number of answers lowered to the top code.
    n_special : dict
        Column -> number of answers that were special codes.
    """

    columns: tuple[str, ...]
    values: np.ndarray
    n_topcoded: dict[str, int]
    n_special: dict[str, int]

    @property
    def complete(self) -> np.ndarray:
        """Rows with an answer to every question (n,)."""
        return ~np.isnan(self.values).any(axis=1)


def _codes_for(missing_codes: Any, column: str) -> tuple:
    if missing_codes is None:
        return ()
    if isinstance(missing_codes, Mapping):
        spec = missing_codes.get(column, ())
    else:
        spec = missing_codes
    if isinstance(spec, (int, float, dict)):
        spec = (spec,)
    return tuple(spec)


def _special_mask(values: np.ndarray, codes: tuple) -> np.ndarray:
    mask = np.zeros(values.shape, dtype=bool)
    for code in codes:  # a handful of codes per column
        if isinstance(code, Mapping):  # an inclusive range {"lo": 97, "hi": 99}, as the loaders
            mask |= (values >= float(code["lo"])) & (values <= float(code["hi"]))
        else:
            mask |= values == float(code)
    return mask


def _topcode_for(topcode: Any, column: str, is_known: bool) -> float | None:
    if topcode is None:
        return None
    if isinstance(topcode, Mapping):
        value = topcode.get(column)
    else:
        value = topcode if is_known else None
    if value is None:
        return None
    cap = as_number(value)
    if not (cap >= 0):
        raise ValidationError(
            f"topcode for {column!r} is {value!r}; give a number >= 0 (e.g. 30), or None."
        )
    return cap


def read_answers(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    known: Sequence[str] = (),
    topcode: float | Mapping[str, float] | None = None,
    missing_codes: Sequence[Any] | Mapping[str, Sequence[Any]] | None = None,
) -> Answers:
    """Read and clean ARD answers.

    Parameters
    ----------
    frame : DataFrame
    columns : sequence of str
        The questions to read.
    known : sequence of str
        The known-population questions among them: a number ``topcode`` applies to
        these only (the hidden-population answers are left as given, as in the
        networkreporting package); a mapping names the top code of each column.
    topcode : float or mapping, optional
        Answers above it become it.
    missing_codes : sequence or mapping, optional
        Special codes (don't know, refused) of every column, or per column; a code is a
        number or an inclusive range ``{"lo": 97, "hi": 99}`` (the loaders' form).
    """
    cols = list(dict.fromkeys(columns))
    absent = [c for c in cols if c not in frame.columns]
    if absent:
        raise EstimationError(
            f"columns {absent} are not in the data ({len(frame.columns)} columns). Check the "
            "names of the scale-up questions."
        )
    known_set = set(known)
    out = np.empty((len(frame), len(cols)), dtype=np.float64)
    n_top: dict[str, int] = {}
    n_special: dict[str, int] = {}
    for j, c in enumerate(cols):  # a loop over questions (tens), not rows
        raw = frame[c]
        values = np.array(
            pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        )
        text = raw.notna().to_numpy() & np.isnan(values)
        if text.any():
            raise EstimationError(
                f"column {c!r} has {int(text.sum())} non-numeric answers (rows "
                f"{first_values(frame.index[text][:6])}). Answers are counts of people; "
                "recode the text or declare it missing."
            )
        special = _special_mask(values, _codes_for(missing_codes, c))
        values[special] = np.nan
        n_special[c] = int(special.sum())
        with np.errstate(invalid="ignore"):
            negative = values < 0
        if negative.any():
            raise EstimationError(
                f"column {c!r} has {int(negative.sum())} negative answers (rows "
                f"{first_values(frame.index[negative][:6])}). Answers are counts >= 0; declare "
                "negative special codes in missing_codes."
            )
        cap = _topcode_for(topcode, c, c in known_set)
        if cap is not None:
            with np.errstate(invalid="ignore"):
                over = values > cap
            n_top[c] = int(over.sum())
            values[over] = cap
        out[:, j] = values
    return Answers(tuple(cols), out, n_top, n_special)

"""Rules every reader applies to the columns it returns.

* **Unique names.** A file whose header names one column twice is refused: pandas and
  pyreadstat would rename the second copy (``w.1``, ``w_duplicated1``) and an estimate
  would silently use the first one. The check looks at the names as written in the file.
* **Blank text is missing.** An empty or whitespace-only text cell is a missing value
  (``NaN``) in every format, so the same survey gives the same frame from SPSS, Stata, SAS,
  CSV, Parquet and Excel, and a blank answer never becomes a category or a domain.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from flestimate.errors import LoaderError

__all__ = ["blank_text_as_missing", "check_unique_names"]


def check_unique_names(names: Sequence[object], where: str) -> None:
    """Raise LoaderError if a column name occurs more than once in ``names``.

    ``names`` are the names as written in the file, in file order (blank names, which
    the readers replace by ``Unnamed: i``, are not compared). ``where`` names the file.
    """
    text = pd.Series([str(n) for n in names], dtype=object)
    blank = (text.str.strip() == "").to_numpy(dtype=bool)
    dup = text.duplicated(keep=False).to_numpy(dtype=bool) & ~blank
    if not dup.any():
        return
    positions = pd.Series(np.flatnonzero(dup) + 1, index=text[dup].to_numpy())
    parts = [
        f"{name!r} (columns {', '.join(str(p) for p in pos[:-1])} and {pos[-1]})"
        for name, pos in positions.groupby(level=0, sort=False).agg(list).items()
    ]
    shown = "; ".join(parts[:5]) + (f"; and {len(parts) - 5} more" if len(parts) > 5 else "")
    raise LoaderError(
        f"{where} has {len(parts)} duplicated column name(s): {shown}. A reader would keep "
        "one copy under that name and rename or hide the other, so an estimate could "
        "silently use the wrong column. Rename one of the columns in the file so that every "
        "column name is unique."
    )


def _is_text(dtype: object) -> bool:
    return pd.api.types.is_string_dtype(dtype) or getattr(dtype, "kind", None) == "O"


def blank_text_as_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Empty and whitespace-only cells of text (and categorical) columns -> missing.

    Columns without blank cells are left untouched (no copy); the frame is changed in
    place and returned.
    """
    for col in frame.columns:  # a loop over the columns
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = s.cat.categories
            if _is_text(cats.dtype):
                blank = cats[(cats.astype(str).str.strip() == "")]
                if len(blank):
                    frame[col] = s.cat.remove_categories(blank)
            continue
        if not _is_text(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            continue
        try:  # non-text values of an object column give NaN here, which is not blank
            blank = (s.str.strip() == "").to_numpy(dtype=bool, na_value=False)
        except AttributeError:  # an object column without any text value
            continue
        if blank.any():
            frame[col] = s.mask(blank)
    return frame

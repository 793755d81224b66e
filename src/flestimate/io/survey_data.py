"""`SurveyData`: a survey frame of codes with its labels, missing-value codes and provenance.

Representation of missing values
--------------------------------
``frame`` always holds the codes stored in the file, never label strings:

* **System missing** (SPSS ``sysmis``, Stata ``.``, SAS ``.``, an empty numeric cell of a
  CSV, a Parquet null) is ``NaN``.
* **SPSS user-missing** values and ranges (e.g. 8 "don't know", 9 "refused") stay in the
  frame as their codes, so nothing is silently turned into ``NaN``; they are declared in
  ``missing_values[column]`` as scalar codes (``8.0``) and inclusive ranges
  (``{"lo": 97.0, "hi": 99.0}``). :meth:`SurveyData.user_missing_mask` tells which rows
  hold them.
* **Stata and SAS extended missing** values (``.a`` .. ``.z``, SAS ``._``) have no numeric
  code; they are ``NaN`` in the frame, like system missing, and stay distinguishable:
  ``extended_missing[column]`` is a Series, indexed like the frame, holding the letter
  of every row with an extended missing value (Stata ``"a"``, SAS ``"A"`` or ``"_"``, as
  each program writes them), and ``missing_values[column]`` lists the letters found as
  ``".a"``, ``".b"`` (SAS ``".A"``), ...
* Codebooks (CSV, TSV, Excel, Parquet) declare user-missing codes the SPSS way: the codes
  stay in the frame and are listed in ``missing_values``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import ValidationError, not_in_data

__all__ = ["SourceInfo", "SurveyData"]


@dataclass(frozen=True)
class SourceInfo:
    """Provenance of a survey frame: which file, which format, which bytes.

    Attributes
    ----------
    path : str
        The file as given to :func:`~flestimate.read_survey` (resolved to an absolute path).
    format : str
        Format family read: ``"sav"``, ``"zsav"``, ``"por"``, ``"dta"``, ``"sas7bdat"``,
        ``"xpt"``, ``"csv"``, ``"tsv"``, ``"parquet"`` or ``"xlsx"``.
    sha256 : str
        SHA-256 of the file's bytes (hex), so a result can be traced to the exact file.
    size_bytes : int
        File size.
    rows : int or None
        Number of data rows in the file: declared by its header, or counted when the whole
        file was read; ``None`` when neither is available (a chunked or ``row_limit`` read of
        a CSV, TSV or Excel file).
    columns : int
        Number of columns (variables) in the file, whatever ``columns=`` selected.
    encoding : str or None
        Character encoding used to decode the file's text (declared by the file, or given).
    file_label : str or None
        The file label stored in SPSS, Stata and SAS files.
    catalog : str or None
        The SAS formats catalog (``.sas7bcat``) whose value labels were applied.
    codebook : str or None
        The codebook file (YAML or JSON) whose labels were applied.
    """

    path: str
    format: str
    sha256: str
    size_bytes: int
    rows: int | None
    columns: int
    encoding: str | None = None
    file_label: str | None = None
    catalog: str | None = None
    codebook: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The provenance as a JSON-serialisable dict."""
        return dataclasses.asdict(self)


def _checked_frame(value: Any) -> pd.DataFrame:
    if isinstance(value, pd.DataFrame):
        return value
    raise ValidationError(
        f"SurveyData: frame must be a pandas DataFrame; found {type(value).__name__}. "
        "Pass the DataFrame of codes (data.frame of another SurveyData)."
    )


@dataclass(frozen=True, eq=False)
class SurveyData:
    """A survey frame of codes with its variable labels, value labels and missing codes.

    Returned by :func:`~flestimate.read_survey`; accepted wherever flestimate accepts a
    DataFrame (estimators and the classifier use ``data.frame``). The object is frozen:
    change it by making a new one with :meth:`replace` (or :func:`dataclasses.replace`);
    treat ``frame`` and the dicts as read-only.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent; the codes stored in the file (never label strings).
    variable_labels : dict, optional
        Column -> variable label.
    value_labels : dict, optional
        Column -> ``{code: label}``. Integral numeric codes are ``int`` (``1``, not ``1.0``).
    missing_values : dict, optional
        Column -> tuple of declared user-missing codes: scalar codes, inclusive ranges
        ``{"lo": lo, "hi": hi}`` and, for Stata/SAS extended missing, ``".a"``...
        (see the module documentation for the representation).
    source : SourceInfo, optional
        Provenance (path, format, SHA-256, rows, columns); ``None`` for a frame built in memory.
    extended_missing : dict, optional
        Column -> Series of the extended-missing letters (Stata ``"a"``..``"z"``, SAS
        ``"A"``..``"Z"``, ``"_"``) of the rows that hold one, indexed like ``frame``. Those
        rows are NaN in ``frame``.

    Examples
    --------
    >>> import pandas as pd
    >>> from flestimate import SurveyData
    >>> data = SurveyData(
    ...     pd.DataFrame({"p1": [1.0, 2.0, 8.0, None]}),
    ...     variable_labels={"p1": "Threats or violence"},
    ...     value_labels={"p1": {1: "yes", 2: "no", 8: "don't know"}},
    ...     missing_values={"p1": (8,)},
    ... )
    >>> data.labelled("p1").tolist()
    ['yes', 'no', "don't know", nan]
    >>> data.user_missing_mask("p1").tolist()
    [False, False, True, False]
    """

    frame: pd.DataFrame
    variable_labels: Mapping[str, str] = field(default_factory=dict)
    value_labels: Mapping[str, Mapping[Any, str]] = field(default_factory=dict)
    missing_values: Mapping[str, tuple] = field(default_factory=dict)
    source: SourceInfo | None = None
    extended_missing: Mapping[str, pd.Series] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _checked_frame(self.frame)
        for name in ("variable_labels", "value_labels", "missing_values", "extended_missing"):
            value = getattr(self, name)
            if value is None:
                value = {}
            if not isinstance(value, Mapping):
                raise ValidationError(
                    f"SurveyData: {name} must be a dict keyed by column; found "
                    f"{type(value).__name__}."
                )
            # plain dicts of the right shape are kept as they are, so that chunks of one
            # file share one set of labels; anything else is converted (a copy)
            if name == "missing_values":
                if not (type(value) is dict and all(type(v) is tuple for v in value.values())):
                    value = {k: tuple(v) for k, v in value.items()}
            elif name == "value_labels":
                if not (type(value) is dict and all(type(v) is dict for v in value.values())):
                    value = {k: dict(v) for k, v in value.items()}
            elif type(value) is not dict:
                value = dict(value)
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ DataFrame-like surface
    @property
    def columns(self) -> pd.Index:
        """The frame's columns."""
        return self.frame.columns

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the frame."""
        return self.frame.shape

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, key: Any) -> Any:
        return self.frame[key]

    def __contains__(self, column: object) -> bool:
        return column in self.frame.columns

    def __repr__(self) -> str:
        src = f", source={self.source.path!r} ({self.source.format})" if self.source else ""
        return (
            f"SurveyData(rows={len(self.frame):,}, columns={self.frame.shape[1]}, "
            f"labelled={len(self.value_labels)}, user_missing={len(self.missing_values)}{src})"
        )

    def replace(self, **changes: Any) -> SurveyData:
        """A copy with some fields replaced (``frame=``, ``value_labels=``, ...)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------------------ helpers
    def _column(self, column: str) -> pd.Series:
        if column not in self.frame.columns:
            raise ValidationError(not_in_data(f"column {column!r}", [column], self.frame.columns))
        return self.frame[column]

    def user_missing_mask(self, column: str) -> np.ndarray:
        """Boolean mask of the rows holding a declared user-missing code in ``column``.

        True for SPSS/codebook user-missing codes and ranges (kept as codes in the frame)
        and for Stata/SAS extended missing values (NaN in the frame); False for system
        missing and for valid codes.
        """
        s = self._column(column)
        mask = np.zeros(len(s), dtype=bool)
        spec = self.missing_values.get(column, ())
        codes = [c for c in spec if not isinstance(c, Mapping) and not _is_extended(c)]
        ranges = [c for c in spec if isinstance(c, Mapping)]
        if codes:
            mask |= s.isin(codes).to_numpy(dtype=bool)
        if ranges:
            values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            for r in ranges:
                mask |= (values >= float(r["lo"])) & (values <= float(r["hi"]))
        ext = self.extended_missing.get(column)
        if ext is not None and len(ext):
            mask[self.frame.index.get_indexer(ext.index)] = True
        return mask

    def labelled(self, column: str) -> pd.Categorical:
        """``column`` as a pandas Categorical of its value labels.

        Categories are the labels in code order; a code without a label keeps its code,
        written as text (``"7"``); extended missing values show as ``".a"`` (or their label);
        system missing and blank text answers are missing. The frame itself is not changed.
        """
        s = self._column(column)
        labels = self.value_labels.get(column, {})
        values = s.to_numpy()
        # one vectorised lookup: the distinct codes, then a label per distinct code
        inverse, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
        names = [_label_text(u, labels) for u in uniques]
        ordered_labels = [str(v) for k, v in sorted(labels.items(), key=_code_order)]
        ext = self.extended_missing.get(column)
        ext_names: list[str] = []
        if ext is not None and len(ext):
            ext_names = [labels.get(f".{x}", labels.get(x, f".{x}")) for x in ext.astype(str)]
        blank = "" not in labels
        shown = [n for u, n in zip(uniques, names, strict=True) if not (u == "" and blank)]
        categories = list(dict.fromkeys([*ordered_labels, *shown, *ext_names]))
        lookup = {c: i for i, c in enumerate(categories)}
        cat_codes = np.full(len(values), -1, dtype=np.int64)
        if len(names):
            # an empty text code without a label is a blank answer: missing, not a category
            per_unique = np.array(
                [-1 if (u == "" and "" not in labels) else lookup[n]
                 for u, n in zip(uniques, names, strict=True)],
                dtype=np.int64,
            )
            valid = inverse >= 0
            cat_codes[valid] = per_unique[inverse[valid]]
        if ext_names:
            rows = self.frame.index.get_indexer(ext.index)
            cat_codes[rows] = np.array([lookup[n] for n in ext_names], dtype=np.int64)
        return pd.Categorical.from_codes(cat_codes, categories=categories)

    def describe(self) -> pd.DataFrame:
        """The codebook: one row per column.

        Returns
        -------
        pandas.DataFrame
            Columns ``name``, ``label``, ``type`` (the frame's dtype), ``value_labels``
            (``"1=yes; 2=no"``), ``missing_codes`` (declared user-missing codes),
            ``n_missing`` (system missing, blank text and user-missing rows), ``n_user_missing``
            and ``n_distinct`` (distinct valid codes, user-missing codes excluded).
        """
        rows = []
        for name in self.frame.columns:
            s = self.frame[name]
            user = self.user_missing_mask(name)
            system = s.isna().to_numpy(dtype=bool)
            if pd.api.types.is_string_dtype(s.dtype) or s.dtype.kind == "O":
                system = system | (s == "").to_numpy(dtype=bool)  # blank text answers
            valid = s[~(user | system)]
            labels = self.value_labels.get(name, {})
            rows.append(
                {
                    "name": str(name),
                    "label": self.variable_labels.get(name, ""),
                    "type": str(s.dtype),
                    "value_labels": "; ".join(
                        f"{_code_text(k)}={v}" for k, v in sorted(labels.items(), key=_code_order)
                    ),
                    "missing_codes": ", ".join(
                        _missing_text(c) for c in self.missing_values.get(name, ())
                    ),
                    "n_missing": int((user | system).sum()),
                    "n_user_missing": int(user.sum()),
                    "n_distinct": int(valid.nunique(dropna=True)),
                }
            )
        columns = ["name", "label", "type", "value_labels", "missing_codes", "n_missing",
                   "n_user_missing", "n_distinct"]
        return pd.DataFrame(rows, columns=columns)


def _is_extended(code: Any) -> bool:
    return isinstance(code, str) and len(code) == 2 and code[0] == "."


def _code_order(item: tuple[Any, Any]) -> tuple[int, Any]:
    key = item[0]
    if isinstance(key, (int, float, np.integer, np.floating)) and not isinstance(key, bool):
        return (0, float(key))
    return (1, str(key))


def _code_text(code: Any) -> str:
    if isinstance(code, (float, np.floating)) and float(code).is_integer():
        return str(int(code))
    return str(code)


def _missing_text(code: Any) -> str:
    if isinstance(code, Mapping):
        return f"{_code_text(code['lo'])}..{_code_text(code['hi'])}"
    return _code_text(code)


def _label_text(code: Any, labels: Mapping[Any, str]) -> str:
    label = labels.get(code)
    if label is None and isinstance(code, (float, np.floating)) and float(code).is_integer():
        label = labels.get(int(code))
    return str(label) if label is not None else _code_text(code)

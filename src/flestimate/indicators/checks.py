"""A questionnaire mapping against a data set: the columns, their codes, the household
structure (:func:`validate_mapping`), and the code masks the classifier reads.

:func:`~flestimate.indicators.mapping.load_mapping` checks a mapping's structure without
data; this module checks what needs the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import MappingError, closest_name, first_values, shown
from flestimate.indicators.mapping import Codes, QuestionnaireMapping, in_codes, load_mapping
from flestimate.io.frames import frame_and_labels

__all__ = [
    "MappingCheck",
    "check_structure",
    "code_masks",
    "column_values",
    "parent_index",
    "validate_mapping",
]


def column_values(series: pd.Series) -> np.ndarray:
    """A column as numpy: float64 with NaN for numeric columns (nullable ones included)."""
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return series.to_numpy(dtype=object)


def code_masks(values: np.ndarray, codes: Codes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised answer masks of one coded column.

    Returns
    -------
    yes, uncertain, undeclared : ndarray of bool
        ``uncertain`` is don't know or refused; ``undeclared`` is a non-missing value that is
        in none of the code lists.
    """
    if values.dtype.kind in "fiub":
        v = values.astype(np.float64, copy=False)
        num = lambda cs: [float(c) for c in cs if isinstance(c, (int, float))]  # noqa: E731
        yes = np.isin(v, num(codes.yes))
        unc = np.isin(v, num(codes.dont_know) + num(codes.refused))
        no = np.isin(v, num(codes.no))
        missing = np.isnan(v)
    else:
        s = pd.Series(values, copy=False)
        missing = s.isna().to_numpy()
        yes = s.isin(list(codes.yes)).to_numpy() & ~missing
        unc = s.isin(list(codes.dont_know) + list(codes.refused)).to_numpy() & ~missing
        no = s.isin(list(codes.no)).to_numpy() & ~missing
        missing = missing | (s.astype(str).str.strip() == "").to_numpy()
    undeclared = ~(yes | unc | no | missing)
    return yes, unc, undeclared


def _value_counts(values: np.ndarray, mask: np.ndarray) -> dict[Any, int]:
    sel = values[mask]
    if sel.size == 0:
        return {}
    uniq, counts = np.unique(sel.astype(str) if sel.dtype == object else sel, return_counts=True)
    out = {}
    for u, c in zip(uniq.tolist(), counts.tolist(), strict=True):
        if isinstance(u, float) and u.is_integer():
            u = int(u)
        out[u] = int(c)
    return out


def _fmt_counts(counts: dict[Any, int], labels: dict[Any, str] | None = None) -> str:
    parts = []
    for i, (code, n) in enumerate(sorted(counts.items(), key=lambda kv: -kv[1])):
        if i == 5:
            parts.append(f"... ({len(counts) - 5} more)")
            break
        lab = _label_of(code, labels or {})
        parts.append(f"{shown(code)}" + (f" [{lab}]" if lab else "") + f" x{n}")
    return ", ".join(parts)


def _label_of(code: Any, labels: dict[Any, str]) -> str:
    if code in labels:
        return str(labels[code])
    for k, v in labels.items():
        try:
            if float(k) == float(code):
                return str(v)
        except (TypeError, ValueError):
            continue
    return ""


def _is_user_missing(code: Any, spec: Any) -> bool:
    """Whether ``code`` is declared user-missing in the file (values or lo/hi ranges)."""
    if not spec:
        return False
    for item in spec if isinstance(spec, (list, tuple, set)) else [spec]:
        try:
            if isinstance(item, dict) and "lo" in item and "hi" in item:
                if float(item["lo"]) <= float(code) <= float(item["hi"]):
                    return True
            elif in_codes(code, (item,)):
                return True
        except (TypeError, ValueError):
            continue
    return False


@dataclass(frozen=True)
class MappingCheck:
    """Result of :func:`validate_mapping`.

    Attributes
    ----------
    mapping : QuestionnaireMapping
    problems : tuple of str
        One sentence per problem (file, key, value, what was found, the fix); empty when valid.
    codes : pandas.DataFrame
        One row per (mapping key, code found): ``key, column, code, label, meaning,
        user_missing, count``; ``meaning`` is ``yes``, ``no``, ``dont_know``, ``refused``,
        ``system_missing`` or ``undeclared``; ``label`` comes from the data's value labels
        and ``user_missing`` from its declared user-missing codes (SPSS), when it has them.
    undeclared : dict
        ``{column: {code: count}}`` of undeclared codes.
    """

    mapping: QuestionnaireMapping
    problems: tuple[str, ...]
    codes: pd.DataFrame
    undeclared: dict[str, dict[Any, int]]

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise one :class:`MappingError` listing every problem, if there are any."""
        if self.problems:
            raise MappingError(" | ".join(self.problems))


def parent_index(person: pd.Series, parent: pd.Series) -> np.ndarray:
    """Row position of each row's parent (``-1``: no parent id, or an id not found).

    One hash lookup (``pandas.Index.get_indexer``); float-coded integer parent ids (NaN for
    none) are cast to the person column's integer type first, which keeps the lookup on
    the fast integer path.
    """
    out = np.full(len(parent), -1, dtype=np.int64)
    has = parent.notna().to_numpy()
    target = parent.to_numpy()[has]
    if (
        pd.api.types.is_integer_dtype(person.dtype)
        and target.dtype.kind == "f"
        and np.all(np.mod(target, 1) == 0)
    ):
        target = target.astype(np.int64)
    out[has] = pd.Index(person.to_numpy()).get_indexer(target)
    return out


def _did_you_mean(name: str, columns) -> str:
    close = closest_name(name, [str(c) for c in columns])
    return f" (did you mean {close!r}?)" if close is not None else ""


def check_structure(
    frame: pd.DataFrame, m: QuestionnaireMapping, cache: dict[str, Any] | None = None
) -> tuple[list[str], dict]:
    """Cheap data checks shared by :func:`validate_mapping` and ``classify``.

    Returns ``(problems, undeclared)``; undeclared codes are problems unless
    ``unknown_codes: missing``. When ``cache`` is a dict, the answer masks of each coded
    column (``cache["masks"][column] = (yes, uncertain)``) and the parent row positions
    (``cache["parent_index"]``) are stored in it, so ``classify`` computes them once.
    """
    if cache is None:
        cache = {}
    cache.setdefault("masks", {})
    src = m.source
    problems: list[str] = []
    missing_cols = [
        (loc, col)
        for loc, col in [(f"columns.{k}", v) for k, v in m.columns.items()]
        + [(f"indicators.{it.key}", it.column) for it in m.items]
        if col not in frame.columns
    ]
    if missing_cols:
        problems.append(
            f"{src}: {len(missing_cols)} mapped column(s) not in the data: "
            + ", ".join(f"{loc} -> {shown(col)}{_did_you_mean(col, frame.columns)}"
                        for loc, col in missing_cols[:8])
            + ("; ..." if len(missing_cols) > 8 else "")
            + ". Correct the column names in the mapping."
        )
        return problems, {}
    undeclared: dict[str, dict[Any, int]] = {}
    for loc, col in m.coded_columns.items():
        values = column_values(frame[col])
        yes, unc, und = code_masks(values, m.codes)
        cache["masks"][col] = (yes, unc)
        if und.any():
            counts = _value_counts(values, und)
            undeclared[col] = counts
            if m.unknown_codes == "error":
                problems.append(
                    f"{src}: {loc} -> column {shown(col)} has {int(und.sum())} value(s) with undeclared "
                    f"codes: {_fmt_counts(counts)}. Declare them under 'codes' or set "
                    "'unknown_codes: missing' to treat them as not asked."
                )
    age = frame[m.columns["age"]]
    if not pd.api.types.is_numeric_dtype(age):
        problems.append(
            f"{src}: columns.age -> {shown(m.columns['age'])} is not numeric (dtype {age.dtype}); "
            "convert ages to numbers."
        )
    for key, vkeys in (
        ("employer", ("parents", "third_party")),
        ("perpetrator", ("state", "private")),
    ):
        if key not in m.columns:
            continue
        col = m.columns[key]
        s = frame[col]
        allowed = [v for vk in vkeys for v in m.values[vk]]
        bad = ~(s.isna() | s.isin(allowed) | (s.astype(str).str.strip() == ""))
        if bad.any():
            counts = _value_counts(s.to_numpy(dtype=object), bad.to_numpy())
            if m.unknown_codes == "error":
                problems.append(
                    f"{src}: columns.{key} -> column {shown(col)} has {int(bad.sum())} value(s) not "
                    f"declared under values.{vkeys[0]}/values.{vkeys[1]}: {_fmt_counts(counts)}. "
                    "Declare them under 'values' or set 'unknown_codes: missing'."
                )
            undeclared[col] = counts
    if "person" in m.columns:
        pid = frame[m.columns["person"]]
        dup = pid.duplicated(keep=False) & pid.notna()
        if dup.any():
            problems.append(
                f"{src}: columns.person -> {shown(m.columns['person'])} is not unique: "
                f"{int(dup.sum())} rows share a person id (first ids: "
                f"{first_values(pd.unique(pid[dup]))}). Person ids must be unique within the file."
            )
        elif "parent" in m.columns and m.settings.unknown_parent == "error":
            par = frame[m.columns["parent"]]
            idx = parent_index(pid, par)
            cache["parent_index"] = idx
            orphan = (idx < 0) & par.notna().to_numpy()
            if orphan.any():
                rows = np.flatnonzero(orphan)
                problems.append(
                    f"{src}: columns.parent -> {shown(m.columns['parent'])}: {rows.size} row(s) link to "
                    f"a parent id not found in columns.person -> {shown(m.columns['person'])} (rows "
                    f"{first_values(frame.index[rows].tolist())}; parent ids "
                    f"{first_values(par.to_numpy()[rows].tolist())}). Correct the ids, or set "
                    "settings.unknown_parent: not_in_forced_labour."
                )
    return problems, undeclared


def validate_mapping(data: Any, mapping: Any, *, raise_errors: bool = True) -> MappingCheck:
    """Check a questionnaire mapping against a data set.

    Checks that every mapped column exists, that every code found in a coded column is
    declared under ``codes`` (undeclared codes are listed with their counts), that the
    ``employer``/``perpetrator`` values are declared under ``values``, that person ids are
    unique and that every child's parent id exists. Indicators mapped twice and
    contradictory settings are caught when the mapping is loaded.

    Parameters
    ----------
    data : pandas.DataFrame or SurveyData
    mapping : str, os.PathLike, dict or QuestionnaireMapping
    raise_errors : bool, default True
        Raise a :class:`MappingError` listing every problem; with ``False`` the problems
        are returned on the check.

    Returns
    -------
    MappingCheck
        With a ``codes`` table: every code found, its value label and its meaning.

    Examples
    --------
    >>> import flestimate
    >>> data = flestimate.read_survey("data/sample/fl_survey.sav")
    >>> check = flestimate.validate_mapping(data, "data/sample/mapping.yaml")
    >>> check.ok
    True
    >>> print(check.codes.head(4).to_string(index=False))
                 key column code      label   meaning  user_missing  count
    indicators.UR-I1  ur_i1    1        yes       yes         False     10
    indicators.UR-I1  ur_i1    2         no        no         False   9718
    indicators.UR-I1  ur_i1    8 don't know dont_know          True     23
    indicators.UR-I1  ur_i1    9    refused   refused          True     18
    """
    m = load_mapping(mapping)
    frame, labels = frame_and_labels(data, error=MappingError)
    user_missing = dict(getattr(data, "missing_values", None) or {})
    problems, undeclared = check_structure(frame, m)
    rows = []
    for loc, col in m.coded_columns.items():
        if col not in frame.columns:
            continue
        counts = frame[col].value_counts(dropna=False, sort=False)
        for code, n in counts.items():
            is_na = pd.isna(code)
            code_out = code
            if isinstance(code, float) and not is_na and code.is_integer():
                code_out = int(code)
            rows.append(
                {
                    "key": loc,
                    "column": col,
                    "code": None if is_na else code_out,
                    "label": "" if is_na else _label_of(code, labels.get(col, {})),
                    "meaning": "system_missing" if is_na else m.codes.meaning(code),
                    "user_missing": (not is_na) and _is_user_missing(code, user_missing.get(col)),
                    "count": int(n),
                }
            )
    cols = ["key", "column", "code", "label", "meaning", "user_missing", "count"]
    table = pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in cols})
    table["count"] = table["count"].astype(np.int64)
    if len(table):
        order = {"yes": 0, "no": 1, "dont_know": 2, "refused": 3, "undeclared": 4}
        key_pos = {loc: i for i, loc in enumerate(m.coded_columns)}
        table = (
            table.assign(_k=table["key"].map(key_pos), _o=table["meaning"].map(order).fillna(5))
            .sort_values(["_k", "_o"], kind="stable")
            .drop(columns=["_k", "_o"])
            .reset_index(drop=True)
        )
    check = MappingCheck(mapping=m, problems=tuple(problems), codes=table, undeclared=undeclared)
    if raise_errors:
        check.raise_for_problems()
    return check

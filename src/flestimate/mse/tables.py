"""Capture tables: the counts of every observable capture pattern, built from the user's frame.

A capture pattern is the set of lists a case is on, written as a 0/1 vector over the
``K`` lists. Of the ``2**K`` patterns, ``2**K - 1`` are observable; the all-zero one
(known to no list) is what multiple systems estimation estimates. A
:class:`CaptureTable` holds the counts of *all* observable patterns, the unobserved
ones as explicit zeros: a log-linear model fitted to the observed patterns alone
treats the zeros as missing and gives a wrong dark figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import Diagnostic, ValidationError, first_values

__all__ = ["CaptureTable", "MAX_LISTS", "capture_tables", "pattern_matrix", "uk_2013"]

# 2**16 - 1 cells with 137 parameters is still a small GLM; beyond that the table is
# mostly structural zeros and no published MSE uses so many lists.
MAX_LISTS = 16


def pattern_matrix(n_lists: int) -> np.ndarray:
    """All ``2**K - 1`` observable capture patterns, one row each (int8, 0/1).

    Row ``r`` is the pattern whose binary code is ``r + 1``, list ``k`` being bit ``k``:
    for 3 lists the rows are A, B, AB, C, AC, BC, ABC.
    """
    codes = np.arange(1, 2**n_lists, dtype=np.int64)
    return ((codes[:, None] >> np.arange(n_lists)) & 1).astype(np.int8)


@dataclass(frozen=True, eq=False)
class CaptureTable:
    """The counts of all ``2**K - 1`` observable capture patterns of ``K`` lists.

    Attributes
    ----------
    lists : tuple of str
        The list names, in the order of the pattern columns.
    counts : numpy.ndarray
        Float array of length ``2**K - 1``: the cases on exactly the lists of each
        pattern of :func:`pattern_matrix` (zeros included).
    stratum : object
        The stratum value, or None for an unstratified table.
    diagnostics : tuple of Diagnostic
        Notes from building the table (patterns entered as zeros, rows dropped).
    """

    lists: tuple[str, ...]
    counts: np.ndarray = field(repr=False)
    stratum: Any = None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def patterns(self) -> np.ndarray:
        return pattern_matrix(len(self.lists))

    @property
    def observed(self) -> int:
        """Number of distinct cases on at least one list."""
        return int(round(float(self.counts.sum())))

    @property
    def list_totals(self) -> pd.Series:
        """Cases on each list (whatever other lists they are on)."""
        return pd.Series(self.patterns.T.astype(float) @ self.counts, index=list(self.lists))

    def overlap(self, a: str, b: str) -> float:
        """Cases on both list ``a`` and list ``b`` (whatever other lists they are on)."""
        z = self.patterns
        i, j = self.lists.index(a), self.lists.index(b)
        return float(self.counts[(z[:, i] == 1) & (z[:, j] == 1)].sum())

    def to_frame(self) -> pd.DataFrame:
        """One row per observable pattern: the list columns (0/1) and ``count``."""
        frame = pd.DataFrame(self.patterns, columns=list(self.lists))
        frame["count"] = self.counts
        return frame


# ----------------------------------------------------------------------------- building


def _list_columns(frame: pd.DataFrame, lists: Sequence[str]) -> np.ndarray:
    """The 0/1 matrix of the list columns, checked."""
    if isinstance(lists, str) or not isinstance(lists, Sequence) or len(lists) == 0:
        raise ValidationError(
            f"lists={lists!r}: give the list columns as a sequence of names, "
            "e.g. lists=['LA', 'NG', 'PF']."
        )
    names = [str(x) for x in lists]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValidationError(f"lists: {first_values(dup)} given more than once; name each list once.")
    if len(names) < 2:
        raise ValidationError(
            f"lists={names!r}: multiple systems estimation needs at least 2 lists (found "
            f"{len(names)}); the overlap of the lists is what tells the dark figure."
        )
    if len(names) > MAX_LISTS:
        raise ValidationError(
            f"lists: {len(names)} lists given; at most {MAX_LISTS} are supported "
            f"({2**MAX_LISTS - 1} capture patterns). Merge small lists first."
        )
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ValidationError(
            f"list column(s) {first_values(missing)} not found in the data; its columns are "
            f"{first_values(map(str, frame.columns), 12)}."
        )
    out = np.empty((len(frame), len(names)), dtype=np.int8)
    for k, name in enumerate(names):
        col = frame[name]
        values = pd.to_numeric(col, errors="coerce") if col.dtype != bool else col.astype(int)
        bad = ~values.isin([0, 1]).to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad)
            raise ValidationError(
                f"list column {name!r} has {bad.sum()} value(s) other than 0 and 1 (rows "
                f"{first_values(rows.tolist())}: {first_values(col.iloc[rows].tolist())}). "
                "Code each list as 1 (the case is on the list) or 0 (it is not)."
            )
        out[:, k] = values.to_numpy(dtype=np.int8)
    return out


def _count_column(frame: pd.DataFrame, count: str) -> np.ndarray:
    if count not in frame.columns:
        raise ValidationError(
            f"count column {count!r} not found in the data (columns: "
            f"{first_values(map(str, frame.columns), 12)}). Name the column of case counts "
            "with count=..., or pass count=None when each row is one case."
        )
    values = pd.to_numeric(frame[count], errors="coerce").to_numpy(dtype=float)
    problems = (
        ("missing or non-numeric", ~np.isfinite(values)),
        ("negative", values < 0),
        ("fractional", np.isfinite(values) & (values != np.round(values))),
    )
    for what, bad in problems:
        if bad.any():
            rows = np.flatnonzero(bad)
            raise ValidationError(
                f"count column {count!r} has {bad.sum()} {what} value(s) (rows "
                f"{first_values(rows.tolist())}: {first_values(frame[count].iloc[rows].tolist())}). "
                "Counts are whole numbers of cases >= 0; correct or drop these rows."
            )
    return values


def _table(z: np.ndarray, n: np.ndarray, lists: tuple[str, ...], stratum: Any,
           case_level: bool, where: str) -> CaptureTable:
    """Aggregate rows (pattern z, count n) into a full table; check it."""
    k = len(lists)
    codes = z.astype(np.int64) @ (1 << np.arange(k, dtype=np.int64))
    notes: list[Diagnostic] = []
    empty = codes == 0
    if empty.any():
        rows = np.flatnonzero(empty)
        raise ValidationError(
            f"{where}{empty.sum()} row(s) have no list marked (rows {first_values(rows.tolist())}): "
            "a case known to no list cannot be counted, it is what the estimate is for. "
            "Drop these rows (if they carry a count of the unobserved, it is not known)."
        )
    if not case_level:
        uniq, first, times = np.unique(codes, return_index=True, return_counts=True)
        if (times > 1).any():
            dup = uniq[times > 1]
            rows = np.flatnonzero(np.isin(codes, dup))
            shown = ["".join(map(str, z[r])) for r in rows[:5]]
            raise ValidationError(
                f"{where}{(times > 1).sum()} capture pattern(s) appear on more than one row "
                f"(rows {first_values(rows.tolist())}; patterns {first_values(shown)} over "
                f"{', '.join(lists)}). Give each pattern once with its total count, or pass "
                "count=None for case-level rows."
            )
    counts = np.bincount(codes - 1, weights=n, minlength=2**k - 1).astype(float)
    per_list = pattern_matrix(k).T.astype(float) @ counts
    if (per_list == 0).any():
        never = [lists[i] for i in np.flatnonzero(per_list == 0)]
        raise ValidationError(
            f"{where}list(s) {first_values(never)} record no case: a list that never records "
            "anyone carries no information on the overlap and makes its main effect -infinity. "
            "Leave it out of lists=."
        )
    unlisted = int((counts == 0).sum())
    if unlisted:
        notes.append(Diagnostic(
            code="zero_patterns",
            message=(f"{where}{unlisted} of the {2**k - 1} observable capture patterns have no "
                     "case; they are fitted as zero counts, not dropped (fitting only the "
                     "observed patterns is a known error that changes the dark figure)."),
            severity="info",
            context=(("patterns_with_zero_count", unlisted),),
        ))
    return CaptureTable(lists=lists, counts=counts, stratum=stratum, diagnostics=tuple(notes))


def capture_tables(
    data: pd.DataFrame,
    *,
    lists: Sequence[str],
    count: str | None = "count",
    strata: str | None = None,
) -> list[CaptureTable]:
    """Check the user's frame and build one :class:`CaptureTable` per stratum.

    Parameters
    ----------
    data : pandas.DataFrame
        Either one row per capture pattern with its count, or one row per case
        (``count=None``). The list columns hold 0/1 (or booleans).
    lists : sequence of str
        The list columns, at least two.
    count : str or None, default "count"
        The column of case counts; None when every row is one case.
    strata : str, optional
        A column splitting the cases into strata estimated separately.

    Returns
    -------
    list of CaptureTable
        One table (``stratum=None``) without strata; else one per stratum value, in
        sorted order.

    Raises
    ------
    ValidationError
        A list column that is not 0/1; a count that is missing, negative or fractional;
        a row with no list marked; a pattern given twice; a list that records no case
        (in the whole data or in a stratum).
    """
    if not isinstance(data, pd.DataFrame):
        raise ValidationError(
            f"data: expected a pandas DataFrame of capture patterns or cases, found "
            f"{type(data).__name__}."
        )
    z = _list_columns(data, lists)
    names = tuple(str(x) for x in lists)
    if count is None:
        n = np.ones(len(data))
    else:
        n = _count_column(data, count)
    if len(data) == 0 or n.sum() == 0:
        raise ValidationError("data: no case is recorded (no rows, or every count is 0).")
    if strata is None:
        return [_table(z, n, names, None, count is None, "")]
    if strata not in data.columns:
        raise ValidationError(
            f"strata column {strata!r} not found in the data (columns: "
            f"{first_values(map(str, data.columns), 12)})."
        )
    key = data[strata]
    if key.isna().any():
        rows = np.flatnonzero(key.isna().to_numpy())
        raise ValidationError(
            f"strata column {strata!r} is missing on {len(rows)} row(s) (rows "
            f"{first_values(rows.tolist())}); give every row its stratum or drop these rows."
        )
    codes, levels = pd.factorize(key, sort=True)
    return [
        _table(z[codes == s], n[codes == s], names, levels[s], count is None,
               f"stratum {strata}={levels[s]!r}: ")
        for s in range(len(levels))
    ]


def uk_2013() -> pd.DataFrame:
    """The UK 2013 capture patterns of the Home Office estimate (Silverman 2014).

    Six lists of potential victims of modern slavery: ``LA`` local authorities, ``NG``
    non-governmental organisations, ``PF`` police forces, ``GO`` government
    organisations, ``GP`` the general public, ``NCA`` the National Crime Agency; 25
    observed patterns, 2,744 cases. Source and licence: ``data/mse/README.md``.

    Returns
    -------
    pandas.DataFrame
        Columns ``LA, NG, PF, GO, GP, NCA`` (0/1) and ``count``.

    References
    ----------
    Silverman, B. W. (2014). Modern slavery: an application of multiple systems
    estimation. Home Office, London.

    Examples
    --------
    >>> from flestimate import mse
    >>> mse.uk_2013()["count"].sum()
    np.int64(2744)
    """
    packaged = resources.files("flestimate") / "_example" / "mse" / "uk_2013.csv"
    if packaged.is_file():
        return pd.read_csv(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "data" / "mse" / "uk_2013.csv"
    if checkout.is_file():
        return pd.read_csv(checkout)
    raise ValidationError(  # pragma: no cover - a broken installation
        "the bundled UK 2013 data (flestimate/_example/mse/uk_2013.csv) is not installed; "
        "reinstall flestimate with 'pip install .' from a checkout"
    )

"""Validation and integer encoding of a sampling design: the :class:`DesignStructure`.

The design columns (weights, strata, PSUs of every stage, fpc) are checked and
encoded once, when a :class:`~flestimate.design.SurveyDesign` is built. Every
estimate afterwards works on the integer codes kept here.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from flestimate._keys import blank_levels, clash_text, cross_codes, text_number_clashes
from flestimate.design.lonely_psu import check_lonely_psu, lonely_psu_choices
from flestimate.errors import DesignError, LonelyPSUWarning, first_values, not_in_data, strata_have

__all__ = ["DesignStructure", "Stage", "build_structure"]

# a first-stage "sampling fraction" above 1 - _CERTAINTY_TOL counts as a certainty stratum,
# as R's onestrat does with (N - n) / N < 1e-7
_CERTAINTY_TOL = 1e-7


@dataclass(frozen=True, eq=False)
class Stage:
    """A later sampling stage (2, 3, ...) used for multistage variance.

    Units of this stage are nested in the units of the previous stage (for stage
    2, in the PSUs); each parent unit is one stratum of this stage.

    Attributes
    ----------
    unit : ndarray (n,) int64
        Code 0..U-1 of the row's unit at this stage, unique across parents.
    unit_parent : ndarray (U,) int64
        Code of the parent unit (previous stage; PSU code for stage 2).
    n_units : ndarray (U_prev,) int64
        Units sampled in each parent unit.
    fraction : ndarray (U_prev,) float64
        Sampling fraction of this stage within each parent (0 = with replacement).
    parent_factor : ndarray (U_prev,) float64
        Product of the sampling fractions of the parent's ancestors' stages
        (R's ``nPSU / fpc`` multipliers); the stage's variance term is weighted by it.
    """

    unit: np.ndarray
    unit_parent: np.ndarray
    n_units: np.ndarray
    fraction: np.ndarray
    parent_factor: np.ndarray

    @property
    def n_units_total(self) -> int:
        return int(self.unit_parent.shape[0])


@dataclass(frozen=True, eq=False)
class DesignStructure:
    """Integer-encoded design, the input of the variance kernel (docs/internals.md section 2).

    Attributes
    ----------
    n : int
        Number of rows.
    weights : ndarray (n,) float64
        Final weights, all > 0.
    psu : ndarray (n,) int64
        PSU code 0..P-1, unique across strata.
    psu_stratum : ndarray (P,) int64
        Stratum code 0..H-1 of each PSU.
    n_psu : ndarray (H,) int64
        Sampled PSUs per stratum.
    fpc1 : ndarray (H,) float64
        First-stage sampling fraction f_h (0 = with replacement).
    stages : tuple of Stage
        Later stages with an fpc, for multistage variance (empty: ultimate clusters).
    lonely_psu : str
        Lonely-PSU rule.
    stratum : ndarray (n,) int64
        Stratum code of each row.
    strata_labels, psu_labels : pandas.Index
        Original labels of the codes (for summaries and messages).
    frequency : ndarray (n,) float64 or None
        Respondents each row stands for, when the rows are groups of respondents
        sharing every value used (grouped data from an out-of-core engine, whose
        weights are the groups' weight sums); None: one respondent per row.
    """

    n: int
    weights: np.ndarray
    psu: np.ndarray
    psu_stratum: np.ndarray
    n_psu: np.ndarray
    fpc1: np.ndarray
    stages: tuple[Stage, ...]
    lonely_psu: str
    stratum: np.ndarray
    strata_labels: pd.Index = field(default_factory=lambda: pd.Index([]))
    psu_labels: pd.Index = field(default_factory=lambda: pd.Index([]))
    frequency: np.ndarray | None = None

    @property
    def n_strata(self) -> int:
        return int(self.n_psu.shape[0])

    @property
    def n_psus(self) -> int:
        return int(self.psu_stratum.shape[0])

    @property
    def lonely_strata(self) -> np.ndarray:
        """Boolean (H,): strata with one sampled PSU that are not certainty strata."""
        return (self.n_psu == 1) & (self.fpc1 < 1.0 - _CERTAINTY_TOL)

    @property
    def degf(self) -> int:
        """R's ``degf``: PSUs minus strata (all weights are positive)."""
        return self.n_psus - self.n_strata

    @cached_property
    def psu_runs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(starts, codes)`` of the runs of consecutive rows of one PSU when each PSU's
        rows are contiguous (data sorted by PSU, the usual file order), else None.

        Then PSU sums are segment sums (``np.add.reduceat``), several times faster
        than a ``bincount`` whose consecutive rows all land in the same bin.
        """
        psu = self.psu
        if psu.size == 0:
            return None
        change = np.flatnonzero(psu[1:] != psu[:-1]) + 1
        if change.size + 1 != self.n_psus:
            return None
        starts = np.concatenate([[0], change]).astype(np.intp)
        return starts, psu[starts]

    def with_weights(self, weights: np.ndarray) -> DesignStructure:
        """A copy with other final weights (used by weighting steps)."""
        from dataclasses import replace

        return replace(self, weights=np.asarray(weights, dtype=np.float64))


# ----------------------------------------------------------------------------- helpers


def _as_list(value: str | Sequence[str] | None, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        out = list(value)
        for v in out:
            if not isinstance(v, str):
                raise DesignError(
                    f"{name}= must be a column name or a list of column names; found {v!r}. "
                    f"Pass the column names as strings."
                )
        return out
    raise DesignError(
        f"{name}= must be a column name or a list of column names; found {type(value).__name__}. "
        "Pass the column names as strings."
    )


def _column(frame: pd.DataFrame, name: str, role: str) -> pd.Series:
    if name not in frame.columns:
        raise DesignError(not_in_data(f"{role} column {name!r}", [name], frame.columns))
    return frame[name]


def _rows(mask: np.ndarray, index: pd.Index) -> str:
    return first_values(index[np.flatnonzero(mask)][:6])


def _no_missing(col: pd.Series, role: str) -> None:
    miss = col.isna().to_numpy()
    if miss.any():
        raise DesignError(
            f"{role} column {col.name!r} has {int(miss.sum())} missing values "
            f"(rows {_rows(miss, col.index)}). Every row needs a {role}; fill or drop these rows."
        )


def _numeric(col: pd.Series, role: str) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)):
        conv = pd.to_numeric(col, errors="coerce")
        bad = conv.isna().to_numpy() & col.notna().to_numpy()
        if bad.any():
            raise DesignError(
                f"{role} column {col.name!r} is not numeric: {int(bad.sum())} values cannot be read "
                f"as numbers (first: {first_values(col[bad].unique()[:5])}). "
                f"Convert the column to numbers."
            )
        col = conv
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def _check_ids(codes: np.ndarray, levels: pd.Index, col: pd.Series, role: str) -> None:
    """Blank text ids, and ids written both as text and as a number, are refused."""
    blank = blank_levels(levels)
    if blank.any():
        rows = blank[codes]
        raise DesignError(
            f"{role} column {col.name!r} has {int(rows.sum())} blank values (rows "
            f"{_rows(rows, col.index)}). Every row needs a {role}; fill or drop these rows."
        )
    clashes = text_number_clashes(levels)
    if clashes:
        raise DesignError(
            f"{role} column {col.name!r} holds the same id as text and as a number: "
            f"{clash_text(clashes)}. They would be counted as different {role} ids. Store the "
            f"column with one type: pd.to_numeric(frame[{col.name!r}]) when the ids are "
            "numbers, else text written the same way throughout."
        )


def _codes(
    values: pd.Series | pd.DataFrame, role: str | None = None
) -> tuple[np.ndarray, pd.Index]:
    """Integer codes 0..G-1 of the values (sorted labels) or of the rows of a frame.

    With ``role`` (a design column's role: "strata", "psu"), its values are checked too.
    """
    if isinstance(values, pd.DataFrame):
        if values.shape[1] == 1:
            return _codes(values.iloc[:, 0], role)
        parts = [_codes(values[c], role) for c in values.columns]
        codes, combos = cross_codes([c for c, _ in parts], [len(lab) for _, lab in parts])
        arrays = [lab.take(combos[:, j]) for j, (_, lab) in enumerate(parts)]
        labels = pd.MultiIndex.from_arrays(arrays, names=list(values.columns))
        return codes, labels
    small = _integer_codes(values)
    if small is not None:  # integer ids in a short range: a bincount, no hashing
        codes, levels = small
    else:
        codes, uniques = pd.factorize(values, sort=True)
        codes = codes.astype(np.int64)
        levels = pd.Index(uniques)
    if role is not None:
        _check_ids(codes, levels, values, role)
    return codes, levels


def _integer_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    """Sorted codes of a numpy integer column whose range is at most a few times its
    length (the usual stratum and PSU numbers), as ``pd.factorize(sort=True)`` gives."""
    if values.dtype.kind not in "iu" or values.size == 0:
        return None
    arr = values.to_numpy()
    lo, hi = int(arr.min()), int(arr.max())
    if hi - lo > 4 * arr.size + 1024:
        return None
    shifted = (arr - lo).astype(np.intp, copy=False)
    present = np.bincount(shifted, minlength=hi - lo + 1) > 0
    lookup = np.cumsum(present, dtype=np.int64) - 1
    levels = pd.Index((np.flatnonzero(present) + lo).astype(arr.dtype, copy=False))
    return lookup[shifted], levels


# ----------------------------------------------------------------------------- build


def build_structure(
    frame: pd.DataFrame,
    *,
    weight: str | None,
    strata: str | Sequence[str] | None,
    psu: str | Sequence[str] | None,
    fpc: str | Sequence[str] | None,
    nest: bool,
    lonely_psu: str,
    frequency: str | None = None,
) -> tuple[DesignStructure, pd.Series]:
    """Validate the design columns of ``frame`` and encode them.

    Returns the structure and the final weights as a Series on ``frame.index``.
    Raises :class:`~flestimate.errors.DesignError` naming the column, what was found
    and the fix.
    """
    check_lonely_psu(lonely_psu)
    n = len(frame)
    if n == 0:
        raise DesignError("the data have no rows. A design needs at least one respondent.")
    strata_cols = _as_list(strata, "strata")
    psu_cols = _as_list(psu, "psu")
    fpc_cols = _as_list(fpc, "fpc")
    if len(fpc_cols) > max(len(psu_cols), 1):
        raise DesignError(
            f"fpc= names {len(fpc_cols)} columns but the design has "
            f"{max(len(psu_cols), 1)} sampling stage(s) (psu=). Give one fpc column per stage."
        )
    if weight is None and not fpc_cols:
        raise DesignError(
            "neither weight= nor fpc= was given. Pass the weight column, or the population "
            "counts of every stage as fpc= so that the weights can be derived."
        )

    # strata -------------------------------------------------------------------------
    if strata_cols:
        sframe = pd.DataFrame({c: _column(frame, c, "strata") for c in strata_cols})
        for c in strata_cols:
            _no_missing(sframe[c], "strata")
        stratum, strata_labels = _codes(sframe, "strata")
    else:
        stratum = np.zeros(n, dtype=np.int64)
        strata_labels = pd.Index([1])
    H = len(strata_labels)

    # stage units ----------------------------------------------------------------------
    # stage 1: PSUs; later stages nested in their parents
    stage_ids: list[np.ndarray] = []
    if psu_cols:
        cols = {c: _column(frame, c, "psu") for c in psu_cols}
        for c in psu_cols:
            _no_missing(cols[c], "psu")
        first = cols[psu_cols[0]]
        raw_codes, psu_raw_labels = _codes(first, "psu")
        if strata_cols and nest:
            psu_codes, psu_labels = _codes(pd.DataFrame({"__s": stratum, "__p": raw_codes}))
        else:
            psu_codes, order = _unnested_psu_codes(raw_codes, stratum, len(psu_raw_labels))
            if order is None:
                bad = psu_codes
                raise DesignError(
                    f"psu column {psu_cols[0]!r} has {bad.size} PSU ids that appear in more than "
                    f"one stratum (first: {first_values(psu_raw_labels[bad][:5])}). If PSU ids are "
                    "numbered within strata, pass nest=True; otherwise correct the ids."
                )
            psu_labels = psu_raw_labels[order]
        stage_ids.append(psu_codes)
        parent = psu_codes
        for c in psu_cols[1:]:
            sub, _ = _codes(cols[c], "psu")
            unit, _ = _codes(pd.DataFrame({"__p": parent, "__u": sub}))
            stage_ids.append(unit)
            parent = unit
    else:
        stage_ids.append(np.arange(n, dtype=np.int64))
        psu_labels = pd.RangeIndex(n)
    psu_codes = stage_ids[0]
    P = int(psu_codes.max()) + 1
    psu_stratum = np.zeros(P, dtype=np.int64)
    psu_stratum[psu_codes] = stratum
    n_psu = np.bincount(psu_stratum, minlength=H).astype(np.int64)

    # fpc ------------------------------------------------------------------------------
    n_stages = len(stage_ids)
    # per stage: (strata code of each row at that stage, n sampled per stratum)
    stage_strata = [stratum]
    stage_nsamp = [n_psu]
    for s in range(1, n_stages):
        parent = stage_ids[s - 1]
        U_prev = int(parent.max()) + 1
        unit = stage_ids[s]
        U = int(unit.max()) + 1
        unit_parent = np.zeros(U, dtype=np.int64)
        unit_parent[unit] = parent
        stage_strata.append(parent)
        stage_nsamp.append(np.bincount(unit_parent, minlength=U_prev).astype(np.int64))

    fractions: list[np.ndarray] = []
    for s, c in enumerate(fpc_cols):
        col = _column(frame, c, "fpc")
        _no_missing(col, "fpc")
        vals = _numeric(col, "fpc")
        if not np.all(np.isfinite(vals)) or np.any(vals <= 0):
            bad = ~np.isfinite(vals) | (vals <= 0)
            raise DesignError(
                f"fpc column {c!r} has {int(bad.sum())} values that are not positive finite "
                f"numbers (rows {_rows(bad, frame.index)}). Give population counts (> 1) or "
                "sampling fractions (<= 1)."
            )
        groups = stage_strata[s]
        G = stage_nsamp[s].shape[0]
        lo = np.full(G, np.inf)
        hi = np.full(G, -np.inf)
        np.minimum.at(lo, groups, vals)
        np.maximum.at(hi, groups, vals)
        varying = np.flatnonzero(hi - lo > 1e-9 * np.maximum(1.0, np.abs(hi)))
        if varying.size:
            where = "stratum" if s == 0 else f"stage-{s} unit (stage {s + 1} fpc)"
            labels = strata_labels[varying] if s == 0 else varying
            raise DesignError(
                f"fpc column {c!r} varies within {varying.size} {where}s "
                f"(first: {first_values(labels[:5])}). The fpc must be constant within each "
                "stratum; check the column."
            )
        per = lo
        nsamp = stage_nsamp[s].astype(np.float64)
        if np.all(per <= 1.0):
            frac = per
        elif np.all(per >= 1.0):
            small = np.flatnonzero(per < nsamp - 1e-9)
            if small.size:
                where = "strata" if s == 0 else f"stage-{s} units"
                labels = strata_labels[small] if s == 0 else small
                raise DesignError(
                    f"fpc column {c!r} is smaller than the number of sampled units in "
                    f"{small.size} {where} (first: {first_values(labels[:5])}; e.g. population "
                    f"{per[small[0]]:g} < sampled {int(nsamp[small[0]])}). Give the population "
                    "count of units at this stage (or the sampling fraction)."
                )
            frac = nsamp / per
        else:
            raise DesignError(
                f"fpc column {c!r} mixes sampling fractions (< 1) and population counts (> 1). "
                "Use one or the other for the whole column."
            )
        fractions.append(frac)

    fpc1 = fractions[0] if fractions else np.zeros(H)

    # weights ----------------------------------------------------------------------------
    if weight is not None:
        wcol = _column(frame, weight, "weight")
        wvals = _numeric(wcol, "weight")
        miss = np.isnan(wvals)
        if miss.any():
            raise DesignError(
                f"weight column {weight!r} has {int(miss.sum())} missing values "
                f"(rows {_rows(miss, frame.index)}). Survey weights must be > 0; drop or correct "
                "these rows."
            )
        for bad, what in (
            (~np.isfinite(wvals), "infinite"),
            (wvals < 0, "negative"),
            (wvals == 0, "zero"),
        ):
            if bad.any():
                raise DesignError(
                    f"weight column {weight!r} has {int(bad.sum())} {what} values "
                    f"(rows {_rows(bad, frame.index)}). Survey weights must be > 0; drop or "
                    "correct these rows (use by= or a domain to exclude respondents)."
                )
        weights = wvals
        wname = weight
    else:
        if len(fpc_cols) < n_stages:
            raise DesignError(
                f"weight= was not given and fpc= has {len(fpc_cols)} columns for {n_stages} "
                "stages, so the weights cannot be derived. Give weight= or one fpc per stage."
            )
        weights = np.ones(n)
        for s, frac in enumerate(fractions):
            weights = weights / frac[stage_strata[s]]
        wname = "weight"

    # lonely PSUs -----------------------------------------------------------------------
    lonely = (n_psu == 1) & (fpc1 < 1.0 - _CERTAINTY_TOL)
    if lonely.any() and lonely_psu == "fail":
        idx = np.flatnonzero(lonely)
        raise DesignError(
            f"{strata_have(idx.size)} a single PSU (strata column "
            f"{', '.join(map(repr, strata_cols)) or '(none)'}; first: "
            f"{first_values(strata_labels[idx][:5])}), so their variance cannot be estimated. "
            f"Choose a rule with lonely_psu= ({lonely_psu_choices(applied_only=True)}), "
            "or collapse these strata."
        )

    if lonely.any():
        idx = np.flatnonzero(lonely)
        warnings.warn(
            f"{strata_have(idx.size)} a single PSU (first: {first_values(strata_labels[idx][:5])}); "
            f"their variance contribution follows lonely_psu={lonely_psu!r}.",
            LonelyPSUWarning,
            stacklevel=3,
        )

    # later stages (only those with an fpc: ultimate-cluster variance beyond) -------------
    stages: list[Stage] = []
    factor_prev = fpc1[psu_stratum]  # per PSU
    for s in range(1, min(len(fractions), n_stages)):
        unit = stage_ids[s]
        U = int(unit.max()) + 1
        unit_parent = np.zeros(U, dtype=np.int64)
        unit_parent[unit] = stage_ids[s - 1]
        frac = fractions[s]
        nunits = stage_nsamp[s]
        lone = (nunits == 1) & (frac < 1.0 - _CERTAINTY_TOL) & (factor_prev > 0)
        if lone.any() and lonely_psu == "fail":
            idx = np.flatnonzero(lone)
            raise DesignError(
                f"{idx.size} stage-{s} units have a single sampled unit at stage {s + 1} "
                f"(column {psu_cols[s]!r}), so their stage-{s + 1} variance cannot be estimated. "
                "Choose a rule with lonely_psu= or give the stage's fpc so that it is a "
                "certainty stage."
            )
        stages.append(
            Stage(
                unit=unit,
                unit_parent=unit_parent,
                n_units=nunits,
                fraction=frac,
                parent_factor=factor_prev,
            )
        )
        factor_prev = (factor_prev * frac)[unit_parent]

    structure = DesignStructure(
        n=n,
        weights=np.ascontiguousarray(weights, dtype=np.float64),
        psu=psu_codes,
        psu_stratum=psu_stratum,
        n_psu=n_psu,
        fpc1=np.asarray(fpc1, dtype=np.float64),
        stages=tuple(stages),
        lonely_psu=lonely_psu,
        stratum=stratum,
        strata_labels=strata_labels,
        psu_labels=pd.Index(psu_labels),
        frequency=frequency_values(frame, frequency),
    )
    return structure, pd.Series(weights, index=frame.index, name=wname)


def frequency_values(frame: pd.DataFrame, name: str | None) -> np.ndarray | None:
    """The respondents each row stands for (column ``name``: whole numbers >= 1)."""
    if name is None:
        return None
    col = _column(frame, name, "frequency")
    values = _numeric(col, "frequency")
    bad = ~np.isfinite(values) | (values < 1) | (values != np.round(values))
    if bad.any():
        raise DesignError(
            f"frequency column {name!r} has {int(bad.sum())} values that are not whole numbers "
            f">= 1 (rows {_rows(bad, frame.index)}). It counts the respondents each row "
            "stands for; correct the column."
        )
    return values


def _unnested_psu_codes(
    raw: np.ndarray, stratum: np.ndarray, P: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """PSU codes ordered by (stratum, id) when every PSU id lies in one stratum.

    Returns ``(codes, order)``: the rows' PSU codes and, per code, the raw id code; or
    ``(bad, None)``: the raw id codes found in more than one stratum.

    Notes
    -----
    One scatter and one gather, no sort of the rows: each id takes the stratum of one of
    its rows, and an id is in one stratum exactly when every row agrees with it. The
    codes equal those of the (stratum, id) pairs (``nest=True``), sorted the same way.
    """
    id_stratum = np.zeros(P, dtype=np.int64)
    id_stratum[raw] = stratum
    differ = stratum != id_stratum[raw]
    if differ.any():
        return np.flatnonzero(np.bincount(raw[differ], minlength=P)), None
    order = np.lexsort((np.arange(P), id_stratum))
    rank = np.empty(P, dtype=np.int64)
    rank[order] = np.arange(P)
    return rank[raw], order

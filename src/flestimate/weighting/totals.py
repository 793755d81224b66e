"""Population totals: the one shape that ``poststratify``, ``rake`` and ``calibrate`` take.

The shape (:data:`PopulationTotals`) is documented once, on :func:`population_totals`,
which reads it into :class:`Totals` for the three steps: a DataFrame of classification
columns and a ``count`` column, a Series of counts indexed by level, a dict
``{variable: counts or number}``, or a list of these. ``poststratify`` takes exactly one
margin, ``rake`` one or more, ``calibrate`` margins and numeric totals; the same totals
in any shape give the same weights.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from flestimate.errors import CalibrationError, first_values

__all__ = [
    "COUNT_COLUMN",
    "LevelCounts",
    "Margin",
    "MarginCounts",
    "MarginSelection",
    "NumericTotal",
    "PopulationTotals",
    "Totals",
    "population_totals",
]

COUNT_COLUMN = "count"


@dataclass(frozen=True, eq=False)
class Margin:
    """Population counts of the cells of one margin (one column or a cross of columns).

    Attributes
    ----------
    name : str
        Name used in messages (the column, or the columns joined by " x ").
    columns : tuple of str
        Sample columns that define the cells.
    levels : pandas.Index
        Cell labels (a MultiIndex for crossed columns), in the order of ``counts``.
    counts : ndarray (q,) float64
        Population count of each cell.
    """

    name: str
    columns: tuple[str, ...]
    levels: pd.Index
    counts: np.ndarray

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def as_dict(self) -> dict[str, Any]:
        labels = [
            " x ".join(map(str, lv)) if isinstance(lv, tuple) else _plain(lv) for lv in self.levels
        ]
        return {
            "columns": list(self.columns),
            "counts": dict(zip(labels, self.counts.tolist(), strict=False)),
        }


@dataclass(frozen=True, eq=False)
class NumericTotal:
    """The population total of a numeric variable (a calibration auxiliary)."""

    column: str
    total: float


@dataclass(frozen=True, eq=False)
class Totals:
    """Population totals read into one form (the result of :func:`population_totals`).

    Attributes
    ----------
    margins : tuple of Margin
        The categorical margins, in the order given; their grand totals agree.
    numeric : tuple of NumericTotal
        Totals of numeric variables, in the order given (only ``calibrate`` takes them).
    """

    margins: tuple[Margin, ...]
    numeric: tuple[NumericTotal, ...] = ()

    def categorical(self, step: str, parameter: str) -> tuple[Margin, ...]:
        """The margins, for a step that takes counts by level only (not numeric totals)."""
        if self.numeric:
            first = self.numeric[0]
            raise CalibrationError(
                f"{step}: {parameter}[{first.column!r}] is a number ({first.total:g}), the total "
                f"of a numeric variable, but {step} needs population counts by level. Give them "
                f"under their column ({parameter}={{column: {{level: count}}}}), or calibrate "
                "to numeric totals with calibrate()."
            )
        return self.margins


# {level: count} of one variable
LevelCounts: TypeAlias = Mapping[Hashable, float]
# the population counts of one margin
MarginCounts: TypeAlias = pd.Series | pd.DataFrame | LevelCounts
# every shape that poststratify, rake and calibrate accept (see the module docstring)
PopulationTotals: TypeAlias = (
    pd.DataFrame
    | pd.Series
    | Mapping[str, MarginCounts | float]
    | Sequence[pd.Series | pd.DataFrame | Mapping[str, MarginCounts | float]]
    | Totals
)
# margins to sum a cross-classified table to: a column, or a list of columns for a cross
MarginSelection: TypeAlias = str | Sequence[str | Sequence[str]]


def population_totals(
    totals: PopulationTotals,
    *,
    margins: MarginSelection | None = None,
    parameter: str = "totals",
) -> Totals:
    """Read population totals given in any accepted shape into one form.

    ``poststratify``, ``rake`` and ``calibrate`` call this on their totals; call it
    directly to check totals once, or to sum a cross-classified table to margins.

    Parameters
    ----------
    totals : DataFrame, Series, dict, list or Totals
        Population totals (:data:`PopulationTotals`), one of

        - a DataFrame of one or more classification columns and a ``count`` column:
          the counts of the cells of one margin, crossed when there are several
          columns (``pd.read_csv("data/sample/margins.csv")``);
        - a Series of counts indexed by the levels of one variable, as ``groupby``
          leaves it (``cells.groupby("sex")["count"].sum()``): the variable is the
          index name, or the Series name when the index has none; a MultiIndex with
          named levels is a crossed margin;
        - a dict ``{variable: counts}``, one margin per entry, counts being a
          ``{level: count}`` dict, a Series indexed by level or a DataFrame as above,
          or a number: the population total of a numeric variable (``calibrate``
          only);
        - a list of the above, one margin (or dict of margins) per item;
        - a :class:`Totals` already read (returned as it is).
    margins : str or list, optional
        With a DataFrame (or Series) of crossed cells: the margins to sum it to, each a
        column name or a list of column names (a crossed margin), e.g.
        ``["region", ["sex", "age_group"]]``. Without it the table is one margin.
    parameter : str
        The name of the argument in error messages (``"margins"`` for ``rake``).

    Returns
    -------
    Totals
        The margins (level labels and float counts) and numeric totals, in the order
        given.

    Raises
    ------
    CalibrationError
        Counts that are missing, negative or not numbers, a level listed twice, a
        DataFrame without a ``count`` column, a Series that names no variable,
        margins whose grand totals differ, or a shape that is none of the above.

    Examples
    --------
    >>> import pandas as pd
    >>> from flestimate.weighting import population_totals
    >>> cells = pd.read_csv("data/sample/margins.csv")  # region, sex, age_group, count
    >>> by_sex = population_totals(cells.groupby("sex")["count"].sum())
    >>> [(m.name, m.levels.tolist(), m.counts.tolist()) for m in by_sex.margins]
    [('sex', [1, 2], [93678.0, 92508.0])]
    >>> [m.name for m in population_totals(cells, margins=["region", ["sex", "age_group"]]).margins]
    ['region', 'sex x age_group']
    """
    if margins is not None:
        found = _collapse(totals, margins, parameter)
    elif isinstance(totals, Totals):
        return totals
    else:
        found = list(_entries(totals, parameter))
    cat = tuple(e for e in found if isinstance(e, Margin))
    num = tuple(e for e in found if isinstance(e, NumericTotal))
    _check_grand_totals(cat, parameter)
    return Totals(margins=cat, numeric=num)


def _entries(totals: Any, parameter: str) -> Iterator[Margin | NumericTotal]:
    if isinstance(totals, Totals):
        yield from totals.margins
        yield from totals.numeric
    elif isinstance(totals, (pd.DataFrame, pd.Series)):
        yield _margin(None, totals, parameter)
    elif isinstance(totals, Mapping | list | tuple) and len(totals) > 0:
        if isinstance(totals, Mapping):
            for key, spec in totals.items():
                yield _entry(str(key), spec, parameter)
        else:
            for item in totals:
                yield from _entries(item, parameter)
    else:
        found = (
            f"an empty {type(totals).__name__}"
            if isinstance(totals, Mapping | list | tuple)
            else type(totals).__name__
        )
        raise CalibrationError(
            f"{parameter}= must be population totals: a DataFrame of classification columns "
            f"and a {COUNT_COLUMN!r} column, a Series of counts indexed by level, a dict "
            f"{{column: {{level: count}}}}, or a list of these; found {found}."
        )


def _entry(key: str, spec: Any, parameter: str) -> Margin | NumericTotal:
    if isinstance(spec, (Mapping, pd.Series, pd.DataFrame)):
        return _margin(key, spec, parameter)
    if isinstance(spec, Real) and not isinstance(spec, bool) and np.isfinite(float(spec)):
        return NumericTotal(key, float(spec))
    raise CalibrationError(
        f"{parameter}[{key!r}] must be {{level: count}} for a categorical column or a "
        f"finite number (the population total) for a numeric column; found {spec!r}."
    )


def _margin(name: str | None, spec: Any, parameter: str) -> Margin:
    """One margin's counts; ``name`` is the dict key it was given under, if any."""
    where = f"of margin {name!r}" if name is not None else f"given as {parameter}="
    if isinstance(spec, pd.Series) and isinstance(spec.index, pd.MultiIndex):
        spec = _series_frame(spec, where)
    if isinstance(spec, pd.DataFrame):
        if COUNT_COLUMN not in spec.columns:
            raise CalibrationError(
                f"population counts {where} are a DataFrame without a {COUNT_COLUMN!r} column "
                f"(columns: {first_values(map(str, spec.columns))}). Name the column of "
                f"population counts {COUNT_COLUMN!r}."
            )
        columns = tuple(str(c) for c in spec.columns if c != COUNT_COLUMN)
        if not columns:
            raise CalibrationError(
                f"population counts {where} have no cell columns besides {COUNT_COLUMN!r}. "
                "Add the columns that define the cells."
            )
        counts = pd.to_numeric(spec[COUNT_COLUMN], errors="coerce").to_numpy(dtype=np.float64)
        if len(columns) == 1:
            levels = pd.Index(spec[columns[0]].to_numpy())
        else:
            levels = pd.MultiIndex.from_frame(spec[list(columns)])
        label = " x ".join(columns)
    elif isinstance(spec, pd.Series):
        label = name if name is not None else _series_variable(spec, parameter)
        columns = (label,)
        levels = pd.Index(spec.index.to_numpy())
        counts = pd.to_numeric(spec, errors="coerce").to_numpy(dtype=np.float64)
    elif isinstance(spec, Mapping) and name is not None:
        label = name
        columns = (name,)
        levels = pd.Index(list(spec.keys()), tupleize_cols=False)
        try:
            counts = np.array([float(v) for v in spec.values()], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise CalibrationError(
                f"population counts {where} must be numbers; found "
                f"{first_values(spec.values())}. Give {{level: count}}."
            ) from exc
    else:
        raise CalibrationError(
            f"population counts {where} must be a {{level: count}} dict, a Series "
            f"or a DataFrame with a {COUNT_COLUMN!r} column; found {type(spec).__name__}."
        )
    _check_counts(label, levels, counts)
    return Margin(name=label, columns=columns, levels=levels, counts=counts)


def _series_variable(spec: pd.Series, parameter: str) -> str:
    """The variable a Series of counts is indexed by: its index name, else its own name."""
    name = spec.index.name if spec.index.name is not None else spec.name
    if name is None:
        raise CalibrationError(
            f"{parameter}= is a Series of counts that names no variable (neither its index "
            "nor the Series has a name). Name the variable, e.g. counts.rename_axis('sex'), "
            f"or give {{'sex': counts}}."
        )
    return str(name)


def _series_frame(spec: pd.Series, where: str) -> pd.DataFrame:
    """A Series of crossed counts (MultiIndex) as cell columns and a ``count`` column."""
    names = list(spec.index.names)
    if any(n is None for n in names) or COUNT_COLUMN in names:
        raise CalibrationError(
            f"population counts {where} are a Series with a MultiIndex whose levels are named "
            f"{names}; every level must name a classification column (not {COUNT_COLUMN!r}). "
            "Name them with counts.rename_axis([...])."
        )
    frame = spec.index.to_frame(index=False)
    frame[COUNT_COLUMN] = spec.to_numpy()
    return frame


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_counts(name: str, levels: pd.Index, counts: np.ndarray) -> None:
    bad = ~np.isfinite(counts) | (counts < 0)
    if bad.any():
        raise CalibrationError(
            f"population counts of margin {name!r} must be finite and >= 0; found "
            f"{int(bad.sum())} invalid (levels {first_values(levels[bad])}). Correct the totals."
        )
    if levels.has_duplicates:
        dup = levels[levels.duplicated()].unique()
        raise CalibrationError(
            f"population counts of margin {name!r} list a level more than once "
            f"({first_values(dup)}). Give one count per level."
        )


def _check_grand_totals(margins: tuple[Margin, ...], parameter: str, rtol: float = 1e-6) -> None:
    """Margins calibrated together must describe the same population size."""
    if len(margins) < 2:
        return
    totals = np.array([m.total for m in margins])
    ref = totals[0]
    bad = np.abs(totals - ref) > rtol * max(abs(ref), 1.0)
    if bad.any():
        listing = ", ".join(f"{m.name!r}: {m.total:g}" for m in margins)
        raise CalibrationError(
            f"the margins of {parameter}= have different grand totals ({listing}). Every margin "
            f"counts the same population; correct the counts so that their sums agree."
        )


def _collapse(totals: Any, margins: Any, parameter: str) -> list[Margin | NumericTotal]:
    """Sum a table of crossed cells to the margins named by ``margins``."""
    if not isinstance(totals, (pd.DataFrame, pd.Series)):
        raise CalibrationError(
            f"margins= sums a table of crossed cells to its margins, so {parameter}= must be a "
            f"DataFrame with a {COUNT_COLUMN!r} column (or a Series of counts); found "
            f"{type(totals).__name__}. Leave margins= out for totals given by margin."
        )
    table = _margin(None, totals, parameter)  # checks the counts of every cell first
    cells = list(table.columns)
    spec = [margins] if isinstance(margins, str) else margins
    if not isinstance(spec, Sequence) or not spec:
        raise CalibrationError(
            f"margins={margins!r} must be a list of columns of the totals table "
            f"({', '.join(cells)}); a crossed margin is a list such as {cells[:2]}."
        )
    frame = table.levels.to_frame(index=False, name=cells if len(cells) > 1 else cells[0])
    frame[COUNT_COLUMN] = table.counts
    out: list[Margin | NumericTotal] = []
    for i, m in enumerate(spec):
        cols = [m] if isinstance(m, str) else list(m) if isinstance(m, Sequence) else []
        if not cols or any(c not in cells for c in cols):
            raise CalibrationError(
                f"margins[{i}] = {m!r} must name columns of the totals table "
                f"({', '.join(cells)}), or list several for a crossed margin."
            )
        summed = frame.groupby(cols, sort=True, dropna=False)[COUNT_COLUMN].sum()
        if len(cols) == 1:
            out.append(_margin(cols[0], summed, parameter))
        else:
            out.append(_margin(None, summed.reset_index(), parameter))
    return out

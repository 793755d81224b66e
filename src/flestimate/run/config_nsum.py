"""The ``nsum:`` section of a run config: validation.

::

    nsum:
      name: scale_up                    # the table (file and sheet names)
      title: Size of the hidden population (network scale-up)
      hidden: fl_known                  # "how many people do you know who ...?"
      known: known_populations.csv      # or inline: {teacher: 120, nurse: 34}
      total_population: 4000
      topcode: 30
      missing_codes: [98, 99]
      by: [region]
      adjustment: {visibility: 0.8}     # generalised scale-up factors
      sensitivity:                      # grid of factors for the sensitivity sheet
        visibility: [0.6, 0.8, 1.0]
      validation: true                  # internal validation sheet (>= 2 known populations)

A ``known`` CSV has the columns ``population`` and ``size`` (one row per known
population). Everything is checked here, before any data is read, except that the
columns exist in the survey (:func:`check_nsum_columns`).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from flestimate.errors import ConfigError, shown
from flestimate.run.config_specs import NSUM_OPTIONS, NsumSpec
from flestimate.run.config_values import (
    _bool,
    _check_keys,
    _err,
    _file,
    _mapping,
    _number,
    _str,
    _str_list,
)

__all__ = ["check_nsum_columns", "parse_nsum"]

KEY = "nsum"
_KEYS = ("name", "title", "hidden", "known", "total_population", "sensitivity", "validation",
         *NSUM_OPTIONS)  # fmt: skip
_MAX_GRID = 1000
_MIN_PRODUCT = 1e-9


def _known_from_csv(path: Path) -> dict[str, Any]:
    key = f"{KEY}.known"
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{key}: cannot read {shown(path.name)} as a CSV file: {exc}") from None
    if not rows or not {"population", "size"} <= set(rows[0]):
        raise ConfigError(f"{key}: {shown(path.name)} must have the columns 'population' and "
                          f"'size', one row per known population")
    out: dict[str, Any] = {}
    for i, r in enumerate(rows):
        try:
            size = float(r["size"])
        except (TypeError, ValueError):
            raise _err(f"{key} ({path.name} row {i + 2}).size", r["size"],
                       "expected a number") from None
        out[str(r["population"])] = size
    return out


def _known(raw: Any, base: Path) -> dict[str, float]:
    key = f"{KEY}.known"
    known = _known_from_csv(_file(raw, key, base)) if isinstance(raw, str) else dict(
        _mapping(raw, key))
    if not known:
        raise _err(key, raw, "expected the known populations: a mapping {column: size} or a "
                   "CSV file with columns population, size")
    for col, size in known.items():
        _str(col, f"{key}.{col}")
        _number(size, f"{key}.{col}", lo=0, lo_open=True)
        if not math.isfinite(size):
            raise _err(f"{key}.{col}", size, "expected a finite size")
    return {k: float(v) for k, v in known.items()}


def _factors(raw: Any, key: str) -> dict[str, float]:
    sec = _mapping(raw, key)
    return {str(k): float(_number(v, f"{key}.{k}", lo=0, lo_open=True)) for k, v in sec.items()}


def _product_in_range(products: list[float], key: str, found: Any) -> None:
    """The estimate is divided by the product of the factors: it must be a usable number
    (factors of 1e-300 made it 0 and the run stopped on a division by zero)."""
    if not all(_MIN_PRODUCT <= p <= 1 / _MIN_PRODUCT for p in products):
        raise _err(key, found, f"expected factors whose product is between {_MIN_PRODUCT:g} "
                   f"and {1 / _MIN_PRODUCT:g} (the estimate is divided by it)")


def _grid(raw: Any) -> dict[str, tuple[float, ...]]:
    key = f"{KEY}.sensitivity"
    sec = _mapping(raw, key)
    grid: dict[str, tuple[float, ...]] = {}
    size = 1
    for name, values in sec.items():
        if not isinstance(values, list) or not values:
            raise _err(f"{key}.{name}", values, "expected a list of plausible values, e.g. "
                       "[0.6, 0.8, 1.0]")
        grid[str(name)] = tuple(float(_number(v, f"{key}.{name}[{i}]", lo=0, lo_open=True))
                                for i, v in enumerate(values))
        size *= len(values)
    if size > _MAX_GRID:
        raise _err(key, f"{size} combinations", f"expected at most {_MAX_GRID} combinations")
    _product_in_range([math.prod(min(v) for v in grid.values()),
                       math.prod(max(v) for v in grid.values())], key, dict(sec))
    return grid


def _adjustment(raw: Any) -> dict[str, float] | float:
    key = f"{KEY}.adjustment"
    factors = _factors(raw, key)
    _product_in_range([math.prod(factors.values())], key, raw)
    return factors or 1.0


def _topcode(raw: Any) -> Any:
    key = f"{KEY}.topcode"
    if raw is None or isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return None if raw is None else _number(raw, key, lo=0, lo_open=True)
    return _factors(raw, key)


def _missing_codes(raw: Any) -> Any:
    key = f"{KEY}.missing_codes"
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, list)):
        raise _err(key, raw, "expected a list of codes, e.g. [98, 99]")
    codes = raw if isinstance(raw, list) else [raw]
    for i, c in enumerate(codes):
        _number(c, f"{key}[{i}]")
    return codes


def parse_nsum(raw: Any, base: Path) -> NsumSpec | None:
    """Validate the ``nsum:`` section (None when absent)."""
    if raw is None:
        return None
    sec = _mapping(raw, KEY)
    _check_keys(sec, KEY, _KEYS, required=("hidden", "known", "total_population"))
    hidden = _str_list(sec["hidden"], f"{KEY}.hidden")
    if not hidden:
        raise _err(f"{KEY}.hidden", sec["hidden"], "expected the hidden-population column(s)")
    known = _known(sec["known"], base)
    both = sorted(set(hidden) & set(known))
    if both:
        raise _err(f"{KEY}.hidden", both, "a column is either hidden or known, not both")
    total = float(_number(sec["total_population"], f"{KEY}.total_population", lo=0, lo_open=True))
    if total < sum(known.values()):
        raise _err(f"{KEY}.total_population", sec["total_population"],
                   f"expected at least the sum of the known sizes ({sum(known.values()):g})")
    options: dict[str, Any] = {
        "topcode": _topcode(sec.get("topcode")),
        "missing_codes": _missing_codes(sec.get("missing_codes")),
        "adjustment": _adjustment(sec.get("adjustment")),
        "by": list(_str_list(sec.get("by"), f"{KEY}.by")) or None,
    }
    validation = _bool(sec.get("validation", True), f"{KEY}.validation")
    if validation and len(known) < 2 and "validation" in sec:
        raise _err(f"{KEY}.validation", True, "internal validation needs at least two known "
                   "populations (each is estimated from the others)")
    return NsumSpec(
        name=_str(sec.get("name", "scale_up"), f"{KEY}.name"),  # type: ignore[arg-type]
        title=_str(sec.get("title", "Size of the hidden population (network scale-up)"),
                   f"{KEY}.title"),  # type: ignore[arg-type]
        hidden=hidden,
        known=known,
        total_population=total,
        options=options,
        sensitivity=_grid(sec.get("sensitivity")),
        validation=validation and len(known) >= 2,
    )


def check_nsum_columns(spec: NsumSpec, columns: list[str]) -> None:
    """Every hidden, known and ``by`` column is a column of the survey."""
    known = set(columns)
    named = [(f"{KEY}.hidden", c) for c in spec.hidden] + [(f"{KEY}.known.{c}", c) for c in spec.known]
    named += [(f"{KEY}.by", c) for c in spec.options.get("by") or []]
    for key, col in named:
        if col not in known:
            raise ConfigError(f"{key}: {shown(col)} is not a column of the survey data")

"""The config's weighting steps as explicit calls of the weighting functions.

Each step type of :data:`~flestimate.run.config_specs.WEIGHTING_STEP_TYPES` calls its
function with its keyword arguments named here (``rake(design, margins=...,
max_iter=...)``); the option names were checked when the config was read. A totals
file is a CSV of population counts: the margin columns and ``count``, one row per cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd

from flestimate.design.interface import VarianceEngine
from flestimate.errors import ConfigError, shown
from flestimate.run.config_specs import WEIGHTING_STEP_TYPES, WeightingStepSpec
from flestimate.weighting import adjust_nonresponse, calibrate, poststratify, rake, trim_weights

__all__ = ["apply_weighting", "margin_tables", "read_totals"]


def read_totals(step: WeightingStepSpec) -> pd.DataFrame:
    """The totals CSV of a weighting step (``step.totals`` is set): UTF-8, not empty,
    each column named once."""
    where = f"{step.key}.totals: {step.totals.name}"  # type: ignore[union-attr]
    try:
        text = step.totals.read_bytes().decode("utf-8-sig")  # type: ignore[union-attr]
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where} is not a UTF-8 text file ({exc.reason} at byte {exc.start}); "
                          f"save it as CSV UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read ({exc.strerror or exc})") from None
    header = next(csv.reader(io.StringIO(text)), [])
    if not text.strip() or not header:
        raise ConfigError(f"{where} is empty; it needs a header row (the margin columns and "
                          f"'count') and one row per cell")
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise ConfigError(f"{where}: column {shown(twice[0])} appears more than once in the "
                          f"header; name each column once")
    try:
        return pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as exc:
        raise ConfigError(f"{where} is not a readable CSV file "
                          f"({shown(str(exc).splitlines()[0] if str(exc) else exc, 120)})") from None


def margin_tables(step: WeightingStepSpec, totals: pd.DataFrame, key: str) -> dict[str, Any]:
    """Margins of a population cross-table (columns + ``count``) for rake/calibrate."""
    name = step.totals.name if step.totals is not None else "the totals"
    if "count" not in totals.columns:
        raise ConfigError(f"{step.key}.totals: {name} has no 'count' column "
                          f"(columns: {', '.join(map(str, totals.columns))})")
    cells = [c for c in totals.columns if c != "count"]
    spec = step.options.get(key)
    if spec is None:
        spec = cells
    if isinstance(spec, str):
        spec = [spec]
    if not isinstance(spec, list) or not spec:
        raise ConfigError(f"{step.key}.{key}: found {spec!r}; expected a list of columns of "
                          f"{name} ({', '.join(cells)}); a crossed margin is a "
                          f"list such as [sex, age_group]")
    out: dict[str, Any] = {}
    for i, m in enumerate(spec):
        cols = [m] if isinstance(m, str) else list(m) if isinstance(m, list) else None
        if not cols or any(c not in cells for c in cols):
            raise ConfigError(f"{step.key}.{key}[{i}]: found {m!r}; allowed: columns of "
                              f"{name}: {', '.join(cells)}")
        grouped = totals.groupby(cols, sort=True)["count"].sum()
        if len(cols) == 1:
            out[cols[0]] = grouped.rename(cols[0])
        else:
            out["+".join(cols)] = grouped.reset_index()
    return out


def _given(options: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """The optional keywords among ``names`` that the step gives (the others keep the
    function's defaults)."""
    return {k: options[k] for k in names if k in options}


def _calibration_totals(step: WeightingStepSpec, table: pd.DataFrame) -> dict[str, Any]:
    """The margins of ``variables``: one margin a ``{level: count}`` dict, a crossed
    margin (``[sex, age_group]``) the DataFrame of its cells with ``count`` (both shapes
    of :func:`flestimate.weighting.population_totals`; a crossed margin was once dropped
    without a word)."""
    margins = margin_tables(step, table, "variables")
    return {k: ({(lv.item() if hasattr(lv, "item") else lv): float(v) for lv, v in s.items()}
                if isinstance(s, pd.Series) else s)
            for k, s in margins.items()}


def _call(design: VarianceEngine, step: WeightingStepSpec) -> VarianceEngine:
    opts = step.options
    table = read_totals(step) if step.totals is not None else None
    if step.step == "nonresponse":
        return adjust_nonresponse(design, responded=opts["responded"], cells=opts["cells"])
    if step.step == "poststratify":
        return poststratify(design, totals=table)
    if step.step == "rake":
        margins = opts["margins"] if table is None else margin_tables(step, table, "margins")
        return rake(design, margins=margins, **_given(opts, "max_iter", "tolerance"))
    if step.step == "calibrate":
        bounds = opts.get("bounds")
        return calibrate(design, totals=_calibration_totals(step, table),
                         bounds=tuple(bounds) if isinstance(bounds, list) else bounds,
                         **_given(opts, "method", "max_iter"))
    if step.step == "trim":
        return trim_weights(design, **_given(opts, "lower", "upper", "redistribute"))
    raise ConfigError(f"{step.key}.step: unknown step {shown(step.step)}; allowed: "
                      f"{', '.join(WEIGHTING_STEP_TYPES)}")


def apply_weighting(design: VarianceEngine, step: WeightingStepSpec) -> VarianceEngine:
    """Apply one weighting step of the config to ``design`` (a new design is returned).

    Raises
    ------
    ConfigError
        The totals file cannot be read or does not fit the step, or an option has a
        value the function cannot use (a number where a list is expected, ...).
    """
    function = WEIGHTING_STEP_TYPES[step.step].function
    try:
        return _call(design, step)
    except (TypeError, AttributeError) as exc:  # an option of the wrong kind (a number for a list, ...)
        raise ConfigError(f"{step.key}: flestimate.{function} cannot use these options: "
                          f"{shown(str(exc), 200)}") from None

"""The ``small_areas:`` section of a run config: validation.

::

    small_areas:
      name: by_district                 # the table (file and sheet names)
      title: Forced labour by district
      area: district                    # the area column (of the survey, or of lookup)
      lookup: district_of_psu.csv       # optional: CSV linking a survey column to the area
      covariates: districts.csv         # one row per area: area column and covariates
      formula: "~ migrant_share + risky_sector_share + C(region)"
      area_population: population       # column of area sizes (needed to benchmark)
      method: REML                      # REML, ML or FH
      transform: arcsin                 # none or arcsin
      benchmark: ratio                  # none, ratio or difference
      mse: bootstrap                    # datta-lahiri, prasad-rao or bootstrap
      n_bootstrap: 200

Checked here, before any data is read: the keys and choices, the files, and that every
variable of the formula (and ``area``, ``area_population``) is a column of the
covariate file. The survey columns are checked by :func:`check_small_area_columns`.
"""

from __future__ import annotations

import ast
import csv
from pathlib import Path
from typing import Any

from flestimate.errors import ConfigError, shown
from flestimate.run.config_formula import check_formula
from flestimate.run.config_specs import SMALL_AREA_OPTIONS, SmallAreaSpec
from flestimate.run.config_values import _check_keys, _choice, _err, _file, _mapping, _number, _str

__all__ = ["check_small_area_columns", "formula_variables", "parse_small_areas"]

KEY = "small_areas"
_CHOICES = {
    "method": ("REML", "ML", "FH"),
    "transform": ("none", "arcsin"),
    "benchmark": ("none", "ratio", "difference"),
    "back_transform": ("bias-corrected", "naive"),
    "mse": ("datta-lahiri", "prasad-rao", "bootstrap"),
    "smooth": ("unstable", "all", "none"),
}
_KEYS = ("name", "title", "indicator", "area", "lookup", "covariates", "formula",
         "area_population", *SMALL_AREA_OPTIONS)  # fmt: skip


def formula_variables(formula: str) -> list[str]:
    """The column names a covariate formula reads (``C``, ``np.log1p``... left out).

    Raises
    ------
    ValueError
        If the right-hand side is not an expression.
    """
    rhs = formula.split("~", 1)[-1].replace(":", "+").replace("|", "+").strip()
    tree = ast.parse(rhs or "1", mode="eval")
    functions: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            functions.add(id(node.func))
        if isinstance(node, ast.Attribute):
            functions.add(id(node.value))
    names = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in functions),
                   key=lambda n: n.col_offset)
    names = [n.id for n in names]
    return list(dict.fromkeys(names))


def _header(path: Path, key: str) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{key}: cannot read {shown(path.name)} as a CSV file: {exc}") from None


def _column_of(path: Path, key: str, col: str, columns: list[str], what: str) -> None:
    if col not in columns:
        raise ConfigError(f"{key}: {what} {shown(col)} is not a column of {shown(path.name)} "
                          f"(its columns: {', '.join(columns[:15])})")


def parse_small_areas(raw: Any, base: Path, *, indicator: str) -> SmallAreaSpec | None:
    """Validate the ``small_areas:`` section (None when absent)."""
    if raw is None:
        return None
    sec = _mapping(raw, KEY)
    _check_keys(sec, KEY, _KEYS, required=("area", "covariates", "formula"))
    name = _str(sec.get("name", "small_areas"), f"{KEY}.name")
    area = _str(sec["area"], f"{KEY}.area")
    covariates = _file(sec["covariates"], f"{KEY}.covariates", base)
    formula = _str(sec["formula"], f"{KEY}.formula")
    try:
        variables = formula_variables(formula)  # type: ignore[arg-type]
    except (SyntaxError, ValueError):
        raise _err(f"{KEY}.formula", formula, "expected a covariate formula such as "
                   "'~ migrant_share + C(region)'") from None
    try:
        check_formula(formula)  # type: ignore[arg-type]
    except ValueError as exc:  # a config is never code: formulaic evaluates each term
        raise _err(f"{KEY}.formula", formula, f"expected a covariate formula of {exc}") from None
    cols = _header(covariates, f"{KEY}.covariates")
    _column_of(covariates, f"{KEY}.area", area, cols, "the area column")  # type: ignore[arg-type]
    for v in variables:
        _column_of(covariates, f"{KEY}.formula", v, cols, "the covariate")
    area_pop = _str(sec.get("area_population"), f"{KEY}.area_population", optional=True)
    if area_pop is not None:
        _column_of(covariates, f"{KEY}.area_population", area_pop, cols, "the column")
    lookup, lookup_key = None, None
    if sec.get("lookup") is not None:
        lookup = _file(sec["lookup"], f"{KEY}.lookup", base)
        lcols = _header(lookup, f"{KEY}.lookup")
        _column_of(lookup, f"{KEY}.lookup", area, lcols, "the area column")  # type: ignore[arg-type]
        if len(lcols) != 2:
            raise _err(f"{KEY}.lookup", lcols, "expected a CSV of two columns: a survey column "
                       f"(e.g. psu) and the area column {area!r}")
        lookup_key = next(c for c in lcols if c != area)
    options: dict[str, Any] = {}
    for k, choices in _CHOICES.items():
        if sec.get(k) is not None:
            options[k] = _choice(sec[k], f"{KEY}.{k}", choices)
    for k in ("transform", "benchmark"):
        if options.get(k) == "none":
            options[k] = None
    if "n_bootstrap" in sec:
        options["n_bootstrap"] = _number(sec["n_bootstrap"], f"{KEY}.n_bootstrap", lo=10,
                                         hi=100_000, integer=True)
    if options.get("benchmark") and area_pop is None:
        raise ConfigError(f"{KEY}.area_population: required key is missing: benchmarking "
                          f"weights the areas by their population; name the column of "
                          f"{covariates.name} with the area sizes")
    return SmallAreaSpec(
        name=name,  # type: ignore[arg-type]
        title=_str(sec.get("title", "Small-area estimates (model-based)"), f"{KEY}.title"),  # type: ignore[arg-type]
        indicator=_str(sec.get("indicator", indicator), f"{KEY}.indicator"),  # type: ignore[arg-type]
        area=area,  # type: ignore[arg-type]
        covariates=covariates,
        formula=formula,  # type: ignore[arg-type]
        options=options,
        lookup=lookup,
        lookup_key=lookup_key,
        area_population=area_pop,
    )


def check_small_area_columns(spec: SmallAreaSpec, columns: list[str]) -> None:
    """The survey has the area column (or the lookup's key) and the indicator."""
    known = set(columns)
    if spec.lookup is not None:
        if spec.lookup_key not in known:
            raise ConfigError(f"{KEY}.lookup: its column {shown(spec.lookup_key)} is not a column "
                              f"of the survey data; the lookup links a survey column to the area")
    elif spec.area not in known:
        raise ConfigError(f"{KEY}.area: the area column {shown(spec.area)} is not a column of the "
                          f"survey data; add it, or give a lookup file linking a survey column "
                          f"(e.g. psu) to the area")
    if spec.indicator not in known:
        raise ConfigError(f"{KEY}.indicator: {shown(spec.indicator)} is not a column of the "
                          f"(classified) survey data")


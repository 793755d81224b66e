"""The covariate formula of an area-level model: a patsy right-hand side evaluated on
the areas' table, with errors that name the formula, the column and the areas."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import EstimationError, ValidationError, first_values

__all__ = ["model_matrix"]


def _right_side(formula: Any) -> str:
    if not isinstance(formula, str) or not formula.strip():
        raise ValidationError(
            f"formula={formula!r} must be a formula of covariates such as '~ x1 + C(region)'."
        )
    if "~" in formula:
        left, _, right = formula.partition("~")
        if left.strip():
            raise ValidationError(
                f"formula={formula!r} has a left-hand side; the response is the direct= column. "
                f"Give the covariates only: '~{right}'."
            )
        return right
    return formula


def model_matrix(
    data: pd.DataFrame, formula: str, labels: pd.Series
) -> tuple[np.ndarray, list[str]]:
    """The covariate matrix (one row per row of ``data``) and its column names.

    Names in the formula are columns of ``data``; ``np`` is numpy (``np.log(x)``) and
    patsy's ``C()``, ``I()``, ``center()``, ``standardize()`` are available. Every area
    needs every covariate (the areas without a sample get synthetic estimates from them).
    """
    import patsy

    rhs = _right_side(formula)
    env = patsy.EvalEnvironment([{"np": np}])
    table = data.reset_index(drop=True)
    try:
        with np.errstate(all="ignore"):  # log(0) and the like: reported below, by area
            mat = patsy.dmatrix(rhs, table, eval_env=env, NA_action="drop",
                                return_type="dataframe")  # fmt: skip
    except patsy.PatsyError as exc:
        raise EstimationError(
            f"formula {formula!r} cannot be evaluated on the areas' table: "
            f"{str(exc).splitlines()[0]} (columns: {first_values(map(str, data.columns), 10)}). "
            "Check the column names."
        ) from None
    # the covariates must be known for every area (the areas without a sample get
    # synthetic estimates from them)
    missing = ~table.index.isin(mat.index)
    if missing.any():
        info = mat.design_info
        cols = [c for c in table.columns if isinstance(c, str) and _mentions(info, c)
                and table[c].isna().any()]  # fmt: skip
        raise EstimationError(
            f"covariates {first_values(cols)} of formula {formula!r} are missing for "
            f"{int(missing.sum())} areas ({first_values(labels[missing])}). Every area needs "
            "its covariates (from the census or registers); fill them in or drop those areas."
        )
    x = mat.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise EstimationError(
            f"formula {formula!r} gives non-finite covariates for {int(bad.sum())} areas "
            f"({first_values(labels[bad])}), e.g. the log of 0. Change the formula or the data."
        )
    return x, list(mat.columns)


def _mentions(info: Any, column: str) -> bool:
    """Whether a factor of the formula reads ``column`` (a name in its code)."""
    pattern = re.compile(rf"(?<![\w.]){re.escape(column)}(?!\w)")
    return any(pattern.search(f.code) for f in info.factor_infos)

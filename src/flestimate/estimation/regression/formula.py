"""From a Wilkinson formula and the design's data to the response and model matrix.

The formula is parsed by formulaic (``"fl ~ sex + C(region) + age"``): text and
categorical columns, and numeric columns carrying value labels, become treatment
contrasts (the first level the reference), and their coefficients are labelled by
the value labels. Rows with a missing value in a column of the model are an error,
or, with ``na_rm=True``, left out of the fit as rows of no domain (their PSUs and
strata still count in the variance, as R's ``svyglm`` on a subset).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import EstimationError, closest_name, first_values

__all__ = ["SPARSE_SHARE", "ModelFrame", "build_model", "term_labels"]

# a model matrix with at most this share of nonzero values is also kept sparse
SPARSE_SHARE = 0.3


@dataclass(frozen=True, eq=False)
class ModelFrame:
    """The response, model matrix and what is needed to rebuild it on new data.

    Attributes
    ----------
    y : ndarray (m,)
        Response of the rows used.
    X : ndarray (m, p)
        Model matrix of the rows used (Fortran order: a column is contiguous). When the
        matrix is kept sparse it is made dense on first use only: a fit of categorical
        predictors works on its distinct rows and never needs it.
    X_sparse : scipy.sparse.csc_matrix or None
        The same matrix in sparse (CSC) form when at most ``SPARSE_SHARE`` of its values are
        nonzero (models of categorical predictors): IRLS forms its cross-products from
        it, at the cost of the nonzero values instead of all values.
    rows : ndarray (m,) int
        Positions (in the design's data) of the rows used.
    n : int
        Rows of the design's data.
    names : tuple of str
        Column names of X (formulaic's: ``stype[T.H]``).
    term_of : tuple of str
        The formula term of each column (``"stype"``; ``"1"`` for the intercept).
    spec : object
        formulaic's model spec of the right-hand side (for new data).
    response : str
        The response column.
    variables : tuple of str
        The data columns of the right-hand side.
    categorical : dict
        Column -> value labels (or None) of the columns made categorical here.
    """

    y: np.ndarray
    rows: np.ndarray
    n: int
    names: tuple[str, ...]
    term_of: tuple[str, ...]
    spec: Any
    response: str
    variables: tuple[str, ...]
    categorical: dict
    X_sparse: Any = None
    dense: np.ndarray | None = field(default=None, repr=False)

    @property
    def X(self) -> np.ndarray:
        """The dense model matrix (m, p), made from the sparse one on first use."""
        if self.dense is None:
            object.__setattr__(self, "dense", dense_columns(self.X_sparse))
        return self.dense  # type: ignore[return-value]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows used, columns) of the model matrix."""
        return (int(self.rows.size), len(self.names))

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model matrix (k, p) of the rows of ``frame`` (new data)."""
        sub = prepare_columns(frame, self.variables, self.categorical)
        return dense_columns(self.spec.get_model_matrix(sub, output="sparse",
                                                        na_action="ignore"))


def dense_columns(sparse_matrix) -> np.ndarray:
    """A dense Fortran-ordered float64 copy of a sparse (CSC) model matrix, filled column
    by column: the peak memory is the dense matrix plus the sparse one (formulaic's dense
    output holds its columns and the stacked matrix at once, twice the matrix)."""
    S = sparse_matrix.tocsc()
    n, p = S.shape
    X = np.zeros((n, p), dtype=np.float64, order="F")
    for j in range(p):  # a loop over the (few) columns of the model
        lo, hi = S.indptr[j], S.indptr[j + 1]
        X[S.indices[lo:hi], j] = S.data[lo:hi]
    return X


def _formula(formula: Any):
    import formulaic

    try:
        return formulaic.Formula(str(formula))
    except Exception as exc:  # formulaic's parser errors have no common base
        raise EstimationError(
            f"the formula {formula!r} could not be read ({exc}). Write it as "
            "'outcome ~ term + term', e.g. 'fl ~ sex + C(region) + age'."
        ) from None


def _check_columns(frame: pd.DataFrame, names: list[str], formula: str) -> None:
    for name in names:
        if name not in frame.columns:
            hint = closest_name(name, [str(c) for c in frame.columns])
            raise EstimationError(
                f"the formula {formula!r} names a column {name!r} that is not in the data"
                + (f"; did you mean {hint!r}?" if hint else ".")
                + " Check the spelling or add the column before building the design."
            )


def prepare_columns(
    frame: pd.DataFrame, variables: tuple[str, ...], categorical: Mapping[str, Any]
) -> pd.DataFrame:
    """The columns of the model, value-labelled codes as categoricals (a new frame;
    the caller's is never changed)."""
    out = {}
    for name in variables:
        col = frame[name]
        if name in categorical and not isinstance(col.dtype, pd.CategoricalDtype):
            levels = categorical[name]["levels"]
            col = pd.Categorical(col, categories=levels)
        out[name] = col
    return pd.DataFrame(out, index=frame.index)


def build_model(
    frame: pd.DataFrame,
    formula: str,
    *,
    na_rm: bool,
    value_labels: Mapping[str, Mapping[Any, str]] | None,
) -> ModelFrame:
    """Parse ``formula`` and build the response and model matrix of ``frame``."""
    text = str(formula)
    if text.count("~") != 1 or not text.split("~")[0].strip():
        raise EstimationError(
            f"the formula {formula!r} has no outcome. Write it as 'outcome ~ terms', e.g. "
            "'fl ~ sex + C(region) + age'."
        )
    lhs, rhs = text.split("~")
    response = lhs.strip().strip("`")
    if response not in frame.columns:
        hint = closest_name(response, [str(c) for c in frame.columns])
        raise EstimationError(
            f"the outcome {response!r} of {text!r} is not a column of the data"
            + (f"; did you mean {hint!r}?" if hint else "")
            + ". Give one column as the outcome (compute a derived outcome as a column first)."
        )
    parsed = _formula("~" + rhs)
    known = set(map(str, frame.columns))
    rhs_vars = sorted(
        str(v) for v in parsed.required_variables
        if str(v) in known or str(v) not in _TRANSFORMS
    )  # fmt: skip
    _check_columns(frame, rhs_vars, text)

    labels = dict(value_labels or {})
    categorical: dict[str, Any] = {}
    for name in rhs_vars:
        col = frame[name]
        if name in labels and not isinstance(col.dtype, pd.CategoricalDtype):
            present = pd.unique(col.dropna())
            levels = sorted(present.tolist())
            categorical[name] = {"levels": levels, "labels": dict(labels[name])}
    variables = tuple(rhs_vars)

    # missing values in any column of the model
    used = [response, *rhs_vars]
    missing = frame[used].isna()
    bad = missing.any(axis=1).to_numpy()
    if bad.any() and not na_rm:
        counts = missing.sum()
        cols = [f"{c!r} ({int(k)} rows)" for c, k in counts.items() if k]
        raise EstimationError(
            f"the model's columns have missing values: {', '.join(cols)} (first rows "
            f"{first_values(frame.index[bad][:5])}). Pass na_rm=True to leave these rows out "
            "of the fit (they stay in the design), or impute them first."
        )
    rows = np.flatnonzero(~bad)
    if rows.size == 0:
        raise EstimationError("no row has values of every column of the model.")
    # only the model's columns are taken: the frame may have hundreds
    sub = frame[list(dict.fromkeys(used))]
    sub = sub.iloc[rows] if bad.any() else sub
    y = _response(sub[response], response)
    X_frame = prepare_columns(sub, variables, categorical)
    import formulaic

    try:
        mm = formulaic.model_matrix(parsed, X_frame, output="sparse", na_action="ignore")
    except Exception as exc:
        raise EstimationError(
            f"the right-hand side of {formula!r} could not be evaluated ({exc})."
        ) from None
    spec = mm.model_spec
    # kept in formulaic's column-compressed form (a conversion to rows costs a pass over
    # the values; IRLS converts only when the rows have too many distinct patterns); a
    # sparse matrix is made dense only when needed (ModelFrame.X)
    X_sparse = mm.tocsc() if mm.nnz <= SPARSE_SHARE * mm.shape[0] * mm.shape[1] else None
    X = dense_columns(mm) if X_sparse is None else None
    shape = mm.shape
    del mm
    if len(shape) != 2 or shape[0] != rows.size:
        raise EstimationError(f"the formula {formula!r} gives no model matrix of the data rows.")
    names = tuple(str(c) for c in spec.column_names)
    term_of = [""] * len(names)
    for term, idx in spec.term_indices.items():
        for j in idx:
            term_of[j] = str(term)
    return ModelFrame(
        y=y, rows=rows, n=len(frame), names=names,
        term_of=tuple(term_of), spec=spec, response=response, variables=variables,
        categorical=categorical, X_sparse=X_sparse, dense=X,
    )  # fmt: skip


# formulaic's transforms and numpy, which a formula may call without being columns
_TRANSFORMS = {"C", "np", "log", "exp", "sqrt", "center", "scale", "poly", "I", "bs", "lag"}


def _response(col: pd.Series, name: str) -> np.ndarray:
    if col.dtype == bool:
        return col.to_numpy(dtype=np.float64)
    if not pd.api.types.is_numeric_dtype(col.dtype):
        raise EstimationError(
            f"the outcome column {name!r} is not numeric (dtype {col.dtype}; values "
            f"{first_values(pd.unique(col)[:5])}). Code it as numbers (0/1 for a binary "
            "outcome) first."
        )
    return col.to_numpy(dtype=np.float64)


_LEVEL = re.compile(r"^(?:C\()?(?P<var>[^\[\(\),]+?)(?:\)|,[^\[]*\))?\[T\.(?P<level>.+)\]$")


def term_labels(model: ModelFrame) -> tuple[str, ...]:
    """Readable labels of the coefficients: ``"sex: female"`` for a value-labelled or
    categorical level, the column name otherwise, ``"(Intercept)"``."""
    out = []
    for name in model.names:
        if name == "Intercept":
            out.append("(Intercept)")
            continue
        m = _LEVEL.match(name)
        if not m:
            out.append(name)
            continue
        var, level = m.group("var").strip(), m.group("level")
        labels = model.categorical.get(var, {}).get("labels", {})
        label = _level_label(level, labels)
        out.append(f"{var}: {label}")
    return tuple(out)


def _level_label(level: str, labels: Mapping[Any, str]) -> str:
    for code, text in labels.items():
        if str(code) == level:
            return str(text)
        try:
            if float(code) == float(level):
                return str(text)
        except (TypeError, ValueError):
            continue
    return level

"""The grouped sums of large data, in DuckDB (out-of-core) or Dask (a cluster).

Every estimate of :mod:`flestimate.estimation` is a function of sums over rows of
``w * f(values)`` within PSU x domain cells and of row counts. Rows that share every
value an estimate uses (design columns, variables, domains, weighting cells) can
therefore be replaced by one row carrying the sum of their weights, of each replicate
weight and their count: the estimate is the same, and the variance too. So the one
pass over the data is a ``GROUP BY`` of the used columns with ``SUM(weight)``,
``SUM(replicate weight)`` and ``COUNT(*)``, run by an engine built for it; the grouped
rows (a few per PSU and domain) go to the in-memory design with ``frequency=``.

- :class:`DuckDBSource`: Parquet file, folder or glob, or a DuckDB relation; only the
  needed columns are read and DuckDB spills to disk when the groups exceed memory.
- :class:`DaskSource`: a Dask DataFrame (or Parquet through Dask); the sums are a Dask
  tree reduction, on whatever scheduler is active (a ``distributed`` cluster).

Both check the input first (:meth:`check`): missing columns, column types that
disagree between files, and weights that are missing, not finite or not positive,
naming the file, column and row.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flestimate.design.kernel import grouped_sums
from flestimate.errors import DesignError, FlestimateError, first_values

__all__ = ["DaskSource", "DuckDBSource", "EngineError", "FREQUENCY", "ROW", "SPREAD",
           "gram_names", "source_for"]

#: the column of the grouped rows counting the respondents each stands for
FREQUENCY = "__flestimate_n"
#: a key unique to each row, in file order (the PSU of a design without clusters)
ROW = "__flestimate_row"
#: the columns of the grouped rows' smallest and largest weight and sum of squared
#: weights (``grouped(..., spread=True)``: the weight summary after the steps)
SPREAD = ("__flestimate_wmin", "__flestimate_wmax", "__flestimate_wsq")


#: at most this many Gram sums per DuckDB query (one scan of the data each)
GRAM_BLOCK = 3_240


def gram_names(R: int) -> list[str]:
    """The columns of the Gram sums ``SUM(rw_i * rw_j)``, i <= j (row-major upper
    triangle of the R x R Gram matrix)."""
    return [f"__flestimate_g{i}_{j}" for i in range(R) for j in range(i, R)]


class EngineError(FlestimateError, RuntimeError):
    """The engine (DuckDB or a Dask cluster) failed while computing the grouped sums;
    no result is returned."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parquet_files(path: str | Path) -> list[str]:
    text = str(path)
    p = Path(text)
    if p.is_dir():
        files = sorted(str(f) for f in p.rglob("*.parquet"))
    elif any(ch in text for ch in "*?["):
        files = sorted(glob.glob(text, recursive=True))
    else:
        files = [text] if p.exists() else []
    if not files:
        raise DesignError(
            f"no Parquet file found at {text!r}. Give a .parquet file, a folder holding "
            "some, or a glob such as 'data/*.parquet'."
        )
    return files


def _check_schemas(files: list[str], columns: Sequence[str]) -> None:
    """Every file holds every used column, with one type throughout."""
    import pyarrow.parquet as pq

    first: dict[str, tuple[str, str]] = {}
    for f in files:  # a loop over files (metadata only), not rows
        schema = pq.read_schema(f)
        names = set(schema.names)
        for c in columns:
            if c not in names:
                raise DesignError(
                    f"column {c!r} is not in the Parquet file {f!r} (columns: "
                    f"{first_values(schema.names, 10)}). Check the spelling, or write the "
                    "column in every file."
                )
            kind = str(schema.field(c).type)
            if c not in first:
                first[c] = (kind, f)
            elif _family(first[c][0]) != _family(kind):
                raise DesignError(
                    f"column {c!r} has type {first[c][0]} in {first[c][1]!r} but {kind} in "
                    f"{f!r}. The files of one survey must agree on each column's type; "
                    "rewrite the odd file with the common type."
                )


def _check_columns(available: Sequence[str], files: list[str] | None,
                   columns: Sequence[str]) -> None:
    """Every used column is in the data, and in every one of several Parquet files."""
    missing = [c for c in columns if c not in available]
    if missing:
        raise DesignError(
            f"column {missing[0]!r} is not in the data (columns: "
            f"{first_values(available, 10)}). Check the spelling."
        )
    if files is not None and len(files) > 1:
        _check_schemas(files, columns)


def _family(kind: str) -> str:
    """Types that read as the same values (int32 and int64; float and double)."""
    for prefix, fam in (("int", "int"), ("uint", "int"), ("float", "float"), ("double", "float"),
                        ("string", "text"), ("large_string", "text")):
        if kind.startswith(prefix):
            return fam
    return kind


def _bad_weight_message(column: str, count: int, where: list[str]) -> str:
    return (
        f"weight column {column!r} has {count} values that are missing, not finite or not "
        f"> 0 ({'; '.join(where)}). Survey weights must be > 0; drop or correct these rows."
    )


class DuckDBSource:
    """Parquet data (file, folder, glob) or a DuckDB relation, summed by DuckDB.

    Parameters
    ----------
    data : str, Path or duckdb.DuckDBPyRelation
    connection : duckdb.DuckDBPyConnection, optional
        The connection to use (default: a new in-memory one, spilling to a temporary
        folder).
    """

    engine = "duckdb"

    def __init__(self, data: Any, connection: Any = None) -> None:
        import duckdb

        self._con = connection if connection is not None else duckdb.connect()
        if isinstance(data, (str, Path)):
            self._files: list[str] | None = _parquet_files(data)
            listing = ", ".join("'" + f.replace("'", "''") + "'" for f in self._files)
            self._from = f"read_parquet([{listing}], filename = true, file_row_number = true)"
            self._relation = None
        else:
            self._files = None
            self._relation = data
            self._from = "__flestimate_relation"
        self.columns = self._describe()

    def _sql(self, query: str) -> pd.DataFrame:
        try:
            if self._relation is not None:  # runs on the relation's own connection
                return self._relation.query("__flestimate_relation", query).df()
            return self._con.execute(query).df()
        except Exception as exc:  # duckdb's own errors: I/O, memory, a broken file
            raise EngineError(
                f"DuckDB could not compute the grouped sums: {exc}. Nothing was returned; "
                "check the files (or free memory/disk for DuckDB's spill folder) and rerun."
            ) from exc

    def _describe(self) -> list[str]:
        cols = self._sql(f"DESCRIBE SELECT * FROM {self._from} LIMIT 0")["column_name"].tolist()
        return [c for c in cols if c not in ("filename", "file_row_number")
                or self._files is None]

    def check(self, columns: Sequence[str], weight: str | None) -> None:
        _check_columns(self.columns, self._files, columns)
        if weight is None:
            return
        w = _quote(weight)
        bad = f"NOT ({w} > 0 AND isfinite({w}::DOUBLE)) OR {w} IS NULL"
        where = "filename, file_row_number" if self._files is not None else "NULL, NULL"
        rows = self._sql(
            f"SELECT {where}, count(*) OVER () AS n FROM {self._from} WHERE {bad} "
            "ORDER BY 1, 2 LIMIT 5"
        )
        if len(rows):
            at = [
                f"file {f!r} row {int(r) + 1:,}" if f is not None else "a row"
                for f, r in zip(rows.iloc[:, 0], rows.iloc[:, 1], strict=True)
            ]
            raise DesignError(_bad_weight_message(weight, int(rows["n"].iloc[0]), at))

    def grouped(self, keys: Sequence[str], weight: str, sums: Sequence[str],
                *, row_key: bool = False, spread: bool = False) -> pd.DataFrame:
        """``SELECT keys, SUM(weight), SUM(sums...), COUNT(*) GROUP BY keys``; with
        ``row_key`` each row is its own group (column :data:`ROW`); with ``spread`` also
        the groups' MIN, MAX and SUM of squares of ``weight`` (columns :data:`SPREAD`)."""
        source = self._from
        if row_key:
            if self._files is not None:
                listing = ", ".join("'" + f.replace("'", "''") + "'" for f in self._files)
                key = f"(list_position([{listing}], filename)::BIGINT << 40) + file_row_number"
            else:
                key = "row_number() OVER ()"
            source = f"(SELECT *, {key} AS {ROW} FROM {self._from})"
            keys = [*keys, ROW]
        k = ", ".join(_quote(c) for c in keys)
        s = ", ".join(f"SUM({_quote(c)})::DOUBLE AS {_quote(c)}" for c in [weight, *sums])
        if spread:
            w = _quote(weight)
            s += "".join(f", {fn}::DOUBLE AS {_quote(name)}" for fn, name in zip(
                (f"MIN({w})", f"MAX({w})", f"SUM({w} * {w})"), SPREAD, strict=True))
        query = (
            f"SELECT {k + ', ' if k else ''}{s}, COUNT(*)::DOUBLE AS {FREQUENCY} "
            f"FROM {source}" + (f" GROUP BY {k} ORDER BY {k}" if k else "")
        )
        return self._sql(query)


    def grams(self, keys: Sequence[str], sums: Sequence[str]) -> pd.DataFrame:
        """``SELECT keys, SUM(rw_i * rw_j) (i <= j) GROUP BY keys ORDER BY keys``: each
        group's Gram matrix of the replicate weights ``sums`` (:func:`gram_names`)."""
        k = ", ".join(_quote(c) for c in keys)
        cols = [f"SUM({_quote(sums[i])}::DOUBLE * {_quote(sums[j])}::DOUBLE) AS {_quote(name)}"
                for (i, j), name in zip(
                    ((i, j) for i in range(len(sums)) for j in range(i, len(sums))),
                    gram_names(len(sums)), strict=True)]
        parts = []
        # DuckDB fails (SIGFPE) on a GROUP BY with ~20,000 aggregates: blocks of columns
        for start in range(0, len(cols), GRAM_BLOCK):  # a loop over blocks of columns
            s = ", ".join(cols[start : start + GRAM_BLOCK])
            query = (f"SELECT {k + ', ' if k else ''}{s} FROM {self._from}"
                     + (f" GROUP BY {k} ORDER BY {k}" if k else ""))
            part = self._sql(query)
            parts.append(part if start == 0 else part.drop(columns=list(keys)))
        return pd.concat(parts, axis=1)


class DaskSource:
    """A Dask DataFrame (or Parquet read by Dask), summed by a Dask tree reduction."""

    engine = "dask"

    def __init__(self, data: Any, client: Any = None) -> None:
        import dask.dataframe as dd

        self._client = client

        if isinstance(data, (str, Path)):
            files = _parquet_files(data)
            self._files: list[str] | None = files
            data = dd.read_parquet(files)
        else:
            self._files = None
        self._frame = data
        self.columns = [str(c) for c in data.columns]

    def _compute(self, value: Any) -> Any:
        try:
            if self._client is None:
                return value.compute()
            if self._client.status != "running":
                raise RuntimeError(f"the Dask client is {self._client.status}")
            return self._client.compute(value).result()
        except FlestimateError:
            raise
        except Exception as exc:  # a worker or the scheduler gone, a broken file
            raise EngineError(
                f"Dask could not compute the grouped sums ({type(exc).__name__}: {exc}). "
                "Nothing was returned; check the cluster and the files, and rerun."
            ) from exc

    def check(self, columns: Sequence[str], weight: str | None) -> None:
        _check_columns(self.columns, self._files, columns)
        if weight is None:
            return
        w = self._frame[weight]
        bad = ~((w > 0) & np.isfinite(w)) | w.isna()
        count = int(self._compute(bad.sum()))
        if count:
            rows = self._compute(_global_bad_rows(self._frame, weight))
            at = [f"row {int(r) + 1:,}" for r in rows[:5]]
            raise DesignError(_bad_weight_message(weight, count, at))

    def grouped(self, keys: Sequence[str], weight: str, sums: Sequence[str],
                *, row_key: bool = False, spread: bool = False) -> pd.DataFrame:
        frame = self._frame[[*keys, weight, *sums]].assign(**{FREQUENCY: 1.0})
        if row_key:  # each row its own group, numbered in order
            frame = frame.assign(**{ROW: frame[FREQUENCY].cumsum()})
            keys = [*keys, ROW]
        value_cols = [weight, *sums, FREQUENCY]
        how = dict.fromkeys(value_cols, "sum")
        if spread:  # smallest, largest and squared weights, as copies of the weight
            w = frame[weight].astype("float64")
            frame = frame.assign(**dict(zip(SPREAD, (w, w, w * w), strict=True)))
            how.update(dict(zip(SPREAD, ("min", "max", "sum"), strict=True)))
        if keys:
            result = frame.groupby(list(keys), dropna=False, sort=False).agg(how,
                                                                           split_every=8)
            out = self._compute(result).reset_index()
            return out.sort_values(list(keys), kind="stable", ignore_index=True)
        if spread:  # one group of all the rows
            every = "__flestimate_all"
            result = frame.assign(**{every: 0}).groupby(every).agg(how, split_every=8)
            return self._compute(result).reset_index(drop=True)
        totals = self._compute(frame[value_cols].sum(split_every=8))
        return pd.DataFrame([totals.to_numpy(dtype=np.float64)], columns=value_cols)


    def grams(self, keys: Sequence[str], sums: Sequence[str]) -> pd.DataFrame:
        """Each group's Gram sums of ``sums`` (as :meth:`DuckDBSource.grams`), from the
        partitions' own sums (a loop over the replicate columns) reduced by Dask."""
        return _dask_grams(self, keys, sums)


def _dask_grams(source: DaskSource, keys: Sequence[str], sums: Sequence[str]) -> pd.DataFrame:
    keys, sums = list(keys), list(sums)
    names = gram_names(len(sums))
    meta = pd.concat([source._frame[keys]._meta.iloc[:0].reset_index(drop=True),
                      pd.DataFrame(columns=names, dtype=np.float64)], axis=1)
    parts = source._frame[[*keys, *sums]].map_partitions(_partition_grams, keys, sums, meta=meta)
    if not keys:
        return pd.DataFrame([source._compute(parts[names].sum(split_every=8)).to_numpy()],
                            columns=names)
    result = parts.groupby(keys, dropna=False, sort=False).sum(split_every=8)
    out = source._compute(result).reset_index()
    return out.sort_values(keys, kind="stable", ignore_index=True)


def _partition_grams(part: pd.DataFrame, keys: list[str], sums: list[str]) -> pd.DataFrame:
    """The Gram sums (:func:`gram_names`) of one partition's groups of ``keys``."""
    W = part[sums].to_numpy(dtype=np.float64)
    R = W.shape[1]
    if keys:
        index = pd.MultiIndex.from_frame(part[keys]) if len(keys) > 1 else pd.Index(part[keys[0]])
        codes, groups = pd.factorize(index, use_na_sentinel=False)
    else:
        codes, groups = np.zeros(len(part), dtype=np.int64), pd.RangeIndex(1)
    out = np.empty((len(groups), R * (R + 1) // 2))
    at = 0
    for i in range(R):  # a loop over the replicate columns (few), not rows
        out[:, at : at + R - i] = grouped_sums(codes, len(groups), W[:, i:] * W[:, i : i + 1])
        at += R - i
    frame = pd.DataFrame(out, columns=gram_names(R))
    if keys:
        frame = pd.concat([groups.to_frame(index=False, name=keys if len(keys) > 1 else keys[0]),
                           frame], axis=1)
    return frame


def _global_bad_rows(frame: Any, weight: str) -> Any:
    """Row numbers (over the whole frame) of bad weights: partition offsets + local rows."""
    import dask

    def local(part: pd.DataFrame) -> tuple[int, np.ndarray]:
        w = part[weight].to_numpy(dtype=np.float64, na_value=np.nan)
        return len(part), np.flatnonzero(~((w > 0) & np.isfinite(w)))

    parts = [dask.delayed(local)(p) for p in frame.to_delayed()]

    def combine(*pieces: tuple[int, np.ndarray]) -> np.ndarray:
        out, offset = [], 0
        for n, rows in pieces:  # a loop over partitions
            out.append(rows + offset)
            offset += n
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    return dask.delayed(combine)(*parts)


def source_for(data: Any, engine: str | None, client: Any = None) -> DuckDBSource | DaskSource:
    """The source of ``data`` for ``engine`` ("duckdb", "dask", or None: by the data's type);
    ``client``: a ``distributed.Client`` (Dask; default: the active scheduler)."""
    if engine is None:
        module = type(data).__module__
        engine = "dask" if module.startswith("dask") else "duckdb"
    if engine == "duckdb":
        return DuckDBSource(data)
    if engine == "dask":
        return DaskSource(data, client)
    raise DesignError(f"engine={engine!r} is not known. Use engine='duckdb' or engine='dask'.")

"""Readers of the plain tabular formats: CSV, TSV and Excel (pandas), Parquet (pyarrow).

These formats carry no labels of their own (Parquet may, under the ``flestimate.labels``
schema key); labels come from a codebook (see :mod:`flestimate.io.codebook`).

An empty text cell of a text column reads as the empty string, as SPSS and Stata store
it, so the same survey gives the same frame from every format; empty numeric cells are
NaN (system missing).
"""

from __future__ import annotations

import csv
import difflib
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from flestimate.errors import FlestimateWarning, LoaderError, first_values
from flestimate.io.codebook import Labels, parquet_labels
from flestimate.io.statistical import RawRead

__all__ = ["TABULAR_FORMATS", "iter_tabular", "missing_columns_error", "read_tabular",
           "tabular_names"]

TABULAR_FORMATS = ("csv", "tsv", "parquet", "xlsx")
_SEP = {"csv": ",", "tsv": "\t"}
_PARQUET_BATCH = 65_536
_CSV_SAMPLE = 10_000  # rows read to type the columns of a chunked CSV


def _wrap(exc: BaseException, path: Path, fmt: str, encoding: str | None) -> LoaderError:
    where = f"{fmt} file {str(path)!r}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, UnicodeError):
        used = encoding or "utf-8"
        pos = f" at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else ""
        return LoaderError(
            f"{where} cannot be decoded as {used}{pos} ({text}). Pass encoding= with the "
            "file's actual character encoding, e.g. encoding='latin-1' or 'cp1252'."
        )
    if isinstance(exc, LookupError):
        return LoaderError(f"{where}: unknown encoding {encoding!r}; use e.g. 'utf-8' or 'latin-1'.")
    if isinstance(exc, pd.errors.EmptyDataError):
        return LoaderError(f"{where} is empty: it has no header line and no rows.")
    if isinstance(exc, MemoryError):
        return LoaderError(
            f"{where} does not fit in memory. Read fewer columns with columns=, or iterate "
            "with chunksize=."
        )
    return LoaderError(
        f"{where} cannot be read: the file is corrupted, truncated or not a valid {fmt} file "
        f"({type(exc).__name__}: {text}). Check that the file is complete and that its "
        "extension matches its format (or pass format=)."
    )


def _encoding(encoding: str | None) -> str:
    return encoding or "utf-8-sig"  # utf-8, with or without a byte-order mark


def _text_columns_filled(frame: pd.DataFrame) -> pd.DataFrame:
    """Empty cells of text columns -> "" (SPSS/Stata have no missing text)."""
    for col in frame.columns:
        dtype = frame[col].dtype
        if (pd.api.types.is_string_dtype(dtype) or dtype.kind == "O") and frame[col].isna().any():
            frame[col] = frame[col].fillna("")
    return frame


def missing_columns_error(p: Path, wanted: list[str], names: list[str]) -> LoaderError:
    """The error for requested columns that are not in the file, with the closest names."""
    absent = [c for c in wanted if c not in names]
    parts = []
    for c in absent[:8]:
        close = difflib.get_close_matches(c, names, n=3, cutoff=0.6)
        if not close:  # case-only differences (SPSS portable files upper-case names)
            close = [n for n in names if n.lower() == c.lower()]
        parts.append(f"{c!r} (closest: {first_values(close)})" if close else f"{c!r}")
    more = f" and {len(absent) - 8} more" if len(absent) > 8 else ""
    return LoaderError(
        f"survey file {str(p)!r}: {len(absent)} requested column(s) not in the file "
        f"({len(names)} columns): {', '.join(parts)}{more}. Check the spelling."
    )



def tabular_names(path: Path, fmt: str, encoding: str | None) -> list[str]:
    """The column names of a tabular file (its header only)."""
    try:
        if fmt in _SEP:
            head = pd.read_csv(path, sep=_SEP[fmt], encoding=_encoding(encoding), nrows=0)
            return [str(c) for c in head.columns]
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return [str(n) for n in pq.read_schema(path).names]
        head = pd.read_excel(path, sheet_name=0, nrows=0, engine="openpyxl")
        return [str(c) for c in head.columns]
    except LoaderError:
        raise
    except Exception as exc:
        raise _wrap(exc, path, fmt, encoding) from None


def _check_last_line(path: Path, fmt: str, encoding: str | None, n_fields: int) -> None:
    """A text file cut in its last line: fewer fields than the header (pandas pads with NaN)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(size - 65_536, 0))
        tail = fh.read()
    if not tail or tail.endswith((b"\n", b"\r")):
        return
    last = tail.rsplit(b"\n", 1)[-1]
    try:
        line = last.decode(_encoding(encoding), errors="replace")
    except LookupError:
        return
    fields = next(csv.reader(io.StringIO(line), delimiter=_SEP[fmt]), [])
    if 0 < len(fields) < n_fields:
        raise LoaderError(
            f"{fmt} file {str(path)!r} is truncated: its last line has {len(fields)} of "
            f"{n_fields} fields and no line end. Copy or export the file again."
        )
    warnings.warn(
        f"{fmt} file {str(path)!r} does not end with a line end; if the file was cut, the "
        "last value of its last row may be incomplete. Check the last row.",
        FlestimateWarning,
        stacklevel=5,
    )


def _read_parquet(path: Path, columns: list[str] | None, row_limit: int | None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    if row_limit:
        batches = []
        got = 0
        for batch in pf.iter_batches(batch_size=min(row_limit, _PARQUET_BATCH), columns=columns):
            batches.append(batch)
            got += batch.num_rows
            if got >= row_limit:
                break
        table = pa.Table.from_batches(batches, schema=pf.schema_arrow if columns is None else None) \
            if batches else pf.schema_arrow.empty_table()
        table = table.slice(0, row_limit)
    else:
        table = pf.read(columns=columns)
    return pf, table.to_pandas()


def read_tabular(
    path: Path,
    fmt: str,
    *,
    columns: list[str] | None,
    encoding: str | None,
    row_limit: int | None,
) -> RawRead:
    """Read a CSV, TSV, Excel or Parquet file (or its first ``row_limit`` rows)."""
    names = tabular_names(path, fmt, encoding)
    if columns is not None and any(c not in names for c in columns):
        raise missing_columns_error(path, columns, names)
    labels = Labels()
    file_rows: int | None = None
    try:
        if fmt in _SEP:
            frame = pd.read_csv(
                path, sep=_SEP[fmt], encoding=_encoding(encoding), usecols=columns,
                nrows=row_limit,
            )
            if not row_limit:
                _check_last_line(path, fmt, encoding, len(names))
                file_rows = len(frame)
            frame = _text_columns_filled(frame)
        elif fmt == "xlsx":
            frame = pd.read_excel(
                path, sheet_name=0, usecols=columns, nrows=row_limit, engine="openpyxl"
            )
            frame.columns = [str(c) for c in frame.columns]
            if not row_limit:
                file_rows = len(frame)
            frame = _text_columns_filled(frame)
        else:
            pf, frame = _read_parquet(path, columns, row_limit)
            file_rows = int(pf.metadata.num_rows)
            labels = parquet_labels(pf.schema_arrow.metadata, f"parquet file {str(path)!r}")
    except LoaderError:
        raise
    except Exception as exc:
        raise _wrap(exc, path, fmt, encoding) from None
    return RawRead(
        frame=frame,
        labels=labels,
        file_rows=file_rows,
        file_columns=len(names),
        names=names,
        encoding=(encoding or "utf-8") if fmt in _SEP else None,
    )


def iter_tabular(
    path: Path,
    fmt: str,
    *,
    columns: list[str] | None,
    encoding: str | None,
    row_limit: int | None,
    chunksize: int,
) -> tuple[RawRead, Iterator[tuple[pd.DataFrame, dict[str, Any]]]]:
    """Header and an iterator of ``(frame, {})`` chunks of a tabular file."""
    names = tabular_names(path, fmt, encoding)
    if columns is not None and any(c not in names for c in columns):
        raise missing_columns_error(path, columns, names)
    labels = Labels()
    file_rows: int | None = None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:
            raise _wrap(exc, path, fmt, encoding) from None
        file_rows = int(pf.metadata.num_rows)
        labels = parquet_labels(pf.schema_arrow.metadata, f"parquet file {str(path)!r}")
    header = RawRead(
        frame=pd.DataFrame(), labels=labels, file_rows=file_rows, file_columns=len(names),
        names=names, encoding=(encoding or "utf-8") if fmt in _SEP else None,
    )

    def frames() -> Iterator[pd.DataFrame]:
        if fmt in _SEP:
            # text columns are typed from a sample of the first rows, so that a chunk whose
            # cells of a text column are all empty still gives a text column
            sample = pd.read_csv(
                path, sep=_SEP[fmt], encoding=_encoding(encoding), usecols=columns,
                nrows=max(chunksize, _CSV_SAMPLE),
            )
            text = {
                c: "str" for c in sample.columns
                if pd.api.types.is_string_dtype(sample[c].dtype) or sample[c].dtype.kind == "O"
            }
            with pd.read_csv(
                path, sep=_SEP[fmt], encoding=_encoding(encoding), usecols=columns,
                nrows=row_limit, chunksize=chunksize, dtype=text,
            ) as reader:
                yield from reader
            if not row_limit:
                _check_last_line(path, fmt, encoding, len(names))
        elif fmt == "xlsx":  # openpyxl has no streaming reader: read once, hand out slices
            whole = pd.read_excel(
                path, sheet_name=0, usecols=columns, nrows=row_limit, engine="openpyxl"
            )
            whole.columns = [str(c) for c in whole.columns]
            for start in range(0, len(whole), chunksize):
                yield whole.iloc[start : start + chunksize]
        else:
            left = row_limit
            for batch in pf.iter_batches(batch_size=chunksize, columns=columns):
                frame = batch.to_pandas()
                if left is not None:
                    frame = frame.iloc[:left]
                    left -= len(frame)
                yield frame
                if left is not None and left <= 0:
                    break

    def chunks() -> Iterator[tuple[pd.DataFrame, dict[str, Any]]]:
        offset = 0
        it = frames()
        while True:
            try:
                frame = next(it)
            except StopIteration:
                break
            except LoaderError:
                raise
            except Exception as exc:
                raise _wrap(exc, path, fmt, encoding) from None
            if fmt != "parquet":
                frame = _text_columns_filled(frame.copy() if fmt == "xlsx" else frame)
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            offset += len(frame)
            yield frame, {}

    return header, chunks()

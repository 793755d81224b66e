"""Readers of the plain tabular formats: CSV, TSV and Excel (pandas), Parquet (pyarrow).

These formats carry no labels of their own (Parquet may, under the ``flestimate.labels``
schema key); labels come from a codebook (see :mod:`flestimate.io.codebook`).

An empty (or whitespace-only) text cell is missing (NaN), as in every other format (see
:mod:`flestimate.io.columns`); empty numeric cells are NaN (system missing). A header that
names a column twice is refused.

CSV and TSV files are UTF-8 unless ``encoding=`` says otherwise; a byte-order mark
(UTF-8, UTF-16 or UTF-32, little- or big-endian) is detected and decides the encoding.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from flestimate.errors import FlestimateWarning, LoaderError, first_values
from flestimate.io.codebook import Labels, parquet_labels
from flestimate.io.columns import blank_text_as_missing, check_unique_names
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


# byte-order marks, longest first (a UTF-32-LE mark starts with the UTF-16-LE one)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be"),
)
_SNIFF = 65_536  # bytes looked at to check the encoding


@dataclass(frozen=True)
class _TextEncoding:
    """How to decode a CSV/TSV file: ``read`` for the whole file (drops a byte-order mark),
    ``plain`` for a part of it (the last line), ``unit`` bytes per code unit, ``name``
    for provenance."""

    read: str
    plain: str
    unit: int
    name: str


def _family(codec: str) -> str:
    for family in ("utf-32", "utf-16", "utf-8"):
        if codec.startswith(family):
            return family
    return codec


def _text_encoding(path: Path, fmt: str, encoding: str | None) -> _TextEncoding:
    """The encoding of a CSV/TSV file: its byte-order mark, else ``encoding``, else UTF-8.

    Raises LoaderError for an unknown encoding, a byte-order mark that contradicts
    ``encoding``, and text whose NUL bytes show that it is (or is not) UTF-16/32.
    """
    where = f"{fmt} file {str(path)!r}"
    declared = None
    if encoding is not None:
        try:
            declared = codecs.lookup(encoding).name
        except LookupError:
            raise LoaderError(
                f"{where}: unknown encoding {encoding!r}; use e.g. 'utf-8' or 'latin-1'."
            ) from None
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF)
    for bom, family, plain in _BOMS:
        if head.startswith(bom):
            if declared is not None and _family(declared) != family:
                raise LoaderError(
                    f"{where} starts with a {family.upper()} byte-order mark but encoding="
                    f"{encoding!r} was given. Leave encoding= out (the mark says the encoding) "
                    f"or pass encoding={family!r}."
                )
            read = "utf-8-sig" if family == "utf-8" else family
            return _TextEncoding(read, plain, len(bom) if family != "utf-8" else 1,
                                 encoding or family)
    codec = declared or "utf-8"
    family = _family(codec)
    unit = {"utf-16": 2, "utf-32": 4}.get(family, 1)
    nul = head.count(b"\x00")
    if unit > 1:
        # CSV text always holds ASCII separators and digits, whose UTF-16/32 code units
        # contain NUL bytes: a file without any is not in that encoding
        if not nul:
            raise LoaderError(
                f"{where} cannot be {codec} text: its first {min(len(head), _SNIFF):,} bytes "
                f"hold no NUL byte, which every {family.upper()} file of a table has. The file "
                "is probably UTF-8 or another 8-bit encoding: leave encoding= out, or pass the "
                "file's actual encoding (e.g. encoding='latin-1')."
            )
        if codec == family:  # UTF-16/32 without a mark: byte order from the NUL positions
            even = head[0::unit].count(b"\x00")
            codec = f"{family}-be" if even * 2 > nul else f"{family}-le"
        return _TextEncoding(codec, codec, unit, encoding or codec)
    if nul:
        odd = head[1::2].count(b"\x00")
        guess = "utf-16-le" if odd * 2 > nul else "utf-16-be"
        raise LoaderError(
            f"{where} holds {nul:,} NUL bytes in its first {min(len(head), _SNIFF):,} bytes, "
            f"so it is not {codec} text; it looks like UTF-16 without a byte-order mark. Pass "
            f"encoding={guess!r} (or export the file again as UTF-8)."
        )
    read = "utf-8-sig" if codec == "utf-8" else codec  # utf-8 with or without a mark
    return _TextEncoding(read, codec, 1, encoding or "utf-8")


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



def _written_header(path: Path, fmt: str, enc: _TextEncoding | None) -> list[str]:
    """The column names as written in the file (before a reader renames duplicates)."""
    if fmt in _SEP:
        assert enc is not None
        with open(path, encoding=enc.read, newline="") as fh:
            # the first line that is not empty, as pandas reads it (skip_blank_lines)
            return next((row for row in csv.reader(fh, delimiter=_SEP[fmt]) if row), [])
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return [str(n) for n in pq.read_schema(path).names]
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        first = next(book.worksheets[0].iter_rows(min_row=1, max_row=1, values_only=True), ())
    finally:
        book.close()
    return ["" if v is None else str(v) for v in first]


def _header(path: Path, fmt: str, encoding: str | None) -> tuple[list[str], _TextEncoding | None]:
    """The column names the reader gives, and the text encoding of a CSV/TSV file.

    Raises LoaderError for a header that names a column twice.
    """
    enc = _text_encoding(path, fmt, encoding) if fmt in _SEP else None
    try:
        check_unique_names(_written_header(path, fmt, enc), f"{fmt} file {str(path)!r}")
        if fmt in _SEP:
            head = pd.read_csv(path, sep=_SEP[fmt], encoding=enc.read, nrows=0)
            return [str(c) for c in head.columns], enc
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return [str(n) for n in pq.read_schema(path).names], enc
        head = pd.read_excel(path, sheet_name=0, nrows=0, engine="openpyxl")
        return [str(c) for c in head.columns], enc
    except LoaderError:
        raise
    except Exception as exc:
        raise _wrap(exc, path, fmt, enc.name if enc else encoding) from None


def tabular_names(path: Path, fmt: str, encoding: str | None) -> list[str]:
    """The column names of a tabular file (its header only)."""
    return _header(path, fmt, encoding)[0]


def _check_last_line(path: Path, fmt: str, enc: _TextEncoding, n_fields: int) -> None:
    """A text file cut in its last line: fewer fields than the header (pandas pads with NaN)."""
    size = path.stat().st_size
    start = max(size - 65_536, 0)
    with open(path, "rb") as fh:
        fh.seek(start - start % enc.unit)  # whole code units of a UTF-16/32 file
        tail = fh.read().decode(enc.plain, errors="replace")
    if not tail or tail.endswith(("\n", "\r")):
        return
    line = tail.rsplit("\n", 1)[-1]
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
    names, enc = _header(path, fmt, encoding)
    if columns is not None and any(c not in names for c in columns):
        raise missing_columns_error(path, columns, names)
    labels = Labels()
    file_rows: int | None = None
    try:
        if fmt in _SEP:
            assert enc is not None
            frame = pd.read_csv(
                path, sep=_SEP[fmt], encoding=enc.read, usecols=columns, nrows=row_limit,
            )
            if not row_limit:
                _check_last_line(path, fmt, enc, len(names))
                file_rows = len(frame)
        elif fmt == "xlsx":
            frame = pd.read_excel(
                path, sheet_name=0, usecols=columns, nrows=row_limit, engine="openpyxl"
            )
            frame.columns = [str(c) for c in frame.columns]
            if not row_limit:
                file_rows = len(frame)
        else:
            pf, frame = _read_parquet(path, columns, row_limit)
            file_rows = int(pf.metadata.num_rows)
            labels = parquet_labels(pf.schema_arrow.metadata, f"parquet file {str(path)!r}")
        frame = blank_text_as_missing(frame)
    except LoaderError:
        raise
    except Exception as exc:
        raise _wrap(exc, path, fmt, enc.name if enc else encoding) from None
    return RawRead(
        frame=frame,
        labels=labels,
        file_rows=file_rows,
        file_columns=len(names),
        names=names,
        encoding=enc.name if enc else None,
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
    names, enc = _header(path, fmt, encoding)
    used = enc.name if enc else encoding
    if columns is not None and any(c not in names for c in columns):
        raise missing_columns_error(path, columns, names)
    labels = Labels()
    file_rows: int | None = None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:
            raise _wrap(exc, path, fmt, used) from None
        file_rows = int(pf.metadata.num_rows)
        labels = parquet_labels(pf.schema_arrow.metadata, f"parquet file {str(path)!r}")
    header = RawRead(
        frame=pd.DataFrame(), labels=labels, file_rows=file_rows, file_columns=len(names),
        names=names, encoding=used if enc else None,
    )

    def frames() -> Iterator[pd.DataFrame]:
        if fmt in _SEP:
            assert enc is not None
            # text columns are typed from a sample of the first rows, so that a chunk whose
            # cells of a text column are all empty still gives a text column
            sample = pd.read_csv(
                path, sep=_SEP[fmt], encoding=enc.read, usecols=columns,
                nrows=max(chunksize, _CSV_SAMPLE),
            )
            text = {
                c: "str" for c in sample.columns
                if pd.api.types.is_string_dtype(sample[c].dtype) or sample[c].dtype.kind == "O"
            }
            with pd.read_csv(
                path, sep=_SEP[fmt], encoding=enc.read, usecols=columns,
                nrows=row_limit, chunksize=chunksize, dtype=text,
            ) as reader:
                yield from reader
            if not row_limit:
                _check_last_line(path, fmt, enc, len(names))
        elif fmt == "xlsx":  # openpyxl has no streaming reader: read once, hand out slices
            whole = pd.read_excel(
                path, sheet_name=0, usecols=columns, nrows=row_limit, engine="openpyxl"
            )
            whole.columns = [str(c) for c in whole.columns]
            for start in range(0, len(whole), chunksize):
                yield whole.iloc[start : start + chunksize].copy()
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
                raise _wrap(exc, path, fmt, used) from None
            frame = blank_text_as_missing(frame)
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            offset += len(frame)
            yield frame, {}

    return header, chunks()

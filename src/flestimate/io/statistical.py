"""Readers of the statistical formats (SPSS, Stata, SAS) through pyreadstat.

Every read keeps the codes (``apply_value_formats`` is never used), asks pyreadstat for
user-missing values (``user_missing=True``) so SPSS user-missing codes stay in the frame and
Stata/SAS extended missing values can be told apart, and converts only the columns that
need it: numeric columns that pyreadstat returns as Python objects (integer columns with
missing values, and columns holding extended missing letters) become float64.

Safety: the C library behind pyreadstat (ReadStat) can crash the interpreter on some
corrupted headers (seen with seeded byte flips in ``.sav`` and ``.zsav`` files). Before
the real read, the header is therefore parsed once in a child process
(:mod:`flestimate.io.filecheck`); a child killed by a signal, or one that does not
finish, turns into a :class:`~flestimate.errors.LoaderError` and the file is not parsed
in this process.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import LoaderError
from flestimate.io.codebook import Labels, normalise_code
from flestimate.io.columns import blank_text_as_missing, check_unique_names

__all__ = ["STATISTICAL_FORMATS", "RawRead", "check_dimensions", "check_structure",
           "iter_statistical",
           "preflight", "preflight_spawned", "read_statistical", "reader_function"]

STATISTICAL_FORMATS = ("sav", "zsav", "por", "dta", "sas7bdat", "xpt")
PREFLIGHT_TIMEOUT = 120.0  # seconds for parsing a header; a hang means a corrupted file

_FUNCTION = {
    "sav": "read_sav",
    "zsav": "read_sav",
    "por": "read_por",
    "dta": "read_dta",
    "sas7bdat": "read_sas7bdat",
    "xpt": "read_xport",
}
_USER_MISSING = {"sav", "zsav", "dta", "sas7bdat"}  # formats whose reader takes user_missing
_ENCODING = {"sav", "zsav", "dta", "sas7bdat", "xpt"}  # formats whose reader takes encoding
_NUMERIC_TYPES = {"double", "float", "int8", "int16", "int32", "int64"}


@dataclass
class RawRead:
    """What a format reader hands back to :func:`~flestimate.read_survey`."""

    frame: pd.DataFrame
    labels: Labels
    file_rows: int | None
    file_columns: int
    names: list[str]
    encoding: str | None = None
    extended: dict[str, pd.Series] = field(default_factory=dict)
    catalog: str | None = None


def _reader(fmt: str):
    import pyreadstat

    return getattr(pyreadstat, _FUNCTION[fmt])


# pyreadstat renames the second copy of a duplicated variable name, with a warning
_RENAMED = re.compile(r"column '(.*)' is duplicated, renamed to '(.*)'", re.DOTALL)


def _read(
    path: Path, fmt: str, encoding: str | None, kw: dict[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """Call the pyreadstat reader of ``fmt`` with ``kw``; errors wrapped (naming
    ``encoding``), duplicated names refused.

    A file that names two variables alike (possible in Stata, SAS and SPSS portable
    files) is read by pyreadstat with the second one renamed ``NAME_duplicated1``; an
    analysis of ``NAME`` would silently use the first one, so it is a LoaderError here.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame, meta = _reader(fmt)(str(path), **kw)
        except Exception as exc:
            raise wrap_error(exc, path, fmt, encoding) from None
    renamed = {}
    for w in caught:  # a loop over the reader's warnings
        match = _RENAMED.search(str(w.message))
        if match:
            renamed[match.group(2)] = match.group(1)
        else:  # not ours to swallow
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if renamed:
        check_unique_names([renamed.get(n, n) for n in _names(meta)],
                           f"{fmt} file {str(path)!r}")
    return frame, meta


def _kwargs(fmt: str, encoding: str | None) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if fmt in _USER_MISSING:
        kw["user_missing"] = True
    if encoding is not None and fmt in _ENCODING:
        kw["encoding"] = encoding
    if fmt != "por":
        kw["dates_as_pandas_datetime"] = True
    return kw


# --------------------------------------------------------------------------- structure checks
def check_structure(path: Path, fmt: str, size: int) -> None:
    """Cheap checks that catch truncation the C reader would not report.

    A Stata 117+ file ends with ``</stata_dta>`` (ReadStat reads a file cut inside its
    trailer without complaint, losing the value labels); a SAS transport file is a
    sequence of 80-byte records (ReadStat silently drops the rows of a cut file).
    """
    where = f"{fmt} file {str(path)!r}"
    if fmt == "dta":
        with open(path, "rb") as fh:
            head = fh.read(11)
            if head == b"<stata_dta>":
                fh.seek(max(size - 12, 0))
                if fh.read(12) != b"</stata_dta>":
                    raise LoaderError(
                        f"{where} is truncated: it does not end with the </stata_dta> trailer "
                        f"({size:,} bytes). Copy or export the file again."
                    )
    elif fmt == "xpt" and size % 80:
        raise LoaderError(
            f"{where} is truncated or corrupted: a SAS transport file is made of 80-byte "
            f"records, but it has {size:,} bytes ({size % 80} extra). Copy or export it again."
        )


MAX_EXPANSION = 1100  # bytes of values per byte of file, beyond any compression (zlib ~1032)


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_dimensions(
    path: Path, fmt: str, size: int, rows: int, columns: int, *, selected: int | None,
    row_limit: int | None,
) -> None:
    """Refuse headers whose row count the file cannot hold, or that would not fit in memory.

    A corrupted header can declare millions of rows in a file of a few kilobytes; the C
    reader then allocates the whole frame before finding out (gigabytes, up to the
    operating system killing the process). Every stored value takes at least one byte
    before compression, and no compression used by these formats expands more than about
    1,000-fold.
    """
    if rows < 0 or columns <= 0:
        return
    where = f"{fmt} file {str(path)!r}"
    if rows * columns > size * MAX_EXPANSION:
        raise LoaderError(
            f"{where} is corrupted: its header declares {rows:,} rows x {columns} columns, "
            f"more values than {size:,} bytes can hold. Copy or export the file again."
        )
    need = min(rows, row_limit or rows) * (selected or columns) * 8
    free = _available_memory()
    if free is not None and need > free:
        raise LoaderError(
            f"{where} needs about {need / 2**30:,.1f} GiB to read ({rows:,} rows x "
            f"{selected or columns} columns) but {free / 2**30:,.1f} GiB of memory is available. "
            "Read fewer columns with columns=, or iterate with chunksize=."
        )


# --------------------------------------------------------------------------- crash isolation
_CHILD = (
    "import sys, pyreadstat\n"
    "fn = getattr(pyreadstat, sys.argv[1])\n"
    "kw = {} if sys.argv[1] == 'read_sas7bcat' else {'metadataonly': True}\n"
    "try:\n"
    "    fn(sys.argv[2], **kw)\n"
    "except Exception:\n"
    "    pass\n"
)


def _preflight_spawn(function: str, path: str) -> int:
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, function, path],
            capture_output=True,
            timeout=PREFLIGHT_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return -1
    return -out.returncode if out.returncode < 0 else 0


def preflight_spawned(path: Path, fmt: str, function: str) -> None:
    """Header pre-check in a fresh Python process (platforms where fork is not used)."""
    signal = _preflight_spawn(function, str(path))
    if signal == -1:
        raise LoaderError(
            f"{fmt} file {str(path)!r}: the reader did not finish parsing the header within "
            f"{PREFLIGHT_TIMEOUT:.0f} s; the file is corrupted. Copy or export it again."
        )
    if signal:
        raise LoaderError(
            f"{fmt} file {str(path)!r} is corrupted: its header crashed the ReadStat reader "
            f"(signal {signal}, caught in a child process). Copy or export the file again."
        )


def reader_function(fmt: str) -> str:
    """Name of the pyreadstat function that reads ``fmt`` (``"catalog"``: read_sas7bcat)."""
    return "read_sas7bcat" if fmt == "catalog" else _FUNCTION[fmt]


def preflight(path: Path, fmt: str) -> None:
    """Parse the file's header in a child process; a crash there becomes a LoaderError."""
    from flestimate.io.filecheck import FileCheck

    check = FileCheck(path, reader_function(fmt), fmt)
    try:
        check.wait_header()
    finally:
        check.close()


# --------------------------------------------------------------------------- errors
def wrap_error(exc: BaseException, path: Path, fmt: str, encoding: str | None) -> LoaderError:
    """A LoaderError naming the file and the reason for an exception of a reader."""
    where = f"{fmt} file {str(path)!r}"
    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    if isinstance(exc, UnicodeError) or "encoding" in low or "iconv" in low:
        used = f"encoding {encoding!r}" if encoding else "the encoding declared in the file"
        return LoaderError(
            f"{where} cannot be decoded with {used} ({text}). Pass encoding= with the file's "
            "actual character encoding, e.g. encoding='latin-1' or 'cp1252'."
        )
    if isinstance(exc, MemoryError):
        return LoaderError(
            f"{where} does not fit in memory (or declares impossible sizes because it is "
            "corrupted). Read fewer columns with columns=, or iterate with chunksize=."
        )
    if "expected number of rows" in low or "unable to read from file" in low or "eof" in low:
        reason = "the file is truncated or corrupted"
    elif "invalid file" in low or "unsupported" in low or "parse" in low or "corrupt" in low:
        reason = "the file is corrupted or not a valid " + fmt + " file"
    else:
        reason = "the file cannot be parsed"
    return LoaderError(
        f"{where} cannot be read: {reason} ({type(exc).__name__}: {text}). "
        "Check that the file is complete (copy or export it again) and that its extension "
        "matches its format (or pass format=)."
    )


# --------------------------------------------------------------------------- metadata
def _labels(meta: Any, fmt: str, catalog_labels: dict[str, dict] | None) -> Labels:
    variable_labels = {
        str(k): str(v)
        for k, v in (getattr(meta, "column_names_to_labels", None) or {}).items()
        if v not in (None, "")
    }
    value_labels = {
        str(col): {normalise_code(k): str(v) for k, v in labels.items()}
        for col, labels in (getattr(meta, "variable_value_labels", None) or {}).items()
    }
    if catalog_labels:
        value_labels.update(catalog_labels)
    missing: dict[str, tuple] = {}
    for col, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        codes: list[Any] = []
        for r in ranges:
            lo, hi = r.get("lo"), r.get("hi")
            if lo == hi:
                codes.append(normalise_code(lo))
            else:
                codes.append({"lo": normalise_code(lo), "hi": normalise_code(hi)})
        if codes:
            missing[str(col)] = tuple(codes)
    for col, values in (getattr(meta, "missing_user_values", None) or {}).items():
        if fmt in ("sav", "zsav", "por"):
            extra = [normalise_code(v) for v in values]
        else:  # Stata / SAS: letters of extended missing values
            extra = [f".{str(v).lstrip('.')}" for v in values]
        missing[str(col)] = tuple(dict.fromkeys([*missing.get(str(col), ()), *extra]))
    return Labels(variable_labels, value_labels, missing, getattr(meta, "file_label", None))


def _convert_objects(frame: pd.DataFrame, meta: Any) -> dict[str, pd.Series]:
    """Numeric columns returned as objects -> float64; extended missing letters recorded.

    Only the columns that need it are touched (integer columns with missing values and
    columns holding extended missing values), one vectorised conversion each.
    """
    types = getattr(meta, "readstat_variable_types", None) or {}
    extended: dict[str, pd.Series] = {}
    for col in [c for c, t in frame.dtypes.items() if t.kind == "O"]:
        if types.get(col) not in _NUMERIC_TYPES:
            continue
        raw = frame[col]
        numeric = pd.to_numeric(raw, errors="coerce")
        letters = raw.notna().to_numpy() & numeric.isna().to_numpy()
        if letters.any():
            extended[col] = raw[letters].astype(str).str.lstrip(".")
        frame[col] = numeric.astype(np.float64)
    return extended


def _catalog_labels(catalog: Path, meta: Any, encoding: str | None) -> dict[str, dict]:
    import pyreadstat

    preflight(catalog, "catalog")
    try:
        _, cat = pyreadstat.read_sas7bcat(str(catalog), encoding=encoding)
    except Exception as exc:
        raise wrap_error(exc, catalog, "sas7bcat", encoding) from None
    formats = {str(k).upper(): v for k, v in (cat.value_labels or {}).items()}
    out: dict[str, dict] = {}
    for col, fmt_name in (getattr(meta, "variable_to_label", None) or {}).items():
        labels = formats.get(str(fmt_name).upper())
        if labels:
            out[str(col)] = {normalise_code(k): str(v) for k, v in labels.items()}
    return out


def _names(meta: Any) -> list[str]:
    return [str(c) for c in (getattr(meta, "column_names", None) or [])]


def read_metadata(path: Path, fmt: str, encoding: str | None) -> Any:
    """The file's metadata (pyreadstat ``metadataonly=True``), errors wrapped."""
    kw: dict[str, Any] = {"metadataonly": True}
    if encoding is not None and fmt in _ENCODING:
        kw["encoding"] = encoding
    if fmt in _USER_MISSING:
        kw["user_missing"] = True
    return _read(path, fmt, encoding, kw)[1]


def read_statistical(
    path: Path,
    fmt: str,
    *,
    columns: list[str] | None,
    encoding: str | None,
    row_limit: int | None,
    catalog: Path | None,
) -> RawRead:
    """Read a whole SPSS/Stata/SAS file (or its first ``row_limit`` rows)."""
    kw = _kwargs(fmt, encoding)
    if columns is not None:
        kw["usecols"] = columns
    if row_limit:
        kw["row_limit"] = row_limit
    # the whole file's header first: its names are checked, and its dimensions recorded
    full = read_metadata(path, fmt, encoding) if row_limit or columns is not None else None
    frame, meta = _read(path, fmt, encoding, kw)
    extended = _convert_objects(frame, meta)
    frame = blank_text_as_missing(frame)
    cat = _catalog_labels(catalog, meta, encoding) if catalog is not None else None
    file_rows: int | None = len(frame)
    file_columns = int(getattr(meta, "number_columns", 0) or len(frame.columns))
    names = _names(meta)
    if full is not None:
        file_columns = int(getattr(full, "number_columns", 0) or file_columns)
        names = _names(full)
        if row_limit:
            rows = getattr(full, "number_rows", None)
            file_rows = int(rows) if rows is not None and rows >= 0 else None
    declared = getattr(meta, "number_rows", None)
    if not row_limit and declared is not None and declared >= 0 and declared != len(frame):
        raise LoaderError(
            f"{fmt} file {str(path)!r} declares {declared:,} rows but {len(frame):,} were read; "
            "the file is truncated or corrupted. Copy or export it again."
        )
    return RawRead(
        frame=frame,
        labels=_labels(meta, fmt, cat),
        file_rows=file_rows,
        file_columns=file_columns,
        names=names,
        encoding=getattr(meta, "file_encoding", None) or encoding,
        extended=extended,
        catalog=str(catalog) if catalog is not None else None,
    )


def iter_statistical(
    path: Path,
    fmt: str,
    *,
    columns: list[str] | None,
    encoding: str | None,
    row_limit: int | None,
    chunksize: int,
    catalog: Path | None,
) -> tuple[RawRead, Iterator[tuple[pd.DataFrame, dict[str, pd.Series]]]]:
    """Header (metadata of the whole file) and an iterator of ``(frame, extended)`` chunks."""
    meta = read_metadata(path, fmt, encoding)
    rows = getattr(meta, "number_rows", None)
    file_rows = int(rows) if rows is not None and rows >= 0 else None
    cat = _catalog_labels(catalog, meta, encoding) if catalog is not None else None
    header = RawRead(
        frame=pd.DataFrame(),
        labels=_labels(meta, fmt, cat),
        file_rows=file_rows,
        file_columns=int(getattr(meta, "number_columns", 0) or 0),
        names=_names(meta),
        encoding=getattr(meta, "file_encoding", None) or encoding,
        catalog=str(catalog) if catalog is not None else None,
    )
    kw = _kwargs(fmt, encoding)
    if columns is not None:
        kw["usecols"] = columns

    def chunks() -> Iterator[tuple[pd.DataFrame, dict[str, pd.Series]]]:
        offset = 0
        limit = row_limit if row_limit else (file_rows if file_rows is not None else None)
        while limit is None or offset < limit:
            size = chunksize if limit is None else min(chunksize, limit - offset)
            frame, chunk_meta = _read(path, fmt, encoding,
                                      {**kw, "row_offset": offset, "row_limit": size})
            if len(frame) == 0:
                break
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            extended = _convert_objects(frame, chunk_meta)
            frame = blank_text_as_missing(frame)
            yield frame, extended
            offset += len(frame)
            if len(frame) < size:
                break
        if limit is not None and offset < limit and not row_limit:
            raise LoaderError(
                f"{fmt} file {str(path)!r} declares {limit:,} rows but only {offset:,} could be "
                "read; the file is truncated or corrupted. Copy or export it again."
            )

    return header, chunks()

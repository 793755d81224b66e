"""`read_survey`: one entry point for every survey file format."""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import pandas as pd

from flestimate.errors import FlestimateWarning, LoaderError, ValidationError, first_values
from flestimate.io.codebook import Labels, find_codebook, load_codebook
from flestimate.io.filecheck import FileCheck
from flestimate.io.statistical import (
    STATISTICAL_FORMATS,
    RawRead,
    check_dimensions,
    check_structure,
    iter_statistical,
    read_statistical,
    reader_function,
)
from flestimate.io.survey_data import SourceInfo, SurveyData
from flestimate.io.tabular import (
    TABULAR_FORMATS,
    iter_tabular,
    missing_columns_error,
    read_tabular,
)

__all__ = ["EXTENSIONS", "FORMATS", "read_survey", "supported_formats"]

#: file extension -> format read
EXTENSIONS: dict[str, str] = {
    ".sav": "sav",
    ".zsav": "zsav",
    ".por": "por",
    ".dta": "dta",
    ".sas7bdat": "sas7bdat",
    ".xpt": "xpt",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".xlsx": "xlsx",
}
FORMATS: tuple[str, ...] = STATISTICAL_FORMATS + TABULAR_FORMATS[:2] + ("parquet", "xlsx")
_FAMILY = {
    "sav": "SPSS", "zsav": "SPSS compressed", "por": "SPSS portable", "dta": "Stata",
    "sas7bdat": "SAS", "xpt": "SAS transport", "csv": "CSV", "tsv": "TSV",
    "parquet": "Parquet", "xlsx": "Excel",
}
_CODEBOOK_FORMATS = ("csv", "tsv", "xlsx", "parquet")


def supported_formats() -> str:
    """The supported extensions as one line for messages: ``.sav (SPSS), .dta (Stata), ...``."""
    return ", ".join(f"{ext} ({_FAMILY[fmt]})" for ext, fmt in EXTENSIONS.items())


# --------------------------------------------------------------------------- checks
def _check_path(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationError(
            f"read_survey: path must be a file path (str or pathlib.Path); found "
            f"{type(path).__name__}."
        )
    p = Path(path).expanduser()
    if not p.exists():
        hint = ""
        if p.parent.is_dir():
            try:
                siblings = [c.name for c in p.parent.iterdir() if c.is_file()]
            except OSError:
                siblings = []
            close = difflib.get_close_matches(p.name, siblings, n=3, cutoff=0.6)
            if close:
                hint = f" Files with close names in that folder: {first_values(close)}."
        raise LoaderError(f"survey file {str(p)!r} does not exist.{hint} Check the path.")
    if p.is_dir():
        raise LoaderError(
            f"survey file {str(p)!r} is a directory, not a file; give the path of the data "
            "file inside it."
        )
    try:
        size = p.stat().st_size
        with open(p, "rb"):
            pass
    except OSError as exc:
        raise LoaderError(
            f"survey file {str(p)!r} cannot be opened: {exc.strerror or exc}. Check its "
            "permissions."
        ) from None
    if size == 0:
        raise LoaderError(f"survey file {str(p)!r} is empty (0 bytes); nothing to read.")
    return p


def _format_of(p: Path, fmt: str | None) -> str:
    if fmt is not None:
        if not isinstance(fmt, str):
            raise ValidationError(f"read_survey: format must be a string such as 'sav'; "
                                  f"found {type(fmt).__name__}.")
        key = fmt.lower().lstrip(".")
        key = {"xport": "xpt", "spss": "sav", "stata": "dta", "excel": "xlsx"}.get(key, key)
        if key not in FORMATS:
            raise LoaderError(
                f"survey file {str(p)!r}: format={fmt!r} is not supported. Supported formats: "
                f"{', '.join(FORMATS)}."
            )
        return key
    suffix = p.suffix.lower()
    if suffix not in EXTENSIONS:
        shown = f"extension {suffix!r}" if suffix else "no extension"
        raise LoaderError(
            f"survey file {str(p)!r} has {shown}, which is not a supported format. Supported: "
            f"{supported_formats()}. Rename the file or pass format= (e.g. format='csv')."
        )
    return EXTENSIONS[suffix]


def _check_columns(columns: Any) -> list[str] | None:
    if columns is None:
        return None
    if isinstance(columns, str):
        columns = [columns]
    if not isinstance(columns, Sequence) or not all(isinstance(c, str) for c in columns):
        raise ValidationError(
            "read_survey: columns must be a list of column names (str); found "
            f"{columns!r:.80}."
        )
    cols = list(columns)
    if not cols:
        raise ValidationError("read_survey: columns=[] selects nothing; give at least one column "
                              "or None for all.")
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise ValidationError(f"read_survey: columns lists {first_values(dup)} more than once.")
    return cols


def _positive_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"read_survey: {name}={value!r} must be a positive integer (or None)."
        )
    return int(value)


# --------------------------------------------------------------------------- provenance
def _stamp(p: Path) -> tuple[int, int]:
    st = p.stat()
    return st.st_size, st.st_mtime_ns


def _check_unchanged(p: Path, before: tuple[int, int]) -> None:
    if _stamp(p) != before:
        raise LoaderError(
            f"survey file {str(p)!r} changed while it was being read; read it again once "
            "it is no longer being written."
        )


# --------------------------------------------------------------------------- labels
def _label_sources(
    p: Path, fmt: str, codebook: Any
) -> tuple[Path | None, Path | None]:
    """``(catalog, codebook file)`` to apply."""
    if codebook is False:
        return None, None
    if codebook is None:
        if fmt == "sas7bdat":
            for name in (p.stem + ".sas7bcat", "formats.sas7bcat"):
                candidate = p.with_name(name)
                if candidate.is_file():
                    return candidate, None
            return None, None
        if fmt in _CODEBOOK_FORMATS:
            return None, find_codebook(p)
        return None, None
    if not isinstance(codebook, (str, os.PathLike)):
        raise ValidationError(
            f"read_survey: codebook must be a path (YAML, JSON or .sas7bcat), None or False; "
            f"found {type(codebook).__name__}."
        )
    cb = Path(codebook).expanduser()
    if not cb.is_file():
        raise LoaderError(
            f"codebook {str(cb)!r} does not exist or is not a file; check the path."
        )
    if cb.suffix.lower() == ".sas7bcat":
        if fmt != "sas7bdat":
            raise LoaderError(
                f"codebook {str(cb)!r} is a SAS formats catalog, which applies only to "
                f".sas7bdat files, not to a {fmt} file."
            )
        return cb, None
    if cb.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise LoaderError(
            f"codebook {str(cb)!r}: expected a .yaml, .yml or .json codebook (or a "
            ".sas7bcat catalog for SAS files)."
        )
    return None, cb


def _apply_codebook(
    labels: Labels, book_path: Path | None, frame: pd.DataFrame, names: list[str]
) -> Labels:
    if book_path is None:
        return labels
    numeric = [
        str(c) for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c].dtype)
        and not pd.api.types.is_bool_dtype(frame[c].dtype)
    ]
    book = load_codebook(book_path, numeric_columns=numeric)
    named = set(book.variable_labels) | set(book.value_labels) | set(book.missing_values)
    unknown = sorted(named - set(names))
    if unknown:
        warnings.warn(
            f"codebook {str(book_path)!r} describes {len(unknown)} variable(s) that are not in "
            f"the data file: {first_values(unknown)}; they are ignored.",
            FlestimateWarning,
            stacklevel=4,
        )
    return labels.updated(book)


def _reorder(frame: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    if columns is None or list(frame.columns) == columns:
        return frame
    return frame[columns]


# --------------------------------------------------------------------------- entry point
@overload
def read_survey(
    path: str | os.PathLike, *, columns: Sequence[str] | None = ..., format: str | None = ...,
    encoding: str | None = ..., row_limit: int | None = ..., chunksize: None = ...,
    codebook: str | os.PathLike | bool | None = ...,
) -> SurveyData: ...


@overload
def read_survey(
    path: str | os.PathLike, *, columns: Sequence[str] | None = ..., format: str | None = ...,
    encoding: str | None = ..., row_limit: int | None = ..., chunksize: int,
    codebook: str | os.PathLike | bool | None = ...,
) -> Iterator[SurveyData]: ...


def read_survey(
    path: str | os.PathLike,
    *,
    columns: Sequence[str] | None = None,
    format: str | None = None,
    encoding: str | None = None,
    row_limit: int | None = None,
    chunksize: int | None = None,
    codebook: str | os.PathLike | bool | None = None,
) -> SurveyData | Iterator[SurveyData]:
    """Read survey microdata with its labels, user-missing codes and provenance.

    Parameters
    ----------
    path : str or pathlib.Path
        The data file: ``.sav``, ``.zsav``, ``.por`` (SPSS), ``.dta`` (Stata),
        ``.sas7bdat`` (SAS, with an optional ``.sas7bcat`` formats catalog), ``.xpt`` (SAS
        transport), ``.csv``, ``.tsv``, ``.parquet`` or ``.xlsx`` (first sheet).
    columns : list of str, optional
        Read only these columns, in this order (the others are not decoded).
    format : str, optional
        The format when the extension does not say it (``"sav"``, ``"csv"``, ...).
    encoding : str, optional
        Character encoding of the file's text. By default SPSS and Stata 14+ files use the
        encoding they declare, CSV/TSV files UTF-8 (with or without byte-order mark).
    row_limit : int, optional
        Read only the first ``row_limit`` rows.
    chunksize : int, optional
        Return an iterator of :class:`SurveyData` chunks of at most ``chunksize`` rows, read
        one at a time, instead of one SurveyData. The chunks share one set of labels and
        one :class:`SourceInfo`; their frames are indexed by row position in the file.
    codebook : path, None or False
        Labels to apply: a YAML/JSON codebook (schema in :mod:`flestimate.io.codebook`)
        or, for ``.sas7bdat`` files, a ``.sas7bcat`` catalog. ``None`` looks beside the file
        for ``NAME.codebook.yaml|yml|json`` (CSV, TSV, Excel, Parquet) or ``NAME.sas7bcat``
        / ``formats.sas7bcat`` (SAS); ``False`` applies none.

    Returns
    -------
    SurveyData or iterator of SurveyData
        ``frame`` holds the codes (never label strings); SPSS user-missing codes stay in it
        and are declared in ``missing_values``; Stata/SAS extended missing values are NaN
        in it and listed per row in ``extended_missing`` (see :mod:`flestimate.io`).

    Raises
    ------
    LoaderError
        Missing file, directory, empty file, unknown extension, truncated or corrupted
        file (including a header that crashes the C reader, checked in a child process,
        or that declares more rows than the file can hold), data larger than the
        available memory, wrong encoding, unknown column (with the closest names), invalid
        codebook, a file changed while it was read.
    ValidationError
        Invalid ``columns``, ``row_limit`` or ``chunksize``.

    Examples
    --------
    >>> from flestimate import read_survey
    >>> data = read_survey("data/sample/fl_survey.sav")  # doctest: +SKIP
    >>> data.missing_values["p1"]  # doctest: +SKIP
    (8, 9)
    """
    p = _check_path(path)
    fmt = _format_of(p, format)
    cols = _check_columns(columns)
    limit = _positive_int(row_limit, "row_limit")
    chunk = _positive_int(chunksize, "chunksize")
    if encoding is not None and not isinstance(encoding, str):
        raise ValidationError(f"read_survey: encoding must be a string such as 'latin-1'; "
                              f"found {type(encoding).__name__}.")
    catalog, book = _label_sources(p, fmt, codebook)
    before = _stamp(p)
    statistical = fmt in STATISTICAL_FORMATS
    if statistical:
        check_structure(p, fmt, before[0])
    # header pre-check (statistical formats) and SHA-256, in a child process
    check = FileCheck(p, reader_function(fmt) if statistical else None, fmt)
    if chunk is not None:
        try:
            check.wait_header()
            if statistical:
                check_dimensions(p, fmt, before[0], check.rows, check.columns,
                                 selected=len(cols) if cols else None, row_limit=chunk)
        except BaseException:
            check.close()
            raise
        return _read_chunks(p, fmt, cols, encoding, limit, chunk, catalog, book, before, check)
    try:
        check.wait_header()
        if statistical:
            check_dimensions(p, fmt, before[0], check.rows, check.columns,
                             selected=len(cols) if cols else None, row_limit=limit)
            raw = read_statistical(p, fmt, columns=cols, encoding=encoding, row_limit=limit,
                                   catalog=catalog)
        else:
            raw = read_tabular(p, fmt, columns=cols, encoding=encoding, row_limit=limit)
        if cols is not None and len(raw.frame.columns) != len(cols):
            raise missing_columns_error(p, cols, raw.names)
        if raw.file_rows == 0 or len(raw.frame) == 0:
            raise LoaderError(f"{fmt} file {str(p)!r} contains no data rows (only its header).")
        frame = _reorder(raw.frame, cols)
        labels = _apply_codebook(raw.labels, book, frame, raw.names).restricted(frame.columns)
        sha = check.sha256()
    finally:
        check.close()
    _check_unchanged(p, before)
    source = SourceInfo(
        path=str(p.resolve()), format=fmt, sha256=sha, size_bytes=before[0],
        rows=raw.file_rows, columns=raw.file_columns, encoding=raw.encoding,
        file_label=labels.file_label or None, catalog=raw.catalog,
        codebook=str(book.resolve()) if book is not None else None,
    )
    return SurveyData(
        frame=frame,
        variable_labels=labels.variable_labels,
        value_labels=labels.value_labels,
        missing_values=labels.missing_values,
        source=source,
        extended_missing=raw.extended,
    )


def _read_chunks(
    p: Path, fmt: str, cols: list[str] | None, encoding: str | None, limit: int | None,
    chunk: int, catalog: Path | None, book: Path | None, before: tuple[int, int],
    check: FileCheck,
) -> Iterator[SurveyData]:
    header: RawRead
    try:
        if fmt in STATISTICAL_FORMATS:
            header, chunks = iter_statistical(p, fmt, columns=cols, encoding=encoding,
                                              row_limit=limit, chunksize=chunk, catalog=catalog)
        else:
            header, chunks = iter_tabular(p, fmt, columns=cols, encoding=encoding,
                                          row_limit=limit, chunksize=chunk)
        if cols is not None and any(c not in header.names for c in cols):
            raise missing_columns_error(p, cols, header.names)
        if header.file_rows == 0:
            raise LoaderError(f"{fmt} file {str(p)!r} contains no data rows (only its header).")
    except BaseException:
        check.close()
        raise

    def generate() -> Iterator[SurveyData]:
        try:
            yield from produce()
        finally:
            check.close()

    def produce() -> Iterator[SurveyData]:
        shared: dict[str, Any] = {}
        n = 0
        for frame, extended in chunks:
            frame = _reorder(frame, cols)
            if not shared:
                labels = _apply_codebook(header.labels, book, frame, header.names)
                labels = labels.restricted(frame.columns)
                sha = check.sha256()
                shared = {
                    "variable_labels": labels.variable_labels,
                    "value_labels": labels.value_labels,
                    "missing_values": labels.missing_values,
                    "source": SourceInfo(
                        path=str(p.resolve()), format=fmt, sha256=sha, size_bytes=before[0],
                        rows=header.file_rows, columns=header.file_columns,
                        encoding=header.encoding, file_label=labels.file_label or None,
                        catalog=header.catalog,
                        codebook=str(book.resolve()) if book is not None else None,
                    ),
                }
            n += len(frame)
            yield SurveyData(frame=frame, extended_missing=extended, **shared)
        if n == 0:
            raise LoaderError(f"{fmt} file {str(p)!r} contains no data rows (only its header).")
        _check_unchanged(p, before)

    return generate()

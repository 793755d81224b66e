"""Text that leaves flestimate: cleaned of control characters, safe in a spreadsheet.

Labels, titles and notes come from the user's data file and config. Two things in
them can hurt whoever opens an output:

* control characters: a vertical tab pasted from a word processor is illegal in
  an Excel workbook (openpyxl refuses the whole file), and an ANSI escape
  sequence printed to a terminal can recolour, hide or rewrite what is shown.
  :func:`clean_text` is the one rule for every output (CSV, Excel, JSON, HTML and
  the terminal): escape sequences are removed, line and tab controls become a
  space, every other C0/C1 control character and DEL is removed.
* formulas: a spreadsheet evaluates a CSV cell that starts with ``=``, ``+``,
  ``-`` or ``@`` (OWASP "CSV injection"). :func:`csv_safe_frame` prefixes such
  text cells with an apostrophe; numbers and numeric text are left as they are.
  The Excel writer stores text as text cells instead (see ``writers``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pandas as pd

from flestimate.report.result import RunResult

__all__ = ["clean_text", "clean_value", "clean_frame", "clean_result", "csv_safe_frame",
           "FORMULA_START"]

# ECMA-48 escape sequences introduced by ESC: CSI (colours, cursor moves), OSC
# (window titles, hyperlinks), DCS/SOS/PM/APC strings, then any other escape
# (ESC c resets the terminal). A lone 8-bit C1 character is only removed, not
# taken as the start of a sequence: in a label it is far more often a Windows
# quote mark read as Latin-1 than an attack, and the text after it is kept.
_ESCAPE_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACES = "\t\n\v\f\r\x85"
_TABLE = {c: (" " if chr(c) in _SPACES else None) for c in [*range(0x20), *range(0x7F, 0xA0)]}

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_RE = r"^[=+\-@\t\r]"
_NUMBER_RE = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


def clean_text(text: str) -> str:
    """``text`` without escape sequences and control characters.

    Tab, line feed, carriage return, vertical tab, form feed and NEL become a
    space; ANSI/ECMA-48 escape sequences and every other C0 or C1 control
    character (and DEL) are removed. Printable text, including right-to-left
    scripts, is unchanged.

    Examples
    --------
    >>> clean_text("Domestic\\vwork \\x1b[31mred\\x1b[0m")
    'Domestic work red'
    """
    if not _CONTROL_RE.search(text):
        return text
    return _ESCAPE_RE.sub("", text).translate(_TABLE)


def _clean_series(s: pd.Series) -> pd.Series:
    if pd.api.types.infer_dtype(s, skipna=True) == "string":
        return s.str.replace(_ESCAPE_RE, "", regex=True).str.translate(_TABLE)
    return s.map(lambda v: clean_text(v) if isinstance(v, str) else v)


def clean_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`clean_text` applied to its text cells and column names."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            out[col] = _clean_series(out[col])
    out.columns = [clean_text(c) if isinstance(c, str) else c for c in out.columns]
    return out


def clean_value(obj: Any) -> Any:
    """``obj`` with :func:`clean_text` applied to every string in it (dicts, lists, frames)."""
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, dict):
        return {clean_value(k): clean_value(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(clean_value(v) for v in obj)
    if isinstance(obj, pd.DataFrame):
        return clean_frame(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):  # a report section
        return dataclasses.replace(obj, **{f.name: clean_value(getattr(obj, f.name))
                                           for f in dataclasses.fields(obj)})
    return obj


def clean_result(result: RunResult) -> RunResult:
    """A copy of ``result`` whose every text (titles, labels, notes, provenance) is cleaned."""
    tables = [
        dataclasses.replace(
            t, **{f.name: clean_value(getattr(t, f.name))
                  for f in dataclasses.fields(t) if f.name != "plot_png"})
        for t in result.tables
    ]
    fields = {f.name: clean_value(getattr(result, f.name))
              for f in dataclasses.fields(result) if f.name != "tables"}
    return dataclasses.replace(result, tables=tables, **fields)


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot start a spreadsheet formula.

    A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
    gets a leading apostrophe (the OWASP recommendation for CSV files), unless
    it is a plain number such as ``-1.5``. Numeric columns are not touched.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            out[col] = _neutralise(s)
    # the header row is text too (a 'by' column is named after a data column)
    out.columns = _neutralise(pd.Series(out.columns, dtype=object)).tolist()
    return out


def _neutralise(s: pd.Series) -> pd.Series:
    text = s.where(s.map(lambda v: isinstance(v, str)))
    risky = text.str.match(_FORMULA_RE, na=False) & ~text.str.match(_NUMBER_RE, na=False)
    if not risky.any():
        return s
    out = s.copy()
    out[risky] = "'" + text[risky]
    return out

"""``flestimate describe FILE``: the codebook of a survey file (labels, codes, missing)."""

from __future__ import annotations

import argparse
import json
import re

import pandas as pd

NAME = "describe"
HELP = "Print the codebook of a survey file: variable labels, value labels, missing codes, counts."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="survey file (.sav, .zsav, .por, .dta, .sas7bdat, .xpt, "
                        ".csv, .tsv, .parquet, .xlsx)")
    parser.add_argument("--json", action="store_true",
                        help="print the codebook and the file's provenance as JSON")
    parser.add_argument("--format", dest="file_format", default=None,
                        help="the file's format when its extension does not say it (e.g. csv)")
    parser.add_argument("--encoding", default=None, help="character encoding of the file's text")
    parser.add_argument("--codebook", default=None,
                        help="codebook (YAML/JSON) or SAS formats catalog (.sas7bcat) to apply")


def _terminal_json(text: str) -> str:
    """JSON whose strings carry no raw C1 control or DEL character (escaped, not lost).

    ``json.dumps`` already escapes C0 characters (ESC included) in strings; outside
    strings JSON text is plain ASCII, so escaping these code points keeps it valid.
    """
    return re.sub(r"[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", text)


def run(args: argparse.Namespace) -> int:
    from flestimate.io import read_survey
    from flestimate.report.text import clean_frame, clean_text

    data = read_survey(args.file, format=args.file_format, encoding=args.encoding,
                       codebook=args.codebook)
    book = data.describe()
    src = data.source
    if args.json:
        payload = {
            "source": src.as_dict() if src is not None else None,
            "variables": json.loads(book.to_json(orient="records")),
        }
        print(_terminal_json(json.dumps(payload, indent=2, ensure_ascii=False)))
        return 0
    # labels come from the file: an escape sequence in one would drive the terminal
    if src is not None:
        print(clean_text(f"file: {src.path}"))
        print(f"format: {src.format}; rows: {src.rows if src.rows is not None else len(data):,}; "
              f"columns: {src.columns}; sha256: {src.sha256}")
        if src.file_label:
            print(clean_text(f"label: {src.file_label}"))
    shown = clean_frame(book)
    shown["value_labels"] = shown["value_labels"].str.slice(0, 60)
    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 200, "display.max_colwidth", 60):
        print(shown.to_string(index=False))
    return 0

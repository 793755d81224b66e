"""``flestimate describe FILE``: the codebook of a survey file (labels, codes, missing)."""

from __future__ import annotations

import argparse
import json

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


def run(args: argparse.Namespace) -> int:
    from flestimate.io import read_survey

    data = read_survey(args.file, format=args.file_format, encoding=args.encoding,
                       codebook=args.codebook)
    book = data.describe()
    src = data.source
    if args.json:
        payload = {
            "source": src.as_dict() if src is not None else None,
            "variables": json.loads(book.to_json(orient="records")),
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    if src is not None:
        print(f"file: {src.path}")
        print(f"format: {src.format}; rows: {src.rows if src.rows is not None else len(data):,}; "
              f"columns: {src.columns}; sha256: {src.sha256}")
        if src.file_label:
            print(f"label: {src.file_label}")
    shown = book.copy()
    shown["value_labels"] = shown["value_labels"].str.slice(0, 60)
    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 200, "display.max_colwidth", 60):
        print(shown.to_string(index=False))
    return 0

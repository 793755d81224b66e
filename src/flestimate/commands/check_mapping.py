"""``flestimate check-mapping DATA MAPPING``: check a questionnaire mapping against a data file.

Prints every mapped column with the codes found, their value labels, their meaning under
the mapping's ``codes`` and their counts; then the problems, if any (exit 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from flestimate.errors import LoaderError, MappingError

NAME = "check-mapping"
HELP = "Check a forced-labour questionnaire mapping (YAML) against a survey data file."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="survey data file (.sav, .dta, .csv, .parquet, ...)")
    parser.add_argument("mapping", help="mapping file (YAML)")


def _read(path: str):
    try:
        from flestimate.io import read_survey
    except ImportError:  # the io layer is optional here: CSV and Parquet need only pandas
        read_survey = None
    if read_survey is not None:
        return read_survey(path)
    p = Path(path)
    if not p.is_file():
        raise LoaderError(f"data file {path!r} does not exist.")
    if p.suffix.lower() == ".csv":
        return pd.read_csv(p)
    if p.suffix.lower() == ".parquet":
        return pd.read_parquet(p)
    if p.suffix.lower() in (".sav", ".zsav", ".dta"):
        import pyreadstat

        if p.suffix.lower() == ".dta":
            frame, meta = pyreadstat.read_dta(str(p))
        else:  # keep the user-missing codes (8, 9) as codes
            frame, meta = pyreadstat.read_sav(str(p), user_missing=True)
        return SimpleNamespace(
            frame=frame,
            value_labels={
                col: meta.value_labels[name]
                for col, name in meta.variable_to_label.items()
                if name in meta.value_labels
            },
            missing_values=dict(getattr(meta, "missing_ranges", None) or {}),
        )
    raise LoaderError(f"data file {path!r}: cannot read {p.suffix!r} files without flestimate.io.")


def run(args: argparse.Namespace) -> int:
    from flestimate.indicators import load_mapping, validate_mapping

    mapping = load_mapping(args.mapping)
    data = _read(args.data)
    check = validate_mapping(data, mapping, raise_errors=False)
    m = check.mapping
    print(
        f"mapping {args.mapping}: framework {m.framework.id} (data version "
        f"{m.framework.version}), {len(m.items)} indicator item(s)"
    )
    s = m.settings
    print(
        f"settings: strength_rule={s.strength_rule}, penalty_scope={s.penalty_scope}, "
        f"missing_policy={s.missing_policy}, unknown_codes={m.unknown_codes}"
    )
    table = check.codes
    if not getattr(data, "missing_values", None):  # no user-missing declarations to show
        table = table.drop(columns="user_missing")
    if len(table):
        with pd.option_context("display.max_rows", None, "display.width", 120):
            print(table.to_string(index=False))
    if check.problems:
        for p in check.problems:
            print(f"problem: {p}")
        raise MappingError(f"{len(check.problems)} problem(s) found in {args.mapping} (see above)")
    print("mapping OK")
    return 0

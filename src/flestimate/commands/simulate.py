"""``flestimate simulate``: draw the synthetic forced-labour survey and write it to files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from flestimate.errors import ConfigError, first_values

NAME = "simulate"
HELP = "Draw a synthetic forced-labour survey with known true values and write it to files."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--respondents",
        type=int,
        default=20_000,
        metavar="N",
        help="expected number of responding persons aged 5+ (2,000 to 5,000,000; default 20000)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="S",
        help="random seed (non-negative integer); without it fresh entropy is drawn and "
        "recorded in truth.json",
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="directory to write into (created if needed)"
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite files of the same names in --out"
    )
    parser.add_argument(
        "--format",
        default="sav,dta,csv,parquet",
        metavar="LIST",
        help="comma-separated output formats among sav, dta, csv, parquet (default: all)",
    )
    parser.add_argument(
        "--prevalence",
        type=float,
        default=0.006,
        metavar="P",
        help="expected share of adults in forced labour, in (0, 1) (default 0.006)",
    )
    parser.add_argument(
        "--regions",
        type=int,
        default=5,
        metavar="R",
        help="number of regions, 1 to 8 (default 5)",
    )


def file_names(formats: tuple[str, ...]) -> list[str]:
    """The files ``Survey.write`` creates for ``formats`` (a test keeps the two in step)."""
    names = [f"fl_survey.{fmt}" for fmt in formats]
    names += ["fl_survey.codebook.yaml"] if "csv" in formats else []
    return [*names, "margins.csv", "truth.json", "truth_respondents.csv", "README.md"]


def run(args: argparse.Namespace) -> int:
    from flestimate.simulation import check_formats, simulate

    formats = check_formats(args.format)
    out = Path(args.out)
    # checked before the draw (which can take a minute) and before any file is written
    existing = [n for n in file_names(formats) if os.path.lexists(out / n)]
    if existing and not args.force:
        raise ConfigError(
            f"--out: {args.out!r} already holds {len(existing)} of the files this command "
            f"writes ({first_values(existing)}); pass --force to overwrite them, or choose "
            f"another --out"
        )
    survey = simulate(
        args.respondents, prevalence=args.prevalence, rng=args.seed, n_regions=args.regions
    )
    written = survey.write(args.out, formats=formats)
    nat = survey.truth["populations"]["all"]["national"]
    print(
        f"wrote {len(survey.sample):,} respondents (population {nat['population']:,}, "
        f"{nat['fl']:,} in forced labour, {nat['prevalence_per_1000']:.2f} per 1,000; "
        f"seed {survey.parameters['seed']}) to {args.out}: " + ", ".join(p.name for p in written),
        file=sys.stdout,
    )
    return 0

"""``flestimate mse``: multiple systems estimation from a table of overlapping lists."""

from __future__ import annotations

import argparse
from pathlib import Path

from flestimate.errors import ValidationError

NAME = "mse"
HELP = "Estimate the number of victims known to no list from overlapping agency lists (MSE)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="capture patterns with counts, or one row per case "
                        "(.csv, .xlsx, .parquet, .sav, .dta, ...)")
    parser.add_argument("--lists", required=True, metavar="A,B,...",
                        help="the 0/1 list columns, comma-separated, e.g. LA,NG,PF,GO,GP,NCA")
    counts = parser.add_mutually_exclusive_group()
    counts.add_argument("--count", default="count", metavar="COL",
                        help="column of case counts (default: count)")
    counts.add_argument("--cases", action="store_true",
                        help="each row is one case (no count column)")
    parser.add_argument("--interactions", metavar="A:B,C:D", default="",
                        help="two-list interactions in the model (kept when selecting)")
    parser.add_argument("--select", choices=["stepwise", "aic", "bic", "none"], default="none",
                        help="choose the interactions (default: none, the model given)")
    parser.add_argument("--threshold", type=float, metavar="P",
                        help="p-value of the selection rule (stepwise default 0.02)")
    parser.add_argument("--ci", choices=["profile", "wald", "percentile", "bca"],
                        default="profile", help="interval reported (default: profile)")
    parser.add_argument("--bootstrap", type=int, metavar="N",
                        help="bootstrap replicates (default 1000 with --ci percentile/bca)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the bootstrap")
    parser.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    parser.add_argument("--strata", metavar="COL", help="estimate each stratum and sum them")
    parser.add_argument("--average", choices=["aic", "bic"],
                        help="report the model average of the models considered")
    parser.add_argument("--title", default="Multiple systems estimate", help="report title")
    parser.add_argument("--out", "-o", metavar="DIR",
                        help="write CSV, Excel, JSON, the HTML report and a manifest here")
    parser.add_argument("--force", action="store_true",
                        help="write into a folder that holds other files (they are left alone)")


def _names(text: str, what: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    if what == "--lists" and not names:
        raise ValidationError("--lists: give the list columns, comma-separated, e.g. --lists LA,NG,PF")
    return names


def run(args: argparse.Namespace) -> int:
    from flestimate import mse
    from flestimate.io import read_survey
    from flestimate.mse.outputs import write_mse_outputs

    path = Path(args.data)
    frame = read_survey(path, codebook=False).frame
    lists = _names(args.lists, "--lists")
    interactions = _names(args.interactions, "--interactions")
    for item in interactions:
        if item.count(":") != 1:
            raise ValidationError(
                f"--interactions: {item!r} is not a pair of lists; write A:B, e.g. --interactions PF:NCA,LA:NG"
            )
    settings = {
        "lists": lists, "count": None if args.cases else args.count,
        "interactions": interactions or None,
        "select": None if args.select == "none" else args.select, "threshold": args.threshold,
        "ci": args.ci, "level": args.level, "strata": args.strata, "bootstrap": args.bootstrap,
        "rng": args.seed, "average": args.average,
    }
    result = mse.fit(frame, **settings)
    print(result)
    if args.out:
        out = write_mse_outputs(result, args.out, input_path=path, settings=settings,
                                title=args.title, force=args.force)
        print(f"wrote {out}")
    return 0

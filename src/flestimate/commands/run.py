"""``flestimate run CONFIG``: from a survey file to publishable tables, Excel and an HTML report.

Exit codes: 0 success; 2 a config or data error (one line on stderr, no
traceback); 1 an unexpected failure; 130 interrupted (Ctrl-C), 143 terminated
(SIGTERM), in both cases with no partial output left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from flestimate.errors import ConfigError, FlestimateError

NAME = "run"
HELP = "Run the estimation described by a YAML config: tables, Excel, JSON and an HTML report."

DEFAULT_OUT = "flestimate-output"


def example_config() -> Path:
    """The bundled example config: inside the installed package, or in a source checkout.

    A wheel ships ``data/sample`` (config, mapping, survey file) as
    ``flestimate/_example``; an editable install reads ``data/sample`` of the checkout.
    """
    packaged = resources.files("flestimate") / "_example" / "example.yaml"
    if packaged.is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "data" / "sample" / "example.yaml"
    if checkout.is_file():
        return checkout
    raise ConfigError(
        "--example: the bundled example (flestimate/_example/example.yaml) is not installed; "
        "reinstall flestimate with 'pip install .' from a checkout"
    )


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit(143)`` so that a killed run cleans up as on Ctrl-C.

    Python's default for SIGTERM ends the process at once, skipping every cleanup
    and leaving the hidden staging folder behind. Only the main thread may set a
    handler; elsewhere (a run started from a worker thread) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum: int, frame: object) -> None:
        print("flestimate run: terminated", file=sys.stderr)
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="YAML config file (see 'flestimate init')")
    parser.add_argument("--example", action="store_true",
                        help="run the bundled synthetic sample survey with its config")
    parser.add_argument("--out", "-o", metavar="DIR",
                        help=f"output folder (default: {DEFAULT_OUT}/<config name>); only the "
                             f"files of a previous run listed in its manifest.json are replaced, "
                             f"nothing else is touched")
    parser.add_argument("--force", action="store_true",
                        help="write into an output folder that also holds other files (they are "
                             "left alone: never deleted, replaced or changed)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress lines and no summary; errors only")


def run(args: argparse.Namespace) -> int:
    from flestimate.run.config import load_config

    if args.example and args.config:
        raise ConfigError("give either a CONFIG file or --example, not both")
    if not args.example and not args.config:
        raise ConfigError("give a CONFIG file (create one with 'flestimate init DATA') or --example")
    cfg_path = example_config() if args.example else Path(args.config)
    config = load_config(cfg_path)
    name = "example" if args.example else cfg_path.stem
    out = Path(args.out) if args.out else Path(DEFAULT_OUT) / name
    from flestimate.report.folder import check_folder
    from flestimate.report.text import clean_text
    from flestimate.report.writers import output_names

    # before the computation, which can take minutes: a refused folder or a clash of
    # table names would otherwise only show when writing
    analyses = [a for a, given in (("comparisons", config.compare), ("tests", config.tests))
                if given]
    check_folder(out, output_names([t.name for t in config.tables], config.outputs, analyses),
                 force=args.force)
    try:
        from flestimate.report.writers import write_outputs
        from flestimate.run.pipeline import count_steps, run_pipeline
        from flestimate.run.progress import Progress

        progress = Progress(count_steps(config), quiet=args.quiet)
        with _sigterm_as_exit():
            result = run_pipeline(config, progress=progress, work_dir=out)
            with progress.step("writing CSV, Excel, JSON and the HTML report"):
                folder = write_outputs(result, out, config.outputs, force=args.force)
    except FlestimateError:
        raise
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # an unexpected failure: say so, show where, exit 1
        traceback.print_exc(file=sys.stderr)
        print(f"flestimate run: unexpected error: {type(exc).__name__}: {exc} (this is a bug in "
              f"flestimate; please report it with the traceback above)", file=sys.stderr)
        return 1
    if not args.quiet:
        h = result.headline
        lvl = f"{h['level'] * 100:g}%"
        p, n = h["prevalence"], h["persons"]
        print(clean_text(result.title))
        if h.get("suppressed"):
            print(f"  headline suppressed: {h['suppression_reason']}")
        else:
            print(f"  persons in forced labour: {n['estimate']:,.0f} ({lvl} CI "
                  f"{n['ci_lower']:,.0f} - {n['ci_upper']:,.0f})")
            print(f"  prevalence per {h['scale']:,g}: {p['estimate']:.2f} ({lvl} CI "
                  f"{p['ci_lower']:.2f} - {p['ci_upper']:.2f}), population: {h['population']}")
        if h.get("stock") and not h.get("suppressed"):
            s = h["stock"]
            print(f"  on any given day: {s['estimate']:,.0f} ({lvl} CI {s['ci_lower']:,.0f} - "
                  f"{s['ci_upper']:,.0f})")
        if result.warnings:
            print(f"  {len(result.warnings)} warnings (see the report)")
        print(f"outputs in {clean_text(str(folder))}: report.html, tables.xlsx, results.json, manifest.json, "
              f"{len(result.tables)} CSV tables")
    return 0
